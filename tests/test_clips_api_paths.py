"""framepipe.editor maps MoviePy 2.2.1's module paths: every path of the table imports, each
name is the very object of framepipe.clips (or its audio clips, once they exist), the paths
and names are MoviePy's own, and ``from moviepy import X`` names are in framepipe.editor."""

from __future__ import annotations

import importlib
import sys
import types

import framepipe.clips as fp
import framepipe.editor as mpy
import pytest
from framepipe.editor import _paths

moviepy = pytest.importorskip("moviepy")

NOT_IN_MOVIEPY_2 = {"video.io.bindings"}  # MoviePy 1.x's path of mplfig_to_npimage
AUDIO_TARGETS = ("framepipe.clips.audio",)


def _is_audio(target: str) -> bool:
    return target.startswith(AUDIO_TARGETS)


def _has_audio() -> bool:
    return importlib.util.find_spec("framepipe.clips.audio") is not None


@pytest.mark.parametrize("path", [p for p in _paths.PATHS if p])
def test_every_path_imports_and_names_are_framepipes_objects(path):
    module = importlib.import_module(f"framepipe.editor.{path}")
    spec = _paths.PATHS[path]
    if isinstance(spec, str):
        if _is_audio(spec) and not _has_audio():
            with pytest.raises(ImportError, match=r"framepipe\.clips\.audio"):
                module.__all__  # noqa: B018
            return
        target = importlib.import_module(spec)
        for name in target.__all__:
            assert getattr(module, name) is getattr(target, name), name
        return
    for name, target in spec.items():
        module_name, _, attr = target.partition(":")
        if _is_audio(target) and not _has_audio():
            with pytest.raises(ImportError, match=r"no module framepipe\.clips\.audio"):
                getattr(module, name)
            continue
        assert getattr(module, name) is getattr(importlib.import_module(module_name), attr), name
        exec(f"from framepipe.editor.{path} import {name} as imported", {}, ns := {})
        assert ns["imported"] is getattr(module, name)


@pytest.mark.parametrize("path", [p for p in _paths.PATHS if p and p not in NOT_IN_MOVIEPY_2])
def test_paths_and_names_are_moviepys(path):
    theirs = importlib.import_module(f"moviepy.{path}")
    spec = _paths.PATHS[path]
    if isinstance(spec, str) and _is_audio(spec) and not _has_audio():
        pytest.skip("framepipe.clips.audio does not exist yet")
    names = list(spec) if isinstance(spec, dict) else list(getattr(importlib.import_module(spec), "__all__", []))
    if isinstance(spec, str) and spec.endswith(".fx"):
        # MoviePy's effect classes are all there (framepipe's module has them and Effect)
        ours = importlib.import_module(spec)
        for name in theirs.__all__:
            assert hasattr(ours, name), name
        return
    for name in names:
        if path == "config":
            continue  # MoviePy's config computes these at import; framepipe's are on the PATH
        assert hasattr(theirs, name), f"moviepy.{path} has no {name}"


def test_moviepy_top_level_names_are_in_the_editor():
    skipped = {"__version__"}  # framepipe's own version is framepipe.__version__
    for name in moviepy.__all__:
        if name in skipped:
            continue
        if name in _paths.TOP and not _has_audio():
            with pytest.raises(ImportError, match=r"framepipe\.clips\.audio"):
                getattr(mpy, name)
            continue
        assert hasattr(mpy, name), name
    assert mpy.videotools is importlib.import_module("framepipe.editor.video.tools")
    assert mpy.videotools.drawing.circle is fp.circle
    assert mpy.Clip is fp.Clip and mpy.Effect is fp.fx.Effect and mpy.BitmapClip is fp.BitmapClip
    assert mpy.convert_to_seconds is fp.tools.convert_to_seconds
    assert mpy.ffmpeg_tools is fp.ffmpeg_tools


def test_effect_modules_keep_the_class_name():
    import framepipe.editor.video.fx as vfx
    import framepipe.editor.video.fx.FadeIn as fadein_module  # noqa: F401
    from framepipe.editor.video.fx import FadeIn
    from framepipe.editor.video.fx.Resize import Resize

    # importing the per-effect module does not replace the class on its package (as in MoviePy)
    assert vfx.FadeIn is FadeIn is fp.fx.FadeIn
    assert isinstance(vfx.FadeIn, type) and Resize is fp.fx.Resize
    assert sys.modules["framepipe.editor.video.fx.FadeIn"].FadeIn is fp.fx.FadeIn


def test_star_import_and_unknown_names():
    ns: dict = {}
    exec("from framepipe.editor.video.VideoClip import *", ns)
    assert ns["BitmapClip"] is fp.BitmapClip and ns["TextClip"] is fp.TextClip
    exec("from framepipe.editor.video.fx import *", ns)
    assert ns["Crop"] is fp.fx.Crop
    import framepipe.editor.video as video

    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        video.Nope  # noqa: B018
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("framepipe.editor.video.nope")
    assert "fx" in dir(video) and "VideoClip" in dir(video)


@pytest.fixture
def fake_audio(monkeypatch):
    """A stand-in framepipe.clips.audio (and .fx), as the sound clips will be, with the
    mapped modules and the editor's cached names forgotten before and after."""

    def forget():
        for name in list(sys.modules):
            if name.startswith("framepipe.editor.audio"):
                monkeypatch.delitem(sys.modules, name)
        for name in (*_paths.TOP, "audio"):
            if name in vars(mpy):
                monkeypatch.delattr(mpy, name)

    audio = types.ModuleType("framepipe.clips.audio")
    afx = types.ModuleType("framepipe.clips.audio.fx")
    for name in ("AudioClip", "AudioFileClip", "AudioArrayClip", "CompositeAudioClip"):
        setattr(audio, name, type(name, (), {}))
    audio.concatenate_audioclips = lambda clips: clips
    afx.__all__ = list(_paths._AFX_NAMES)
    for name in _paths._AFX_NAMES:
        setattr(afx, name, type(name, (), {}))
    audio.fx = afx
    forget()
    monkeypatch.setitem(sys.modules, "framepipe.clips.audio", audio)
    monkeypatch.setitem(sys.modules, "framepipe.clips.audio.fx", afx)
    yield audio, afx
    forget()


def test_audio_paths_resolve_once_the_sound_clips_exist(fake_audio):
    audio, afx = fake_audio
    from framepipe.editor import AudioClip
    from framepipe.editor import afx as editor_afx
    from framepipe.editor.audio.AudioClip import CompositeAudioClip, concatenate_audioclips
    from framepipe.editor.audio.fx import AudioFadeIn
    from framepipe.editor.audio.fx.MultiplyVolume import MultiplyVolume
    from framepipe.editor.audio.io.AudioFileClip import AudioFileClip

    assert AudioClip is audio.AudioClip and editor_afx is afx
    assert CompositeAudioClip is audio.CompositeAudioClip and concatenate_audioclips is audio.concatenate_audioclips
    assert AudioFadeIn is afx.AudioFadeIn and MultiplyVolume is afx.MultiplyVolume
    assert AudioFileClip is audio.AudioFileClip
    assert mpy.AudioArrayClip is audio.AudioArrayClip


def test_audio_names_are_an_import_error_naming_the_missing_module(monkeypatch):
    if _has_audio():
        pytest.skip("framepipe.clips.audio exists")
    with pytest.raises(ImportError, match=r"framepipe\.editor\.AudioFileClip comes from framepipe\.clips\.audio"):
        from framepipe.editor import AudioFileClip  # noqa: F401
    assert "AudioClip" not in mpy.__all__  # `from framepipe.editor import *` still works
    ns: dict = {}
    exec("from framepipe.editor import *", ns)
    assert ns["VideoClip"] is fp.VideoClip
