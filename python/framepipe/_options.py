"""A writer's options on the Python side: only conversions of Python types (frame rate,
paths, metadata mappings). The names, types, ranges, aliases and defaults are the engine's
option table (crates/framepipe/src/options/table.rs, ``_native.option_table()``), which also
checks every value, as it does the CLI's flags."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypedDict

from . import _native
from ._keywords import unexpected_keyword
from .errors import ParameterError, UnsupportedError

FpsLike = int | float | Fraction | str
#: The engine's option table, one dict per option (name, type, min, max, choices, default,
#: formats, cli, doc).
OPTION_TABLE: tuple[dict[str, Any], ...] = tuple(_native.option_table())
#: VideoWriter's keyword options, the engine's names in the table's order (a test checks that
#: the EncodeOptions TypedDict has the same keys).
OPTION_NAMES: tuple[str, ...] = tuple(row["name"] for row in OPTION_TABLE)


class FigureEncodeOptions(TypedDict, total=False):
    """The encoding options the matplotlib writer takes as keywords: every option of the
    engine's table but ``bitrate`` and ``metadata`` (matplotlib's ``MovieWriter`` has them as
    arguments of its own) and ``format`` and ``pix_fmt`` (the file name and matplotlib's RGBA
    frames fix them). :class:`EncodeOptions` adds those four."""

    crf: float | None
    preset: str
    tune: str | None
    keyint: int | None
    threads: int | None
    background: tuple[int, int, int]
    queue_frames: int
    colors: int | None
    dither: str | None
    loop: int | None
    fragment_seconds: float | None
    durable: bool
    audio_codec: str | None
    audio_bitrate: int | None


class EncodeOptions(FigureEncodeOptions, total=False):
    """The encoding options: the ``**options`` of :class:`VideoWriter`, :func:`write_video`,
    :func:`render`, the matplotlib writer (:class:`FigureEncodeOptions`) and the clips' write
    functions. One key per row of the engine's option table
    (``framepipe._native.option_table()``; a test checks they agree), which also says each
    option's range, default and formats (docs/writing.md). A new option is added to the table,
    here (or to :class:`FigureEncodeOptions`, if the matplotlib writer takes it too), and to the
    docs: the writers' signatures take it from here."""

    bitrate: int | None
    pix_fmt: str | None
    format: str | None
    metadata: Mapping[str, Any] | None


def options_doc(names: Iterable[str] = OPTION_NAMES, indent: str = "    ") -> str:
    """The options `names` as a docstring section, from the engine's table (what each does, the
    values allowed, the default, the formats it applies to), for the writers' docstrings."""
    rows = {row["name"]: row for row in OPTION_TABLE}
    lines = ["", f"{indent}Options (from the engine's option table)::", ""]
    for name in names:
        row = rows[name]
        default = f"; default {row['default']}" if row["default"] else ""
        formats = "" if len(row["formats"]) > 1 else f" ({row['formats'][0].upper()} only)"
        lines.append(f"{indent}    {name}: {row['doc']}{formats}.")
        lines.append(f"{indent}        {row['allowed'][0].upper()}{row['allowed'][1:]}{default}.")
    return "\n".join(lines) + "\n"


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
    """ "mp4" or "gif": the explicit `format` (a name or alias of the table's), else the path's
    extension (.gif), else "mp4"."""
    try:
        return _native.check_options(path, 1, 1, {"format": format})["format"]
    except UnsupportedError as e:  # the engine refuses names of other formats (.webm, .png, ...)
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
    """A writer's options with Python's types converted: the frame rate as a fraction, the
    keyword values (None = not given) for the engine, which checks them, and what it made of
    them (the format and the pixel layout)."""

    fps_num: int
    fps_den: int
    values: dict[str, Any]
    format: str
    pix_fmt: str | None

    @property
    def fps(self) -> Fraction:
        return Fraction(self.fps_num, self.fps_den)


def writer_options(path: str | None, fps: Any, **options: Any) -> WriterOptions:
    """Convert a VideoWriter's options from Python types (the frame rate, the metadata mapping)
    and have the engine check them all (``_native.check_options``: names, types, ranges, what
    applies to the format)."""
    if path is not None and "\0" in path:
        raise ParameterError(f"the output path contains a NUL character: {path!r}")
    fps_frac = Fraction(*fps_pair(fps))
    if fps_frac.numerator >= 2**32 or fps_frac.denominator >= 2**32:
        raise ParameterError(f"fps {fps_frac} has a numerator or denominator too large (max 2**32 - 1)")
    values = dict(options)
    if values.get("metadata") is not None:
        values["metadata"] = metadata_pairs(values["metadata"]) or None
    if values.get("format") is None and path is not None:
        values["format"] = output_format(path, None)  # with the hint for a foreign extension
    checked = _native.check_options(path, fps_frac.numerator, fps_frac.denominator, values)
    return WriterOptions(fps_frac.numerator, fps_frac.denominator, values, checked["format"], checked["pix_fmt"])
