"""MoviePy 2.2.1 (installed as ``moviepy``) as the reference for clip behaviours MoviePy's own
tests check: an (r, g, b, a) ColorClip's mask and its compositing, a layer whose mask is not
the size of the frame drawn, clips written from a script run by ``runpy.run_path``, and
``concatenate_videoclips`` of clips of different sizes with ``method="chain"``."""

from __future__ import annotations

import runpy
import subprocess
import textwrap

import numpy as np
import pytest
from conftest import FFPROBE, check_video, decode_av, psnr
from framepipe import editor as fp
from framepipe.errors import ParameterError

mp = pytest.importorskip("moviepy")


def _three_layers(lib, alphas=(76.5, 76.5, 76.5), first=(100, 100)):
    """MoviePy's test_compositing_masks: 30% red, green and blue squares, nested composites."""
    c1 = lib.ColorClip(first, (255, 0, 0, alphas[0]) if alphas[0] is not None else (255, 0, 0)).with_duration(2)
    c2 = lib.ColorClip((first[0] // 2, first[1] // 2), (0, 255, 0, alphas[1])).with_duration(2)
    c3 = lib.ColorClip((first[0] // 4, first[1] // 4), (0, 0, 255, alphas[2])).with_duration(2)
    inner = lib.CompositeVideoClip([c1, c2.with_position(("center", "center"))])
    return lib.CompositeVideoClip([inner, c3.with_position(("center", "center"))])


@pytest.mark.parametrize("alpha", [0, 76.5, 128, 200.2, 255])
def test_an_rgba_colorclip_has_the_alpha_as_its_mask(alpha):
    ours = fp.ColorClip((6, 4), (10, 20, 30, alpha)).with_duration(1)
    ref = mp.ColorClip((6, 4), (10, 20, 30, alpha)).with_duration(1)
    assert ours.mask is not None and ref.mask is not None
    np.testing.assert_array_equal(ours.get_frame(0), ref.get_frame(0).astype(np.uint8))
    got, want = ours.mask.get_frame(0), ref.mask.get_frame(0)
    assert got.shape == want.shape == (4, 6)
    # framepipe's masks are 8-bit: the nearest of the 256 levels to MoviePy's float
    assert np.abs(got - want).max() <= 0.5 / 255 + 1e-12


def test_an_rgb_colorclip_has_no_mask_as_in_moviepy():
    assert fp.ColorClip((6, 4), (10, 20, 30)).mask is None
    assert mp.ColorClip((6, 4), (10, 20, 30)).mask is None


@pytest.mark.parametrize("alpha", [76, 76.5, 150])
def test_nested_transparent_composites_match_moviepy(alpha):
    ours, ref = _three_layers(fp, (alpha,) * 3), _three_layers(mp, (alpha,) * 3)
    om, rm = ours.mask.get_frame(1), ref.mask.get_frame(1)
    assert om.shape == rm.shape == (100, 100)
    # one, two and three layers: 8-bit alpha over is within two levels of MoviePy's floats
    for y, x in ((50, 10), (50, 30), (50, 50), (5, 5)):
        assert abs(om[y, x] - rm[y, x]) <= 2 / 255, (y, x, om[y, x], rm[y, x])
    # the colour: straight-alpha "over" with Pillow's arithmetic, as MoviePy's; the inner
    # composite's mask (8-bit here, float truncated to 8 bits there) can differ by a level
    of, rf = ours.get_frame(1), ref.get_frame(1)
    assert np.abs(of.astype(int) - rf.astype(int)).max() <= 1
    if alpha == 76.5:  # MoviePy's test_compositing_with_transparency_colors
        for y, x in ((50, 10), (50, 30), (50, 50)):
            np.testing.assert_array_equal(of[y, x], rf[y, x])


def test_random_transparent_layers_have_moviepys_colours():
    rng = np.random.default_rng(7)
    for _ in range(3):
        a = rng.integers(0, 256, (30, 40, 4), dtype=np.uint8)
        b = rng.integers(0, 256, (20, 25, 4), dtype=np.uint8)

        def comp(lib, a=a, b=b):
            la = lib.ImageClip(a).with_duration(1)
            lb = lib.ImageClip(b).with_duration(1).with_position((27, -3))
            return lib.CompositeVideoClip([la, lb])

        ours, ref = comp(fp), comp(mp)
        np.testing.assert_array_equal(ours.get_frame(0), ref.get_frame(0))
        assert np.abs(ours.mask.get_frame(0) - ref.mask.get_frame(0)).max() <= 2 / 255


def test_a_transparent_layer_over_an_opaque_one_matches_moviepy():
    # MoviePy's test_issue_2269_2: 30% green and blue over opaque red
    ours, ref = _three_layers(fp, (None, 76.5, 76.5), (200, 200)), _three_layers(mp, (None, 76.5, 76.5), (200, 200))
    of, rf = ours.get_frame(2), ref.get_frame(2)
    for y, x in ((100, 10), (100, 60), (100, 100)):
        assert np.abs(of[y, x].astype(int) - rf[y, x].astype(int)).max() <= 1, (y, x, of[y, x], rf[y, x])


def _layered(lib, frame):
    """A 40x40 black background and a layer of frames `frame(t)` at (5, 5) with a 15x15 mask."""
    layer = lib.VideoClip(frame, duration=1).with_fps(10)
    mask = lib.ImageClip(np.full((15, 15), 1.0), is_mask=True).with_duration(1)
    bg = lib.ColorClip((40, 40), (0, 0, 0)).with_duration(1)
    return lib.CompositeVideoClip([bg, layer.with_mask(mask).with_position((5, 5))])


def _square(side):
    return np.full((side, side, 3), (200, 100, 50), np.uint8)


def _changing(lib):
    """`_layered` with frames alternating 20x20 and 10x10 from call to call (a size that is a
    function of t may differ call by call); the sides made, in order."""
    sides: list[int] = []

    def frame(t):
        sides.append(20 if len(sides) % 2 else 10)
        return _square(sides[-1])

    return _layered(lib, frame), sides


def test_a_mask_of_another_size_than_the_frame_drawn_is_cropped_or_padded_as_in_moviepy():
    # MoviePy's test_issue_334: a mask covers what it covers from the top-left corner of the
    # frame actually drawn (cropped, or padded with transparency), whatever size the frame at t
    # had at another call
    reference = {side: _layered(mp, lambda t, side=side: _square(side)).get_frame(0) for side in (10, 20)}
    assert not np.array_equal(reference[10], reference[20])
    ours, sides = _changing(fp)
    drawn = set()
    for t in (0, 0.1, 0.2, 0.3):
        got = ours.get_frame(t)
        side = 10 if np.array_equal(got, reference[10]) else 20
        np.testing.assert_array_equal(got, reference[side], err_msg=f"t={t}")
        drawn.add(side)
    assert drawn == {10, 20} and len(sides) >= 4


def test_such_a_layer_renders_in_worker_processes(tmp_path):
    out = tmp_path / "changing.mp4"
    _changing(fp)[0].write_videofile(str(out), workers=2, logger=None)
    check_video(out, frames=10, width=40, height=40, fps=10)
    frames = decode_av(out)
    assert frames.shape == (10, 40, 40, 3)
    # the layer shows on every frame: its colour inside the 10x10 both sizes cover, black outside
    inside = frames[:, 7:13, 7:13].reshape(10, -1, 3).mean(axis=1)
    assert np.abs(inside - (200, 100, 50)).max() < 12
    assert frames[:, 28:, 28:].max() < 20


SCRIPT = """
import numpy as np
from framepipe.editor import VideoClip, DataVideoClip

class Bar:  # a class of the script's own module
    def __init__(self, t):
        self.x = 4 * (int(t * 10) % 7)

def frame_function(t):
    frame = np.full((24, 32, 3), (40, 60, 90), np.uint8)
    x = Bar(t).x
    frame[:, x : x + 8] = (200, 180, 160)
    return frame

clip = VideoClip(frame_function, duration=2).with_fps(10)
clip.write_videofile(OUT, workers=WORKERS, start_method=START, logger=None)
data = DataVideoClip(list(range(5)), lambda d: np.full((24, 32, 3), d * 40, np.uint8), fps=5)
data.write_videofile(OUT2, workers=WORKERS, start_method=START, logger=None)
"""


@pytest.mark.parametrize("start", ["spawn", "fork"])
def test_a_clip_defined_in_a_script_run_by_runpy_renders_in_worker_processes(tmp_path, start):
    # MoviePy's doc examples run through runpy.run_path: their frame functions belong to the
    # module '<run_path>', which worker processes cannot import (a started one; a forked one
    # has a copy of it); they go by value.
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(SCRIPT))
    outs = {}
    for workers in (2, 1):
        out, out2 = tmp_path / f"a{workers}.mp4", tmp_path / f"b{workers}.mp4"
        namespace = runpy.run_path(
            str(script), init_globals={"OUT": str(out), "OUT2": str(out2), "WORKERS": workers, "START": start}
        )
        outs[workers] = (out, out2)
    out, out2 = outs[2]
    check_video(out, frames=20, width=32, height=24, fps=10)
    want = np.stack([namespace["frame_function"](i / 10) for i in range(20)])
    got = decode_av(out)
    assert psnr(got, want) > 35
    assert psnr(got, decode_av(outs[1][0])) > 40  # as rendered in this process
    check_video(out2, frames=5, width=32, height=24, fps=5)
    got = decode_av(out2)
    for d in range(5):
        assert abs(float(got[d].mean()) - d * 40) < 3
    assert psnr(got, decode_av(outs[1][1])) > 40


def test_concatenating_clips_of_different_sizes_by_chain_is_a_clear_error(tmp_path):
    # MoviePy's test_concatenate_with_masks: MoviePy writes such a chain's frames of another
    # size into ffmpeg's stream as they are, and the result is broken: here a 2-second video of
    # one frame (the second clip lost). framepipe refuses it and names method="compose".
    def clips(lib):
        a = lib.ColorClip(size=(10, 10), color=(255, 0, 0)).with_duration(1).with_fps(1)
        b = lib.ColorClip(size=(5, 5), color=(0, 255, 0)).with_duration(1).with_fps(1).with_mask()
        return [a, b]

    ref = tmp_path / "moviepy.mp4"
    mp.concatenate_videoclips(clips(mp)).write_videofile(str(ref), logger=None)
    frames = subprocess.run(
        [FFPROBE, "-v", "error", "-count_frames", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", str(ref)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert int(frames) < 2  # MoviePy: fewer frames than the 2 s at 1 fps make
    with pytest.raises(ParameterError, match=r'method="compose"') as e:
        fp.concatenate_videoclips(clips(fp)).write_videofile(str(tmp_path / "fp.mp4"), logger=None)
    assert "(5, 5, 3)" in str(e.value) and "(10, 10, 3)" in str(e.value)
    # with method="compose" it is written, centred on the largest
    fp.concatenate_videoclips(clips(fp), method="compose").write_videofile(str(tmp_path / "c.mp4"), logger=None)
    check_video(tmp_path / "c.mp4", frames=2, width=10, height=10, fps=1)
