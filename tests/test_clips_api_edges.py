"""MoviePy 2.2.1's API edges in framepipe.clips, against MoviePy itself: time strings and
tuples wherever MoviePy takes a time, the clip operators (+ | / * @ &), TextClip's two argument
orders, concatenations of different sizes, and two fixed bugs (an image sequence at 29.97 fps
showed image n-1 at frame n; a subclip of a file counted the whole file's frames), checked on
the written file decoded by PyAV and ffprobe."""

from __future__ import annotations

import json
import subprocess
import warnings

import framepipe
import numpy as np
import pytest
from framepipe import clips as fp

mp = pytest.importorskip("moviepy")
av = pytest.importorskip("av")

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
FRAMES = [["RRGG", "RRGG"], ["GGBB", "GGBB"], ["BBWW", "BBWW"], ["WWOO", "WWOO"], ["OORR", "OORR"], ["ACDE", "ACDE"]]


def pair(bitmap=FRAMES, fps=2):
    return fp.BitmapClip(bitmap, fps=fps), mp.BitmapClip(bitmap, fps=fps)


def same_frames(a, b, times):
    for t in times:
        x, y = np.asarray(a.get_frame(t)), np.asarray(b.get_frame(t))
        assert x.shape == y.shape, t
        np.testing.assert_array_equal(x, y, err_msg=f"t={t}")


def decode(path):
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24").astype(int) for f in container.decode(video=0)]


# ---- times ---------------------------------------------------------------------------------

TIMES = ["00:00:01.5", "00:00:01,5", (0, 1.5), (0, 0, 1.5), "1.5", [0, 1.5]]


@pytest.mark.parametrize("t", TIMES)
def test_time_forms_in_every_method_as_moviepy(t, tmp_path):
    a, b = pair()
    np.testing.assert_array_equal(a.get_frame(t), b.get_frame(t))
    if isinstance(t, str):  # clip[(a, b)] is a concatenation of parts, in both
        np.testing.assert_array_equal(a[t], b[t])
    np.testing.assert_array_equal(a.to_ImageClip(t).get_frame(0), b.to_ImageClip(t).get_frame(0))
    for clip, name in ((a, "ours.png"), (b, "theirs.png")):
        clip.save_frame(tmp_path / name, t)
    from PIL import Image

    assert np.array_equal(
        np.asarray(Image.open(tmp_path / "ours.png")), np.asarray(Image.open(tmp_path / "theirs.png"))
    )
    for method in ("with_start", "with_end", "with_duration"):
        x, y = getattr(a, method)(t), getattr(b, method)(t)
        assert (x.start, x.end, x.duration) == (y.start, y.end, y.duration), method
    x, y = a.subclipped(t), b.subclipped(t)
    assert x.duration == y.duration == 1.5
    same_frames(x, y, [0, 0.5, 1.0])
    x, y = a.subclipped(0, t), b.subclipped(0, t)
    assert x.duration == y.duration == 1.5
    x, y = a.with_section_cut_out(t, "00:00:02"), b.with_section_cut_out(t, "00:00:02")
    assert x.duration == y.duration == 2.5
    same_frames(x, y, [0, 1.0, 1.5, 2.0])
    shifted = (a.with_start(1), b.with_start(1))
    assert shifted[0].is_playing(t) == shifted[1].is_playing(t) is True
    assert a.is_playing(t) == bool(b.is_playing(t))


def test_a_bad_time_string_is_a_parameter_error():
    a, _ = pair()
    with pytest.raises(framepipe.ParameterError, match=r"cannot read 'soon' as seconds"):
        a.get_frame("soon")
    with pytest.raises(framepipe.ParameterError, match=r"outside the clip"):
        a.get_frame("00:01:00")


# ---- operators -----------------------------------------------------------------------------


def test_operators_as_moviepy():
    a, b = pair()
    c, d = pair([["WOWO", "OWOW"], ["RGBR", "GBRG"]], fps=1)
    times = [k / 4 for k in range(12)]
    for ours, theirs, name in [
        (a + c, b + d, "+"),
        (a | c, b | d, "|"),
        (a / c, b / d, "/"),
        (a * 2.5, b * 2.5, "*"),
        (a @ 90, b @ 90, "@"),
    ]:
        assert (ours.duration, tuple(ours.size)) == (theirs.duration, tuple(theirs.size)), name
        same_frames(ours, theirs, [t for t in times if t < theirs.duration])
    small = fp.ColorClip((2, 2), (255, 0, 0), duration=1)
    big = fp.ColorClip((4, 6), (0, 0, 255), duration=1)
    m_small = mp.ColorClip((2, 2), (255, 0, 0), duration=1)
    m_big = mp.ColorClip((4, 6), (0, 0, 255), duration=1)
    ours, theirs = small + big, m_small + m_big  # different sizes: "compose"
    assert (ours.duration, tuple(ours.size)) == (theirs.duration, tuple(theirs.size)) == (2, (4, 6))
    same_frames(ours, theirs, [0, 0.5, 1.2, 1.9])
    mask = fp.ColorClip((4, 2), 0.5, is_mask=True, duration=3)
    assert (a & mask).mask is mask
    with pytest.raises(TypeError):
        a + 3


# ---- TextClip ------------------------------------------------------------------------------


def test_textclip_both_argument_orders():
    reference = fp.TextClip(text="Hi there", font=FONT, font_size=30)
    for clip in (
        fp.TextClip(FONT, text="Hi there", font_size=30),  # MoviePy 2
        fp.TextClip(FONT, "Hi there", None, 30),  # MoviePy 2, positional: font, text, filename, font_size
        fp.TextClip("Hi there", FONT, 30),  # framepipe: text, font, font_size
        fp.TextClip("Hi there", font=FONT, font_size=30),
    ):
        assert clip.text == "Hi there" and clip.font == FONT
        np.testing.assert_array_equal(clip.get_frame(0), reference.get_frame(0))
    theirs = mp.TextClip(FONT, text="Hi there", font_size=30)
    assert theirs.text == "Hi there"


def test_textclip_without_text_as_moviepy(tmp_path):
    for make in (lambda m: m.TextClip(), lambda m: m.TextClip(FONT), lambda m: m.TextClip(font=FONT)):
        with pytest.raises(ValueError, match="No text nor filename provided"):
            make(mp)
        with pytest.raises(framepipe.ParameterError, match="No text nor filename provided"):
            make(fp)
    path = tmp_path / "t.txt"
    path.write_text("From a file  \n\n")
    ours = fp.TextClip(FONT, filename=path, font_size=20).text
    assert ours == mp.TextClip(FONT, filename=str(path), font_size=20).text == "From a file"


# ---- compositions --------------------------------------------------------------------------


def test_chain_of_different_sizes_suggests_compose(tmp_path):
    clip = fp.concatenate_videoclips(
        [fp.ColorClip((8, 8), (0, 0, 0), duration=0.2), fp.ColorClip((4, 4), (9, 9, 9), duration=0.2)]
    )
    with pytest.raises(framepipe.ParameterError, match=r'method="compose"'):
        clip.write_videofile(tmp_path / "x.mp4", fps=10, logger=None, workers=1)


def test_clips_array_without_fps_as_moviepy():
    ours = fp.clips_array(
        [[fp.ColorClip((4, 2), (255, 0, 0), duration=1), fp.ColorClip((2, 2), (0, 255, 0), duration=1)]]
    )
    theirs = mp.clips_array(
        [[mp.ColorClip((4, 2), (255, 0, 0), duration=1), mp.ColorClip((2, 2), (0, 255, 0), duration=1)]]
    )
    assert ours.fps is None and theirs.fps is None
    assert tuple(ours.size) == tuple(theirs.size) == (6, 2)
    same_frames(ours, theirs, [0, 0.5])
    # Writing it without fps: MoviePy's AttributeError, which framepipe's ParameterError also is.
    with pytest.raises(AttributeError):
        theirs.write_videofile("/nonexistent/never.mp4", logger=None)
    with pytest.raises(framepipe.ParameterError, match="the clip has no fps") as raised:
        ours.write_videofile("/nonexistent/never.mp4", logger=None)
    assert isinstance(raised.value, AttributeError)


def test_image_sequence_of_different_sizes_is_refused_as_moviepy(tmp_path):
    from PIL import Image

    images = [np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 3), np.uint8), np.zeros((4, 6, 3), np.uint8)]
    paths = [str(tmp_path / f"{i}.png") for i in range(3)]
    for image, path in zip(images, paths):
        Image.fromarray(image).save(path)
    for sequence in (images, paths):  # refused when the clip is made, files too (from their headers)
        with pytest.raises(Exception, match="same size"):
            mp.ImageSequenceClip(sequence, fps=1)
        with pytest.raises(framepipe.ParameterError, match=r"image 2 is 6x4, image 0 is 4x4"):
            fp.ImageSequenceClip(sequence, fps=1)


# ---- fixed bugs ----------------------------------------------------------------------------


@pytest.mark.parametrize("fps", [29.97, 23.976, 59.94, 25])
def test_image_sequence_at_ntsc_rates_shows_image_n_at_frame_n(fps, tmp_path):
    levels = [int(v) for v in np.linspace(0, 250, 24)]
    images = [np.full((16, 16, 3), v, np.uint8) for v in levels]
    clip = fp.ImageSequenceClip(images, fps=fps)
    assert clip.n_frames == 24
    out = tmp_path / "seq.mp4"
    clip.write_videofile(out, logger=None)
    frames = decode(out)
    assert len(frames) == 24
    shown = [int(np.argmin([abs(f.mean() - v) for v in levels])) for f in frames]
    assert shown == list(range(24))


def test_subclip_of_a_file_counts_its_own_frames(tmp_path):
    src = tmp_path / "src.mp4"
    fp.ColorClip((16, 16), (200, 0, 0), duration=2).with_fps(24).write_videofile(src, logger=None)
    video = fp.VideoFileClip(src)
    assert video.n_frames == 48
    part = video.subclipped(0, 1)
    assert part.n_frames == 24
    assert video.subclipped("00:00:00.5").n_frames == 36
    assert video.with_end(0.25).n_frames == 6
    out = tmp_path / "part.mp4"
    part.write_videofile(out, logger=None)
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
         "stream=nb_read_frames", "-of", "json", str(out)],
        capture_output=True, check=True, text=True,
    )  # fmt: skip
    assert int(json.loads(probe.stdout)["streams"][0]["nb_read_frames"]) == part.n_frames == len(decode(out))
    video.close()


def test_past_a_files_end_the_last_frame_shows_as_in_moviepy(tmp_path):
    src = tmp_path / "src.mp4"
    ramp = fp.VideoClip(lambda t: np.full((16, 16, 3), int(200 * t), np.uint8), duration=1).with_fps(10)
    ramp.write_videofile(src, logger=None)
    ours, theirs = fp.VideoFileClip(src), mp.VideoFileClip(str(src))
    longer, m_longer = ours.with_end(2), theirs.with_end(2)
    assert longer.duration == m_longer.duration == 2
    last = ours.get_frame(0.95)
    np.testing.assert_array_equal(longer.get_frame(1.5), last)
    np.testing.assert_array_equal(longer.get_frame("00:00:02"), last)
    # MoviePy, reading on from its last frame (as a write does), repeats it (a seek straight
    # past the end gives it a black frame instead: framepipe always shows the last frame).
    m_last = m_longer.get_frame(0.95).copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MoviePy warns that it uses its last valid frame
        m_frames = [m_longer.get_frame(t) for t in (1.0, 1.5, 1.99)]
    for m_frame in m_frames:
        np.testing.assert_array_equal(m_frame, m_last)
    assert abs(int(m_last[0, 0, 0]) - int(last[0, 0, 0])) <= 3  # the same frame, decoded twice
    ours.close()
    theirs.close()
