"""``framepipe.editor.video.tools.cuts`` and ``audio.tools.cuts`` (MoviePy's API and results):
the period of a looping clip, pairs of frames that look alike (to cut loops and GIFs), scene
cuts where the picture's brightness jumps, and the period of a sound's loudness.

The distance between two frames is the root mean square of their pixel differences (0 to 255):
``sqrt(mean(a²) + mean(b²) - 2 mean(a·b))``. Frames come from framepipe's clips (or any object
with ``get_frame`` / ``iter_frames`` / ``iter_chunks``, MoviePy's included)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from itertools import groupby
from typing import Any

import numpy as np

from .._keywords import checked
from .decorators import convert_parameter_to_seconds, use_clip_fps_by_default


def _correlation(reference: np.ndarray, frame: np.ndarray) -> float:
    """Pearson's correlation of two flat arrays (what ``np.corrcoef`` gives; nan if one is flat)."""
    a = reference - reference.mean()
    b = frame - frame.mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(a @ b / np.sqrt((a @ a) * (b @ b)))


@checked
@use_clip_fps_by_default
@convert_parameter_to_seconds(["start_time"])
def find_video_period(clip: Any, fps: float | None = None, start_time: Any = 0.3) -> float:
    """The period of a looping clip: of the times after `start_time` (sampled every 1/`fps` s,
    by default the clip's rate; the first sample is skipped, as MoviePy does), the one whose
    frame correlates best with the frame at 0."""
    assert fps is not None  # use_clip_fps_by_default
    candidates = np.arange(start_time, clip.duration, 1 / fps)[1:]
    reference = clip.get_frame(0).ravel().astype(float)
    scores = np.array([_correlation(reference, clip.get_frame(t).ravel().astype(float)) for t in candidates])
    return float(candidates[np.argmax(scores)])


class FramesMatch:
    """Two times, ``start_time`` < ``end_time``, whose frames are alike: ``min_distance`` and
    ``max_distance`` bound the distance between them (both the exact distance when it was
    measured); ``time_span`` is how far apart they are."""

    def __init__(self, start_time: float, end_time: float, min_distance: float, max_distance: float):
        self.start_time = start_time
        self.end_time = end_time
        self.min_distance = min_distance
        self.max_distance = max_distance
        self.time_span = end_time - start_time

    def _fields(self) -> tuple[float, float, float, float]:
        return (self.start_time, self.end_time, self.min_distance, self.max_distance)

    def __iter__(self) -> Iterator[float]:
        return iter(self._fields())

    def __str__(self) -> str:
        return "(" + ", ".join(f"{v:.04f}" for v in self._fields()) + ")"

    __repr__ = __str__

    def __eq__(self, other: object) -> bool:
        return self._fields() == other._fields() if isinstance(other, FramesMatch) else NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal by value and mutable: not hashable (as MoviePy's)


def _matches_of(frames: Iterable[tuple[float, np.ndarray]], n_values: int, threshold: float, window: float):
    """(earlier time, time, distance) for each pair of frames at most `window` s apart whose
    distance is below `threshold`, in the order the later frame comes, then the earlier.

    MoviePy prunes pairs with bounds from the triangle inequality and then measures every pair the
    bounds do not rule out; that leaves exactly these pairs, each with its measured distance. Here
    the new frame's products with all the frames in the window come from one matrix product
    (frames kept as rows of a reused buffer), which ranks the pairs; those that may be below the
    threshold are then measured exactly as ``mean((a - b)²)`` (0 for equal frames)."""
    rows = np.empty((0, n_values))  # the window's frames, one row per slot
    energies = np.empty(0)  # mean(a²) of each slot's frame
    window_times: list[float] = []
    window_slots: list[int] = []
    free: list[int] = []
    for t, frame in frames:
        flat = frame.ravel().astype(float)
        while window_times and t - window_times[0] > window:
            del window_times[0]
            free.append(window_slots.pop(0))
        energy = float(flat @ flat) / n_values
        if window_slots:
            slots = np.array(window_slots)
            products = (rows @ flat)[slots]  # every slot (no copy of the frames); the window's taken
            estimate = energies[slots] + energy - 2 * products / n_values
            slack = 1e-6 * (energies[slots] + energy + 1)  # rounding of the estimate
            for i in np.flatnonzero(estimate < threshold**2 + slack):
                distance = float(np.sqrt(np.square(rows[slots[i]] - flat).sum() / n_values))
                if distance < threshold:
                    yield window_times[i], t, distance
        if not free:  # grow the buffer (doubling), the new slots free
            grown = max(4, 2 * len(rows))
            free.extend(range(grown - 1, len(rows) - 1, -1))
            rows = np.resize(rows, (grown, n_values))
            energies = np.resize(energies, grown)
        slot = free.pop()
        rows[slot], energies[slot] = flat, energy
        window_times.append(t)
        window_slots.append(slot)


class FramesMatches(list):
    """A list of :class:`FramesMatch`, sorted by ``max_distance`` (best first; equal ones keep
    their order)."""

    def __init__(self, lst: Iterable[FramesMatch]):
        super().__init__(sorted(lst, key=lambda match: match.max_distance))

    def best(self, n: int = 1, percent: float | None = None) -> Any:
        """The best match (n=1), or the best `n` (or `percent` %) as FramesMatches."""
        count = len(self) * percent / 100 if percent is not None else n
        return self[0] if count == 1 else FramesMatches(self[: int(count)])

    def filter(self, condition: Callable[[FramesMatch], bool]) -> FramesMatches:
        return FramesMatches(match for match in self if condition(match))

    def save(self, filename: str | os.PathLike[str]) -> None:
        """One line per match: start, end, min and max distance, tab-separated, 3 decimals."""
        np.savetxt(filename, np.array([list(match) for match in self]), fmt="%.03f", delimiter="\t")

    @staticmethod
    def load(filename: str | os.PathLike[str]) -> FramesMatches:
        return FramesMatches(FramesMatch(*row) for row in np.loadtxt(filename, ndmin=2))

    @staticmethod
    def from_clip(
        clip: Any, distance_threshold: float, max_duration: float, fps: float | None = None, logger: Any = "bar"
    ) -> FramesMatches:
        """Every pair of frames (sampled at `fps`, by default the clip's rate) at most
        `max_duration` s apart whose distance is below `distance_threshold`."""
        n_values = clip.w * clip.h * 3
        frames = clip.iter_frames(fps=fps, with_times=True, logger=logger)
        return FramesMatches(
            FramesMatch(start, end, d, d)
            for start, end, d in _matches_of(frames, n_values, distance_threshold, max_duration)
        )

    def select_scenes(
        self,
        match_threshold: float,
        min_time_span: float,
        nomatch_threshold: float | None = None,
        time_distance: float = 0,
    ) -> FramesMatches:
        """Matches that make good loops: for each start time (ascending, at least `time_distance`
        after the previous pick), the latest end more than `min_time_span` later whose frames
        match within `match_threshold`, kept only if the picture changes soon after the start (a
        frame within 0.6 s is more than `nomatch_threshold`, by default `match_threshold`, away)."""
        if nomatch_threshold is None:
            nomatch_threshold = match_threshold
        by_start = sorted(self, key=lambda match: match.start_time)
        picked: list[FramesMatch] = []
        earliest = 0.0
        for start, group in groupby(by_start, key=lambda match: match.start_time):
            if start < earliest:
                continue
            ends = list(group)
            loops = [m for m in ends if m.max_distance < match_threshold and m.end_time - start > min_time_span]
            moves_soon = any(m.min_distance > nomatch_threshold and m.end_time - start <= 0.6 for m in ends)
            if not loops or not moves_soon:
                continue
            last_end = max(m.end_time for m in loops)
            best = next(m for m in loops if m.end_time == last_end)
            picked.append(FramesMatch(start, best.end_time, best.min_distance, best.max_distance))
            earliest = start + time_distance
        return FramesMatches(picked)

    def write_gifs(self, clip: Any, gifs_dir: str | os.PathLike[str], **kwargs: Any) -> None:
        """Each match's part of `clip` as a GIF in `gifs_dir`, named by its start and end in
        hundredths of a second (``00000150_00000420.gif``)."""
        for match in self:
            name = os.path.join(
                os.fspath(gifs_dir), f"{int(100 * match.start_time):08d}_{int(100 * match.end_time):08d}.gif"
            )
            clip.subclipped(match.start_time, match.end_time).write_gif(name, **kwargs)


@checked
@use_clip_fps_by_default
def detect_scenes(
    clip: Any = None,
    luminosities: Any = None,
    luminosity_threshold: float = 10,
    logger: Any = "bar",
    fps: float | None = None,
) -> tuple[list[tuple[float, float]], np.ndarray]:
    """Scene cuts: between frames whose total brightness (the sum of their pixel values)
    changes by more than `luminosity_threshold` times the mean change. Returns the scenes'
    ``[(start, end), ...]`` and the brightness of each frame (pass them back as
    `luminosities` to try another threshold without reading the frames again)."""
    assert fps is not None  # use_clip_fps_by_default
    if luminosities is None:
        luminosities = [frame.sum() for frame in clip.iter_frames(fps=fps, dtype="uint32", logger=logger)]
    brightness = np.asarray(luminosities, dtype=float)
    changes = np.abs(np.diff(brightness))
    cut_frames = np.flatnonzero(changes > luminosity_threshold * changes.mean()) + 1
    end = clip.duration if clip is not None else len(brightness) / fps
    bounds = [0, *((1.0 / fps) * cut_frames).tolist(), end]
    return list(zip(bounds[:-1], bounds[1:])), brightness


@checked
def find_audio_period(clip: Any, min_time: float = 0.1, max_time: float = 2, time_resolution: float = 0.01) -> float:
    """MoviePy's ``moviepy.audio.tools.cuts.find_audio_period``: the period of a sound's loudness,
    between `min_time` and `max_time` s, to `time_resolution` s: the lag at which the energy of
    successive chunks of that length best matches itself (autocorrelation of the energies, minus
    their mean). `clip` is a sound clip with ``fps`` and ``iter_chunks(chunksize)``."""
    chunk = int(time_resolution * clip.fps)
    step = chunk / clip.fps
    energy = np.array([np.square(part).sum() for part in clip.iter_chunks(chunk)])
    energy = energy - energy.mean()
    by_lag = np.correlate(energy, energy, mode="full")[energy.size - 1 :]
    allowed = np.zeros(by_lag.size, dtype=bool)
    allowed[int(min_time / step) : int(max_time / step)] = True
    return float(step * np.argmax(np.where(allowed, by_lag, 0)))


__all__ = ["find_video_period", "FramesMatch", "FramesMatches", "detect_scenes", "find_audio_period"]
