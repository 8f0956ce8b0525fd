"""MoviePy's ``moviepy.video.tools.cuts`` (``framepipe.editor.video.tools.cuts``): a clip's
period, frames that match (for loops), and scene cuts by luminosity jumps. Ported from MoviePy
2.2.1 (MIT licence) with the same results; frames come from framepipe's clips."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from .._keywords import checked
from .decorators import convert_parameter_to_seconds, use_clip_fps_by_default


@checked
@use_clip_fps_by_default
@convert_parameter_to_seconds(["start_time"])
def find_video_period(clip: Any, fps: float | None = None, start_time: Any = 0.3) -> float:
    """The time after `start_time` whose frame is most like the first frame (the period of a
    looping clip), sampled at `fps` (default: the clip's)."""
    assert fps is not None  # use_clip_fps_by_default

    def frame(t: float) -> np.ndarray:
        return clip.get_frame(t).flatten()

    timings = np.arange(start_time, clip.duration, 1 / fps)[1:]
    ref = frame(0)
    corrs = [np.corrcoef(ref, frame(t))[0, 1] for t in timings]
    return float(timings[np.argmax(corrs)])


class FramesMatch:
    """Two times whose frames match: ``start_time``, ``end_time`` and the bounds of the
    distance between the frames."""

    def __init__(self, start_time: float, end_time: float, min_distance: float, max_distance: float):
        self.start_time, self.end_time = start_time, end_time
        self.min_distance, self.max_distance = min_distance, max_distance
        self.time_span = end_time - start_time

    def __str__(self) -> str:
        return f"({self.start_time:.04f}, {self.end_time:.04f}, {self.min_distance:.04f}, {self.max_distance:.04f})"

    __repr__ = __str__

    def __iter__(self) -> Iterator[float]:
        return iter((self.start_time, self.end_time, self.min_distance, self.max_distance))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FramesMatch):
            return NotImplemented
        return tuple(self) == tuple(other)

    __hash__ = None  # type: ignore[assignment]  # as MoviePy's: equal by value, not hashable


class FramesMatches(list):
    """A list of :class:`FramesMatch`, best (smallest max_distance) first."""

    def __init__(self, lst: Iterable[FramesMatch]):
        super().__init__(sorted(lst, key=lambda e: e.max_distance))

    def best(self, n: int = 1, percent: float | None = None) -> Any:
        if percent is not None:
            n = int(len(self) * percent / 100)
        return self[0] if n == 1 else FramesMatches(self[: int(n)])

    def filter(self, condition: Callable[[FramesMatch], bool]) -> FramesMatches:
        return FramesMatches(filter(condition, self))

    def save(self, filename: str | os.PathLike[str]) -> None:
        np.savetxt(filename, np.array([np.array(list(e)) for e in self]), fmt="%.03f", delimiter="\t")

    @staticmethod
    def load(filename: str | os.PathLike[str]) -> FramesMatches:
        return FramesMatches([FramesMatch(*e) for e in np.loadtxt(filename)])

    @staticmethod
    def from_clip(
        clip: Any, distance_threshold: float, max_duration: float, fps: float | None = None, logger: Any = "bar"
    ) -> FramesMatches:
        """The pairs of frames at most `max_duration` apart whose distance (RMS of the pixel
        differences) is below `distance_threshold` (MoviePy's algorithm, with its bounds)."""
        n_pixels = clip.w * clip.h * 3

        def dot_product(f1: np.ndarray, f2: np.ndarray) -> float:
            return (f1 * f2).sum() / n_pixels

        frame_dict: dict[float, dict[Any, Any]] = {}

        def distance(t1: float, t2: float) -> float:
            uv = dot_product(frame_dict[t1]["frame"], frame_dict[t2]["frame"])
            u, v = frame_dict[t1]["|F|sq"], frame_dict[t2]["|F|sq"]
            return float(np.sqrt(u + v - 2 * uv))

        matching_frames: list[tuple[float, float, float, float]] = []
        for t, frame in clip.iter_frames(fps=fps, with_times=True, logger=logger):
            flat_frame = 1.0 * frame.flatten()
            f_norm_sq = dot_product(flat_frame, flat_frame)
            f_norm = np.sqrt(f_norm_sq)
            for t2 in list(frame_dict.keys()):
                if t - t2 > max_duration:
                    frame_dict.pop(t2)
                else:
                    frame_dict[t2][t] = {
                        "min": abs(frame_dict[t2]["|F|"] - f_norm),
                        "max": frame_dict[t2]["|F|"] + f_norm,
                    }
                    frame_dict[t2][t]["rejected"] = frame_dict[t2][t]["min"] > distance_threshold
            t_f = sorted(frame_dict.keys())
            frame_dict[t] = {"frame": flat_frame, "|F|sq": f_norm_sq, "|F|": f_norm}
            for i, t2 in enumerate(t_f):
                if frame_dict[t2][t]["rejected"]:
                    continue
                dist = distance(t, t2)
                frame_dict[t2][t]["min"] = frame_dict[t2][t]["max"] = dist
                frame_dict[t2][t]["rejected"] = dist >= distance_threshold
                for t3 in t_f[i + 1 :]:
                    t3t, t2t3 = frame_dict[t3][t], frame_dict[t2][t3]
                    t3t["max"] = min(t3t["max"], dist + t2t3["max"])
                    t3t["min"] = max(t3t["min"], dist - t2t3["max"], t2t3["min"] - dist)
                    if t3t["min"] > distance_threshold:
                        t3t["rejected"] = True
            matching_frames += [
                (t1, t, frame_dict[t1][t]["min"], frame_dict[t1][t]["max"])
                for t1 in frame_dict
                if t1 != t and not frame_dict[t1][t]["rejected"]
            ]
        return FramesMatches([FramesMatch(*e) for e in matching_frames])

    def select_scenes(
        self,
        match_threshold: float,
        min_time_span: float,
        nomatch_threshold: float | None = None,
        time_distance: float = 0,
    ) -> FramesMatches:
        """Matches that make good loops (MoviePy's selection)."""
        if nomatch_threshold is None:
            nomatch_threshold = match_threshold
        dict_starts: dict[float, list[list[float]]] = defaultdict(list)
        for start, end, min_distance, max_distance in self:
            dict_starts[start].append([end, min_distance, max_distance])
        result = []
        min_start = 0.0
        for start, ends_distances in sorted(dict_starts.items(), key=lambda k: k[0]):
            if start < min_start:
                continue
            ends = [end for end, _, _ in ends_distances]
            great_matches = [(e, lo, hi) for e, lo, hi in ends_distances if hi < match_threshold]
            great_long_matches = [(e, lo, hi) for e, lo, hi in great_matches if e - start > min_time_span]
            if not great_long_matches:
                continue
            poor_matches = {e for e, lo, _ in ends_distances if lo > nomatch_threshold}
            short_matches = {e for e in ends if e - start <= 0.6}
            if not poor_matches.intersection(short_matches):
                continue
            end = max(e for e, _, _ in great_long_matches)
            end, min_distance, max_distance = next(m for m in great_long_matches if m[0] == end)
            result.append(FramesMatch(start, end, min_distance, max_distance))
            min_start = start + time_distance
        return FramesMatches(result)

    def write_gifs(self, clip: Any, gifs_dir: str | os.PathLike[str], **kwargs: Any) -> None:
        for start, end, _, _ in self:
            name = f"{os.fspath(gifs_dir)}/{int(100 * start):08d}_{int(100 * end):08d}.gif"
            clip.subclipped(start, end).write_gif(name, **kwargs)


@checked
@use_clip_fps_by_default
def detect_scenes(
    clip: Any = None,
    luminosities: Any = None,
    luminosity_threshold: float = 10,
    logger: Any = "bar",
    fps: float | None = None,
) -> tuple[list[tuple[float, float]], np.ndarray]:
    """Scene cuts: where the frames' total luminosity jumps by more than `luminosity_threshold`
    times the average jump. Returns ([(start, end), ...], luminosities)."""
    assert fps is not None  # use_clip_fps_by_default
    if luminosities is None:
        luminosities = [f.sum() for f in clip.iter_frames(fps=fps, dtype="uint32", logger=logger)]
    lum = np.array(luminosities, dtype=float)
    end = clip.duration if clip is not None else len(lum) * (1.0 / fps)
    diffs = abs(np.diff(lum))
    jumps = 1 + np.array(np.nonzero(diffs > luminosity_threshold * diffs.mean()))[0]
    timings = [0, *list(1.0 / fps * jumps), end]
    return list(zip(timings, timings[1:])), lum


@checked
def find_audio_period(clip: Any, min_time: float = 0.1, max_time: float = 2, time_resolution: float = 0.01) -> float:
    """MoviePy's ``moviepy.audio.tools.cuts.find_audio_period``: the period (between `min_time`
    and `max_time`) of a sound clip's volume, from the autocorrelation of the volume of chunks of
    `time_resolution` s. `clip` is a sound clip with ``fps`` and ``iter_chunks(chunksize)``."""
    chunksize = int(time_resolution * clip.fps)
    chunk_duration = 1.0 * chunksize / clip.fps
    v = np.array([(chunk**2).sum() for chunk in clip.iter_chunks(chunksize)])
    v = v - v.mean()
    corrs = np.correlate(v, v, mode="full")[-len(v) :]
    corrs[: int(min_time / chunk_duration)] = 0
    corrs[int(max_time / chunk_duration) :] = 0
    return float(chunk_duration * np.argmax(corrs))


__all__ = ["find_video_period", "FramesMatch", "FramesMatches", "detect_scenes", "find_audio_period"]
