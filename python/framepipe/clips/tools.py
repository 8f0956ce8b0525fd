"""MoviePy's ``moviepy.tools`` helpers that a script calls (``framepipe.editor.tools``).

:func:`convert_to_seconds` as MoviePy's (including returning a non-time value unchanged);
:func:`find_extension`, :func:`deprecated_version_of`, :func:`close_all_clips`,
:func:`no_display_available`, :func:`ffmpeg_escape_filename`, :func:`cross_platform_popen_params`
and :func:`subprocess_call` (runs a command; an error exit is an OSError with its stderr), as
MoviePy's. Not here: ``compute_position`` (an internal of MoviePy's compositing)."""

from __future__ import annotations

import importlib
import os
import platform
import shutil
import subprocess
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .._keywords import checked
from ..errors import ParameterError
from ._sources import ImageClip, VideoFileClip

OS_NAME = os.name

# MoviePy's ``moviepy.config`` names: the ffmpeg and ffplay on the PATH (or in the environment
# variables of those names), for scripts that run them themselves. framepipe does not use them:
# it encodes and decodes in-process.
FFMPEG_BINARY = os.environ.get("FFMPEG_BINARY") or shutil.which("ffmpeg") or "ffmpeg"
FFPLAY_BINARY = os.environ.get("FFPLAY_BINARY") or shutil.which("ffplay") or "ffplay"


@checked
def convert_to_seconds(time: Any) -> Any:
    """Any time as seconds: 15.4, (1, 21.5) -> 81.5, (1, 1, 2) -> 3662,
    "01:01:33.045" -> 3693.045, "01:01:33,5" -> 3693.5, "1:33,5" -> 99.5, "33.5" -> 33.5.
    As MoviePy's: a value of another type (None, a number) is returned as it is; a string
    that is not a time is a ParameterError (a ValueError, as MoviePy's float() raises)."""
    factors = (1, 60, 3600)
    if isinstance(time, str):
        try:
            time = [float(part.replace(",", ".")) for part in time.split(":")]
        except ValueError:
            raise ParameterError(f"convert_to_seconds: cannot read {time!r} as seconds or 'hh:mm:ss.ss'") from None
    if not isinstance(time, (tuple, list)):
        return time
    return sum(mult * part for mult, part in zip(factors, reversed(time)))


@checked
def cross_platform_popen_params(popen_params: dict[str, Any]) -> dict[str, Any]:
    """`popen_params` for ``subprocess.Popen``, with ``creationflags=0x08000000`` on Windows
    (no console window opens), as MoviePy's."""
    if OS_NAME == "nt":
        popen_params["creationflags"] = 0x08000000
    return popen_params


@checked
def subprocess_call(cmd: list[str], logger: Any = "bar") -> None:
    """Run `cmd` (a list of arguments); an error exit raises OSError with the command's stderr
    (MoviePy's IOError). `logger` is accepted; nothing is printed."""
    params = cross_platform_popen_params(
        {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "stdin": subprocess.DEVNULL}
    )
    try:
        proc = subprocess.run(cmd, **params, check=False)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"subprocess_call: no program {cmd[0]!r} (for ffmpeg: install it, or set FFMPEG_BINARY to its path)"
        ) from None
    if proc.returncode:
        raise OSError(proc.stderr.decode("utf8", "replace"))


@checked
def ffmpeg_escape_filename(filename: str) -> str:
    """`filename` with ``./`` before it if it starts with '-' (not read as an ffmpeg option)."""
    return "./" + filename if filename.startswith("-") else filename


@checked
def deprecated_version_of(func: Callable[..., Any], old_name: str) -> Callable[..., Any]:
    """`func` under its old name: calling it warns (PendingDeprecationWarning), as MoviePy's."""
    warning = (
        f"The function ``{old_name}`` is deprecated and is kept temporarily for backwards compatibility.\n"
        f"Please use the new name, ``{func.__name__}``, instead."
    )

    def deprecated_func(*args: Any, **kwargs: Any) -> Any:
        warnings.warn("MoviePy: " + warning, PendingDeprecationWarning, stacklevel=2)
        return func(*args, **kwargs)

    deprecated_func.__doc__ = warning
    return deprecated_func


extensions_dict: dict[str, dict[str, Any]] = {
    "mp4": {"type": "video", "codec": ["libx264", "libmpeg4", "aac"]},
    "mkv": {"type": "video", "codec": ["libx264", "libmpeg4", "aac"]},
    "ogv": {"type": "video", "codec": ["libtheora"]},
    "webm": {"type": "video", "codec": ["libvpx"]},
    "avi": {"type": "video"},
    "mov": {"type": "video", "codec": ["libx264", "prores"]},
    "ogg": {"type": "audio", "codec": ["libvorbis"]},
    "mp3": {"type": "audio", "codec": ["libmp3lame"]},
    "wav": {"type": "audio", "codec": ["pcm_s16le", "pcm_s24le", "pcm_s32le"]},
    "m4a": {"type": "audio", "codec": ["libfdk_aac"]},
    "flac": {"type": "audio", "codec": ["flac"]},
    **{ext: {"type": "image"} for ext in ("jpg", "jpeg", "png", "bmp", "tiff")},
}


@checked
def find_extension(codec: str) -> str:
    """The file extension for a codec name ("libx264" -> "mp4"; an extension is itself), as
    MoviePy's table; an unknown codec is a ParameterError (a ValueError)."""
    if codec in extensions_dict:
        return codec
    for ext, infos in extensions_dict.items():
        if codec in infos.get("codec", []):
            return ext
    known = sorted({c for infos in extensions_dict.values() for c in infos.get("codec", [])})
    raise ParameterError(f"find_extension: unknown codec {codec!r}; known: {known}")


@checked
def close_all_clips(objects: Any = "globals", types: Iterable[str] = ("audio", "video", "image")) -> None:
    """Close the clips among `objects` (a dict such as ``locals()``, or an iterable; "globals":
    this module's globals, as in MoviePy) of the kinds `types` ("audio", "video", "image")."""
    kinds: dict[str, Any] = {"video": VideoFileClip, "image": ImageClip}
    if "audio" in types:
        try:
            kinds["audio"] = importlib.import_module("framepipe.clips.audio").AudioFileClip
        except ImportError:
            kinds["audio"] = ()  # no sound clips in this version of framepipe
    if objects == "globals":
        objects = globals()
    if isinstance(objects, Mapping):
        objects = objects.values()
    unknown = [t for t in types if t not in ("audio", "video", "image")]
    if unknown:
        raise ParameterError(f"close_all_clips: types must be among 'audio', 'video', 'image', got {unknown}")
    wanted = tuple(c for t in types for c in (kinds[t] if isinstance(kinds[t], tuple) else (kinds[t],)))
    for obj in objects:
        if wanted and isinstance(obj, wanted):
            obj.close()


@checked
def no_display_available() -> bool:
    """True if this machine has no graphical display (X11 or Wayland), as MoviePy's."""
    system = platform.system()
    if system in ("Linux", "FreeBSD", "NetBSD", "OpenBSD", "SunOS", "AIX") or "CYGWIN_NT" in system:
        return "DISPLAY" not in os.environ and "WAYLAND_DISPLAY" not in os.environ
    return False


__all__ = [
    "convert_to_seconds",
    "cross_platform_popen_params",
    "subprocess_call",
    "ffmpeg_escape_filename",
    "deprecated_version_of",
    "extensions_dict",
    "find_extension",
    "close_all_clips",
    "no_display_available",
]
