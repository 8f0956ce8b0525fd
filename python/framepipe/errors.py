"""framepipe's exceptions: one hierarchy under :class:`FramepipeError`.

Each also derives from the built-in exception a caller would expect, so ``except ValueError`` and
``except OSError`` keep working.
"""

from __future__ import annotations


class FramepipeError(Exception):
    """Base class of every error raised by framepipe."""


class ParameterError(FramepipeError, ValueError):
    """A value passed to framepipe is wrong: a frame of the wrong shape, a bad option, NaN pixels.

    The message names the frame index where a frame is at fault.
    """


class DecodeError(FramepipeError, ValueError):
    """A file framepipe reads (an MP4 or GIF to probe, join or repair) is malformed or not of
    the format it claims: the message says what is wrong in it."""


class WriterClosedError(ParameterError):
    """A frame was written to a writer that is already closed."""


class UnsupportedError(FramepipeError, TypeError):
    """Valid in principle but not supported, e.g. an array dtype framepipe cannot convert."""


class EncoderError(FramepipeError):
    """The encoder (x264) refused an option or failed; the message carries x264's own words."""


class OutputError(FramepipeError, OSError):
    """Writing the output failed: path not writable, disk full. ``errno`` is set."""


class OutOfMemoryError(FramepipeError, MemoryError):
    """A buffer could not be allocated (the message says how large and what for)."""


class RenderError(FramepipeError):
    """Rendering a frame failed (in ``make_frame``), or a worker process died twice.

    ``frame`` is the index of the frame being rendered and ``worker_traceback`` the worker's
    formatted traceback; the original exception, when it could be sent back, is ``__cause__``.
    """

    def __init__(self, message: str, frame: int | None = None, worker_traceback: str | None = None):
        super().__init__(message)
        self.frame = frame
        self.worker_traceback = worker_traceback


class FramepipeWarning(UserWarning):
    """Something was adjusted rather than refused, e.g. an odd frame size padded to even."""


__all__ = [
    "FramepipeError",
    "ParameterError",
    "DecodeError",
    "WriterClosedError",
    "UnsupportedError",
    "EncoderError",
    "OutputError",
    "OutOfMemoryError",
    "RenderError",
    "FramepipeWarning",
]
