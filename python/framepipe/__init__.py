"""framepipe: frames in memory to H.264 MP4, with x264 in-process.

>>> import numpy as np, framepipe
>>> frames = (np.full((480, 640, 3), i, np.uint8) for i in range(60))
>>> framepipe.write_video("out.mp4", frames, fps=30)  # doctest: +SKIP
"""

from __future__ import annotations

from . import _native
from .display import Video
from .errors import (
    DecodeError,
    EncoderError,
    FramepipeError,
    FramepipeWarning,
    OutputError,
    ParameterError,
    UnsupportedError,
    WriterClosedError,
)
from .render import RenderError, render
from .writer import VideoResult, VideoWriter, write_video

__version__ = _native.__version__


def probe(path) -> dict:
    """Describe an MP4 or animated GIF file (told apart by its content, not its name).

    Both: ``format`` ("mp4" or "gif"), ``width``, ``height``, ``frame_count``, ``duration`` (s),
    ``codec``, ``file_size``. MP4: ``fps`` as (num, den), ``profile``, ``level``, ``color``,
    ``faststart``, ``keyframes``, ``tags`` (title, artist, encoder, ...), and for a file cut
    short, ``truncated`` with ``frames_present`` (frames whose data the file holds; a whole file
    has all ``frame_count``) and ``missing_bytes``. GIF: ``version``, ``loop`` (0 = forever).
    A file that is neither raises :class:`DecodeError`.
    """
    return _native.probe(path)


__all__ = [
    "VideoWriter",
    "VideoResult",
    "write_video",
    "render",
    "RenderError",
    "probe",
    "FramepipeError",
    "ParameterError",
    "DecodeError",
    "WriterClosedError",
    "UnsupportedError",
    "EncoderError",
    "OutputError",
    "FramepipeWarning",
    "__version__",
    "Video",
]

# matplotlib: the "framepipe" movie writer, registered without importing matplotlib here
# (at once if matplotlib.animation is loaded, else when it is; see _mpl_hook).
from . import _mpl_hook  # noqa: E402

_mpl_hook.install()
