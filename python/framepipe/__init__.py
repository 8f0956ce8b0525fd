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
    ``x264_license`` ("GPL-2.0-or-later"). ``framepipe --version`` prints the same."""
    return _native.build_info()


@checked
def probe(path) -> dict:
    """Describe an MP4 or animated GIF file (told apart by its content, not its name).

    Both: ``format`` ("mp4" or "gif"), ``width``, ``height``, ``frame_count``, ``duration`` (s),
    ``codec``, ``file_size``. MP4: ``fps`` as (num, den), ``profile``, ``level``, ``color``,
    ``faststart``, ``keyframes``, ``tags`` (title, artist, encoder, ...), and for a file cut
    short, ``truncated`` with ``frames_present`` (frames whose data the file holds; a whole file
    has all ``frame_count``) and ``missing_bytes``. GIF: ``version``, ``loop`` (0 = forever).
    ``fragmented`` is True for an MP4 still being written, or left by a writer that was
    stopped (killed, out of memory, power loss): the counts are those of its whole fragments,
    and :func:`repair` finishes it. A file that is neither raises :class:`DecodeError`.
    """
    return _native.probe(path)


@dataclass(frozen=True)
class RepairResult:
    """What :func:`repair` did: the file written, the frames it holds, the frames the input's
    whole fragments listed (more when the last ones would have left a gap in presentation
    order), the bytes of a torn last fragment that were cut off, and whether the input was
    already finished (then nothing was changed; it was copied when ``output`` was given)."""

    output: str
    frames: int
    frames_found: int
    torn_bytes: int
    was_finished: bool


def repair(path: str | os.PathLike[str], output: str | os.PathLike[str] | None = None) -> RepairResult:
    """Finish an MP4 whose writer was stopped before it finished (a killed process, an OOM
    kill, a power loss): the frames of every whole fragment (about a second each; see
    ``fragment_seconds`` of :class:`VideoWriter`) become the faststart MP4 that closing the
    writer would have made of them. ``output=None`` repairs in place: the repaired file replaces
    ``path`` only once it is complete, so a failed repair changes nothing.
    """
    if output is not None and os.path.abspath(os.fspath(output)) == os.path.abspath(os.fspath(path)):
        output = None
    r = _native.repair(path, output)
    return RepairResult(
        output=os.fsdecode(r["output"]),
        frames=r["frames"],
        frames_found=r["frames_found"],
        torn_bytes=r["torn_bytes"],
        was_finished=r["was_finished"],
    )


__all__ = [
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
