"""framepipe: frames in memory to H.264 MP4, with x264 in-process.

>>> import numpy as np, framepipe
>>> frames = (np.full((480, 640, 3), i, np.uint8) for i in range(60))
>>> framepipe.write_video("out.mp4", frames, fps=30)  # doctest: +SKIP
"""

from __future__ import annotations

from . import _native
from .display import Video
from .errors import (
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
    """Describe an MP4 file: width, height, frame_count, fps, duration, codec, profile, colour,
    tags (title, artist, encoder, ...)."""
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
