"""The driver HUD: student, tracker, lane ahead, distance and time to collision."""

from edgedistill.hud.runner import VIDEO_SUFFIXES, RunStats, run_hud

__all__ = ["VIDEO_SUFFIXES", "RunStats", "run_hud"]
