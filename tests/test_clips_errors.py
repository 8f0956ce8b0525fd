"""Bad input to clips (issue 21, point 11): each is refused with a ParameterError (a TypeError
for an unknown keyword) that names the argument, the value, what is allowed and, where a clip
is drawn, the clip and the time; sizes are checked before anything is allocated; and a write
onto one of the clip's own source files is refused before anything is rendered, whatever the
name it is given by."""

from __future__ import annotations

import math
import os
import warnings

import framepipe
import framepipe.editor as mpy
import numpy as np
import pytest
from conftest import check_video, decode_rgb, psnr, smooth_frames
from framepipe.clips import (
    ColorClip,
    CompositeVideoClip,
    ImageClip,
    ImageSequenceClip,
    TextClip,
    VideoClip,
    VideoFileClip,
    concatenate_videoclips,
    fx,
)

NAN, INF = float("nan"), float("inf")


def grey(size=(32, 24), duration=1.0):
    return ColorClip(size, (10, 20, 30), duration=duration).with_fps(10)


def moving(size=(32, 24)):
    w, h = size

    def f(t):
        out = np.zeros((h, w, 3), np.uint8)
        out[:, :, 0] = int(t * 100) % 256
        out[:, : w // 2, 1] = 200
        return out

    return VideoClip(f, duration=1).with_fps(10)


# ---- positions and times -------------------------------------------------------------------------


def test_nan_and_infinite_positions_name_the_clip_and_time():
    with pytest.raises(framepipe.ParameterError, match=r"ColorClip\.with_position: x=nan in \(nan, 0\)"):
        grey().with_position((NAN, 0))
    with pytest.raises(framepipe.ParameterError, match=r"y=inf"):
        grey().with_position(("center", INF))
    moving_pos = grey().with_position(lambda t: (INF if t > 0.4 else 0, 0))
    comp = CompositeVideoClip([moving_pos], size=(64, 48))
    comp.get_frame(0.2)
    with pytest.raises(framepipe.ParameterError, match=r"ColorClip at t=0\.5 s: its position \(inf, 0\) has x=inf"):
        comp.get_frame(0.5)
    rel = CompositeVideoClip([grey().with_position(lambda t: (NAN, 0.5), relative=True)], size=(64, 48))
    with pytest.raises(framepipe.ParameterError, match=r"at t=0\.3 s.*x=nan"):
        rel.get_frame(0.3)


def test_a_position_far_off_screen_is_off_screen():
    """A finite position however large (1e300 pixels, 2**70) is simply off the background:
    positions are clamped just outside it before they reach the kernel's integers."""
    bg = np.zeros((48, 64, 3), np.uint8)
    for pos in [(1e300, 0), (0, -1e300), (-(2**70), 2**70)]:
        frame = CompositeVideoClip([grey().with_position(pos)], size=(64, 48), bg_color=(0, 0, 0)).get_frame(0.1)
        np.testing.assert_array_equal(frame, bg)
    near = CompositeVideoClip([grey().with_position((60, 40))], size=(64, 48), bg_color=(0, 0, 0)).get_frame(0)
    assert (near[40:, 60:] == (10, 20, 30)).all() and (near[:40] == 0).all()


def test_a_nan_time_from_time_transform_names_the_clip_and_time():
    clip = moving().time_transform(lambda t: NAN if t > 0.5 else t).with_duration(1)
    assert clip.get_frame(0.25)[0, 0, 0] == 25
    with pytest.raises(framepipe.ParameterError, match=r"\(time_transform\) at t=0\.7 s: the time function gave nan"):
        clip.get_frame(0.7)
    with pytest.raises(framepipe.ParameterError, match=r"gave 'x'"):
        moving().time_transform(lambda t: "x").with_duration(1).get_frame(0.1)


# ---- sizes before allocating -----------------------------------------------------------------


def test_margin_sizes_are_checked_before_allocating():
    with pytest.raises(framepipe.ParameterError, match=r"Margin margin_size \(on ColorClip\) must be .* got nan"):
        fx.Margin(NAN).apply(grey())
    with pytest.raises(framepipe.ParameterError, match=r"Margin left \(on ColorClip\) must be .*0 to 8192.* got -3"):
        fx.Margin(left=-3).apply(grey())
    # 100000 a side would be 200032 x 200024 x 3 bytes (112 GiB): refused, not a MemoryError
    with pytest.raises(framepipe.ParameterError, match=r"got 100000"):
        fx.Margin(100000).apply(grey())
    with pytest.raises(framepipe.ParameterError, match=r"would be 8232x24, over the 8192-pixel limit"):
        fx.Margin(left=4100, right=4100).apply(grey())
    # a clip whose size is known only when drawn: checked then, naming the time
    wide = VideoClip(lambda t: np.zeros((4, 8190, 3), np.uint8), duration=1)
    m = fx.Margin(2).apply(wide)
    with pytest.raises(framepipe.ParameterError, match=r"at t=0\.4 s is 8190x4.*8194x8"):
        m.get_frame(0.4)
    ok = fx.Margin(3, color=(1, 2, 3)).apply(grey()).get_frame(0)
    assert ok.shape == (30, 38, 3) and tuple(ok[0, 0]) == (1, 2, 3) and tuple(ok[3, 3]) == (10, 20, 30)


def test_rotate_and_resize_check_the_size_they_make():
    big = ColorClip((8000, 6000), (1, 2, 3), duration=1)
    with pytest.raises(framepipe.ParameterError, match=r"Rotate: ColorClip at t=0 s is 8000x6000; rotated by 45"):
        fx.Rotate(45).apply(big).get_frame(0.5)
    with pytest.raises(framepipe.ParameterError, match=r"rotated by 30 degrees it would be"):
        fx.Rotate(lambda t: 30).apply(moving((8190, 2400))).get_frame(0.2)
    with pytest.raises(framepipe.ParameterError, match=r"rotated by 45 degrees"):
        fx.Rotate(45, center=(1, 1)).apply(big).get_frame(0.5)  # Pillow's path, expand=True
    assert fx.Rotate(90).apply(big).size == (6000, 8000)  # a quarter turn only swaps the sides
    from PIL import Image

    pil_w, pil_h = Image.new("RGB", (32, 24)).rotate(30, expand=True).size
    assert fx.Rotate(30).apply(grey()).get_frame(0).shape == (pil_h, pil_w, 3)  # as Pillow's
    with pytest.raises(framepipe.ParameterError, match=r"Resize height at t=0\.2 s must be .* got nan"):
        fx.Resize(height=lambda t: NAN).apply(grey()).get_frame(0.2)
    with pytest.raises(framepipe.ParameterError, match=r"Resize width at t=0\.3 s .* got 'x'"):
        fx.Resize(width=lambda t: "x").apply(grey()).get_frame(0.3)


def test_supersample_bounds_its_frame_count_and_holds_one_frame_at_a_time():
    with pytest.raises(framepipe.ParameterError, match=r"n_frames must be an integer from 1 to 10000.*got 10000000"):
        fx.SuperSample(d=0.1, n_frames=10**7).apply(grey())
    with pytest.raises(framepipe.ParameterError, match=r"SuperSample d must be .* got nan"):
        fx.SuperSample(d=NAN, n_frames=3).apply(grey())
    # the mean of the frames at t - d .. t + d, truncated, as MoviePy computes it
    clip = moving()
    got = fx.SuperSample(d=0.1, n_frames=5).apply(clip).get_frame(0.5)
    times = np.linspace(0.4, 0.6, 5)
    want = np.mean(np.array([clip.get_frame(u) for u in times], np.uint16), axis=0).astype(np.uint8)
    np.testing.assert_array_equal(got, want)


# ---- values that were accepted silently ------------------------------------------------------


def test_text_clip_refuses_a_lone_surrogate_and_colours_out_of_range():
    with pytest.raises(framepipe.ParameterError, match=r"lone surrogate '\\ud800' \(U\+D800\) at index 1"):
        TextClip(text="a\ud800b")
    with pytest.raises(framepipe.ParameterError, match=r"TextClip color: .*0-255, got \(300, -1, 0\)"):
        TextClip(text="ab", color=(300, -1, 0))
    with pytest.raises(framepipe.ParameterError, match=r"ColorClip color: .*0-255"):
        ColorClip((8, 8), (0, 0, 256))
    assert TextClip(text="ab", color=(255, 0, 0)).size[0] > 0


def test_fades_and_blinks_refuse_nan_and_negative_durations():
    for bad in (NAN, -1, INF, "1", None):
        with pytest.raises(framepipe.ParameterError, match=r"FadeIn duration must be a finite number of seconds >= 0"):
            fx.FadeIn(bad).apply(grey())
        with pytest.raises(framepipe.ParameterError, match=r"FadeOut duration"):
            fx.FadeOut(bad).apply(grey())
    with pytest.raises(framepipe.ParameterError, match=r"CrossFadeIn|FadeIn duration"):
        fx.CrossFadeIn(NAN).apply(grey())
    with pytest.raises(framepipe.ParameterError, match=r"Blink: duration_on \+ duration_off must be more than 0"):
        fx.Blink(0, 0).apply(grey())
    faded = fx.FadeIn(0.5).apply(grey()).get_frame(0.25)
    assert tuple(faded[0, 0]) == (5, 10, 15)


def test_a_constructors_duration_is_a_number():
    with pytest.raises(framepipe.ParameterError, match=r"duration must be a number of seconds, got the string '2'"):
        ColorClip((8, 8), (0, 0, 0), duration="2")
    with pytest.raises(framepipe.ParameterError, match="string"):
        VideoClip(lambda t: np.zeros((4, 4, 3), np.uint8), duration="00:00:02")
    assert grey().with_duration("00:00:02.5").duration == 2.5  # time codes, as MoviePy's with_duration


def test_absurd_durations_and_speeds_are_refused_with_the_frame_count(tmp_path):
    out = tmp_path / "x.mp4"
    with pytest.raises(
        framepipe.ParameterError, match=r"duration of 1e\+300 s at 10 fps makes 1e\+301 frames.*2147483647"
    ):
        grey().with_duration(1e300).write_videofile(out, logger=None)
    with pytest.raises(framepipe.ParameterError, match=r"makes 1e\+301 frames"):
        grey().with_speed_scaled(1e-300).write_gif(tmp_path / "x.gif", logger=None)
    with pytest.raises(framepipe.ParameterError, match=r"makes 1e\+301 frames"):
        next(grey().with_speed_scaled(1e-300).iter_frames())
    with pytest.raises(
        framepipe.ParameterError, match=r"MultiplySpeed: factor 1e-320 makes ColorClip's 1 s last inf s"
    ):
        grey().with_speed_scaled(1e-320)
    with pytest.raises(framepipe.ParameterError, match=r"MultiplySpeed factor must be a finite number > 0, got nan"):
        grey().with_speed_scaled(NAN)
    assert os.listdir(tmp_path) == []


def test_headblur_with_its_centre_off_the_frame_or_not_a_number():
    clip = moving()
    far = fx.HeadBlur(lambda t: 1e9, lambda t: -1e9, 5).apply(clip)
    np.testing.assert_array_equal(far.get_frame(0.3), clip.get_frame(0.3))  # nothing to blur
    near = fx.HeadBlur(lambda t: 16, lambda t: 12, 6).apply(clip).get_frame(0.3)
    assert not np.array_equal(near, clip.get_frame(0.3))  # the test can fail: a visible blur
    with pytest.raises(
        framepipe.ParameterError, match=r"HeadBlur on VideoClip\(f\) at t=0\.5 s: the centre \(nan, 3\)"
    ):
        fx.HeadBlur(lambda t: NAN, lambda t: 3, 5).apply(clip).get_frame(0.5)
    with pytest.raises(framepipe.ParameterError, match=r"HeadBlur radius"):
        fx.HeadBlur(lambda t: 1, lambda t: 1, NAN).apply(clip)


def test_accel_decel_refuses_an_abruptness_whose_curve_overflows():
    with pytest.raises(framepipe.ParameterError, match=r"AccelDecel: abruptness 1000000.0 is too large"):
        fx.AccelDecel(abruptness=1e6).apply(grey())
    with pytest.raises(framepipe.ParameterError, match=r"AccelDecel abruptness must be a finite number"):
        fx.AccelDecel(abruptness=NAN).apply(grey())
    steep = fx.AccelDecel(abruptness=500).apply(moving())
    assert steep.get_frame(0.1)[0, 0, 0] == 0 and steep.get_frame(0.95)[0, 0, 0] == 100


def test_editor_functions_refuse_unknown_keywords_naming_the_nearest():
    clip = grey()
    with pytest.raises(
        TypeError, match=r"vfx\.mask_color\(\) got an unexpected keyword argument 'colour' \(did you mean 'color'\?\)"
    ):
        mpy.vfx.mask_color(clip, colour=(0, 0, 0))
    with pytest.raises(TypeError, match=r"vfx\.mask_color\(\).*'thres' \(did you mean 'thr'\?\)"):
        mpy.vfx.mask_color(clip, thres=3)
    with pytest.raises(TypeError, match=r"vfx\.resize\(\).*'newsze' \(did you mean 'newsize'\?\)"):
        mpy.vfx.resize(clip, newsze=0.5)
    with pytest.raises(TypeError, match=r"vfx\.margin\(\).*'colour' \(did you mean 'color'\?\)"):
        mpy.vfx.margin(clip, 3, colour=(1, 1, 1))
    # MoviePy 2's names are taken too
    assert mpy.vfx.resize(clip, new_size=0.5).size == (16, 12)
    assert mpy.vfx.margin(clip, margin_size=2).size == (36, 28)
    assert mpy.vfx.mask_color(clip, color=(10, 20, 30), threshold=1, stiffness=2).mask is not None


def test_write_images_sequence_needs_a_number_pattern(tmp_path):
    clip = grey(duration=0.3)
    for bad in ("img.png", "img%%.png", "img%d%d.png"):
        with pytest.raises(framepipe.ParameterError, match=r"name_format must hold one %-format.*'frame%04d\.png'"):
            clip.write_images_sequence(str(tmp_path / bad), fps=10)
    assert os.listdir(tmp_path) == []
    names = clip.write_images_sequence(str(tmp_path / "f%02d.png"), fps=10)
    assert [os.path.basename(n) for n in names] == ["f00.png", "f01.png", "f02.png"]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_frame_of_another_size_names_the_clip_and_time(tmp_path, workers):
    seq = concatenate_videoclips([grey(duration=0.5), ColorClip((16, 16), (0, 0, 0), duration=0.5)])
    with pytest.raises(
        framepipe.ParameterError,
        match=r"frame 5 has shape \(16, 16, 3\), but frame 0 had shape \(24, 32, 3\).*"
        r"frame 5 is concatenate_videoclips\(2 clips, chain\) at t=0\.5 s \(its clip 1, ColorClip, at t=0 s\)",
    ):
        seq.write_videofile(tmp_path / "x.mp4", fps=10, logger=None, workers=workers, chunk_frames=5)
    assert os.listdir(tmp_path) == []


def test_writer_options_tune_and_durable_are_refused_when_empty_or_none(tmp_path):
    for kw, match in [
        ({"tune": ""}, r'unknown tune ""; expected one of animation, stillimage, film, grain'),
        ({"durable": None}, "durable must be true or false, got None"),
    ]:
        with pytest.raises(framepipe.ParameterError, match=match):
            framepipe.VideoWriter(tmp_path / "w.mp4", 25, **kw)
        with pytest.raises(framepipe.ParameterError, match=match):
            framepipe.render(lambda i: np.zeros((8, 8, 3), np.uint8), tmp_path / "r.mp4", n_frames=2, workers=1, **kw)
        with pytest.raises(framepipe.ParameterError, match=match):
            grey(duration=0.2).write_videofile(tmp_path / "c.mp4", logger=None, **kw)
    assert os.listdir(tmp_path) == []


# ---- a write onto the clip's own source --------------------------------------------------------


def _sources(kind: str, d) -> tuple[str, object]:
    """A source file in `d` and a clip that reads it."""
    from PIL import Image

    img = smooth_frames(1, 24, 32)[0]
    if kind == "video":
        with framepipe.VideoWriter(d / "src.mp4", fps=10) as w:
            for i in range(6):
                w.write(np.roll(img, i, axis=1))
        return "src.mp4", VideoFileClip(d / "src.mp4").subclipped(0, 0.4)
    if kind == "image":
        Image.fromarray(img).save(d / "src.png")
        return "src.png", ImageClip(str(d / "src.png"), duration=0.4)
    Image.fromarray(img).save(d / "a.png")
    Image.fromarray(img[::-1]).save(d / "src.png")
    return "src.png", ImageSequenceClip([str(d / "a.png"), str(d / "src.png")], fps=5)


@pytest.mark.parametrize("kind", ["video", "image", "sequence"])
def test_writing_onto_a_source_file_is_refused_under_any_name(tmp_path, kind, monkeypatch):
    """The output compared with the sources by device and inode: ./NAME, a symlink, a hard link
    and the absolute path are all the source; refused before rendering, the source untouched
    (before, a write through the symlink replaced the source with the new video)."""
    monkeypatch.chdir(tmp_path)
    src, clip = _sources(kind, tmp_path)
    ext = os.path.splitext(src)[1]
    os.symlink(src, f"link{ext}")
    os.link(src, f"hard{ext}")
    before, st = (tmp_path / src).read_bytes(), os.stat(src)
    composite = CompositeVideoClip([ColorClip((40, 30), (0, 0, 0), duration=0.4), clip.with_position((4, 3))])
    names = [f"./{src}", f"link{ext}", f"hard{ext}", str(tmp_path / src)]
    calls = []
    for name in names:
        for c in (clip, composite, clip.resized(0.5).with_effects([fx.FadeIn(0.1)])):
            with pytest.raises(framepipe.ParameterError, match=r"write_videofile: the output .* is a source of"):
                c.write_videofile(name, fps=10, logger=None)
            with pytest.raises(framepipe.ParameterError, match=r"write_gif: the output .* is a source of"):
                c.write_gif(name, fps=10, logger=None)

        def frame(t):
            calls.append(t)
            return clip.get_frame(t)

        with pytest.raises(framepipe.ParameterError, match=r"render: the output .* is a source of"):
            framepipe.render(frame, name, duration=0.4, fps=10, workers=1)
    assert calls == []
    after = os.stat(src)
    assert (tmp_path / src).read_bytes() == before and (after.st_ino, after.st_mtime_ns) == (st.st_ino, st.st_mtime_ns)
    assert os.path.islink(f"link{ext}") and os.stat(f"hard{ext}").st_ino == st.st_ino
    assert not [f for f in os.listdir(tmp_path) if f.endswith((".fp-tmp", ".part"))]
    # another file is written as usual
    res = clip.write_videofile("other.mp4", fps=10, logger=None)
    check_video("other.mp4", frames=4, width=32, height=24, fps=10)
    assert res.frames == 4 and psnr(decode_rgb("other.mp4")[0], clip.get_frame(0)) >= 30
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isclose(clip.duration, 0.4)
