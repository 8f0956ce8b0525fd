"""`SubtitlesClip` and `file_to_subtitles`: MoviePy's ``moviepy.video.tools.subtitles``, drawn
with framepipe's TextClip (the bundled font unless `font` names a font file)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._keywords import checked
from ..errors import ParameterError
from ._clip import VideoClip
from ._sources import TextClip
from .tools import convert_to_seconds

Subtitle = tuple[Sequence[float], str]


@checked
def file_to_subtitles(filename: str | os.PathLike[str], encoding: str | None = None) -> list[Any]:
    """An ``.srt`` file as ``[([start, end], text), ...]`` (seconds), as MoviePy's; unlike
    MoviePy's, the last entry counts also when the file does not end with a blank line."""
    times_texts: list[Any] = []
    current_times: list[float] | None = None
    current_text = ""
    with open(os.fspath(filename), encoding=encoding) as file:
        for line in file:
            times = re.findall("([0-9]*:[0-9]*:[0-9]*,[0-9]*)", line)
            if times:
                current_times = [convert_to_seconds(t) for t in times]
            elif line.strip() == "":
                times_texts.append((current_times, current_text.strip("\n")))
                current_times, current_text = None, ""
            elif current_times:
                current_text += line
    if current_times is not None:
        times_texts.append((current_times, current_text.strip("\n")))
    return times_texts


def _srt_time(t: float) -> str:
    ms = round(t * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


class SubtitlesClip(VideoClip):
    """A subtitle track: at t, the text of the subtitle whose ``start <= t < end`` (the first
    one listed if several), drawn when first needed; nothing (a transparent 1x1 frame) between
    subtitles. `subtitles` is an ``.srt`` file or a list of ``((start, end), text)``.
    ``make_textclip(text)`` makes each text's clip; by default a white 24-px TextClip with a
    black outline in `font` (a font file; None: framepipe's bundled font, where MoviePy
    requires a font). Place it over a video with CompositeVideoClip."""

    def __init__(
        self,
        subtitles: str | os.PathLike[str] | list[Any],
        font: str | os.PathLike[str] | None = None,
        make_textclip: Callable[[str], VideoClip] | None = None,
        encoding: str | None = None,
    ):
        super().__init__(has_constant_size=False)
        if not isinstance(subtitles, list):
            subtitles = file_to_subtitles(subtitles, encoding=encoding)
        for i, entry in enumerate(subtitles):
            try:
                (ta, tb), text = entry
            except (TypeError, ValueError):
                raise ParameterError(f"SubtitlesClip: subtitle {i} is {entry!r}, not ((start, end), text)") from None
            if not isinstance(text, str):
                raise ParameterError(f"SubtitlesClip: subtitle {i} has the text {text!r}, not a string")
        if not subtitles:
            raise ParameterError("SubtitlesClip: no subtitles")
        self.subtitles = subtitles
        self.font = font
        self.textclips: dict[Any, VideoClip] = {}
        if make_textclip is None:

            def make_textclip(txt: str) -> VideoClip:
                return TextClip(
                    font=font, text=txt, font_size=24, color="#ffffff", stroke_color="#000000", stroke_width=1
                )

        self.make_textclip = make_textclip
        times = [(convert_to_seconds(ta), convert_to_seconds(tb)) for (ta, tb), _ in subtitles]
        self.duration = self.end = float(max(tb for _, tb in times))

        def textclip_at(t: float) -> VideoClip | None:
            for i, (ta, tb) in enumerate(times):
                if ta <= t < tb:
                    key = (i, subtitles[i][1])
                    if key not in self.textclips:
                        self.textclips[key] = self.make_textclip(subtitles[i][1])
                    return self.textclips[key]
            return None

        black = np.zeros((1, 1, 3), np.uint8)
        clear = np.zeros((1, 1), np.uint8)
        black.flags.writeable = clear.flags.writeable = False

        def frame(t: float) -> np.ndarray:
            clip = textclip_at(t)
            return black if clip is None else clip._get(min(t, clip.duration or t))

        def mask_frame(t: float) -> np.ndarray:
            clip = textclip_at(t)
            if clip is None:
                return clear
            ct = min(t, clip.duration or t)
            alpha = clip._alpha(ct)
            return np.full(clip._get(ct).shape[:2], 255, np.uint8) if alpha is None else alpha

        self._fn = frame
        self._name = f"SubtitlesClip({len(subtitles)} subtitles)"
        if self.make_textclip("T").mask is not None:
            mask = VideoClip(is_mask=True, duration=self.duration, has_constant_size=False)
            mask._fn = mask_frame
            self._mask = mask

    def in_subclip(self, start_time: Any = None, end_time: Any = None) -> list[Any]:
        """The subtitles that overlap start_time..end_time, their times cut to it (MoviePy's)."""
        a, b = convert_to_seconds(start_time), convert_to_seconds(end_time)

        def is_in_subclip(t1: Any, t2: Any) -> bool:
            try:
                return bool((a <= t1 < b) or (a < t2 <= b))
            except TypeError:
                return False

        def try_cropping(t1: Any, t2: Any) -> tuple[Any, Any]:
            try:
                return max(t1, a), min(t2, b)
            except TypeError:
                return t1, t2

        return [(try_cropping(t1, t2), txt) for ((t1, t2), txt) in self.subtitles if is_in_subclip(t1, t2)]

    def __iter__(self) -> Any:
        return iter(self.subtitles)

    def __getitem__(self, k: Any) -> Any:
        return self.subtitles[k]

    def __str__(self) -> str:
        return "\n\n".join(
            f"{convert_to_seconds(ta)} - {convert_to_seconds(tb)}\n{text}" for (ta, tb), text in self.subtitles
        )

    def match_expr(self, expr: str) -> SubtitlesClip:
        """The subtitles whose text matches the regular expression `expr`, as a SubtitlesClip
        with the same font and make_textclip (MoviePy's loses them and so fails without a font)."""
        kept = [sub for sub in self.subtitles if re.findall(expr, sub[1])]
        if not kept:
            raise ParameterError(f"SubtitlesClip.match_expr: no subtitle matches {expr!r}")
        return SubtitlesClip(kept, font=self.font, make_textclip=self.make_textclip)

    def write_srt(self, filename: str | os.PathLike[str]) -> None:
        """Write the subtitles as an ``.srt`` file (numbered entries, ``hh:mm:ss,mmm --> ...``,
        which :func:`file_to_subtitles` reads back; MoviePy writes its ``str()`` form)."""
        entries = []
        for i, ((ta, tb), text) in enumerate(self.subtitles, 1):
            start, end = _srt_time(convert_to_seconds(ta)), _srt_time(convert_to_seconds(tb))
            entries.append(f"{i}\n{start} --> {end}\n{text}\n")
        with open(os.fspath(filename), "w", encoding="utf-8") as file:
            file.write("\n".join(entries) + "\n")
