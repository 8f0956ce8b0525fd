"""`CreditsClip`: MoviePy's ``moviepy.video.tools.credits`` — film credits from a text file,
in two columns (jobs on the left, names on the right), as an image with a mask."""

from __future__ import annotations

import os
from typing import Any

from ..errors import ParameterError
from ._compose import CompositeVideoClip
from ._sources import ImageClip, TextClip
from .fx._geometry import Resize


def _columns(creditfile: str) -> tuple[str, str]:
    """The left and right columns' texts, as MoviePy reads the file: ``#`` comments and blank
    lines skipped, ``.blank n`` n empty lines, ``..Job`` a job (left), other lines names."""
    texts: list[list[str]] = []
    one_line = True
    with open(creditfile, encoding="utf-8") as file:
        for n, line in enumerate(file, 1):
            if line.startswith(("\n", "#")):
                continue
            if line.startswith(".blank"):
                try:
                    count = int(line.split(" ")[1])
                except (IndexError, ValueError):
                    raise ParameterError(
                        f"CreditsClip: {creditfile!r} line {n}: '.blank' needs a count, got {line!r}"
                    ) from None
                texts.extend(["\n", "\n"] for _ in range(count))
            elif line.startswith(".."):
                texts.append([line[2:], ""])
                one_line = True
            elif one_line:
                texts.append(["", line])
                one_line = False
            else:
                texts.append(["\n", line])
    if not texts:
        raise ParameterError(f"CreditsClip: {creditfile!r} has no credits")
    left, right = ("".join(column) for column in zip(*texts))
    return left, right


class CreditsClip(ImageClip):
    """Credits from `creditfile` (MoviePy's format, see ``_columns``) scaled to `width` pixels:
    jobs left-aligned, names right-aligned, `gap` pixels apart, in `font` (a font file; None:
    the bundled font, where MoviePy's default is ImageMagick's "Impact-Normal")."""

    def __init__(
        self,
        creditfile: str | os.PathLike[str],
        width: int,
        color: Any = "white",
        stroke_color: Any = "black",
        stroke_width: int = 2,
        font: str | os.PathLike[str] | None = None,
        font_size: float = 60,
        bg_color: Any = None,
        gap: int = 0,
    ):
        left_text, right_text = _columns(os.fspath(creditfile))
        left, right = (
            TextClip(
                text=txt,
                color=color,
                stroke_color=stroke_color,
                stroke_width=stroke_width,
                font=font,
                font_size=font_size,
                text_align=align,
            )
            for txt, align in ((left_text, "left"), (right_text, "right"))
        )
        both = CompositeVideoClip(
            [left, right.with_position((left.w + gap, 0))],
            size=(left.w + right.w + gap, right.h),
            bg_color=bg_color,
        )
        scaled = both.with_effects([Resize(width=width)])
        super().__init__(scaled.get_frame(0).copy())
        mask = scaled.mask
        if mask is not None:
            self._mask = ImageClip(mask.get_frame(0).copy(), is_mask=True)
        self._name = f"CreditsClip({os.path.basename(os.fspath(creditfile))!r})"
