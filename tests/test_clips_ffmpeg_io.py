"""framepipe.editor.video.io.ffmpeg_writer / ffmpeg_reader / gif_writers (framepipe.clips.ffmpeg_io)
against MoviePy 2.2.1 itself: ffmpeg_parse_infos' dicts on MoviePy's media and on files framepipe
writes, FFMPEG_VideoReader's frames and positions, and written files decoded back with
ffprobe / PyAV."""

from __future__ import annotations

import os
import subprocess
import warnings

import numpy as np
import pytest
from conftest import decode_av, decode_rgb, ffprobe, psnr
from framepipe import clips as fp
from framepipe.clips.ffmpeg_io import reader as our_reader
from framepipe.clips.ffmpeg_io import writer as our_writer
from framepipe.errors import OutputError, UnsupportedError

mp = pytest.importorskip("moviepy")
from moviepy.video.io import ffmpeg_reader as their_reader  # noqa: E402
from moviepy.video.io import ffmpeg_writer as their_writer  # noqa: E402

MOVIEPY_REPO = "/work/.mirror/Zulko+moviepy/repo"
MEDIA = [
    "test_video.mp4",
    "bitmap.mp4",
    "smpte-2997.mp4",
    "chaplin.mp4",
    "video_with_failing_audio.mp4",
    "big_buck_bunny_432_433.webm",
    "transparent.webm",
    "pigs_in_a_polka.gif",
    "with-attached-pic.mp3",
    "crunching.mp3",
    "fire2.mp4",
    "python_logo.png",
]


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    if not os.path.isdir(MOVIEPY_REPO):
        pytest.skip("MoviePy's repository (its media files) is not on this machine")
    folder = tmp_path_factory.mktemp("moviepy_media")
    for name in MEDIA:
        data = subprocess.run(
            ["git", "-C", MOVIEPY_REPO, "show", f"v2.2.1:media/{name}"], capture_output=True, check=True
        ).stdout
        (folder / name).write_bytes(data)
    return folder


def differences(theirs: dict, ours: dict) -> dict:
    return {k: (theirs.get(k, "-"), ours.get(k, "-")) for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k)}


# ---- ffmpeg_parse_infos ------------------------------------------------------------------------

SAME = [n for n in MEDIA if n not in ("fire2.mp4", "python_logo.png")]


@pytest.mark.parametrize("name", SAME)
def test_parse_infos_equals_moviepys(media, name):
    path = str(media / name)
    assert differences(their_reader.ffmpeg_parse_infos(path), our_reader.ffmpeg_parse_infos(path)) == {}


@pytest.mark.parametrize("name", ["test_video.mp4", "bitmap.mp4", "smpte-2997.mp4", "big_buck_bunny_432_433.webm"])
def test_parse_infos_decode_file_equals_moviepys(media, name):
    path = str(media / name)
    theirs = their_reader.ffmpeg_parse_infos(path, decode_file=True)
    ours = our_reader.ffmpeg_parse_infos(path, decode_file=True)
    assert differences(theirs, ours) == {}
    theirs = their_reader.ffmpeg_parse_infos(path, fps_source="tbr", check_duration=False)
    ours = our_reader.ffmpeg_parse_infos(path, fps_source="tbr", check_duration=False)
    assert differences(theirs, ours) == {}


def test_parse_infos_rotation(media):
    """fire2.mp4 is turned 180°: MoviePy with ffmpeg 7 reads 180 ("displaymatrix"); with the
    ffmpeg 5.1 here, its parser keeps ffmpeg's "Display Matrix" text as stream metadata and gives
    no video_rotation. framepipe gives 180 (from libav's display matrix) and no such metadata."""
    path = str(media / "fire2.mp4")
    theirs, ours = their_reader.ffmpeg_parse_infos(path), our_reader.ffmpeg_parse_infos(path)
    assert set(differences(theirs, ours)) <= {"video_rotation", "inputs"}
    assert ours["video_rotation"] == 180
    their_meta = theirs["inputs"][0]["streams"][0]["metadata"]
    their_meta.pop("Side data", None)
    their_meta.pop("Display Matrix", None)
    assert theirs["inputs"] == ours["inputs"]
    assert "video_rotation" not in our_reader.ffmpeg_parse_infos(str(media / "chaplin.mp4"))


def test_parse_infos_of_written_files_equals_moviepys(tmp_path):
    clip = fp.BitmapClip([["RG", "BW"], ["GG", "OO"], ["BR", "WW"]], fps=10)
    for name, write in (("a.mp4", clip.write_videofile), ("a.gif", clip.write_gif)):
        path = str(tmp_path / name)
        write(path, fps=10, logger=None)
        assert differences(their_reader.ffmpeg_parse_infos(path), our_reader.ffmpeg_parse_infos(path)) == {}


def test_parse_infos_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        our_reader.ffmpeg_parse_infos(str(tmp_path / "nope.mp4"))
    (tmp_path / "junk.mp4").write_bytes(b"not a video at all" * 10)
    with pytest.raises(ValueError, match="junk.mp4"):
        our_reader.ffmpeg_parse_infos(str(tmp_path / "junk.mp4"))
    with pytest.raises(ValueError, match="fps_source"):
        our_reader.ffmpeg_parse_infos(str(tmp_path / "junk.mp4"), fps_source="tbc")
    with pytest.raises(UnsupportedError, match="ffmpeg_parse_infos"):
        our_reader.FFmpegInfosParser("Input #0, ...", "clip.mp4")


# ---- FFMPEG_VideoReader ------------------------------------------------------------------------


def walk(reader, times):
    """(frame, pos) after each get_frame(t), read_frame() for t None, and the warnings."""
    out = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for t in times:
            frame = reader.read_frame() if t is None else reader.get_frame(t)
            out.append((np.array(frame), reader.pos))
    return out, [str(w.message) for w in caught if "Using the last valid frame instead" in str(w.message)]


@pytest.mark.parametrize(
    ("name", "times", "exact"),
    [
        ("test_video.mp4", [0, 1, None, 4, 4, 3, 0, 5, 0.5, None, None], True),
        ("bitmap.mp4", [0, 0.5, 1.0, None, 0.1, 2, 2.5, 0.99], True),
        ("smpte-2997.mp4", [0, 0.34, 0.35, 5, 9.9, 1, None, 10.2], False),
        ("big_buck_bunny_432_433.webm", [0, 0.5, None, None, 0.2, 0.99, 1.5], False),
        ("pigs_in_a_polka.gif", [0, 1, 1.05, None, 2.95, 0.3], True),
    ],
)
def test_reader_frames_and_pos_as_moviepys(media, name, times, exact):
    path = str(media / name)
    theirs = their_reader.FFMPEG_VideoReader(path)
    ours = our_reader.FFMPEG_VideoReader(path)
    assert (ours.fps, list(ours.size), ours.n_frames, ours.duration, ours.pos) == (
        theirs.fps,
        list(theirs.size),
        theirs.n_frames,
        theirs.duration,
        theirs.pos,
    )
    assert ours.infos == theirs.infos
    their_walk, their_warnings = walk(theirs, times)
    our_walk, our_warnings = walk(ours, times)
    assert [p for _, p in our_walk] == [p for _, p in their_walk]
    assert len(our_warnings) == len(their_warnings)
    for (a, _), (b, _) in zip(our_walk, their_walk):
        assert a.shape == b.shape
        if exact:
            np.testing.assert_array_equal(a, b)
        else:
            assert psnr(a, b) > 40
    assert np.array_equal(ours.lastread, ours.last_read)
    ours.close()
    theirs.close()
    assert ours.proc is None and not hasattr(ours, "last_read")
    ours.get_frame(0)  # reopens, as MoviePy's does
    assert ours.pos == 1


def test_reader_rgba_and_read_image_as_moviepys(media):
    path = str(media / "transparent.webm")
    theirs = their_reader.FFMPEG_VideoReader(path, pixel_format="rgba")
    ours = our_reader.FFMPEG_VideoReader(path, pixel_format="rgba")
    a, b = ours.get_frame(0), theirs.get_frame(0)
    assert a.shape == b.shape and a.shape[2] == 4
    np.testing.assert_array_equal(a[:, :, 3], b[:, :, 3])
    png = str(media / "python_logo.png")
    for kwargs in ({}, {"with_mask": False}):
        np.testing.assert_array_equal(
            our_reader.ffmpeg_read_image(png, **kwargs), their_reader.ffmpeg_read_image(png, **kwargs)
        )
    with pytest.raises(ValueError, match="pixel_format 'yuv420p'.*rgb24, rgba"):
        our_reader.FFMPEG_VideoReader(path, pixel_format="yuv420p")


# ---- writers ---------------------------------------------------------------------------------


def test_ffmpeg_write_video_decoded_back(tmp_path):
    clip = fp.ColorClip((64, 48), color=(200, 30, 90), duration=1).with_fps(12)
    clip = fp.CompositeVideoClip([clip, fp.ColorClip((16, 16), (20, 220, 40), duration=1).with_position((8, 8))])
    path = str(tmp_path / "w.mp4")
    result = our_writer.ffmpeg_write_video(clip, path, 12, bitrate="3000k", write_logfile=True, logger=None)
    info = ffprobe(path)
    assert (info["nb_read_frames"], info["width"], info["height"]) == (12, 64, 48) == (result.frames, 64, 48)
    frames = decode_av(path)
    for k in (0, 5, 11):
        assert psnr(frames[k], clip.get_frame(k / 12)) > 40
    log = open(path + ".log").read()
    assert "wrote 12 frames of 64x48 at 12 fps" in log and "'3000k'" in log


def test_ffmpeg_write_video_mask_dropped_as_moviepy(tmp_path):
    def masked(m):
        colours = [m.ColorClip((16, 16), c, duration=0.1) for c in ((250, 10, 10), (10, 250, 10), (10, 10, 250))]
        mask = m.VideoClip(lambda t: np.full((16, 16), 0.0 if 0.1 <= t < 0.2 else 1.0), is_mask=True, duration=0.3)
        return m.concatenate_videoclips(colours).with_mask(mask).with_fps(10)

    ours, theirs = str(tmp_path / "ours.mp4"), str(tmp_path / "theirs.mp4")
    our_writer.ffmpeg_write_video(masked(fp), ours, 10, logger=None)
    their_writer.ffmpeg_write_video(masked(mp), theirs, 10, logger=None)
    a, b = decode_rgb(ours), decode_rgb(theirs)  # each by its own colour tags
    # MoviePy writes frames at t = 0, 0.1, 0.2 and (float steps) 0.3; framepipe round(0.3 * 10)
    assert a.shape == (3, 16, 16, 3) and b.shape[0] in (3, 4)
    # framepipe writes BT.709, MoviePy's ffmpeg BT.601: levels differ by rounding only
    assert np.abs(a.astype(int) - b[:3].astype(int)).max() <= 3
    assert a[1, 8, 8, 1] > 240  # green under a clear mask: still green (the alpha is dropped)


def test_ffmpeg_write_video_bad_codec_names_allowed(tmp_path):
    clip = fp.ColorClip((8, 8), (1, 2, 3), duration=0.2).with_fps(10)
    for codec in ("libcrazyfoobar", "libtheora"):
        with pytest.raises(UnsupportedError, match=f"codec '{codec}'.*libx264"):
            our_writer.ffmpeg_write_video(clip, str(tmp_path / "x.mp4"), 10, codec=codec, logger=None)
        with pytest.raises(UnsupportedError, match=codec):
            our_writer.FFMPEG_VideoWriter(str(tmp_path / "y.mp4"), (8, 8), 10, codec=codec)
    assert not os.path.exists(tmp_path / "y.mp4")
    with pytest.raises(UnsupportedError):
        our_writer.ffmpeg_write_video(clip, str(tmp_path / "z.mp4"), 10, codec="nope", write_logfile=True, logger=None)
    assert "failed: CodecError" in open(str(tmp_path / "z.mp4") + ".log").read()


def test_ffmpeg_video_writer_decoded_back(tmp_path):
    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, (1, 1, 3), dtype=np.uint8)
    frames = [np.full((36, 40, 3), base + 10 * k, dtype=np.uint8) for k in range(7)]
    path = str(tmp_path / "v.mp4")
    with our_writer.FFMPEG_VideoWriter(path, (40, 36), 7) as w:
        for f in frames:
            w.write_frame(f)
    assert w.result is not None and w.result.frames == 7
    decoded = decode_av(path)
    assert decoded.shape == (7, 36, 40, 3)
    for a, b in zip(decoded, frames):
        assert psnr(a, b) > 38
    with pytest.warns(UserWarning, match="ffmpeg_params=.*ignored"):
        w2 = our_writer.FFMPEG_VideoWriter(str(tmp_path / "bad.mp4"), (40, 36), 7, ffmpeg_params=["-tune", "film"])
    with pytest.raises(ValueError, match=r"size=\(40, 36\)"):
        w2.write_frame(np.zeros((40, 36, 3), np.uint8))
    w2.write_frame(frames[0])
    w2.close()


@pytest.mark.parametrize("loop", [0, 2])
def test_write_gif_with_imageio_decoded_back(tmp_path, loop):
    clip = fp.BitmapClip([["RG"], ["GB"], ["BR"]], fps=10)
    path = str(tmp_path / "g.gif")
    our_writer.write_gif_with_imageio(clip, path, fps=10, loop=loop, logger=None)
    decoded = decode_av(path)
    assert decoded.shape == (3, 1, 2, 3)
    for k in range(3):
        np.testing.assert_array_equal(decoded[k], clip.get_frame(k / 10))
    from PIL import Image

    theirs = str(tmp_path / "theirs.gif")
    mp_clip = mp.BitmapClip([["RG"], ["GB"], ["BR"]], fps=10)
    from moviepy.video.io.gif_writers import write_gif_with_imageio as their_gif

    their_gif(mp_clip, theirs, fps=10, loop=loop, logger=None)
    # framepipe's loop=n plays n times (NETSCAPE repeat count n - 1); MoviePy (imageio, Pillow)
    # writes the count n, which players play n + 1 times: a deliberate difference
    with Image.open(path) as im, Image.open(theirs) as them:
        assert them.info.get("loop") == loop
        assert im.info.get("loop") == (loop - 1 if loop else 0)


@pytest.mark.parametrize("size", [(5, 1), (2, 3)])
@pytest.mark.parametrize("pixel_format", [None, "rgb24", "rgba", "gray"])
def test_ffmpeg_write_image_as_moviepys(tmp_path, size, pixel_format):
    from PIL import Image

    image = fp.color_gradient(size, (0, 0), p2=(5, 0), color_1=(255, 0, 0), color_2=(0, 255, 0))
    if pixel_format == "rgba":
        image = np.dstack([image, np.full(image.shape[:2], 77)])
    elif pixel_format == "gray":
        image = image[:, :, 1]
    ours, theirs = str(tmp_path / "ours.png"), str(tmp_path / "theirs.png")
    our_writer.ffmpeg_write_image(ours, image, logfile=True, pixel_format=pixel_format)
    their_writer.ffmpeg_write_image(theirs, image, pixel_format=pixel_format)
    with Image.open(ours) as a, Image.open(theirs) as b:
        assert a.mode == b.mode and a.size == b.size == size
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert "wrote" in open(ours + ".log").read()


def test_ffmpeg_write_image_invalid_pixel_format(tmp_path):
    with pytest.raises(OutputError, match="MoviePy error: FFMPEG encountered the following error") as e:
        our_writer.ffmpeg_write_image(str(tmp_path / "i.png"), np.zeros((2, 2, 3)), pixel_format="invalid")
    assert isinstance(e.value, OSError)
    assert "allowed: rgb24, rgba, gray, ya8" in "".join(e.value.__notes__)
    assert not os.path.exists(tmp_path / "i.png")
    with pytest.raises(ValueError, match=r"'rgba' is an image of 4 channel.*\(2, 2, 3\)"):
        our_writer.ffmpeg_write_image(str(tmp_path / "i.png"), np.zeros((2, 2, 3)), pixel_format="rgba")


def test_editor_paths_serve_them():
    from framepipe.editor.video.io import ffmpeg_reader, ffmpeg_writer, gif_writers

    assert ffmpeg_writer.ffmpeg_write_video is our_writer.ffmpeg_write_video
    assert ffmpeg_writer.FFMPEG_VideoWriter is our_writer.FFMPEG_VideoWriter
    assert gif_writers.write_gif_with_imageio is our_writer.write_gif_with_imageio
    assert ffmpeg_reader.FFMPEG_VideoReader is our_reader.FFMPEG_VideoReader
    assert ffmpeg_reader.ffmpeg_parse_infos is our_reader.ffmpeg_parse_infos
