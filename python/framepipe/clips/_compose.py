"""Composition: layers over a background (`CompositeVideoClip`), grids (`clips_array`) and
sequences (`concatenate_videoclips`). Each layer is drawn by the engine's integer alpha-over
kernel over just the rectangle it covers; the clips playing at t are found by bisection, so a
sequence of 200 clips costs what one does."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._keywords import checked
from ..errors import ParameterError
from . import _kernels, _pixels
from ._clip import VideoClip
from ._clip_sound import mixed
from ._geometry import size_pair
from ._time import T_SLACK


def _clip_list(clips: Any, what: str) -> list[VideoClip]:
    clips = list(clips)
    if not clips:
        raise ParameterError(f"{what}: no clips given")
    for i, c in enumerate(clips):
        if not isinstance(c, VideoClip):
            raise ParameterError(f"{what}: item {i} is a {type(c).__name__}, not a clip")
    return clips


class _Timeline:
    """The clips playing at t, in layer order, without looking at every clip."""

    def __init__(self, clips: Sequence[VideoClip]):
        self.order = sorted(range(len(clips)), key=lambda i: (clips[i].start, i))
        self.starts = [clips[i].start for i in self.order]
        self.clips = clips
        self.longest = max((c.duration if c.duration is not None else float("inf")) for c in clips) if clips else 0.0
        self.rank = {i: (clips[i].layer_index, i) for i in range(len(clips))}

    def playing(self, t: float) -> list[int]:
        hi = bisect.bisect_right(self.starts, t + T_SLACK)
        lo = 0 if self.longest == float("inf") else bisect.bisect_left(self.starts, t - self.longest - T_SLACK)
        found = []
        for k in range(lo, hi):
            i = self.order[k]
            c = self.clips[i]
            if c.end is None or t < c.end - T_SLACK or (t <= c.end + T_SLACK and c.end == c.start):
                found.append(i)
        found.sort(key=self.rank.__getitem__)
        return found


class CompositeVideoClip(VideoClip):
    """Clips drawn over each other (the first at the bottom, or by ``layer_index``), each at its
    position, with its mask and opacity, over a background of ``bg_color`` (default black; then
    the composite is transparent where no clip is, which counts when it is itself a layer) or
    over the first clip with ``use_bgclip=True``."""

    def __init__(
        self,
        clips: Sequence[VideoClip],
        size: Sequence[int] | None = None,
        bg_color: Any = None,
        use_bgclip: bool = False,
        is_mask: bool = False,
        *,
        ismask: bool | None = None,
    ):
        is_mask = is_mask if ismask is None else ismask
        clips = _clip_list(clips, "CompositeVideoClip")
        if size is None:
            size = clips[0].size
        w, h = size_pair(size, "CompositeVideoClip")
        transparent = (clips[0]._mask is not None) if use_bgclip else bg_color is None
        if is_mask:
            bg_level = _pixels.mask_level(0.0 if bg_color is None else bg_color, "bg_color")
        else:
            bg_rgb = _pixels.rgb(bg_color, "bg_color")
        super().__init__(is_mask=is_mask)
        if use_bgclip:
            bg, layers = clips[0], clips[1:]
        else:
            bg = None
            layers = clips
        ends = [c.end for c in layers] + ([bg.end] if bg is not None else [])
        known = [e for e in ends if e is not None]
        if len(known) == len(ends):  # every clip ends
            self.duration = self.end = float(max(known))
        fpss = [c.fps for c in clips if c.fps]
        self.fps = max(fpss) if fpss else None
        self.clips, self.bg, self.bg_color = layers, bg, bg_color
        self._size = (w, h)
        self._name = f"CompositeVideoClip({len(clips)} clips)"
        timeline = _Timeline(layers)
        base = np.empty((h, w), np.uint8) if is_mask else np.empty((h, w, 3), np.uint8)
        base[:] = bg_level if is_mask else bg_rgb
        base.flags.writeable = False

        def draw(out: np.ndarray, clip: VideoClip, t: float, src: np.ndarray | None = None) -> None:
            ct = max(0.0, t - clip.start)
            if src is None:
                src = clip._get(ct)
            sh, sw = src.shape[:2]
            x, y = clip._xy(ct, w, h, sw, sh)
            if is_mask:
                if not clip.is_mask:
                    raise ParameterError(f"{self._name}: a mask composite takes mask clips, got {clip._name}")
                _kernels.composite_alpha(out, src, x, y, clip._opacity)
            else:
                if clip.is_mask:
                    src = np.repeat(src[:, :, None], 3, axis=2)
                # The alpha fitted to this frame: a clip whose size is a function of t (that
                # may differ call by call) gets a mask cropped or padded to the frame drawn.
                _kernels.composite(out, src, x, y, clip._alpha(ct, (sh, sw)), clip._opacity)

        covered = [False]  # whether the last frame started from an opaque full-frame layer

        def frame(t: float) -> np.ndarray:
            covered[0] = False
            out: np.ndarray | None = None
            first_src: np.ndarray | None = None
            if bg is not None:
                bg_frame = bg._get(max(0.0, t - bg.start))
                if bg_frame.shape[:2] != (h, w):
                    out = base.copy()
                    draw(out, bg, t)
                else:
                    out = (
                        np.array(bg_frame, copy=True) if not is_mask or bg_frame.ndim == 2 else bg_frame[:, :, 0].copy()
                    )
                playing = timeline.playing(t)
            else:
                playing = timeline.playing(t)
                if playing and not is_mask:
                    # An opaque first layer that covers the frame is the background: start
                    # from a copy of it instead of painting the colour and then it.
                    first = layers[playing[0]]
                    ct = max(0.0, t - first.start)
                    src = first_src = first._get(ct)
                    if (
                        not first.is_mask
                        and first._mask is None
                        and first._opacity == 1.0
                        and src.shape == (h, w, 3)
                        and first._xy(ct, w, h, w, h) == (0, 0)
                    ):
                        out = np.array(src, copy=True)
                        playing, first_src = playing[1:], None
                        covered[0] = True
                if out is None:
                    out = base.copy()
                if first_src is not None:
                    draw(out, layers[playing[0]], t, first_src)
                    playing = playing[1:]
            for i in playing:
                draw(out, layers[i], t)
            return out

        self._fn = frame
        if transparent and not is_mask:
            self._mask = _composite_mask(layers, bg, (w, h), self.duration)
            if bg is None:
                # Layers were drawn over black: where the composite is partly transparent its
                # colour is the layers' colour times its alpha. Its frames show the colour itself
                # (as MoviePy's do: straight alpha, see _straight_over), so that the composite
                # drawn as a layer, with its mask, is not darkened twice.

                def straight(t: float) -> np.ndarray:
                    out = frame(t)
                    if covered[0] or all(
                        layers[i]._mask is None and layers[i]._opacity == 1.0 for i in timeline.playing(t)
                    ):
                        return out  # opaque everywhere, or every pixel fully covered or empty
                    return _straight_over(layers, timeline.playing(t), t, (w, h))

                self._fn = straight

        self.audio = mixed(clips)

    def playing_clips(self, t: float = 0) -> list[VideoClip]:
        return [c for c in self.clips if c.start <= t and (c.end is None or t < c.end)]

    def close(self) -> None:
        for c in self.clips:
            c.close()


def _straight_over(layers: list[VideoClip], playing: list[int], t: float, size: tuple[int, int]) -> np.ndarray:
    """The colour of a transparent composite at t: the layers "over" each other from a clear
    canvas in straight (not premultiplied) alpha, with Pillow's ``Image.alpha_composite``
    integer arithmetic, as MoviePy composes (so a transparent composite drawn as a layer has
    MoviePy's colours to the level)."""
    w, h = size
    rgb = np.zeros((h, w, 3), np.uint32)
    alpha = np.zeros((h, w), np.uint32)
    for i in playing:
        c = layers[i]
        ct = max(0.0, t - c.start)
        src = c._get(ct)
        sh, sw = src.shape[:2]
        if c.is_mask:
            src = np.repeat(src[:, :, None], 3, axis=2)
        a = c._alpha(ct, (sh, sw))
        a = np.full((sh, sw), 255, np.uint8) if a is None else a
        if c._opacity != 1.0:
            a = np.rint(a * c._opacity).astype(np.uint8)
        x, y = c._xy(ct, w, h, sw, sh)
        x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + sw), min(h, y + sh)
        if x0 >= x1 or y0 >= y1:
            continue
        sa = a[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.uint32)
        sc = src[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.uint32)
        da, dc = alpha[y0:y1, x0:x1], rgb[y0:y1, x0:x1]
        outa255 = sa * 255 + da * (255 - sa)
        coef1 = np.where(sa > 0, sa * (255 * 255 * 128) // np.maximum(outa255, 1), 0)
        coef2 = 255 * 128 - coef1
        tmp = sc * coef1[:, :, None] + dc * coef2[:, :, None] + (0x80 << 7)
        new_c = (((tmp >> 8) + tmp) >> 8) >> 7
        new_a = (((outa255 + 0x80) >> 8) + outa255 + 0x80) >> 8
        keep = sa == 0  # Pillow keeps the canvas where the layer is clear
        rgb[y0:y1, x0:x1] = np.where(keep[:, :, None], dc, new_c)
        alpha[y0:y1, x0:x1] = np.where(keep, da, new_a)
    return rgb.astype(np.uint8)


def _composite_mask(
    layers: list[VideoClip], bg: VideoClip | None, size: tuple[int, int], duration: float | None
) -> VideoClip:
    """The alpha of a transparent composite: each layer's alpha (opaque where it has no mask)
    "over" the others, at the same places and times."""
    w, h = size
    timeline = _Timeline(layers)

    def frame(t: float) -> np.ndarray:
        if bg is not None:
            out = np.zeros((h, w), np.uint8)
            a = bg._alpha(max(0.0, t - bg.start))
            bw, bh = bg.size
            x, y = bg._xy(max(0.0, t - bg.start), w, h, bw, bh)
            _kernels.composite_alpha(out, a if a is not None else np.full((bh, bw), 255, np.uint8), x, y, bg._opacity)
        else:
            out = np.zeros((h, w), np.uint8)
        for i in timeline.playing(t):
            c = layers[i]
            ct = max(0.0, t - c.start)
            a = c._alpha(ct)
            if a is None:
                src = c._get(ct)
                a = np.full(src.shape[:2], 255, np.uint8)
            x, y = c._xy(ct, w, h, a.shape[1], a.shape[0])
            _kernels.composite_alpha(out, a, x, y, c._opacity)
        return out

    mask = VideoClip(is_mask=True, duration=duration)
    mask._fn = frame
    mask._size = size
    mask._name = "CompositeVideoClip mask"
    return mask


@checked
def clips_array(
    array: Sequence[Sequence[VideoClip]],
    rows_widths: Sequence[int] | None = None,
    cols_heights: Sequence[int] | None = None,
    bg_color: Any = None,
) -> CompositeVideoClip:
    """A grid of clips: each row as tall as its tallest clip, each column as wide as its widest;
    a smaller clip is centred in its cell."""
    rows = [list(r) for r in array]
    if not rows or not rows[0] or any(len(r) != len(rows[0]) for r in rows):
        raise ParameterError("clips_array: expected a non-empty list of rows of equal length")
    heights = list(rows_widths) if rows_widths is not None else [max(c.h for c in r) for r in rows]
    widths = (
        list(cols_heights) if cols_heights is not None else [max(r[j].w for r in rows) for j in range(len(rows[0]))]
    )
    xs = np.cumsum([0, *widths]).tolist()
    ys = np.cumsum([0, *heights]).tolist()
    placed = []
    for i, r in enumerate(rows):
        for j, clip in enumerate(r):
            cw, ch = widths[j], heights[i]
            if clip.w < cw or clip.h < ch:
                clip = CompositeVideoClip(
                    [clip.with_position("center")], size=(cw, ch), bg_color=bg_color
                ).with_duration(clip.duration)
            placed.append(clip.with_position((xs[j], ys[i])))
    return CompositeVideoClip(placed, size=(xs[-1], ys[-1]), bg_color=bg_color)


class _Concatenation:
    """What the result of :func:`concatenate_videoclips` has, as MoviePy's: when each clip starts
    (``start_times``) and their ends (``timings``: the starts and the end of the last)."""

    timings: list[float]
    start_times: list[float]


class ConcatenatedClip(_Concatenation, VideoClip):
    """``concatenate_videoclips(method="chain")``: the clips one after the other (``clips``)."""

    clips: list[VideoClip]
    method = "chain"


class ConcatenatedComposite(_Concatenation, CompositeVideoClip):
    """``concatenate_videoclips(method="compose")``: the clips centred one after the other."""


@checked
def concatenate_videoclips(
    clips: Sequence[VideoClip],
    method: str = "chain",
    transition: VideoClip | None = None,
    bg_color: Any = None,
    is_mask: bool = False,
    padding: float = 0,
) -> VideoClip:
    """One clip after the other. ``method="chain"`` for clips of one size (masks kept);
    ``"compose"`` centres clips of different sizes on the largest (and is needed for negative
    `padding`, which overlaps clips, e.g. for cross-fades); `transition` is put between clips."""
    clips = _clip_list(clips, "concatenate_videoclips")
    for i, c in enumerate(clips):
        if c.duration is None:
            raise ParameterError(f"concatenate_videoclips: clip {i} ({c._name}) has no duration; use with_duration")
    if transition is not None:
        seq = []
        for c in clips[:-1]:
            seq += [c, transition]
        clips = seq + [clips[-1]]
    timings = np.cumsum([0.0] + [c.duration for c in clips])
    timings = np.maximum(0, timings + padding * np.arange(len(timings)))
    timings[-1] -= padding
    timings = timings.tolist()
    fpss = [c.fps for c in clips if c.fps]
    result: ConcatenatedClip | ConcatenatedComposite
    if method == "chain":
        starts = timings[:-1]
        sizes = {tuple(c.size) for c in clips}  # a VideoFileClip's size is a list (as MoviePy's)

        def index(t: float) -> int:
            return min(len(clips) - 1, max(0, bisect.bisect_right(starts, t + T_SLACK) - 1))

        def frame(t: float) -> np.ndarray:
            i = index(t)
            return clips[i]._get(min(max(0.0, t - starts[i]), clips[i].duration))

        result = ConcatenatedClip(is_mask=is_mask)
        result._fn = frame
        if len(sizes) == 1:
            result._size = next(iter(sizes))  # type: ignore[assignment]
        if any(c._mask is not None or c._opacity != 1.0 for c in clips) and not is_mask:
            masks = [c.mask if c.mask is not None else c._full_mask() for c in clips]
            result._mask = concatenate_videoclips(
                [m.with_duration(c.duration) for m, c in zip(masks, clips)],
                method="chain",
                is_mask=True,
                padding=padding,
            )
        result.clips = clips
    elif method == "compose":
        w = max(c.w for c in clips)
        h = max(c.h for c in clips)
        result = ConcatenatedComposite(
            [c.with_start(t).with_position("center") for c, t in zip(clips, timings)],
            size=(w, h),
            bg_color=bg_color,
            is_mask=is_mask,
        )
    else:
        raise ParameterError(f"concatenate_videoclips: method must be 'chain' or 'compose', got {method!r}")
    result.timings = timings
    result.start_times = timings[:-1]
    result.start, result.duration, result.end = 0.0, timings[-1], timings[-1]
    result.fps = max(fpss) if fpss else None
    sound = mixed([c.with_start(t) for c, t in zip(clips, timings)]) if method == "chain" else result.audio
    result.audio = sound.with_duration(timings[-1]) if sound is not None else None
    result._name = f"concatenate_videoclips({len(clips)} clips, {method})"
    return result


concatenate = concatenate_videoclips
