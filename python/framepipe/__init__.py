"""framepipe: frames in memory to H.264 MP4, with x264 in-process.

>>> import numpy as np, framepipe
>>> frames = (np.full((480, 640, 3), i, np.uint8) for i in range(60))
>>> framepipe.write_video("out.mp4", frames, fps=30)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from . import _native
from ._keywords import checked
from ._options import EncodeOptions, FigureEncodeOptions
from ._render import render
from .display import Video
from .errors import (
    DecodeError,
    EncoderError,
    FramepipeError,
    FramepipeWarning,
    OutOfMemoryError,
    OutputError,
    ParameterError,
    RenderError,
    UnsupportedError,
    WriterClosedError,
)
from .writer import VideoResult, VideoWriter, write_video

__version__ = _native.__version__


@checked
def build_info() -> dict:
    """framepipe's version and the x264 that encodes, for bug reports: ``framepipe`` (version),
    ``x264_core`` (x264's build number, e.g. 164) and ``x264_version`` (e.g. "0.164.3095
    baee400") as the running x264 library reports itself, ``x264_compiled_core`` and
    ``x264_compiled_version`` of the headers framepipe was compiled against, and
    ``x264_license`` ("GPL-2.0-or-later"), which ``framepipe --version`` prints too; and
    ``libavcodec``, the FFmpeg library of the AAC encoder as it names itself ("Lavc61.19.101")."""
    return _native.build_info()


@checked
def probe(path) -> dict:
    """Describe an MP4 or animated GIF file (told apart by its content, not its name).

    Both: ``format`` ("mp4" or "gif"), ``width``, ``height``, ``frame_count``, ``duration`` (s),
    ``codec``, ``file_size``. MP4: ``fps`` as (num, den), ``profile``, ``level``, ``color``,
    ``faststart``, ``keyframes``, ``tags`` (title, artist, encoder, ...), and ``truncated``:
    True when part of the file cannot be read. ``frames_present`` counts the frames whose data
    the file holds (a whole file has all ``frame_count``), ``missing_bytes`` the bytes of the
    others; ``torn_bytes`` counts the bytes at the end that are not a whole box and
    ``torn_box`` names the box they start (empty when they are no box): a torn ``moof`` (a
    fragment's index) or a damaged box header loses what it held, a torn ``free`` or ``mdat``
    box only the frames ``frames_present`` leaves out. GIF: ``version``, ``loop`` (0 =
    forever). ``fragmented`` is True for an MP4 still being written, or left by a writer that
    was stopped (killed, out of memory, power loss): the counts are those of its whole
    fragments, and :func:`repair` finishes it. A file that is neither raises
    :class:`DecodeError`.
    """
    return _native.probe(path)


@dataclass(frozen=True)
class RepairResult:
    """What :func:`repair` did.

    ``output``: the file written (the input's name when repaired in place). ``frames``: frames
    in it. ``frames_found``: frames whose bytes the input holds whole (in whole fragments, or
    within a finished file cut short); ``frames`` is fewer when the last ones would have left a
    gap in presentation order. ``frames_listed``: frames the input's index lists (more than
    ``frames_found`` for a finished file cut short). ``torn_bytes``: bytes cut off (a torn last
    fragment, or a frame cut short). ``was_finished``: the input was a finished MP4 holding
    every frame its index lists, so nothing needed repairing (it was copied when ``output`` is
    another file, else left as it was). ``truncated``: the input was a finished MP4 cut short,
    rebuilt from the frames it holds. ``in_place``: the output is the input (the same file,
    whatever names were used)."""

    output: str
    frames: int
    frames_found: int
    torn_bytes: int
    was_finished: bool
    frames_listed: int = 0
    truncated: bool = False
    in_place: bool = False


def repair(path: str | os.PathLike[str], output: str | os.PathLike[str] | None = None) -> RepairResult:
    """Make a playable faststart MP4 of a damaged one: a file whose writer was stopped before
    it finished (a killed process, an OOM kill, a power loss), whose whole fragments (about a
    second each; see ``fragment_seconds`` of :class:`VideoWriter`) hold the frames, or a
    finished MP4 cut short, whose index lists more frames than the file holds. The frames kept
    are the decode-order prefix with no gap in presentation; the result has the same packets,
    and is the same file, as closing a writer given those packets.

    ``output=None`` (or an output that is the same file as ``path`` under another name, a
    symlink for instance) repairs in place. The repaired file is written beside the output and
    renamed over it only once complete, so a failed or killed repair changes no file (a killed
    one leaves a hidden ``.NAME.*.fp-tmp`` file that the next repair to that output removes),
    and another hard link to a replaced file keeps its bytes. A finished, intact input is left
    as it is (``was_finished``), or copied to another ``output``.
    """
    r = _native.repair(path, output)
    return RepairResult(
        output=os.fsdecode(r["output"]),
        frames=r["frames"],
        frames_found=r["frames_found"],
        torn_bytes=r["torn_bytes"],
        was_finished=r["was_finished"],
        frames_listed=r["frames_listed"],
        truncated=r["truncated"],
        in_place=r["in_place"],
    )


__all__ = [
    "EncodeOptions",
    "FigureEncodeOptions",
    "VideoWriter",
    "VideoResult",
    "write_video",
    "render",
    "RenderError",
    "probe",
    "repair",
    "RepairResult",
    "FramepipeError",
    "ParameterError",
    "DecodeError",
    "WriterClosedError",
    "UnsupportedError",
    "EncoderError",
    "OutputError",
    "OutOfMemoryError",
    "FramepipeWarning",
    "__version__",
    "build_info",
    "Video",
]

# matplotlib: the "framepipe" movie writer, registered without importing matplotlib here
# (at once if matplotlib.animation is loaded, else when it is; see _mpl_hook).
from . import _mpl_hook  # noqa: E402

_mpl_hook.install()
