"""Train/val/test assignment: by source, or by time segments when sources are too few.

With enough sources for one per requested split, each source (a video, an image, or a
folder of images) goes wholly to one split: frames of one video never land in two
splits. A source's split depends only on its own id and the seed, so adding frames or
sources later never moves the ones already assigned.

With too few sources (one video, say), videos are cut into contiguous time segments of
equal length and whole segments are held out, so that there still is a real held-out
set; frames within a guard gap of a boundary between two splits are dropped, so that
near-identical neighbours never sit on both sides. A segment's split depends only on its
video, its place in it and the seed, and its length only on the video's duration, so
frames added later (a denser sampling) land in their segment's split. What does move
frames: adding sources until there is one per split (the project is then split by source
again), and changing the shares, the seed or ``dataset.guard_s``.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from edgedistill.yolo_format import SPLITS, Split

SEGMENTS_PER_VIDEO = 20
"""Segments a video is cut into where no bound applies: a twentieth of the video each, so
that the held-out share, rounded to whole segments, is within 2.5 % of the one asked."""
MAX_SEGMENT_S = 60.0
"""A long drive is cut into minutes, so that held-out footage comes from all through it."""
MIN_SEGMENT_GUARDS = 3
"""A segment is at least this many guard gaps long, so that the gaps at its two ends never
take more than a third of it."""


def unit_score(unit: str, seed: int) -> float:
    """A uniform number in [0, 1) fixed by the unit and the seed."""
    digest = hashlib.sha256(f"{seed}:{unit}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_splits(units: Iterable[str], val: float, test: float, seed: int) -> dict[str, Split]:
    """Each unit (a video, an image, or a folder of images) to one split.

    Shares are met in expectation. With few units a split can come out empty:
    train always gets a unit, and val and test take the train units with the
    lowest scores while train keeps at least one.
    """
    scores = {unit: unit_score(unit, seed) for unit in set(units)}
    splits: dict[str, Split] = {}
    for unit, score in scores.items():
        splits[unit] = "test" if score < test else "val" if score < test + val else "train"
    if scores and "train" not in splits.values():
        splits[max(scores, key=scores.__getitem__)] = "train"
    for name in _requested(val, test):
        train = sorted((u for u, s in splits.items() if s == "train"), key=scores.__getitem__)
        if name not in splits.values() and len(train) > 1:
            splits[train[0]] = name
    return splits


@dataclass(frozen=True)
class Unit:
    """A source as the split sees it: its id, its file name, and how long it runs (videos)."""

    id: str
    name: str
    duration: float | None = None
    """Seconds; None for an image or a folder of images, which cannot be cut."""


@dataclass(frozen=True)
class TimedFrame:
    id: str
    unit: str
    timestamp: float | None
    """Seconds from the start of its video; None for an image."""


@dataclass(frozen=True)
class Segment:
    """A held-out stretch of a video: ``start`` to ``end`` seconds."""

    video: str
    split: Split
    start: float
    end: float


@dataclass
class HoldOut:
    """What the val and test splits hold out and how: said in ``dataset.json``, the
    terminal, the gallery, the eval report and the model card."""

    by: Literal["sources", "time segments", "nothing"]
    reason: str = ""
    """Why nothing is held out (``by == "nothing"``)."""
    sources: dict[str, int] = field(default_factory=dict)
    """Whole sources per held-out split (``by == "sources"``), of ``total_sources``."""
    total_sources: int = 0
    segments: list[Segment] = field(default_factory=list)
    """The held-out segments (``by == "time segments"``)."""
    guard_s: float = 0.0
    guard_dropped: int = 0
    """Frames dropped in the guard gaps between splits."""
    frames: dict[str, int] = field(default_factory=dict)
    """Frames per split (those in guard gaps have none)."""

    @property
    def share(self) -> float:
        """The held-out splits' part of the frames."""
        total = sum(self.frames.values())
        return (total - self.frames.get("train", 0)) / total if total else 0.0

    def sentence(self) -> str:
        """One line such as ``held out 31 % of the frames: 2 time segments of drive.mp4
        (…), 0.5 s guard gaps (4 frames dropped)``."""
        if self.by == "nothing":
            return f"nothing held out: {self.reason}"
        held = f"held out {self.share:.0%} of the frames".replace("%", " %")
        if self.by == "sources":
            parts = " and ".join(f"{n} {split}" for split, n in self.sources.items())
            return (
                f"{held}: whole sources, {parts} of {self.total_sources}; training never saw them"
            )
        videos = sorted({s.video for s in self.segments})
        seconds = sum(s.end - s.start for s in self.segments)
        where = (
            ", ".join(f"{s.split} {s.start:.1f}–{s.end:.1f} s" for s in self.segments)
            if len(self.segments) <= 4
            else ", ".join(
                f"{n} {split}" for split, n in Counter(s.split for s in self.segments).items()
            )
        )
        return (
            f"{held}: {_count(len(self.segments), 'time segment')} of {', '.join(videos)} "
            f"({where}; {seconds:.1f} s in all), {self.guard_s:g} s guard gaps "
            f"({_count(self.guard_dropped, 'frame')} dropped)"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "by": self.by,
            "sentence": self.sentence(),
            "reason": self.reason,
            "sources": self.sources,
            "total_sources": self.total_sources,
            "segments": [vars(s) for s in self.segments],
            "guard_s": self.guard_s,
            "guard_dropped": self.guard_dropped,
            "frames": self.frames,
        }


@dataclass
class SplitPlan:
    """Each frame's split (frames in guard gaps have none), what was held out, and what
    holds each frame out (its source, or its video's segment)."""

    splits: dict[str, Split]
    holdout: HoldOut
    held_by: dict[str, str] = field(default_factory=dict)
    """Frame id → its source's id (split by source) or its segment's index in
    ``holdout.segments`` (held-out frames of a video split by time)."""

    def kept(self, frames: Collection[str]) -> HoldOut:
        """What is held out once the dataset keeps only ``frames`` (the negatives cap may
        leave out every frame of a source or segment without objects): those are no longer
        named, and the frames are counted again."""
        ids = [f for f in self.splits if f in frames]
        per_split = Counter(self.splits[f] for f in ids)
        counts: dict[str, int] = {s: per_split[s] for s in SPLITS if per_split[s]}
        if self.holdout.by == "nothing" or set(counts) <= {"train"}:
            reason = self.holdout.reason or (
                f"the held-out {self.holdout.by} have no labelled objects, and "
                "dataset.negatives leaves out their frames"
            )
            return HoldOut("nothing", reason=reason, frames=counts)
        held = {self.held_by[f] for f in ids if f in self.held_by}
        if self.holdout.by == "time segments":
            segments = [s for i, s in enumerate(self.holdout.segments) if str(i) in held]
            return replace(self.holdout, segments=segments, frames=counts)
        by_source = {self.held_by[f]: self.splits[f] for f in ids}
        per_split = Counter(by_source.values())
        sources: dict[str, int] = {s: per_split[s] for s in ("val", "test") if per_split[s]}
        return replace(self.holdout, sources=sources, total_sources=len(by_source), frames=counts)


def plan_splits(
    units: list[Unit],
    frames: list[TimedFrame],
    shares: tuple[float, float],
    seed: int,
    guard_s: float,
) -> SplitPlan:
    """Split ``frames`` by source, or by time segments where sources are too few.

    ``shares`` are the val and test shares.
    """
    val, test = shares
    requested = _requested(val, test)
    cuttable = [u for u in units if _segment_count(u, guard_s) > 1]
    if len(units) >= 1 + len(requested) or not cuttable:
        by_unit = assign_splits((u.id for u in units), val, test, seed)
        splits = {f.id: by_unit[f.unit] for f in frames}
        plan = SplitPlan(splits, _by_source(by_unit, requested), {f.id: f.unit for f in frames})
        return replace(plan, holdout=plan.kept(splits))
    holdout = HoldOut("time segments", guard_s=guard_s)
    splits = {f.id: "train" for f in frames}  # sources that cannot be cut train whole
    held_by: dict[str, str] = {}
    by_video: dict[str, list[TimedFrame]] = defaultdict(list)
    for frame in frames:
        by_video[frame.unit].append(frame)
    for unit in cuttable:
        count = _segment_count(unit, guard_s)
        length = (unit.duration or 0.0) / count
        chosen = _segment_splits(unit.id, count, val, test, seed)
        first = len(holdout.segments)
        held_out = [i for i, split in enumerate(chosen) if split != "train"]
        holdout.segments += [
            Segment(unit.name, chosen[i], round(i * length, 3), round((i + 1) * length, 3))
            for i in held_out
        ]
        boundaries = [i * length for i in range(1, count) if chosen[i - 1] != chosen[i]]
        for frame in by_video[unit.id]:
            t = frame.timestamp or 0.0
            if any(abs(t - b) < guard_s / 2 for b in boundaries):
                del splits[frame.id]
                holdout.guard_dropped += 1
                continue
            index = min(int(t / length), count - 1)
            splits[frame.id] = chosen[index]
            if index in held_out:
                held_by[frame.id] = str(first + held_out.index(index))
    plan = SplitPlan(splits, holdout, held_by)
    return replace(plan, holdout=plan.kept(splits))


def _requested(val: float, test: float) -> list[Split]:
    """The held-out splits asked for, val first: with room for one only, val gets it."""
    shares: tuple[tuple[Split, float], ...] = (("val", val), ("test", test))
    return [name for name, share in shares if share > 0]


def _segment_count(unit: Unit, guard_s: float) -> int:
    """Equal segments of a video: a twentieth of it each, within ``MIN_SEGMENT_GUARDS``
    guard gaps and :data:`MAX_SEGMENT_S`; 0 for what cannot be cut."""
    if not unit.duration:
        return 0
    length = min(
        max(unit.duration / SEGMENTS_PER_VIDEO, MIN_SEGMENT_GUARDS * guard_s), MAX_SEGMENT_S
    )
    return max(1, round(unit.duration / length))


def _segment_splits(unit: str, count: int, val: float, test: float, seed: int) -> list[Split]:
    """The split of each of a video's ``count`` segments, in time order.

    ``val + test`` of the segments are held out, rounded as a whole (rounding each split
    alone holds out up to a segment more per split), at least one and never the last
    training one; val takes its part of them first, at least one, and test the rest. The
    segments with the lowest scores are held out.
    """
    requested = _requested(val, test)
    held = min(max(1, round(count * (val + test))), count - 1)
    wanted = dict.fromkeys(requested, 0)
    if len(requested) == 1:
        wanted[requested[0]] = held
    elif requested:
        wanted["val"] = min(held, max(1, round(held * val / (val + test))))
        wanted["test"] = held - wanted["val"]
    ranked = sorted(range(count), key=lambda i: unit_score(f"{unit}#{i}", seed))
    chosen: list[Split] = ["train"] * count
    start = 0
    for name, n in wanted.items():
        for index in ranked[start : start + n]:
            chosen[index] = name
        start += n
    return chosen


def _by_source(by_unit: dict[str, Split], requested: list[Split]) -> HoldOut:
    counts = Counter(by_unit.values())
    held_out: dict[str, int] = {s: counts[s] for s in SPLITS if s != "train" and counts[s]}
    if held_out:
        return HoldOut("sources", sources=held_out, total_sources=len(by_unit))
    if not requested:
        return HoldOut("nothing", reason="dataset.val and dataset.test are 0")
    return HoldOut(
        "nothing", reason="a single source, and no video long enough to cut into time segments"
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")
