"""MoviePy 2's other clip classes and helpers in framepipe.clips, compared with MoviePy 2.2.1
itself: BitmapClip, DataVideoClip, UpdatedVideoClip, SubtitlesClip (which text at which t),
CreditsClip, moviepy.tools, moviepy.decorators and moviepy.video.tools.drawing."""

from __future__ import annotations

import subprocess
import warnings

import framepipe
import numpy as np
import pytest
from framepipe import clips as fp
from framepipe.clips import decorators, drawing, tools

mp = pytest.importorskip("moviepy")

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
MOVIEPY_REPO = "/work/.mirror/Zulko+moviepy/repo"

BITMAPS = [
    [["RRB", "RGB"], ["GGG", "OWO"], ["ACD", "EFR"]],
    [["R"], ["G"], ["B"], ["W"], ["O"]],
    [["RRRRR", "RRBRR", "RRBRR"], ["RGGGR", "RGGGR", "RGGGR"]],
]


def frames_at_moviepy_times(a, b):
    """Both clips' frames at MoviePy's frame times (n / fps for n < duration * fps)."""
    n = int(round(b.duration * b.fps))
    times = [k / b.fps for k in range(n)]
    return [np.asarray(a.get_frame(t)) for t in times], [np.asarray(b.get_frame(t)) for t in times]


# ---- BitmapClip ----------------------------------------------------------------------------


@pytest.mark.parametrize("bitmap", BITMAPS)
@pytest.mark.parametrize("timing", [{"fps": 1}, {"fps": 7.5}, {"duration": 2}, {"fps": 3, "duration": 99}])
def test_bitmap_clip_frames_as_moviepy(bitmap, timing):
    a, b = fp.BitmapClip(bitmap, **timing), mp.BitmapClip(bitmap, **timing)
    assert (a.duration, a.fps, a.size, a.total_frames) == (b.duration, b.fps, tuple(b.size), b.total_frames)
    ours, theirs = frames_at_moviepy_times(a, b)
    assert len(ours) == len(bitmap)
    for x, y in zip(ours, theirs):
        assert x.dtype == np.uint8
        np.testing.assert_array_equal(x, y)
    assert a.to_bitmap() == b.to_bitmap() == bitmap


def test_bitmap_clip_colour_dict_and_time_string_duration():
    colours = {"X": (10, 20, 30), "Y": (200, 100, 0)}
    bitmap = [["XY", "YX"], ["XX", "YY"]]
    a = fp.BitmapClip(bitmap, duration="00:00:02", color_dict=colours)
    b = mp.BitmapClip(bitmap, duration="00:00:02", color_dict=colours)
    assert a.duration == b.duration == 2 and a.fps == b.fps == 1
    for x, y in zip(*frames_at_moviepy_times(a, b)):
        np.testing.assert_array_equal(x, y)
    assert a.to_bitmap() == b.to_bitmap() == bitmap
    # to_bitmap with another dictionary: the same colours under other letters
    other = {"P": (10, 20, 30), "Q": (200, 100, 0)}
    assert a.to_bitmap(other) == b.to_bitmap(other) == [["PQ", "QP"], ["PP", "QQ"]]


def test_bitmap_clip_mask(tmp_path):
    mask = fp.BitmapClip([["WO", "OW"], ["OO", "WW"]], fps=1, is_mask=True)
    np.testing.assert_array_equal(mask.get_frame(0), [[1.0, 0.0], [0.0, 1.0]])
    assert mask.to_bitmap() == [["WO", "OW"], ["OO", "WW"]]
    clip = fp.ColorClip((2, 2), (255, 0, 0), duration=2).with_mask(mask)
    frame = fp.CompositeVideoClip([clip], bg_color=(0, 0, 255)).get_frame(1)
    assert frame[0, 0].tolist() == [0, 0, 255] and frame[1, 1].tolist() == [255, 0, 0]


def test_bitmap_clip_bad_input_is_a_parameter_error():
    with pytest.raises(framepipe.ParameterError, match="letter 'Z'.*color_dict"):
        fp.BitmapClip([["RZ"]], fps=1)
    with pytest.raises(framepipe.ParameterError, match="give fps or duration"):
        fp.BitmapClip([["R"]])
    with pytest.raises(framepipe.ParameterError, match="different sizes"):
        fp.BitmapClip([["RR"], ["R"]], fps=1)


def test_bitmap_clip_equality_as_moviepy():
    first = [["RG"], ["GR"]]
    # MoviePy's ==: the same frame count (duration * fps) and the same frames, each at its fps
    for other, timing in [(first, 1), ([["RG"], ["GG"]], 1), (first, 2), ([["RG"], ["GR"], ["RR"]], 1)]:
        ours = fp.BitmapClip(first, fps=1) == fp.BitmapClip(other, fps=timing)
        theirs = mp.BitmapClip(first, fps=1) == mp.BitmapClip(other, fps=timing)
        assert ours == theirs, (other, timing)
    a = fp.BitmapClip(first, fps=1)
    assert a == a.copy() and a != fp.BitmapClip([["RG"], ["GG"]], fps=1)
    assert len({a, a.copy()}) == 2  # hashable by identity
    assert a != fp.VideoClip(lambda t: np.zeros((1, 2, 3)), duration=2)  # no fps: not equal


# ---- DataVideoClip, UpdatedVideoClip -------------------------------------------------------


def test_data_video_clip_as_moviepy():
    data = [3, 1, 4, 1, 5, 9, 2, 6]

    def to_frame(d):
        frame = np.zeros((4, 6, 3), np.uint8)
        frame[:, : d % 6] = (25 * d, 255 - 20 * d, 7 * d)
        return frame

    a, b = fp.DataVideoClip(data, to_frame, fps=4), mp.DataVideoClip(data, to_frame, fps=4)
    assert (a.duration, a.fps, a.size) == (b.duration, b.fps, tuple(b.size)) == (2.0, 4, (6, 4))
    ours, theirs = frames_at_moviepy_times(a, b)
    assert len(ours) == 8
    for x, y in zip(ours, theirs):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.get_frame(a.duration), to_frame(data[-1]))  # the end: the last item
    with pytest.raises(framepipe.ParameterError, match="data is empty"):
        fp.DataVideoClip([], to_frame, fps=4)


class World:
    """A ball that moves one pixel per step of 1/10 s."""

    def __init__(self):
        self.clip_t, self.x = 0.0, 0

    def update(self):
        self.clip_t += 0.1
        self.x += 1

    def to_frame(self):
        frame = np.zeros((3, 16, 3), np.uint8)
        frame[:, self.x % 16] = 255
        return frame


def test_updated_video_clip_as_moviepy_and_backwards():
    a, b = fp.UpdatedVideoClip(World(), duration=1.5), mp.UpdatedVideoClip(World(), duration=1.5)
    times = [k / 10 for k in range(15)]
    ours = [a.get_frame(t).copy() for t in times]
    theirs = [b.get_frame(t).copy() for t in times]
    for x, y in zip(ours, theirs):
        np.testing.assert_array_equal(x, y)
    # Asked for an earlier time, framepipe starts the world again (MoviePy would show x=15).
    np.testing.assert_array_equal(a.get_frame(0.3), ours[3])
    assert len({int(np.argmax(f[0, :, 0])) for f in ours}) >= 12  # the ball moves


def test_updated_video_clip_written_in_chunks_matches_forward_run(tmp_path):
    av = pytest.importorskip("av")
    clip = fp.UpdatedVideoClip(World(), duration=1.5)
    out = tmp_path / "world.mp4"
    clip.write_videofile(out, fps=10, logger=None, workers=2, chunk_frames=4)
    with av.open(str(out)) as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(decoded) == 15
    expected = [World() for _ in range(1)][0]
    for k, frame in enumerate(decoded):
        # the bright column is where a forward run puts the ball at frame k
        while expected.clip_t < k / 10:
            expected.update()
        assert int(np.argmax(frame[:, :, 0].mean(axis=0))) == expected.x % 16, k


# ---- SubtitlesClip -------------------------------------------------------------------------

SUBS = [((0.0, 1.0), "one"), ((1.5, 2.5), "two"), ((2.5, 3.0), "three"), ((2.0, 4.0), "four")]
COLOURS = {"one": (255, 0, 0), "two": (0, 255, 0), "three": (0, 0, 255), "four": (255, 255, 0), "T": (1, 1, 1)}


def test_subtitles_clip_text_at_each_time_as_moviepy():
    a = fp.SubtitlesClip(SUBS, make_textclip=lambda txt: fp.ColorClip((4, 2), COLOURS[txt]))
    from moviepy.video.tools.subtitles import SubtitlesClip

    b = SubtitlesClip(SUBS, make_textclip=lambda txt: mp.ColorClip((4, 2), COLOURS[txt]))
    assert a.duration == b.duration == 4.0
    for k in range(40):
        t = k / 10
        x, y = a.get_frame(t), b.get_frame(t)
        assert x.shape == y.shape, t
        np.testing.assert_array_equal(x, y, err_msg=f"t={t}")
    assert a.in_subclip(1, 2.6) == b.in_subclip(1, 2.6)
    assert [s for s in a] == SUBS and a[1] == SUBS[1]
    assert str(a) == str(b)
    assert a.match_expr("^t").subtitles == [s for s in SUBS if s[1].startswith("t")]


def test_subtitles_clip_with_text_has_a_mask_where_text_is(tmp_path):
    av = pytest.importorskip("av")
    subs = fp.SubtitlesClip([((0.2, 0.6), "Hello")], font=FONT)
    assert subs.mask is not None
    assert subs.get_frame(0.1).shape == (1, 1, 3) and subs.mask.get_frame(0.1).max() == 0
    assert subs.get_frame(0.3).shape[0] > 10 and subs.mask.get_frame(0.3).max() == 1
    video = fp.CompositeVideoClip([fp.ColorClip((64, 48), (0, 0, 200), duration=1), subs.with_position("center")])
    out = tmp_path / "subs.mp4"
    video.write_videofile(out, fps=10, logger=None)
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="rgb24").astype(int) for f in container.decode(video=0)]
    assert len(frames) == 10
    plain = np.array([0, 0, 200])
    for k, frame in enumerate(frames):
        has_text = np.abs(frame - plain).max(axis=2).max() > 80
        assert has_text == (0.2 <= k / 10 < 0.6), k


def test_file_to_subtitles_and_write_srt_as_moviepy(tmp_path):
    for name in ("subtitles.srt", "subtitles-unicode.srt"):
        path = tmp_path / name
        path.write_bytes(
            subprocess.run(
                ["git", "-C", MOVIEPY_REPO, "show", f"v2.2.1:media/{name}"], capture_output=True, check=True
            ).stdout
        )
        from moviepy.video.tools.subtitles import file_to_subtitles as theirs

        assert fp.file_to_subtitles(path, encoding="utf-8") == theirs(str(path), encoding="utf-8")
    subs = fp.SubtitlesClip(str(tmp_path / "subtitles.srt"), font=FONT)
    assert subs.subtitles[0] == ([0.0, 1.0], "Red!")
    subs.write_srt(tmp_path / "again.srt")
    assert fp.file_to_subtitles(tmp_path / "again.srt") == subs.subtitles
    # the last entry counts without a blank line after it (MoviePy drops it)
    (tmp_path / "short.srt").write_text("1\n00:00:01,500 --> 00:00:02,000\nend")
    assert fp.file_to_subtitles(tmp_path / "short.srt") == [([1.5, 2.0], "end")]


# ---- CreditsClip ---------------------------------------------------------------------------

CREDITS = (
    "# This is a comment\n.blank 2\n\n..Executive Story Editor\nMARCEL DURAND\n\n.blank 2\n\n"
    "..Associate Producers\nMARTIN MARCEL\nDIDIER MARTIN\n\n..Music Supervisor\nJEAN DIDIER\n"
)


def test_credits_clip_as_moviepy(tmp_path):
    from moviepy.video.tools.credits import CreditsClip

    path = tmp_path / "credits.txt"
    path.write_text(CREDITS)
    a = fp.CreditsClip(path, 600, gap=100, stroke_color="blue", stroke_width=5, font=FONT)
    b = CreditsClip(str(path), 600, gap=100, stroke_color="blue", stroke_width=5, font=FONT)
    assert a.w == b.w == 600
    # framepipe's TextClip lays lines out with its own line height (see test_text), so the
    # heights differ a little; the lines of text are the same: as many bands of text rows.
    assert abs(a.h - b.h) <= 0.15 * b.h
    assert a.mask is not None and b.mask is not None

    def bands(alpha):
        rows = alpha.max(axis=1) > 0.5
        return int(rows[0]) + int(np.count_nonzero(rows[1:] & ~rows[:-1]))

    assert bands(a.mask.get_frame(0)) == bands(b.mask.get_frame(0)) == 4


# ---- tools, decorators, drawing ------------------------------------------------------------


@pytest.mark.parametrize(
    "value", [15.4, (1, 21.5), (1, 1, 2), "01:01:33.045", "01:01:33,5", "1:33,5", "33.5", None, [0, 10]]
)
def test_convert_to_seconds_as_moviepy(value):
    from moviepy.tools import convert_to_seconds

    assert tools.convert_to_seconds(value) == convert_to_seconds(value)


def test_tools_as_moviepy():
    from moviepy import tools as theirs

    for codec in ("libx264", "mp4", "libvpx", "pcm_s16le", "png", "libmp3lame", "prores"):
        assert tools.find_extension(codec) == theirs.find_extension(codec)
    with pytest.raises(framepipe.ParameterError, match="unknown codec 'nope'"):
        tools.find_extension("nope")
    for name in ("-a.mp4", "a.mp4"):
        assert tools.ffmpeg_escape_filename(name) == theirs.ffmpeg_escape_filename(name)
    assert tools.no_display_available() == theirs.no_display_available()
    assert tools.cross_platform_popen_params({"a": 1}) == theirs.cross_platform_popen_params({"a": 1})
    old = tools.deprecated_version_of(tools.find_extension, "ext_of")
    with pytest.warns(PendingDeprecationWarning, match=r"``ext_of`` is deprecated(.|\n)*``find_extension``"):
        assert old("libx264") == "mp4"
    tools.subprocess_call(["true"])
    with pytest.raises(OSError, match="No such file"):
        tools.subprocess_call(["ls", "/no/such/file"])


def test_close_all_clips(tmp_path):
    clip = fp.ColorClip((8, 8), (1, 2, 3), duration=0.2)
    clip.write_videofile(tmp_path / "c.mp4", fps=10, logger=None)
    video = fp.VideoFileClip(tmp_path / "c.mp4")
    video.get_frame(0)
    tools.close_all_clips({"v": video, "x": 3}, types=("video",))
    assert "closed" in repr(video.reader)


def test_decorators_as_moviepy():
    from moviepy import decorators as theirs

    @decorators.convert_parameter_to_seconds(["t"])
    def ours_at(clip, t):
        return t

    @theirs.convert_parameter_to_seconds(["t"])
    def theirs_at(clip, t):
        return t

    for t in ("00:01:02.5", (1, 2), 3.5):
        assert ours_at(None, t) == theirs_at(None, t) == ours_at(None, t=t)

    @decorators.requires_duration
    def needs(clip):
        return clip.duration

    assert needs(fp.ColorClip((2, 2), (0, 0, 0), duration=2)) == 2
    with pytest.raises(framepipe.ParameterError, match="Attribute 'duration' not set"):
        needs(fp.ColorClip((2, 2), (0, 0, 0)))

    @decorators.use_clip_fps_by_default
    def rate(clip, fps=None):
        return fps

    @theirs.use_clip_fps_by_default
    def their_rate(clip, fps=None):
        return fps

    for args, kwargs, expected in [((), {}, 12), ((None,), {}, 12), ((), {"fps": None}, 12), ((5,), {}, 5)]:
        ours = rate(fp.ColorClip((2, 2), (0, 0, 0)).with_fps(12), *args, **kwargs)
        assert ours == their_rate(mp.ColorClip((2, 2), (0, 0, 0)).with_fps(12), *args, **kwargs) == expected
    with pytest.raises(framepipe.ParameterError, match="No 'fps'"):
        rate(fp.ColorClip((2, 2), (0, 0, 0)), None)

    @decorators.apply_to_mask
    def flip(clip):
        return clip.image_transform(lambda f: f[:, ::-1])

    masked = fp.ImageClip(np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 10)
    flipped = flip(masked)
    np.testing.assert_array_equal(flipped.mask.get_frame(0), masked.mask.get_frame(0)[:, ::-1])


def test_drawing_as_moviepy():
    from moviepy.video.tools import drawing as theirs

    cases = [
        ("color_gradient", dict(size=(20, 10), p1=(2, 3), p2=(15, 8), color_1=0.0, color_2=1.0)),
        ("color_gradient", dict(size=(20, 10), p1=(2, 3), vector=(5, 1), color_1=(255, 0, 0), color_2=(0, 0, 255))),
        ("color_gradient", dict(size=(20, 10), p1=(10, 5), p2=(15, 5), shape="bilinear", offset=0.2)),
        ("color_gradient", dict(size=(20, 10), p1=(10, 5), radius=6, shape="radial", offset=0.3)),
        ("color_split", dict(size=(20, 10), x=7)),
        ("color_split", dict(size=(20, 10), y=4, color_1=(255, 0, 0), color_2=(0, 255, 0))),
        ("color_split", dict(size=(20, 10), p1=(0, 0), p2=(20, 10), gradient_width=3)),
        ("circle", dict(screensize=(20, 10), center=(9, 4), radius=4, blur=2)),
    ]
    for name, kw in cases:
        np.testing.assert_allclose(getattr(drawing, name)(**kw), getattr(theirs, name)(**kw), err_msg=name)
    with pytest.raises(framepipe.ParameterError, match="Invalid shape, should be either"):
        drawing.color_gradient((4, 4), (0, 0), (1, 1), shape="square")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        drawing.circle((4, 4), (2, 2), 0)
