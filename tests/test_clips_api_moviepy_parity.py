"""Behaviours of framepipe's clips checked against MoviePy 2.2.1 itself (the reference): its exact
error texts (with framepipe's notes), copies, sizes, durations read from files (and ffprobe),
subclips past the end, Decimal scale factors, trajectories, memoize and fps_source."""

from __future__ import annotations

import copy
import decimal
import json
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from framepipe import clips as fp
from framepipe.clips.interpolators import Trajectory
from framepipe.errors import ParameterError

mp = pytest.importorskip("moviepy")
from moviepy.video.tools import drawing as their_drawing  # noqa: E402
from moviepy.video.tools import interpolators as their_interpolators  # noqa: E402

MOVIEPY_REPO = "/work/.mirror/Zulko+moviepy/repo"
VIDEOS = (".mp4", ".webm", ".gif")


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    """The videos of MoviePy 2.2.1's media/ folder (from its repository), in a folder of their own."""
    listing = subprocess.run(
        ["git", "-C", MOVIEPY_REPO, "ls-tree", "--name-only", "v2.2.1", "media/"], capture_output=True, text=True
    )
    if listing.returncode != 0:
        pytest.skip("MoviePy's repository is not on this machine")
    folder = tmp_path_factory.mktemp("moviepy_media")
    for entry in listing.stdout.split():
        if entry.endswith(VIDEOS):
            blob = subprocess.run(["git", "-C", MOVIEPY_REPO, "show", f"v2.2.1:{entry}"], capture_output=True)
            if blob.returncode == 0:  # the mirror lacks a few large blobs (rotated-90-degrees.mp4, ...)
                (folder / Path(entry).name).write_bytes(blob.stdout)
    return folder


def _their_error(call):
    with pytest.raises(ValueError) as theirs:
        call()
    return str(theirs.value)


# ---- 1. MoviePy's exact error texts, framepipe's kind and notes ------------------------------


def test_rotate_resample_error_is_moviepys_text_with_a_note():
    theirs = _their_error(lambda: mp.ColorClip((4, 4), (1, 2, 3), duration=1).rotated(30, resample="unknown"))
    with pytest.raises(ParameterError) as ours:
        fp.ColorClip((4, 4), (1, 2, 3), duration=1).rotated(30, resample="unknown")
    assert str(ours.value) == theirs
    assert any("'unknown'" in n and "'bicubic'" in n for n in ours.value.__notes__)


@pytest.mark.parametrize(
    "kwargs",
    [dict(shape="linear"), dict(shape="bilinear"), dict(shape="invalid", p2=(3, 0))],
    ids=["linear", "bilinear", "bad-shape"],
)
def test_color_gradient_errors_are_moviepys_text(kwargs):
    theirs = _their_error(lambda: their_drawing.color_gradient((5, 1), (1, 1), **kwargs))
    with pytest.raises(ParameterError) as ours:
        fp.color_gradient((5, 1), (1, 1), **kwargs)
    assert str(ours.value) == theirs
    assert any(kwargs["shape"] in n for n in ours.value.__notes__)


def test_textclip_without_text_is_moviepys_text_detail_as_cause():
    theirs = _their_error(lambda: mp.TextClip(method="label", font_size=10))
    with pytest.raises(ParameterError, match=f"^{theirs}$") as ours:
        fp.TextClip(method="label", font_size=10)
    assert isinstance(ours.value.__cause__, ParameterError)
    assert "text=" in str(ours.value.__cause__) and "filename=" in str(ours.value.__cause__)


# ---- 2. copies and sizes -----------------------------------------------------------------------


@pytest.mark.parametrize("how", [lambda c: c.copy(), copy.copy, copy.deepcopy], ids=["copy()", "copy", "deepcopy"])
def test_copies_keep_every_attribute_as_moviepy(how):
    for module in (fp, mp):
        clip = module.ColorClip((4, 2), (10, 20, 30), duration=1)
        clip.my_tag = "foo"
        copied = how(clip)
        assert copied.my_tag == "foo" and copied is not clip
        assert {k: type(v) for k, v in vars(copied).items()} == {k: type(v) for k, v in vars(clip).items()}
    ours = fp.ColorClip((4, 2), (10, 20, 30), duration=1)
    ours.get_frame(0)  # fills the static cache
    for copied in (ours.copy(), copy.deepcopy(ours)):
        np.testing.assert_array_equal(copied.get_frame(0.5), ours.get_frame(0.5))


def test_a_copy_with_a_new_frame_function_does_not_use_the_old_cached_frame():
    clip = fp.ColorClip((4, 2), (10, 20, 30), duration=1)
    clip.get_frame(0)
    other = clip.with_updated_frame_function(lambda t: np.full((2, 4, 3), 200, np.uint8))
    assert other.get_frame(0)[0, 0].tolist() == [200, 200, 200]
    assert clip.get_frame(0)[0, 0].tolist() == [10, 20, 30]


def test_videofileclip_size_type_and_deepcopy_as_moviepy(media):
    path = str(media / "chaplin.mp4")
    ours, theirs = fp.VideoFileClip(path), mp.VideoFileClip(path)
    try:
        assert type(ours.size) is type(theirs.size) is list and ours.size == theirs.size
        assert type(fp.ColorClip((4, 2), (0, 0, 0)).size) is type(mp.ColorClip((4, 2), (0, 0, 0)).size)
        deep = copy.deepcopy(ours)
        assert deep.reader is ours.reader  # as MoviePy: a deepcopy of a file clip is its copy
        assert copy.deepcopy(theirs).reader is theirs.reader
        np.testing.assert_array_equal(deep.get_frame(1), ours.get_frame(1))
        # a list size still concatenates / composes (sizes compared as pairs)
        both = ours.subclipped(0, 0.2) + ours.subclipped(1, 1.2)
        assert tuple(both.size) == (640, 360) and both.duration == pytest.approx(0.4)
    finally:
        ours.close()
        theirs.close()


# ---- 3. Resize by a Decimal --------------------------------------------------------------------


def test_resize_by_a_decimal_factor_as_moviepy():
    ours = fp.ColorClip((8, 6), (0, 0, 0), duration=1).with_effects([fp.fx.Resize(decimal.Decimal("2.5"))])
    theirs = mp.ColorClip((8, 6), (0, 0, 0), duration=1).with_effects([mp.vfx.Resize(decimal.Decimal("2.5"))])
    assert tuple(ours.size) == tuple(theirs.size) == (20, 15)
    assert ours.get_frame(0).shape == theirs.get_frame(0).shape


# ---- 4. trajectories of unequal lengths -------------------------------------------------------


def test_trajectory_of_unequal_lengths_as_moviepy_until_evaluated():
    for module in (their_interpolators, None):
        make = module.Trajectory if module else Trajectory
        moved = make([0, 1], [0], [0, 1]).addx(1)
        assert moved.xx.tolist() == [1]
        assert make([0, 1], [0], [0, 1]).addy(1).yy.tolist() == [1, 2]
    with pytest.raises(ParameterError, match="2 times, 1 x and 2 y"):
        Trajectory([0, 1], [0], [0, 1])(0.5)
    with pytest.raises(ValueError):  # MoviePy: numpy's error, when called
        their_interpolators.Trajectory([0, 1], [0], [0, 1])(0.5)


# ---- 5. durations read from files, subclips past the end --------------------------------------


def _ffprobe_duration(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_type,duration", "-of", "json", path],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    info = json.loads(out)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    # the video stream's own duration where the file states one, else the container's
    return float(video.get("duration") or info["format"]["duration"])


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="needs ffprobe")
def test_file_durations_match_ffprobe_for_moviepys_media(media):
    files = sorted(media.iterdir())
    assert len(files) >= 10
    for path in files:
        reader = fp.VideoFileClip(path, audio=False)
        try:
            assert reader.duration == pytest.approx(_ffprobe_duration(path), abs=1e-6), path.name
        finally:
            reader.close()
    # the WebM whose frames end at 0.999 s by their millisecond times: 1.0 s, as MoviePy
    webm = str(media / "big_buck_bunny_432_433.webm")
    assert fp.VideoFileClip(webm, audio=False).duration == mp.VideoFileClip(webm, audio=False).duration == 1.0


def test_subclip_past_the_end_raises_as_moviepy():
    frames = [["RR", "GG"]]
    with pytest.raises(ValueError):
        mp.BitmapClip(frames, fps=1).subclipped(0, 2)
    with pytest.raises(ParameterError, match=r"end_time \(2 s\) is after the clip's end \(1 s\)"):
        fp.BitmapClip(frames, fps=1).subclipped(0, 2)
    # less than one frame past the end: allowed (a file's duration rounded otherwise), with a warning
    with pytest.warns(UserWarning, match="less than a frame"):
        assert fp.BitmapClip(frames, fps=10).subclipped(0, 0.15).duration == pytest.approx(0.15)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fp.BitmapClip(frames, fps=1).subclipped(0, 1).duration == 1


# ---- 6. memoize, fps_source --------------------------------------------------------------------


def test_memoize_as_moviepy():
    for module in (fp, mp):
        clip = module.BitmapClip([["RR"], ["GG"], ["BB"]], fps=1).with_memoize(True)
        clip.memoized_t, clip.memoized_frame = 5, "foo"
        assert clip.get_frame(5) == "foo"
        frame = clip.get_frame(1)
        assert clip.memoized_t == 1 and clip.memoized_frame is frame
    plain = fp.BitmapClip([["RR"], ["GG"]], fps=1)
    with pytest.raises(ParameterError, match="outside the clip"):
        plain.get_frame(5)


def test_fps_source_tbr_as_moviepy(media):
    path = str(media / "fire2.mp4")
    with fp.VideoFileClip(path, fps_source="tbr") as ours, mp.VideoFileClip(path, fps_source="tbr") as theirs:
        assert ours.fps == theirs.fps == 90000
    with fp.VideoFileClip(path) as ours:
        assert ours.fps == pytest.approx(10.51, abs=0.005)  # the exact average rate; MoviePy's is 10.51
    with pytest.raises(ParameterError, match="fps source 'xyz' not supported"):
        fp.VideoFileClip(path, fps_source="xyz")


def test_reader_bitrate_as_moviepy(media):
    for name in ("chaplin.mp4", "bitmap.mp4", "big_buck_bunny_432_433.webm"):
        path = str(media / name)
        with fp.VideoFileClip(path, audio=False) as ours, mp.VideoFileClip(path, audio=False) as theirs:
            assert ours.reader.bitrate == theirs.reader.bitrate, name


def test_editor_module_names_write_through_for_monkeypatching(monkeypatch):
    import importlib

    tools = importlib.import_module("framepipe.editor.tools")
    monkeypatch.setattr(tools, "OS_NAME", "nt")
    assert tools.cross_platform_popen_params({}) == {"creationflags": 0x08000000}
    monkeypatch.undo()
    assert tools.cross_platform_popen_params({}) == {}


def test_mask_colorclip_with_an_rgb_colour_raises_as_moviepy():
    with pytest.raises(Exception, match="scalar"):
        mp.ColorClip(size=(4, 2), color=(255, 0, 0), is_mask=True)
    with pytest.raises(ParameterError, match=r"one number in \[0, 1\].*\(255, 0, 0\)"):
        fp.ColorClip(size=(4, 2), color=(255, 0, 0), is_mask=True)
    level = fp.ColorClip(size=(4, 2), color=0.4, is_mask=True, duration=1).get_frame(0)
    np.testing.assert_allclose(level, mp.ColorClip(size=(4, 2), color=0.4, is_mask=True).get_frame(0), atol=1 / 255)
