"""PyAV (FFmpeg's Python binding), imported when first needed: the sound of `audio=` files and
`VideoFileClip` read other people's files through it."""

from __future__ import annotations

from types import ModuleType

from .errors import UnsupportedError


def import_av(purpose: str) -> ModuleType:
    """The `av` module; without it an UnsupportedError saying what needs it (``purpose``, e.g.
    "reading video files") and how to install it."""
    try:
        import av
    except ImportError as e:
        raise UnsupportedError(f"{purpose} needs PyAV (FFmpeg's Python binding): pip install av") from e
    return av


def libav_reason(e: BaseException) -> str:
    """What libav said, without PyAV's errno and file name decoration."""
    return str(getattr(e, "strerror", None) or str(e) or type(e).__name__)
