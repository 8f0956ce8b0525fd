"""Time effects, as MoviePy 2's: loops, reversal, speed, freezes. They map the output's t to
the source's t; frames themselves are untouched (the mask follows)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ParameterError
from ._base import Effect, number
from ._color import CrossFadeIn
from ._geometry import Crop


def _need_duration(clip: Any, what: str) -> float:
    if clip.duration is None:
        raise ParameterError(f"{what} needs a clip with a duration (use with_duration)")
    return float(clip.duration)


@dataclass
class Loop(Effect):
    """Repeated `n` times, or for `duration` s (forever, without a duration, if neither)."""

    n: float | None = None
    duration: float | None = None

    def apply(self, clip: Any) -> Any:
        d = _need_duration(clip, "Loop")
        new = clip.time_transform(lambda t: t % d, apply_to=["mask", "audio"])
        if hasattr(clip, "_static"):  # a video clip's (sound clips have none)
            new._static = clip._static
        if self.n is not None:
            return new.with_duration(self.n * d)
        if self.duration is not None:
            return new.with_duration(self.duration)
        return new


@dataclass
class TimeMirror(Effect):
    """Played backwards (as MoviePy's ``clip[::-1]``: frame at t is the source's at
    duration - t - 1/fps)."""

    def apply(self, clip: Any) -> Any:
        _need_duration(clip, "TimeMirror")
        return clip[::-1]


@dataclass
class TimeSymmetrize(Effect):
    """Played forwards, then backwards."""

    def apply(self, clip: Any) -> Any:
        from .._compose import concatenate_videoclips

        return concatenate_videoclips([clip, TimeMirror().apply(clip)])


@dataclass
class MultiplySpeed(Effect):
    """Played `factor` times faster (or stretched to `final_duration`)."""

    factor: float | None = None
    final_duration: float | None = None

    def apply(self, clip: Any) -> Any:
        factor = self.factor
        if self.final_duration is not None:
            final = number(
                self.final_duration, "MultiplySpeed final_duration", allowed="a finite number of seconds > 0"
            )
            factor = _need_duration(clip, "MultiplySpeed") / final if final > 0 else None
        if factor is None or not number(factor, "MultiplySpeed factor", allowed="a finite number > 0") > 0:
            raise ParameterError(f"MultiplySpeed: factor must be a finite number > 0, got {factor!r}")
        new = clip.time_transform(lambda t: factor * t, apply_to=["mask", "audio"])
        if clip.duration is not None:
            d = clip.duration / factor
            if not math.isfinite(d):
                raise ParameterError(
                    f"MultiplySpeed: factor {factor!r} makes {clip._name}'s {clip.duration:g} s last {d} s"
                )
            new = new.with_duration(d)
        return new


@dataclass
class AccelDecel(Effect):
    """Time runs fast then slow (or the reverse) to `new_duration`: MoviePy's formula."""

    new_duration: float | None = None
    abruptness: float = 1.0
    soonness: float = 1.0

    def apply(self, clip: Any) -> Any:
        old = _need_duration(clip, "AccelDecel")
        new_d = old if self.new_duration is None else number(self.new_duration, "AccelDecel new_duration", None)
        a = number(self.abruptness, "AccelDecel abruptness", None, "a finite number greater than -1")
        s = number(self.soonness, "AccelDecel soonness", None, "a finite number greater than 0")
        if s <= 0:
            raise ParameterError(f"AccelDecel: soonness must be positive, got {s:g}")
        if a <= -1:
            raise ParameterError(f"AccelDecel: abruptness must be greater than -1, got {a:g}")
        if new_d <= 0:
            raise ParameterError(f"AccelDecel: new_duration must be positive, got {new_d:g}")

        # MoviePy's curve: the exponent is 1 + abruptness, and soonness bends the input time.
        e = 1.0 + a
        try:
            scale = 0.5 ** (1.0 - e)
        except OverflowError:
            scale = math.inf
        if not math.isfinite(scale):
            raise ParameterError(
                f"AccelDecel: abruptness {self.abruptness!r} is too large (its curve 0.5 ** -abruptness "
                f"overflows); give abruptness from -1 to about 1000"
            )

        def f(t: Any) -> Any:
            # A time or an array of times (the sound's, which follows an image's time changes).
            if np.ndim(t):
                x = np.clip(np.asarray(t, np.float64) / new_d, 0.0, 1.0) ** s
                with np.errstate(over="ignore", under="ignore"):
                    y = np.where(x < 0.5, scale * x**e, 1.0 - scale * (1.0 - x) ** e)
                return old * np.clip(y, 0.0, 1.0)
            x = min(1.0, max(0.0, t / new_d)) ** s
            # x**e is 0 far below x = 0.5 for a large exponent: a product of a huge and a tiny number.
            y = scale * x**e if x < 0.5 else 1.0 - scale * (1.0 - x) ** e
            return old * min(1.0, max(0.0, y))

        return clip.time_transform(f).with_duration(new_d)


@dataclass
class Freeze(Effect):
    """The frame at `t` held for `freeze_duration` s (or until the clip is `total_duration`
    long). `t="end"`: as MoviePy, the frame at duration - padding_end - 1/fps (without an fps,
    at duration - padding_end), then the clip's remaining end. With `update_start_end` (the
    default) the result keeps the clip's start on the timeline."""

    t: Any = 0
    freeze_duration: float | None = None
    total_duration: float | None = None
    padding_end: float = 0
    update_start_end: bool = True

    def apply(self, clip: Any) -> Any:
        from .._compose import concatenate_videoclips

        d = _need_duration(clip, "Freeze")
        if self.t == "end":
            fps = getattr(clip, "fps", None)
            t = max(0.0, d - self.padding_end - (1 / float(fps) if fps else 0.0))
        else:
            t = float(self.t)
        fd = self.freeze_duration
        if fd is None:
            if self.total_duration is None:
                raise ParameterError("Freeze: give freeze_duration or total_duration")
            fd = self.total_duration - d
        if fd < 0:
            raise ParameterError(f"Freeze: the freeze would last {fd:g} s")
        t_frame = min(t, d - 1e-6) if t >= d else t
        parts = [clip.subclipped(0, t)] if t > 0 else []
        parts.append(clip.to_ImageClip(t_frame).with_duration(fd))
        if t < d:
            parts.append(clip.subclipped(t))
        out = concatenate_videoclips(parts)
        return out.with_start(clip.start) if self.update_start_end else out


@dataclass
class MakeLoopable(Effect):
    """The end cross-fades into the start over `overlap_duration` s, so the clip loops smoothly."""

    overlap_duration: float

    def apply(self, clip: Any) -> Any:
        from .._compose import CompositeVideoClip

        d = _need_duration(clip, "MakeLoopable")
        o = float(self.overlap_duration)
        clip2 = CrossFadeIn(o).apply(clip).with_start(d - o)
        return CompositeVideoClip([clip, clip2]).subclipped(o, d)


# SuperSample averages at most this many frames into each frame.
SUPERSAMPLE_MAX_FRAMES = 10_000


@dataclass
class SuperSample(Effect):
    """Motion blur: each frame the mean of `n_frames` frames at times spread evenly from t - d
    to t + d (times before the start or after the end are clamped to the clip); truncated to
    integers, as MoviePy."""

    d: float
    n_frames: int

    def apply(self, clip: Any) -> Any:
        import numpy as np

        n = self.n_frames
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= SUPERSAMPLE_MAX_FRAMES:
            raise ParameterError(
                f"SuperSample: n_frames must be an integer from 1 to {SUPERSAMPLE_MAX_FRAMES} (each frame is the "
                f"mean of that many frames of the clip), got {n!r}"
            )
        d = number(self.d, "SuperSample d", allowed="a finite number of seconds >= 0")
        end, is_mask = clip.duration, clip.is_mask

        def frame(get_frame: Any, t: float) -> Any:
            times = np.clip(np.linspace(t - d, t + d, n), 0, np.inf if end is None else end)
            # The sum frame by frame (not all n frames held at once), in float64 as numpy's
            # mean over the first axis adds them: the same values as MoviePy's np.mean.
            total = np.array(get_frame(float(times[0])), np.float64)  # a copy: added to in place
            for u in times[1:]:
                np.add(total, np.asarray(get_frame(float(u)), np.float64), out=total)
            mean = total / n
            return mean if is_mask else mean.astype(np.uint8)

        return clip.transform(frame, apply_to="mask")


@dataclass
class FreezeRegion(Effect):
    """Part of the picture frozen at time `t` while the rest plays: the rectangle `region`
    (x1, y1, x2, y2); or all but the rectangle `outside_region`; or where the mask clip `mask`
    is opaque."""

    t: float = 0
    region: tuple | None = None
    outside_region: tuple | None = None
    mask: Any = None

    def apply(self, clip: Any) -> Any:
        from .._compose import CompositeVideoClip

        d = _need_duration(clip, "FreezeRegion")
        if self.region is not None:
            x1, y1, x2, y2 = self.region
            frozen = Crop(x1, y1, x2, y2).apply(clip).to_ImageClip(t=self.t).with_duration(d)
            return CompositeVideoClip([clip, frozen.with_position((x1, y1))])
        if self.outside_region is not None:
            x1, y1, x2, y2 = self.outside_region
            moving = Crop(x1, y1, x2, y2).apply(clip).with_position((x1, y1))
            return CompositeVideoClip([clip.to_ImageClip(t=self.t).with_duration(d), moving])
        if self.mask is not None:
            frozen = clip.to_ImageClip(t=self.t).with_duration(d).with_mask(self.mask)
            return CompositeVideoClip([clip, frozen])
        raise ParameterError("FreezeRegion: give region, outside_region or mask")
