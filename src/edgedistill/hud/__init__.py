"""The driver HUD: student, tracker, lane ahead, distance and time to collision."""

from edgedistill.hud.runner import RunStats, load_model, run_hud

__all__ = ["RunStats", "load_model", "run_hud"]
