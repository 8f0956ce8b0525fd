"""MoviePy's module paths under ``framepipe.editor``: ``from moviepy.video.fx import FadeIn``
becomes ``from framepipe.editor.video.fx import FadeIn``.

:data:`PATHS` is the one table: each MoviePy module path (relative to ``moviepy``) and what it
holds in framepipe — a dict of names to ``"module:attribute"`` targets, or the name of a
framepipe module whose public names it all shares. A path with paths under it is a package.
No module files: an import hook (:class:`_Finder`, added to ``sys.meta_path`` when
``framepipe.editor`` is imported) makes a module for each path on import, whose names are
resolved from the table when first read. A target that this framepipe does not have (the
sound clips, ``framepipe.clips.audio``, until they land) raises ImportError naming the
missing module when the name is read, not when the path is imported."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from typing import Any

from ..clips import fx as _fx

_CLIPS = "framepipe.clips"
_AUDIO = "framepipe.clips.audio"
_AFX = "framepipe.clips.audio.fx"
_AFX_NAMES = (
    "AudioDelay",
    "AudioFadeIn",
    "AudioFadeOut",
    "AudioLoop",
    "AudioNormalize",
    "MultiplyStereoVolume",
    "MultiplyVolume",
)
_VFX_NAMES = tuple(n for n in _fx.__all__ if n != "Effect")


def _in(module: str, *names: str) -> dict[str, str]:
    return {name: f"{module}:{name}" for name in names}


Spec = dict[str, str] | str

#: What ``from moviepy import X`` gives that framepipe.editor defines lazily: the sound clips
#: (the rest of its names are defined in editor/__init__.py).
TOP: dict[str, str] = {
    **_in(_AUDIO, "AudioClip", "AudioArrayClip", "CompositeAudioClip", "concatenate_audioclips", "AudioFileClip"),
    "afx": _AFX,
}

#: MoviePy module path -> its names (see the module docstring); "" is framepipe.editor itself.
PATHS: dict[str, Spec] = {
    "": TOP,
    "Clip": _in(_CLIPS, "Clip"),
    "Effect": _in("framepipe.clips.fx", "Effect"),
    "decorators": "framepipe.clips.decorators",
    "tools": "framepipe.clips.tools",
    "config": _in("framepipe.clips.tools", "FFMPEG_BINARY", "FFPLAY_BINARY"),
    "audio": {},
    "audio.AudioClip": _in(_AUDIO, "AudioClip", "AudioArrayClip", "CompositeAudioClip", "concatenate_audioclips"),
    "audio.fx": _AFX,
    **{f"audio.fx.{name}": _in(_AFX, name) for name in _AFX_NAMES},
    "audio.io": {},
    "audio.tools": {},
    "audio.tools.cuts": _in("framepipe.clips.cuts", "find_audio_period"),
    "audio.io.AudioFileClip": _in(_AUDIO, "AudioFileClip"),
    "video": {},
    "video.VideoClip": _in(
        _CLIPS, "VideoClip", "ImageClip", "ColorClip", "TextClip", "BitmapClip", "DataVideoClip", "UpdatedVideoClip"
    ),
    "video.fx": "framepipe.clips.fx",
    **{f"video.fx.{name}": _in("framepipe.clips.fx", name) for name in _VFX_NAMES},
    "video.compositing": {},
    "video.compositing.CompositeVideoClip": _in(_CLIPS, "CompositeVideoClip", "clips_array", "concatenate_videoclips"),
    "video.io": {},
    "video.io.VideoFileClip": _in(_CLIPS, "VideoFileClip"),
    "video.io.ImageSequenceClip": _in(_CLIPS, "ImageSequenceClip"),
    "video.io.ffmpeg_tools": "framepipe.clips.ffmpeg_tools",
    "video.io.ffmpeg_writer": _in(
        "framepipe.clips.ffmpeg_io.writer", "ffmpeg_write_video", "ffmpeg_write_image", "FFMPEG_VideoWriter"
    ),
    "video.io.gif_writers": _in("framepipe.clips.ffmpeg_io.writer", "write_gif_with_imageio"),
    "video.io.ffmpeg_reader": _in(
        "framepipe.clips.ffmpeg_io.reader",
        "ffmpeg_parse_infos",
        "FFMPEG_VideoReader",
        "ffmpeg_read_image",
        "FFmpegInfosParser",
    ),
    "video.io.bindings": _in("framepipe.editor", "mplfig_to_npimage"),
    "video.io.display_in_notebook": _in("framepipe.editor", "display_in_notebook"),
    "video.tools": {},
    "video.tools.subtitles": _in(_CLIPS, "SubtitlesClip", "file_to_subtitles"),
    "video.tools.credits": _in(_CLIPS, "CreditsClip"),
    "video.tools.drawing": _in(_CLIPS, "color_gradient", "color_split", "circle"),
    "video.tools.interpolators": "framepipe.clips.interpolators",
    "video.tools.cuts": _in(
        "framepipe.clips.cuts", "find_video_period", "FramesMatch", "FramesMatches", "detect_scenes"
    ),
}

PACKAGE = "framepipe.editor"


def resolve(target: str, what: str) -> Any:
    """The object `target` ("module:attribute", or a module's name) names, for `what` (the
    name as the user reads it). A module that this framepipe lacks is an ImportError naming it."""
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name is None or not module_name.startswith(e.name):
            raise  # a module that the target itself imports is missing: its own error
        raise ImportError(
            f"{what} comes from {module_name}, which this framepipe does not have (no module {e.name}; "
            f"MoviePy's sound clips are framepipe.clips.audio)",
            name=e.name,
        ) from None
    return getattr(module, attr) if attr else module


def _children(path: str) -> list[str]:
    prefix = f"{path}." if path else ""
    return sorted({key[len(prefix) :].split(".")[0] for key in PATHS if key.startswith(prefix) and key != path})


class _MappedModule(types.ModuleType):
    """A module for one of MoviePy's paths: its names resolved from PATHS when first read."""

    def __getattr__(self, name: str) -> Any:
        path = self.__name__[len(PACKAGE) + 1 :]
        spec = PATHS[path]
        full = f"{self.__name__}.{name}"
        if isinstance(spec, dict) and name in spec:
            value = resolve(spec[name], full)
        elif name == "__all__":
            names = list(spec) if isinstance(spec, dict) else list(resolve(spec, full).__all__)
            value = names
        elif isinstance(spec, str) and not name.startswith("__"):
            target = resolve(spec, full)
            if not hasattr(target, name):
                raise AttributeError(f"module {self.__name__!r} ({spec}) has no attribute {name!r}")
            value = getattr(target, name)
        elif name in _children(path):
            value = importlib.import_module(full)
        else:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        super().__setattr__(name, value)  # resolved once
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        # Importing video.fx.FadeIn sets video.fx's attribute FadeIn to that module; as in
        # MoviePy, video.fx.FadeIn stays the class.
        spec = PATHS.get(self.__name__[len(PACKAGE) + 1 :])
        if _is_mapped(value) and (name in self.__dict__ or _names_of(spec, name)):
            return
        if isinstance(spec, str) and not name.startswith("__"):
            # A path that shares a framepipe module's names is a view of it: setting one of its
            # names sets the module's (monkeypatching editor.tools.OS_NAME reaches the functions).
            target = importlib.import_module(spec)
            if hasattr(target, name):
                setattr(target, name, value)
        super().__setattr__(name, value)

    def __dir__(self) -> list[str]:
        path = self.__name__[len(PACKAGE) + 1 :]
        spec = PATHS[path]
        names: list[str] = list(spec) if isinstance(spec, dict) else []
        if isinstance(spec, str):
            try:
                names = [n for n in dir(importlib.import_module(spec)) if not n.startswith("_")]
            except ImportError:
                pass  # the sound clips' module, not in this framepipe: reading a name says so
        return sorted(set(names) | set(_children(path)) | set(super().__dir__()))


class EditorModule(types.ModuleType):
    """framepipe.editor's own module class: importing framepipe.editor.Clip (MoviePy's module
    path) leaves framepipe.editor.Clip the class, as ``from moviepy import Effect`` is."""

    def __setattr__(self, name: str, value: Any) -> None:
        if _is_mapped(value) and name in self.__dict__:
            return
        super().__setattr__(name, value)


def _is_mapped(value: Any) -> bool:
    """Whether `value` is a module this hook made."""
    return isinstance(value, types.ModuleType) and isinstance(getattr(value, "__loader__", None), _Loader)


def _names_of(spec: Spec | None, name: str) -> bool:
    """Whether `name` is one of the names a path's spec gives (not a submodule)."""
    if isinstance(spec, dict):
        return name in spec
    if isinstance(spec, str):
        try:
            return hasattr(importlib.import_module(spec), name)
        except ImportError:
            return False
    return False


class _Loader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _MappedModule(spec.name)
        path = spec.name[len(PACKAGE) + 1 :]
        module.__doc__ = f"MoviePy's moviepy.{path}, as framepipe (see framepipe.editor._paths)."
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        pass


class _Finder(importlib.abc.MetaPathFinder):
    """Finds ``framepipe.editor.<MoviePy path>`` for the paths of PATHS."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(PACKAGE + "."):
            return None
        rel = fullname[len(PACKAGE) + 1 :]
        if rel not in PATHS or rel == "":
            return None
        return importlib.util.spec_from_loader(fullname, _Loader(), is_package=bool(_children(rel)))


def install() -> None:
    """Add the finder to ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())
