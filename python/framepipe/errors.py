"""framepipe's exceptions: one hierarchy under :class:`FramepipeError`.

Each also derives from the built-in exception a caller would expect, so ``except ValueError`` and
``except OSError`` keep working.
"""

from __future__ import annotations

import errno
from typing import TypeVar

from ._keywords import checked


class FramepipeError(Exception):
    """Base class of every error raised by framepipe.

    ``frame`` is the index of the frame the error is about and ``argument`` the option or
    argument at fault, or None: fields of the engine's error, never read back from the text.
    """

    frame: int | None = None
    argument: str | None = None


_E = TypeVar("_E", bound=FramepipeError)


def about(err: _E, frame: int | None = None, argument: str | None = None) -> _E:
    """`err` with its ``frame`` and ``argument`` set (for raising: ``raise about(ParameterError(...),
    frame=3)``)."""
    err.frame, err.argument = frame, argument
    return err


def noted(err: _E, *notes: str, as_cause: bool = False) -> _E:
    """`err` with `notes` added (PEP 678 ``add_note``), for raising: ``raise noted(
    ParameterError("MoviePy's exact words"), "Rotate: got resample='x'; allowed: ...")``.

    Used where MoviePy's tests compare ``str(e)`` with MoviePy's own message: the message stays
    MoviePy's text, and the notes (shown in the traceback) still name the clip or function, what
    was given and what is allowed. With ``as_cause=True`` the notes go into a ParameterError set
    as ``__cause__`` instead (also shown in the traceback), for callers that match the whole text
    including notes (``pytest.raises(match="^...$")`` reads ``__notes__`` too)."""
    if as_cause:
        err.__cause__ = ParameterError("\n".join(notes))
    else:
        for note in notes:
            err.add_note(note)
    return err


class ParameterError(FramepipeError, ValueError):
    """A value passed to framepipe is wrong: a frame of the wrong shape, a bad option, NaN pixels.

    The message names the frame index where a frame is at fault.
    """


class NoFpsError(ParameterError, AttributeError):
    """A clip is written or its frames iterated without an fps (none given, the clip has none).
    Also an AttributeError, which is what MoviePy raises there."""


class DecodeError(FramepipeError, ValueError):
    """A file framepipe reads (an MP4 or GIF to probe, join or repair) is malformed or not of
    the format it claims: the message says what is wrong in it."""


class WriterClosedError(ParameterError):
    """A frame was written to a writer that is already closed."""


class UnsupportedError(FramepipeError, TypeError):
    """Valid in principle but not supported, e.g. an array dtype framepipe cannot convert."""


class CodecError(UnsupportedError, ParameterError, OSError):
    """A codec (video or audio) that framepipe's encoders do not have, or that the container does
    not take (``write_videofile(codec=..., audio_codec=...)``): unsupported, a bad parameter
    value, and also an OSError, which is what MoviePy raises there (ffmpeg's "Unknown encoder")."""


class EncoderError(FramepipeError):
    """The encoder (x264) refused an option or failed; the message carries x264's own words."""


class OutputError(FramepipeError, OSError):
    """Writing the output failed: path not writable, disk full. ``errno`` is set.

    Made with an errno that Python maps to a subclass of OSError (as ``OSError(errno, text)``
    is a FileNotFoundError for ENOENT), it is also that subclass: a missing folder is caught
    by ``except FileNotFoundError`` as well as by ``except framepipe.OutputError`` (see
    :data:`OUTPUT_ERRORS`), as PyAV's errors are.
    """

    def __new__(cls, *args: object) -> OutputError:
        if cls is OutputError and len(args) >= 2 and isinstance(args[0], int):
            cls = OUTPUT_ERRORS.get(args[0], cls)
        return super().__new__(cls, *args)


def _output_error(builtin: type[OSError]) -> type[OutputError]:
    """The OutputError that is also `builtin` (e.g. OutputFileNotFoundError)."""
    name = f"Output{builtin.__name__}"
    doc = f"An :class:`OutputError` that is also a :class:`{builtin.__name__}`."
    return type(name, (OutputError, builtin), {"__module__": __name__, "__doc__": doc})


# The built-in subclasses of OSError (PEP 3151), each with the OutputError that is also it.
_BUILTINS = (
    BlockingIOError,
    ChildProcessError,
    BrokenPipeError,
    ConnectionAbortedError,
    ConnectionRefusedError,
    ConnectionResetError,
    FileExistsError,
    FileNotFoundError,
    InterruptedError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
    ProcessLookupError,
    TimeoutError,
)
_OUTPUT_CLASSES: dict[type[OSError], type[OutputError]] = {builtin: _output_error(builtin) for builtin in _BUILTINS}
globals().update({c.__name__: c for c in _OUTPUT_CLASSES.values()})  # importable, so picklable

#: errno -> the OutputError class for it, by Python's own mapping of errnos to OSError subclasses
#: (so that ``except PermissionError`` catches EACCES and EPERM, as it would for an OSError).
OUTPUT_ERRORS: dict[int, type[OutputError]] = {
    code: _OUTPUT_CLASSES[type(OSError(code, ""))]
    for code in sorted(errno.errorcode)
    if type(OSError(code, "")) in _OUTPUT_CLASSES
}


class OutOfMemoryError(FramepipeError, MemoryError):
    """A buffer could not be allocated (the message says how large and what for)."""


class RenderError(FramepipeError):
    """Rendering a frame failed (in ``make_frame``), or a worker process died twice.

    ``frame`` is the index of the frame being rendered and ``worker_traceback`` the worker's
    formatted traceback; the original exception, when it could be sent back, is ``__cause__``.
    """

    @checked
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
    "NoFpsError",
    "CodecError",
    "UnsupportedError",
    "CodecError",
    "EncoderError",
    "OutputError",
    "OutOfMemoryError",
    "RenderError",
    "FramepipeWarning",
]
