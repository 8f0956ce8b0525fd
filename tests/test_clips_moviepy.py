"""MoviePy 2.2.1 itself (installed by the test setup) as a second reference: the same scene
built with both libraries, frame by frame. Tolerances: MoviePy truncates where framepipe
rounds (mask × 255, opacity × mask), and resizes/rotates with PIL where framepipe uses its own
kernels, so values differ by a level or two at edges; the scene must still match to PSNR >
40 dB (text: same size within 2 px, and the ink in the same place)."""

from __future__ import annotations

import framepipe
import moviepy as mp
import numpy as np
import pytest
from conftest import psnr
from framepipe import clips as fp
from framepipe.clips import fx

W, H = 160, 96
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def plot_like(t):
    """Smooth content that changes with t (like a rendered plot)."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    r = 128 + 100 * np.sin(x / 17 + 3 * t)
    g = 128 + 100 * np.cos(y / 13 - 2 * t)
    b = 128 + 80 * np.sin((x + y) / 29 + t)
    return np.stack([r, g, b], axis=2).astype(np.uint8)


def overlay_img():
    """A logo-like image with a white background (what MaskColor removes)."""
    img = np.full((60, 80, 3), 255, np.uint8)
    yy, xx = np.mgrid[0:60, 0:80]
    disc = (xx - 40) ** 2 + (yy - 30) ** 2 < 22**2
    img[disc] = (30, 90, 200)
    img[25:35, 10:70] = (200, 40, 40)
    return img


def both(build):
    return build(fp, fx), build(mp, mp.vfx)


def compare(a, b, times, min_psnr=40.0):
    assert a.size == tuple(b.size)
    for t in times:
        fa, fb = a.get_frame(t), b.get_frame(t).astype(np.uint8)
        q = psnr(fa, fb)
        assert q > min_psnr, f"t={t}: PSNR {q:.1f} dB"


def test_composite_with_mask_color_opacity_resize():
    def build(lib, vfx):
        bg = lib.VideoClip(plot_like, duration=2)
        over = (
            lib.ImageClip(overlay_img(), duration=2)
            .with_effects([vfx.MaskColor(color=[255, 255, 255], threshold=20, stiffness=4)])
            .with_opacity(0.4)
            .resized(height=0.85 * H)
            .with_position("center")
        )
        return lib.CompositeVideoClip([bg, over])

    a, b = both(build)
    compare(a, b, (0, 0.5, 1.3))


def test_clips_array():
    def build(lib, vfx):
        one = lib.VideoClip(plot_like, duration=1)
        two = lib.VideoClip(lambda t: plot_like(t + 1)[::-1], duration=1).with_effects([vfx.BlackAndWhite()])
        small = lib.ImageClip(overlay_img(), duration=1)
        return lib.clips_array([[one, two], [small, one.with_effects([vfx.MirrorX()])]])

    a, b = both(build)
    compare(a, b, (0, 0.4), min_psnr=45)


def test_concatenation_with_crossfade():
    def build(lib, vfx):
        a = lib.VideoClip(plot_like, duration=1)
        b = lib.ColorClip((W, H), color=(20, 180, 60), duration=1).with_effects([vfx.CrossFadeIn(0.5)])
        c = lib.ImageClip(overlay_img(), duration=1).with_effects([vfx.FadeIn(0.3), vfx.FadeOut(0.3)])
        return lib.concatenate_videoclips([a, b, c], method="compose", padding=-0.5)

    a, b = both(build)
    assert a.duration == pytest.approx(b.duration)
    assert a.duration == pytest.approx(2.0)
    compare(a, b, (0.2, 0.6, 0.75, 0.95, 1.4, 1.6, 1.95))


def test_fades_time_effects_and_loop():
    def build(lib, vfx):
        v = lib.VideoClip(plot_like, duration=1).with_fps(10)
        return lib.concatenate_videoclips(
            [
                v.with_effects([vfx.FadeIn(0.4, initial_color=(255, 255, 255))]),
                v.with_effects([vfx.TimeMirror()]),
                v.with_effects([vfx.MultiplySpeed(2), vfx.Loop(n=2)]),
                v.with_effects([vfx.GammaCorrection(0.7), vfx.LumContrast(10, 0.3), vfx.InvertColors()]),
            ]
        )

    a, b = both(build)
    assert a.duration == pytest.approx(b.duration)
    compare(a, b, (0.1, 0.35, 1.25, 1.8, 2.3, 2.8, 3.5), min_psnr=45)


def test_text_title():
    # MoviePy 2.2.1 with Pillow >= 11.2 (what pip installs beside it) makes a label too short and
    # cuts the bottom of the glyphs off (tests/test_text.py), so the glyphs are compared from the
    # top of their ink over the rows MoviePy kept.
    kw = dict(font=FONT, text="Elevation", font_size=28, color="white", stroke_color="black", stroke_width=1)
    a = fp.TextClip(**kw)
    b = mp.TextClip(**kw)
    assert abs(a.w - b.w) <= 2, (a.size, b.size)

    def ink(mask):
        ys, xs = np.nonzero(mask > 0.5)
        return mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] > 0.5

    ia, ib = ink(a.mask.get_frame(0)), ink(b.mask.get_frame(0))
    assert abs(ia.shape[1] - ib.shape[1]) <= 2 and ia.shape[0] >= ib.shape[0] - 2, (ia.shape, ib.shape)
    h, w = min(ia.shape[0], ib.shape[0]), min(ia.shape[1], ib.shape[1])
    overlap = (ia[:h, :w] & ib[:h, :w]).sum() / max(1, (ia[:h, :w] | ib[:h, :w]).sum())
    assert overlap > 0.7, overlap
    # white fill inside, black stroke around, in both
    fa, fb = a.get_frame(0), b.get_frame(0)
    assert fa[a.mask.get_frame(0) > 0.99].max() == 255 and fb[b.mask.get_frame(0) > 0.99].max() == 255


def test_nested_transparent_composites_and_small_masks():
    # A partly transparent layer in a transparent composite, that composite drawn as a layer:
    # its colour is the layer's own (not darkened by its alpha twice); a mask smaller than its
    # clip covers only its own area.
    def build(lib, vfx):
        bg = lib.ColorClip((W, H), color=(0, 0, 255), duration=1)
        red = lib.ColorClip((40, 30), color=(255, 0, 0), duration=1).with_opacity(0.5)
        fading = lib.ColorClip((40, 30), color=(0, 255, 0), duration=1).with_effects([vfx.CrossFadeIn(0.5)])
        inner = lib.CompositeVideoClip([red, fading.with_position((20, 10))], size=(70, 50))
        small = lib.ColorClip((10, 10), color=0.6, is_mask=True, duration=1)
        masked = lib.ColorClip((30, 30), color=(250, 250, 0), duration=1).with_mask(small).with_position((100, 40))
        return lib.CompositeVideoClip([bg, inner.with_position((10, 20)), masked])

    a, b = both(build)
    compare(a, b, (0, 0.25, 0.7), min_psnr=45)


@pytest.mark.parametrize(
    ("new_duration", "abruptness", "soonness"),
    [(None, 1.0, 1.0), (3.0, 0.5, 1.0), (1.5, -0.5, 1.0), (2.0, 2.0, 0.6), (2.0, 0.0, 1.7)],
)
def test_accel_decel_time_curve(new_duration, abruptness, soonness):
    # A frame that carries its own time: both libraries must fetch the same source time for
    # each output time (a level of tolerance for the rounding of t * 50).
    def stamp(t):
        return np.full((4, 4, 3), round(t * 50), np.uint8)

    def build(lib, vfx):
        clip = lib.VideoClip(stamp, duration=4)
        return clip.with_effects([vfx.AccelDecel(new_duration, abruptness, soonness)])

    a, b = both(build)
    assert a.duration == pytest.approx(b.duration)
    for t in np.linspace(0, a.duration, 23)[:-1]:
        va, vb = int(a.get_frame(t)[0, 0, 0]), int(b.get_frame(t)[0, 0, 0])
        assert abs(va - vb) <= 1, (t, va, vb)
    # not the plain speed change (unless abruptness is 0 and soonness 1): at a fifth of the way,
    # the source time is not a fifth of the source
    straight = round(0.2 * 4 * 50)
    bent = int(a.get_frame(0.2 * a.duration)[0, 0, 0])
    assert (abs(bent - straight) > 2) == (abruptness != 0 or soonness != 1), (bent, straight)


def test_accel_decel_refuses_what_moviepy_cannot_draw():
    clip = fp.VideoClip(lambda t: np.zeros((4, 4, 3), np.uint8), duration=2)
    for name, value in (("soonness", 0), ("abruptness", -1), ("new_duration", 0)):
        with pytest.raises(framepipe.ParameterError, match=name):
            clip.with_effects([fx.AccelDecel(**{name: value})])


def test_section_cut_out_speed_and_effects_on_a_subclip():
    def build(lib, vfx):
        v = lib.VideoClip(plot_like, duration=1).with_fps(10)
        return [
            v.with_section_cut_out(0.3, 0.6),
            v.with_speed_scaled(2),
            v.with_speed_scaled(final_duration=1.6),
            v.with_effects_on_subclip([vfx.MultiplySpeed(0.5)], 0.2, 0.5),
            v.with_effects_on_subclip([vfx.InvertColors()], 0.5),
        ]

    for a, b in zip(*both(build)):
        assert a.duration == pytest.approx(b.duration)
        times = [k * a.duration / 7 for k in range(7)]
        compare(a, b, times, min_psnr=60)
    cut = fp.VideoClip(plot_like, duration=1).with_section_cut_out(0.3, 0.6)
    np.testing.assert_array_equal(cut.get_frame(0.35), plot_like(0.65))
    np.testing.assert_array_equal(cut.get_frame(0.25), plot_like(0.25))
    with pytest.raises(framepipe.ParameterError, match="0 <= start_time < end_time <= the clip's duration"):
        cut.with_section_cut_out(0.5, 0.9)


@pytest.mark.parametrize("opacity", [None, 0.5])
def test_background_color(opacity):
    def build(lib, vfx):
        over = lib.ImageClip(overlay_img(), duration=1).with_effects(
            [vfx.MaskColor(color=[255, 255, 255], threshold=20, stiffness=4)]
        )
        return over.with_background_color(size=(120, 90), color=(10, 200, 30), pos=(25, 7), opacity=opacity)

    a, b = both(build)
    compare(a, b, (0, 0.5), min_psnr=45)
    assert (a.mask is None) == (b.mask is None)
    if a.mask is not None:
        assert psnr(a.mask.get_frame(0) * 255, b.mask.get_frame(0) * 255) > 45


def test_supersample_freeze_region_and_mask_combinations():
    def build(lib, vfx):
        v = lib.VideoClip(plot_like, duration=1)
        m1 = lib.VideoClip(lambda t: np.tile(np.linspace(0, 1, W), (H, 1)) * (0.5 + t / 2), duration=1, is_mask=True)
        m2 = lib.VideoClip(lambda t: np.tile(np.linspace(1, 0, H)[:, None], (1, W)), duration=1, is_mask=True)
        region = (10, 12, 90, 60)
        return [
            v.with_effects([vfx.SuperSample(d=0.1, n_frames=5)]),
            v.with_effects([vfx.FreezeRegion(t=0.2, region=region)]),
            v.with_effects([vfx.FreezeRegion(t=0.7, outside_region=region)]),
            v.with_effects([vfx.FreezeRegion(t=0.4, mask=m2)]),
            m1.with_effects([vfx.MasksAnd(m2)]),
            m1.with_effects([vfx.MasksOr(m2)]),
            m1.with_effects([vfx.MasksAnd(m2.get_frame(0))]),
        ]

    for k, (a, b) in enumerate(zip(*both(build))):
        for t in (0.15, 0.5, 0.85):  # SuperSample: t +- d inside the clip
            fa, fb = a.get_frame(t), b.get_frame(t)
            if a.is_mask:
                assert np.abs(fa - fb).max() <= 1 / 255 + 1e-9, (k, t)  # masks are 8-bit here
            else:
                assert psnr(fa, fb.astype(np.uint8)) > 55, (k, t)
    # the frozen region does not move; the rest does
    frozen = build(fp, fx)[1]
    np.testing.assert_array_equal(frozen.get_frame(0.9)[12:60, 10:90], plot_like(0.2)[12:60, 10:90])
    np.testing.assert_array_equal(frozen.get_frame(0.9)[70:], plot_like(0.9)[70:])
    with pytest.raises(framepipe.ParameterError, match=r"MasksAnd: the other clip's frames have shape \(2, 2\)"):
        build(fp, fx)[4].with_effects([fx.MasksAnd(np.zeros((2, 2)))]).get_frame(0)
    with pytest.raises(framepipe.ParameterError, match="FreezeRegion: give region"):
        fp.VideoClip(plot_like, duration=1).with_effects([fx.FreezeRegion()])


def test_head_blur_and_painting_are_moviepys():
    def build(lib, vfx):
        v = lib.VideoClip(plot_like, duration=1)
        return [
            v.with_effects([vfx.HeadBlur(lambda t: 40 + 60 * t, lambda t: 50, 20)]),
            v.with_effects([vfx.HeadBlur(lambda t: 150, lambda t: 10 + 70 * t, 30, intensity=5)]),
            v.with_effects([vfx.Painting(saturation=1.2, black=0.01)]),
        ]

    for a, b in zip(*both(build)):
        for t in (0, 0.5, 0.9):
            np.testing.assert_array_equal(a.get_frame(t), b.get_frame(t))
    blurred = build(fp, fx)[0].get_frame(0.5)
    assert np.abs(blurred.astype(int) - plot_like(0.5)).max() > 10  # the disc is blurred
    np.testing.assert_array_equal(blurred[:, 100:], plot_like(0.5)[:, 100:])  # and only the disc


@pytest.mark.parametrize("update_start_end", [True, False])
def test_freeze_keeps_the_start_and_freezes_at_the_end_as_moviepy(update_start_end):
    def build(lib, vfx):
        v = lib.VideoClip(plot_like, duration=1).with_fps(10).with_start(0.5)
        bg = lib.ColorClip((W, H), color=(0, 0, 0), duration=3.5)
        return [
            lib.CompositeVideoClip(
                [bg, v.with_effects([vfx.Freeze(t=0.3, freeze_duration=0.6, update_start_end=update_start_end)])]
            ),
            lib.CompositeVideoClip(
                [bg, v.with_effects([vfx.Freeze(t="end", total_duration=2, update_start_end=update_start_end)])]
            ),
        ]

    for a, b in zip(*both(build)):
        assert a.duration == pytest.approx(b.duration)
        compare(a, b, [0.25, 0.6, 0.9, 1.2, 1.45, 1.75, 2.1, 2.45, 3.2], min_psnr=60)
