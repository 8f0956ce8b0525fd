"""Checking and normalising the options of a writer (frame rate, output format, numbers,
metadata): the Python side's one place for them; the engine checks ranges again."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from . import _native
from ._keywords import unexpected_keyword
from .errors import ParameterError, UnsupportedError

FpsLike = int | float | Fraction | str
FORMATS = ("mp4", "gif")
DITHERS = ("none", "ordered", "floyd-steinberg")
# The engine's pixel formats (crates/framepipe/src/frame.rs) and the aliases it accepts.
PIX_FMT_NAMES = ("rgb24", "bgr24", "rgba", "bgra", "argb", "gray8")
PIX_FMTS = {*PIX_FMT_NAMES, "rgb", "bgr", "gray", "grey", "grey8"}
MP4_ONLY = ("crf", "bitrate", "tune", "keyint", "metadata", "fragment_seconds", "durable")
GIF_ONLY = ("colors", "dither", "loop")
# VideoWriter's keyword options, in its order (a test checks that the two agree).
OPTION_NAMES = (
    "crf",
    "bitrate",
    "preset",
    "tune",
    "keyint",
    "threads",
    "background",
    "pix_fmt",
    "queue_frames",
    "format",
    "colors",
    "dither",
    "loop",
    "metadata",
    "fragment_seconds",
    "durable",
)


def check_option_names(what: str, names: Iterable[str], also: Iterable[str] = ()) -> None:
    """A TypeError naming `what` (the function the user called), the unknown keyword, the
    nearest known one and all of them (``_keywords.unexpected_keyword``), for a keyword that is
    neither a writer option nor in `also` (instead of a TypeError from a VideoWriter the user
    did not call)."""
    allowed = (*OPTION_NAMES, *also)
    for name in names:
        if name not in allowed:
            raise unexpected_keyword(what, name, allowed, known="the keyword arguments framepipe knows are")


def output_format(path: str | None, format: str | None) -> str:
    """ "mp4" or "gif": the explicit `format`, else the path's extension (.gif), else "mp4"."""
    if format is not None:
        if not isinstance(format, str) or format.strip().lower().lstrip(".") not in FORMATS:
            raise ParameterError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
        return format.strip().lower().lstrip(".")
    # The engine decides, by the extension; it refuses names of other formats (.webm, .png, ...).
    if path is None:
        return "mp4"
    try:
        return _native.output_format(path)
    except UnsupportedError as e:
        raise UnsupportedError(f'{e}, or pass format="mp4" or format="gif"') from None


def fps_pair(fps: FpsLike) -> tuple[int, int]:
    """(num, den) for an int, float, Fraction or "30000/1001"; exact for NTSC rates."""
    if isinstance(fps, bool):
        raise ParameterError(f"fps must be a number, got {fps!r}")
    if isinstance(fps, int):
        if fps <= 0:
            raise ParameterError(f"fps must be positive, got {fps}")
        return fps, 1
    if isinstance(fps, str):
        text = fps.strip()
        try:
            # "30000/1001" is exact; a decimal such as "29.97" means what the float 29.97 does
            # (the NTSC rate 30000/1001), as for the CLI's --fps.
            fps = Fraction(text) if "/" in text else float(text)
        except (ValueError, ZeroDivisionError):
            raise ParameterError(f"cannot parse fps {text!r}") from None
    if isinstance(fps, Fraction):
        if fps <= 0:
            raise ParameterError(f"fps must be positive, got {fps}")
        return fps.numerator, fps.denominator
    if isinstance(fps, float) or hasattr(fps, "__float__"):
        return _native.rational_fps(float(fps))
    raise ParameterError(f"fps must be an int, float or Fraction, got {type(fps).__name__}")


def check_number(name: str, value: Any, lo: float, hi: float, *, integer: bool = True, allowed: str = "") -> None:
    """Raise ParameterError unless value is None or a number (an int if `integer`) in [lo, hi].
    `allowed` describes the valid values when the engine checks the range itself."""
    if value is None:
        return
    ok_type = isinstance(value, numbers.Integral) if integer else isinstance(value, numbers.Real)
    if ok_type and not integer and not math.isfinite(value):
        allowed = allowed or f"a number from {lo} to {hi}"
        raise ParameterError(f"{name} must be {allowed}, got {value!r}")
    if not ok_type or isinstance(value, bool):
        kind = "an integer" if integer else "a number"
        raise ParameterError(f"{name} must be {kind}, got {value!r}")
    if not lo <= value <= hi:
        raise ParameterError(f"{name} must be between {lo} and {hi}, got {value!r}")


def metadata_pairs(metadata: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """A metadata mapping as (key, str(value)) pairs for the engine, which checks the keys."""
    if metadata is None:
        return []
    if not isinstance(metadata, Mapping):
        raise ParameterError(f"metadata must be a mapping of str to values, got {type(metadata).__name__}")
    pairs = []
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise ParameterError(f"metadata keys must be strings, got {key!r}")
        pairs.append((key, value if isinstance(value, str) else str(value)))
    return pairs


@dataclass(frozen=True)
class WriterOptions:
    """A writer's options, checked and normalised: what the engine's ``_native.Writer`` reads
    (by attribute; crates/framepipe-py/src/options.rs), plus the pixel-format override that
    applies to each frame."""

    format: str
    fps_num: int
    fps_den: int
    crf: float | None
    bitrate: int | None
    preset: str
    tune: str | None
    keyint: int | None
    threads: int | None
    background: tuple[int, int, int]
    queue_frames: int
    colors: int
    dither: str
    loop_count: int
    metadata: list[tuple[str, str]]
    fragment_seconds: float
    durable: bool
    pix_fmt: str | None

    @property
    def fps(self) -> Fraction:
        return Fraction(self.fps_num, self.fps_den)


def writer_options(
    path: str | None,
    fps: Any,
    *,
    crf: Any,
    bitrate: Any,
    preset: Any,
    tune: Any,
    keyint: Any,
    threads: Any,
    background: Any,
    pix_fmt: Any,
    queue_frames: Any,
    format: Any,
    colors: Any,
    dither: Any,
    loop: Any,
    metadata: Any,
    fragment_seconds: Any,
    durable: Any,
) -> WriterOptions:
    """Check a VideoWriter's options (types, names, what applies to the format; the engine checks
    the ranges it knows again) and normalise them. The keywords are exactly VideoWriter's, which
    declares their defaults; none has a default here, so a caller cannot drop one."""
    if path is not None and "\0" in path:
        raise ParameterError(f"the output path contains a NUL character: {path!r}")
    if pix_fmt is not None and (not isinstance(pix_fmt, str) or pix_fmt.strip().lower() not in PIX_FMTS):
        raise ParameterError(f"unknown pix_fmt {pix_fmt!r}; expected one of {', '.join(sorted(PIX_FMT_NAMES))}")
    fmt = output_format(path, format)
    if not isinstance(durable, bool):
        raise ParameterError(f"durable must be True or False, got {durable!r}")
    if isinstance(tune, str) and not tune.strip():
        raise ParameterError(
            "tune must be None (no tuning) or a name such as 'film', 'animation', 'grain' or 'stillimage', got ''"
        )
    given = {
        "crf": crf,
        "bitrate": bitrate,
        "tune": tune,
        "keyint": keyint,
        "colors": colors,
        "dither": dither,
        "loop": loop,
        "metadata": metadata or None,
        "fragment_seconds": fragment_seconds,
        "durable": durable or None,
    }
    wrong = [k for k in (MP4_ONLY if fmt == "gif" else GIF_ONLY) if given[k] is not None]
    if wrong:
        verb = "applies" if len(wrong) == 1 else "apply"
        if fmt == "gif":
            raise ParameterError(
                f"{', '.join(wrong)} {verb} to MP4 (H.264) output; a GIF's size and quality are set by "
                f"colors= and dither="
            )
        raise ParameterError(f"{', '.join(wrong)} {verb} to GIF output only (this writer writes MP4)")
    check_number("colors", colors, 2, 256)
    check_number("loop", loop, 0, 65536)
    if dither is not None:
        d = dither.strip().lower().replace("_", "-").replace(" ", "-") if isinstance(dither, str) else None
        if d not in DITHERS:
            raise ParameterError(f"dither must be one of {', '.join(DITHERS)}, got {dither!r}")
        dither = d
    fps_frac = Fraction(*fps_pair(fps))
    if fps_frac.numerator >= 2**32 or fps_frac.denominator >= 2**32:
        raise ParameterError(f"fps {fps_frac} has a numerator or denominator too large (max 2**32 - 1)")
    # The engine checks the range (and explains crf 0); NaN and infinity are refused here.
    check_number("crf", crf, -math.inf, math.inf, integer=False, allowed="a number from 1 to 51")
    check_number("bitrate", bitrate, 1, 2**31 - 1)
    check_number("keyint", keyint, 1, 2**31 - 1)
    check_number("threads", threads, 1, 1024)
    check_number("queue_frames", queue_frames, 1, 1 << 16)
    check_number("fragment_seconds", fragment_seconds, 0, 3600, integer=False)
    if fragment_seconds is not None and fragment_seconds <= 0:
        raise ParameterError(f"fragment_seconds must be more than 0, got {fragment_seconds!r}")
    if not isinstance(preset, str):
        raise ParameterError(f"preset must be a string such as 'medium', got {preset!r}")
    for name, value in (("tune", tune), ("pix_fmt", pix_fmt)):
        if value is not None and not isinstance(value, str):
            raise ParameterError(f"{name} must be a string, got {value!r}")
    try:
        background = tuple(int(c) for c in background)
    except (TypeError, ValueError):
        raise ParameterError(f"background must be an (r, g, b) tuple of ints, got {background!r}") from None
    if len(background) != 3 or not all(0 <= c <= 255 for c in background):
        raise ParameterError(f"background must be 3 values from 0 to 255, got {background!r}")
    return WriterOptions(
        format=fmt,
        fps_num=fps_frac.numerator,
        fps_den=fps_frac.denominator,
        crf=crf,
        bitrate=bitrate,
        preset=preset,
        tune=tune,
        keyint=keyint,
        threads=threads,
        background=background,
        queue_frames=queue_frames,
        colors=256 if colors is None else colors,
        dither="floyd-steinberg" if dither is None else dither,
        loop_count=0 if loop is None else loop,
        metadata=metadata_pairs(metadata),
        fragment_seconds=1.0 if fragment_seconds is None else float(fragment_seconds),
        durable=bool(durable),
        pix_fmt=pix_fmt,
    )
