"""VideoFileReader (the reader under VideoFileClip) against ffmpeg's own decoding.

Every file is made here (by framepipe, by ffmpeg's libx264/libx265/libvpx-vp9 with B-frames and short
GOPs, by Pillow for GIFs with disposal and transparency), and every frame the reader returns is
compared with the frame the ``ffmpeg`` command line (Debian's build, not PyAV's libav) decodes: in
order, in a fixed random order and by time. Both convert YUV to RGB with libswscale (different
versions: ffmpeg 5.1 and PyAV's 8.1), and the comparison is exact where nothing is resized; resized
frames (target_resolution) are held to a PSNR bound stated with the test.
"""

from __future__ import annotations

import gc
import os
import pickle
import random
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from conftest import FFMPEG, FFPROBE, psnr

av = pytest.importorskip("av")

import framepipe  # noqa: E402
from framepipe.clips._video_file import VideoFileReader  # noqa: E402

W, H, N, FPS = 160, 120, 40, 30


def _content(n=N, w=W, h=H, seed=0) -> np.ndarray:
    """Smooth moving gradients (what codecs keep well) with the frame index drawn as 6 bits of
    white or black blocks, so every frame differs visibly from every other."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.empty((n, h, w, 3), np.uint8)
    for i in range(n):
        t = i / 7 + seed
        r = 0.5 + 0.4 * np.sin(x / (w / 3.1) + t)
        g = 0.5 + 0.4 * np.sin(y / (h / 2.3) - 0.7 * t)
        b = 0.5 + 0.4 * np.cos((x + y) / (w / 2.7) + 0.5 * t)
        out[i] = (np.stack([r, g, b], -1) * 255 + 0.5).astype(np.uint8)
        for bit in range(6):
            x0 = 8 + bit * (w - 16) // 6
            out[i, 6 : 6 + h // 8, x0 : x0 + (w - 16) // 8] = 255 if (i >> bit) & 1 else 0
    return out


def _run(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, **kw)


def _has_encoder(name: str) -> bool:
    return f" {name} " in _run([FFMPEG, "-hide_banner", "-encoders"], text=True).stdout


def _ffmpeg_encode(path, frames, args, *, fps=FPS, pix_fmt="rgb24"):
    n, h, w = frames.shape[:3]
    _run(
        [FFMPEG, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{w}x{h}", "-r", str(fps)]
        + ["-i", "-", *args, str(path)],
        input=frames.tobytes(),
    )


def ffmpeg_frames(path, w, h, *, pix_fmt="rgb24", pre=(), vf=None) -> np.ndarray:
    """All frames as the ffmpeg command line decodes them (autorotated, every frame passed through,
    none duplicated or dropped), reshaped to the (w, h) we expect: a wrong size fails here."""
    depth = {"rgb24": 3, "rgba": 4}[pix_fmt]
    args = [FFMPEG, "-v", "error", *pre, "-i", str(path), "-fps_mode", "passthrough"]
    if vf:
        args += ["-vf", vf, "-sws_flags", "bicubic"]
    raw = _run(args + ["-f", "rawvideo", "-pix_fmt", pix_fmt, "-"]).stdout
    assert len(raw) % (w * h * depth) == 0, (len(raw), w, h)
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, depth)


def ffprobe_times(path) -> list[float]:
    """The presentation times (s) of the decoded frames, in output order, as ffprobe reports them."""
    out = _run(
        [FFPROBE, "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time", "-of", "csv=p=0"]
        + [str(path)],
        text=True,
    ).stdout
    return [float(line.strip().rstrip(",")) for line in out.split() if line.strip()]


def ffprobe_stream(path) -> dict:
    out = _run(
        [FFPROBE, "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=avg_frame_rate,duration"]
        + ["-show_entries", "format=duration", "-of", "default=nw=1", str(path)],
        text=True,
    ).stdout
    d = {}
    for line in out.splitlines():
        k, _, v = line.partition("=")
        d.setdefault(k, v)  # the stream's duration comes before the format's
    return d


# 10-bit frames go to 8-bit RGB through different libswscale code in ffmpeg 5.1 and in PyAV's 8.1
# (other chroma siting and rounding: a frame rebuilt without its chroma location tag still differs
# by up to 8 levels): the frames agree to >= 38 dB PSNR on this content (measured 43-49 dB), not
# bit for bit. For those, "the same frame" is: within that bound, and nearer to ffmpeg's frame k than to
# its neighbours (measured <= 19 dB).
NOT_BIT_EXACT = {"hevc-10bit"}
CONVERSION_PSNR = 38


def assert_frame(kind, f, ref, k, *context):
    if kind not in NOT_BIT_EXACT:
        assert np.array_equal(f, ref[k]), (kind, k, *context)
        return
    p = psnr(f, ref[k])
    neighbours = [psnr(f, ref[j]) for j in (k - 1, k + 1) if 0 <= j < len(ref)]
    assert p >= CONVERSION_PSNR and p > max(neighbours) + 3, (kind, k, p, neighbours, *context)


# --- the files -------------------------------------------------------------------------------------


def _gif_frames(n=12, w=W, h=H):
    """RGBA frames: an opaque background with a fully transparent strip, and a square moving over it."""
    frames = np.zeros((n, h, w, 4), np.uint8)
    for i in range(n):
        f = frames[i]
        f[..., :3] = (40, 80, 120)
        f[..., 3] = 255
        f[:, :20] = 0
        x0 = 8 + 11 * i
        f[40:70, x0 : x0 + 30] = (255, (i * 20) % 256, 0, 255)
        f[90 + i % 3 : 100, 30:40] = (0, 200, 0, 255)  # a small part that changes back and forth
    return frames


def _make(kind: str, d: Path) -> tuple[Path, tuple[int, int]]:
    """Make the file of ``kind`` in ``d``: its path and its displayed (width, height)."""
    src = _content()
    if kind == "framepipe":
        p = d / "framepipe.mp4"
        with framepipe.VideoWriter(p, fps=FPS, keyint=12) as v:
            for f in src:
                v.write(f)
        return p, (W, H)
    if kind == "x264-bframes":
        p = d / "x264.mp4"
        _ffmpeg_encode(p, src, ["-c:v", "libx264", "-bf", "3", "-g", "12", "-pix_fmt", "yuv420p"])
        return p, (W, H)
    if kind == "x264-open-gop.mkv":
        p = d / "x264-open.mkv"
        _ffmpeg_encode(
            p, src, ["-c:v", "libx264", "-bf", "3", "-g", "12", "-x264-params", "open-gop=1", "-pix_fmt", "yuv420p"]
        )
        return p, (W, H)
    if kind == "hevc":
        if not _has_encoder("libx265"):
            pytest.skip("this ffmpeg has no libx265 encoder to make an HEVC file")
        if "hevc" not in av.codecs_available:
            pytest.skip("PyAV's libav has no HEVC decoder")
        p = d / "hevc.mp4"
        _ffmpeg_encode(
            p,
            src,
            ["-c:v", "libx265", "-x265-params", "bframes=3:keyint=12:log-level=error", "-pix_fmt", "yuv420p"]
            + ["-tag:v", "hvc1"],
        )
        return p, (W, H)
    if kind == "hevc-10bit":
        if not _has_encoder("libx265"):
            pytest.skip("this ffmpeg has no libx265 encoder to make an HEVC file")
        p = d / "hevc10.mp4"
        args = ["-c:v", "libx265", "-x265-params", "bframes=3:keyint=12:log-level=error", "-pix_fmt", "yuv420p10le"]
        _ffmpeg_encode(p, src, args)
        return p, (W, H)
    if kind == "av1":
        if not _has_encoder("libsvtav1"):
            pytest.skip("this ffmpeg has no libsvtav1 encoder to make an AV1 file")
        if "av1" not in av.codecs_available and "libdav1d" not in av.codecs_available:
            pytest.skip("PyAV's libav has no AV1 decoder")
        p = d / "av1.mp4"
        _ffmpeg_encode(p, src, ["-c:v", "libsvtav1", "-preset", "12", "-g", "12", "-pix_fmt", "yuv420p"])
        return p, (W, H)
    if kind == "vp9.webm":
        if not _has_encoder("libvpx-vp9"):
            pytest.skip("this ffmpeg has no libvpx-vp9 encoder to make a VP9 file")
        if "vp9" not in av.codecs_available:
            pytest.skip("PyAV's libav has no VP9 decoder")
        p = d / "vp9.webm"
        _ffmpeg_encode(p, src, ["-c:v", "libvpx-vp9", "-g", "12", "-b:v", "400k", "-pix_fmt", "yuv420p"])
        return p, (W, H)
    if kind in ("gif-disposal2", "gif-disposal1"):
        from PIL import Image

        ims = [Image.fromarray(f) for f in _gif_frames()]
        p = d / f"{kind}.gif"
        disposal = 2 if kind == "gif-disposal2" else 1
        durations = [40, 40, 60, 30] * 3  # variable rate: times 0, .04, .08, .14, .17, ...
        ims[0].save(p, save_all=True, append_images=ims[1:], duration=durations, loop=0, disposal=disposal)
        return p, (W, H)
    if kind in ("rotated90", "rotated270"):
        base, _ = _make("x264-bframes", d)
        p = d / f"{kind}.mp4"
        angle = kind.removeprefix("rotated")
        # ffmpeg >= 6: -display_rotation; ffmpeg 5: the rotate tag. Which way the picture turns is
        # checked with ffprobe's reading of the display matrix (ffprobe_rotation).
        try:
            _run([FFMPEG, "-v", "error", "-y", "-display_rotation", angle, "-i", str(base), "-c", "copy", str(p)])
        except subprocess.CalledProcessError:
            tag = ["-metadata:s:v:0", f"rotate={angle}"]
            _run([FFMPEG, "-v", "error", "-y", "-i", str(base), "-c", "copy", *tag, str(p)])
        return p, (H, W)
    if kind == "x264-editlist":
        # cut at 0.5 s without re-encoding: decoding starts at the keyframe before (0.4 s) and an
        # edit list hides the frames before 0.5 s (their packets are marked to be discarded)
        base, _ = _make("x264-bframes", d)
        p = d / "editlist.mp4"
        _run([FFMPEG, "-v", "error", "-y", "-ss", "0.5", "-i", str(base), "-c", "copy", str(p)])
        return p, (W, H)
    if kind == "raw.h264":
        base, _ = _make("x264-bframes", d)
        p = d / "raw.h264"
        _run([FFMPEG, "-v", "error", "-y", "-i", str(base), "-c", "copy", "-bsf:v", "h264_mp4toannexb", str(p)])
        return p, (W, H)
    raise AssertionError(kind)


KINDS = [
    "framepipe",
    "x264-bframes",
    "x264-open-gop.mkv",
    "hevc",
    "hevc-10bit",
    "av1",
    "vp9.webm",
    "gif-disposal2",
    "gif-disposal1",
    "rotated90",
    "rotated270",
    "x264-editlist",
    "raw.h264",
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Files made on first use, shared by the module's tests: kind -> (path, displayed size, ffmpeg's frames)."""
    d = tmp_path_factory.mktemp("video_file")
    made = {}

    def get(kind):
        if kind not in made:
            sub = d / kind
            sub.mkdir()
            path, size = _make(kind, sub)
            made[kind] = (path, size, ffmpeg_frames(path, *size))
        return made[kind]

    return get


# --- frames against ffmpeg's ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_frames_in_order_match_ffmpeg(files, kind):
    path, size, ref = files(kind)
    n = len(ref)
    assert n >= 12
    # The test can fail: the frames differ from each other, so a frame off by one is caught.
    assert all(not np.array_equal(ref[k], ref[k + 1]) for k in range(n - 1))
    with VideoFileReader(path) as r:
        assert r.n_frames == n
        assert r.size == size
        for k in range(n):
            f = r.frame(k)
            assert f.dtype == np.uint8 and f.shape == (size[1], size[0], 3) and f.flags.c_contiguous
            assert_frame(kind, f, ref, k)
        # in order: each frame decoded once, no seek (frame 0 was decoded when opening; a file
        # without timestamps was decoded whole to count its frames, and is opened again)
        if kind == "raw.h264":
            assert r._stats == {"seeks": 0, "reopens": 1, "decoded": n}
        else:
            assert r._stats == {"seeks": 0, "reopens": 0, "decoded": n - 1}


@pytest.mark.parametrize("kind", KINDS)
def test_frames_in_random_order_match_ffmpeg(files, kind):
    path, size, ref = files(kind)
    n = len(ref)
    order = list(range(n)) * 2
    random.Random(1234).shuffle(order)
    with VideoFileReader(path) as r:
        for k in order:
            assert_frame(kind, r.frame(k), ref, k)
        assert r._stats["seeks"] + r._stats["reopens"] > 0  # the backward jumps did seek


@pytest.mark.parametrize("kind", KINDS)
def test_get_frame_by_time(files, kind):
    """t = each frame's own time (ffprobe's), a time between two frames, and (constant-rate files)
    t = k / fps with ffprobe's frame rate."""
    path, size, ref = files(kind)
    n = len(ref)
    times = ffprobe_times(path) if kind != "raw.h264" else []
    rate = Fraction(ffprobe_stream(path)["avg_frame_rate"])
    with VideoFileReader(path) as r:
        if times:
            assert len(times) == n
            rel = [t - times[0] for t in times]
            for k in range(n):
                assert_frame(kind, r.get_frame(rel[k]), ref, k, rel[k])
                if k + 1 < n:
                    gap = rel[k + 1] - rel[k]
                    assert_frame(kind, r.get_frame(rel[k] + gap / 2), ref, k)
                    assert_frame(kind, r.get_frame(rel[k] + gap * 0.7), ref, k)
        if not kind.startswith("gif"):  # constant rate: frame k is shown from k / fps
            assert abs(r.fps - float(rate)) < 1e-9
            for k in range(n):
                assert_frame(kind, r.get_frame(k / float(rate)), ref, k)
                assert_frame(kind, r.get_frame((k + 0.5) / float(rate)), ref, k)
        # t == duration is the last frame
        assert_frame(kind, r.get_frame(r.duration), ref, len(ref) - 1)


def test_damaged_file(files, tmp_path):
    """An MP4 whose last 1500 bytes are cut off (index first, so it still opens): the frames that
    decode are ffmpeg's, in order and at random; the frame whose data is cut short does not decode
    (ffmpeg drops it), and the frame before it stays shown in its place."""
    path, _, _ = files("x264-bframes")
    whole = tmp_path / "faststart.mp4"
    _run([FFMPEG, "-v", "error", "-y", "-i", str(path), "-c", "copy", "-movflags", "+faststart", str(whole)])
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[:-1500])
    ref = ffmpeg_frames(cut, W, H)
    packets = int(
        _run(
            [FFPROBE, "-v", "error", "-select_streams", "v:0", "-count_packets", "-show_entries"]
            + ["stream=nb_read_packets", "-of", "default=nw=1:nk=1", str(cut)],
            text=True,
        ).stdout
    )
    assert 20 < len(ref) < packets < N
    with VideoFileReader(cut) as r:
        assert r.n_frames == packets  # the frames the file lists
        order = list(range(packets)) + random.Random(5).sample(range(packets), packets)
        for k in order:
            assert np.array_equal(r.frame(k), ref[min(k, len(ref) - 1)]), k


def test_gif_variable_rate_times(files):
    """The GIF's delays (40, 40, 60, 30 ms, ...) are the frames' times, not k / fps."""
    path, _, ref = files("gif-disposal2")
    with VideoFileReader(path) as r:
        assert r.n_frames == 12
        starts = np.cumsum([0] + [40, 40, 60, 30] * 3)[:12] / 1000
        for k, t in enumerate(starts):
            assert np.array_equal(r.get_frame(t), ref[k])
            # every delay is >= 30 ms; t is taken as the next frame's from half a tick (5 ms) before it
            assert np.array_equal(r.get_frame(t + 0.02), ref[k])
            if k:
                assert np.array_equal(r.get_frame(t - 0.006), ref[k - 1])
        assert r.duration == pytest.approx(0.51)


def test_sequential_get_frame_decodes_each_frame_once(files):
    path, _, ref = files("x264-bframes")
    with VideoFileReader(path) as r:
        for k in range(len(ref)):
            assert np.array_equal(r.get_frame(k / r.fps), ref[k])
            assert r.get_frame(k / r.fps) is r.get_frame((k + 0.2) / r.fps)  # the kept frame
        assert r._stats == {"seeks": 0, "reopens": 0, "decoded": len(ref) - 1}


def ffprobe_keyframes(path) -> list[int]:
    """Indices (output order) of the frames ffprobe marks as keyframes."""
    out = _run(
        [FFPROBE, "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=key_frame", "-of", "csv=p=0"]
        + [str(path)],
        text=True,
    ).stdout
    return [i for i, line in enumerate(out.split()) if line.strip().rstrip(",") == "1"]


def test_forward_jumps_seek_only_past_a_keyframe(files):
    path, _, ref = files("x264-bframes")  # -g 12: a keyframe at least every 12 frames
    keys = ffprobe_keyframes(path)
    assert keys[0] == 0 and len(keys) >= 3 and max(np.diff(keys)) <= 12, keys
    with VideoFileReader(path) as r:
        a, b = 1, keys[1] - 1  # no keyframe in between: decode on
        assert np.array_equal(r.frame(a), ref[a]) and np.array_equal(r.frame(b), ref[b])
        assert r._stats == {"seeks": 0, "reopens": 0, "decoded": b}
        c = keys[-1] + 1  # past at least one keyframe: seek to the last one before c
        assert np.array_equal(r.frame(c), ref[c])
        assert r._stats["seeks"] == 1 and r._stats["decoded"] <= b + (c - keys[-1]) + 3  # + the B-frame delay
        assert np.array_equal(r.frame(c - 1), ref[c - 1])  # backward: seek
        assert r._stats["seeks"] == 2


def test_frames_are_the_source_frames(files):
    """ffmpeg's frames (the reference above) are the frames that were encoded, within the codec's
    loss: the comparison is not of two equally wrong decodings."""
    src = _content()
    for kind in ("framepipe", "x264-bframes", "vp9.webm"):
        path, _, _ = files(kind)
        with VideoFileReader(path) as r:
            for k in (0, 13, r.n_frames - 1):
                assert psnr(r.frame(k), src[k]) > 30, (kind, k)
    path, _, _ = files("x264-editlist")  # starts at source frame 15 (0.5 s)
    with VideoFileReader(path) as r:
        assert r.n_frames == N - 15
        for k in (0, 1, 9, r.n_frames - 1):
            assert psnr(r.frame(k), src[k + 15]) > 30, k
        assert r.get_frame(0.2) is r.frame(6)


def ffprobe_rotation(path) -> float:
    """The display matrix's rotation as ffprobe reads it: degrees counter-clockwise."""
    out = _run(
        [FFPROBE, "-v", "error", "-select_streams", "v:0", "-show_entries", "stream_side_data=rotation"]
        + ["-of", "default=nw=1:nk=1", str(path)],
        text=True,
    ).stdout
    return float(out.split()[0])


def test_rotation_is_applied_like_ffmpeg(files):
    src = _content()
    for kind in ("rotated90", "rotated270"):
        path, size, ref = files(kind)
        turns = round(ffprobe_rotation(path) / 90) % 4
        assert turns in (1, 3)
        with VideoFileReader(path) as r:
            assert r.size == (H, W) == size
            f = r.frame(7)
            assert f.shape == (W, H, 3)
            assert np.array_equal(f, ref[7])
            assert psnr(f, np.rot90(src[7], turns)) > 30  # upright: the source turned counter-clockwise


def test_gif_disposal_and_alpha(files):
    """GIF frames as composed with disposal (restore to background / leave in place) equal ffmpeg's
    rgba decoding and Pillow's (a third decoder: alpha exactly, colour where opaque); with
    disposal 2 they are the drawn frames themselves. (With disposal 1, "leave in place", a pixel
    once opaque cannot become transparent again, so the drawn frames are not what the file holds.)"""
    from PIL import Image, ImageSequence

    drawn = _gif_frames()
    for kind in ("gif-disposal2", "gif-disposal1"):
        path, size, ref = files(kind)
        ref_rgba = ffmpeg_frames(path, *size, pix_fmt="rgba")
        with Image.open(path) as im:
            pillow = [np.array(f.convert("RGBA")) for f in ImageSequence.Iterator(im)]
        expected = drawn if kind == "gif-disposal2" else pillow
        assert len(pillow) == len(ref_rgba) == len(drawn)
        with VideoFileReader(path, has_mask=True) as r:
            order = list(range(r.n_frames))
            random.Random(7).shuffle(order)
            for k in list(range(r.n_frames)) + order:
                f = r.frame(k)
                assert f.shape == (H, W, 4)
                assert np.array_equal(f, ref_rgba[k]), (kind, k)
                assert np.array_equal(f[..., 3], expected[k][..., 3]), (kind, k)  # the transparent strip, exactly
                opaque = expected[k][..., 3] == 255
                assert np.array_equal(f[opaque][:, :3], expected[k][opaque][:, :3]), (kind, k)
        if kind == "gif-disposal1":  # the file shows what it should: a trail in the transparent strip
            assert (pillow[1][..., 3] != drawn[1][..., 3]).any()
        with VideoFileReader(path) as r:
            assert r.frame(5).shape == (H, W, 3)


def test_vp9_alpha(tmp_path):
    if not _has_encoder("libvpx-vp9") or "libvpx-vp9" not in av.codecs_available:
        pytest.skip("needs libvpx-vp9 in ffmpeg (to encode) and in PyAV (to decode the alpha layer)")
    src = np.zeros((20, H, W, 4), np.uint8)
    y, x = np.mgrid[0:H, 0:W]
    for i in range(20):
        src[i, ..., 0], src[i, ..., 1], src[i, ..., 2] = (x + 7 * i) % 256, 2 * y, 128
        src[i, ..., 3] = np.clip(2 * x - 5 * i, 0, 255)
    p = tmp_path / "alpha.webm"
    _ffmpeg_encode(p, src, ["-c:v", "libvpx-vp9", "-g", "8", "-b:v", "1M", "-pix_fmt", "yuva420p"], pix_fmt="rgba")
    ref = ffmpeg_frames(p, W, H, pix_fmt="rgba", pre=("-c:v", "libvpx-vp9"))
    with VideoFileReader(p, has_mask=True) as r:
        order = list(range(20)) + random.Random(3).sample(range(20), 20)
        for k in order:
            assert np.array_equal(r.frame(k), ref[k]), k
        assert np.abs(r.frame(10)[..., 3].astype(int) - src[10, ..., 3]).max() < 12
    with VideoFileReader(p) as r:  # without the mask: libavcodec's own VP9 decoder, RGB
        assert np.array_equal(r.frame(4), ffmpeg_frames(p, W, H)[4])


def test_png_sequence_and_apng_with_alpha(tmp_path):
    from PIL import Image

    drawn = _gif_frames(n=8)
    seq = tmp_path / "seq"
    seq.mkdir()
    for i, f in enumerate(drawn):
        Image.fromarray(f).save(seq / f"f{i:03d}.png")
    apng = tmp_path / "anim.png"
    ims = [Image.fromarray(f) for f in drawn]
    ims[0].save(apng, save_all=True, append_images=ims[1:], duration=100, loop=0)
    for path, fps in ((seq / "f%03d.png", 25), (apng, 10)):
        ref = ffmpeg_frames(path, W, H, pix_fmt="rgba")
        with VideoFileReader(path, has_mask=True) as r:
            assert r.n_frames == len(ref) == 8 and r.fps == fps
            for k in [0, 3, 7, 2, 5, 1, 6, 4]:
                assert np.array_equal(r.frame(k), ref[k]), (path, k)
                assert np.array_equal(r.frame(k), drawn[k])  # PNG is lossless
            assert np.array_equal(r.get_frame(5 / fps), drawn[5])
    with pytest.raises(FileNotFoundError, match="sequence pattern"):
        VideoFileReader(tmp_path / "nothing%03d.png")


# --- target_resolution -----------------------------------------------------------------------------

# Resized frames are compared with ffmpeg's `-vf scale=W:H -sws_flags bicubic` (what MoviePy runs).
# They are not bit-identical: libswscale 8.1 (PyAV's) honours the chroma sample location that H.264
# and HEVC frames carry ("left") when it scales, ffmpeg 5.1's scale filter does not (a frame rebuilt
# from its planes without that tag scales bit-identically; VP9 frames, untagged, and GIFs are
# identical). On this content (smooth, with sharp-edged blocks) they agree to >= 38 dB PSNR
# (measured 43-46 dB; a misplaced, mirrored or wrongly sized picture gives < 20 dB). A rotated file
# is turned by ffmpeg before it is scaled (its transpose filter keeps the chroma location tag, which
# is then wrong) and by the reader after: >= 33 dB (measured 34-40 dB).
RESIZE_PSNR = 38
RESIZE_PSNR_ROTATED = 33


@pytest.mark.parametrize(
    ("kind", "target", "size"),
    [
        ("x264-bframes", (80, None), (80, 60)),
        ("x264-bframes", (None, 90), (120, 90)),
        ("x264-bframes", (None, 100), (133, 100)),  # 160 * 100 / 120 = 133.3, rounded down as MoviePy
        ("x264-bframes", (100, 50), (100, 50)),  # both given: the aspect ratio is not kept
        ("x264-bframes", (None, None), (W, H)),
        ("rotated90", (60, None), (60, 80)),  # of the displayed (upright) size
        ("gif-disposal2", (80, None), (80, 60)),
    ],
)
def test_target_resolution(files, kind, target, size):
    path, _, _ = files(kind)
    w, h = size
    ref = ffmpeg_frames(path, w, h, vf=f"scale={w}:{h}")
    with VideoFileReader(path, target_resolution=target) as r:
        assert r.size == size
        assert r.n_frames == len(ref)
        bound = RESIZE_PSNR_ROTATED if kind.startswith("rotated") else RESIZE_PSNR
        for k in (0, 1, 17 % len(ref), len(ref) - 1, 2):
            f = r.frame(k)
            assert f.shape == (h, w, 3)
            if target == (None, None):
                assert np.array_equal(f, ref[k])
            else:
                assert psnr(f, ref[k]) >= bound, (k, psnr(f, ref[k]))
                others = [psnr(f, ref[j]) for j in range(len(ref)) if j != k]
                assert max(others) < psnr(f, ref[k])  # nearest to its own frame


def test_target_resolution_errors(files):
    path, _, _ = files("x264-bframes")
    for bad in [(0, None), (-5, 10), (10.5, None), ("80", None), (80,), 80, (True, None)]:
        with pytest.raises(framepipe.ParameterError, match="target_resolution"):
            VideoFileReader(path, target_resolution=bad)


# --- duration, fps, errors -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["framepipe", "x264-bframes", "vp9.webm", "gif-disposal1", "hevc"])
def test_duration_and_fps(files, kind):
    path, _, ref = files(kind)
    info = ffprobe_stream(path)
    with VideoFileReader(path) as r:
        stream_duration = info.get("duration", "N/A")
        if stream_duration != "N/A":
            assert r.duration == pytest.approx(float(stream_duration), abs=1e-6)
        else:  # WebM: no stream duration; the last frame's time plus one frame
            assert r.duration == pytest.approx(ffprobe_times(path)[-1] + 1 / r.fps, abs=1e-3)
        assert r.fps == pytest.approx(float(Fraction(info["avg_frame_rate"])), rel=0.2 if "gif" in kind else 1e-9)
        assert r.n_frames == len(ref)


def test_errors_name_the_file_and_what_is_wrong(files, tmp_path):
    missing = tmp_path / "nope.mp4"
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        VideoFileReader(missing)
    text = tmp_path / "notes.mp4"
    text.write_text("just some text, not a video\n" * 10)
    with pytest.raises(framepipe.DecodeError, match="notes.mp4") as e:
        VideoFileReader(text)
    assert "libav says" in str(e.value) or "Invalid data" in str(e.value)
    with pytest.raises(IsADirectoryError):
        VideoFileReader(tmp_path)
    audio = tmp_path / "tone.wav"
    _run([FFMPEG, "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=0.2", str(audio)])
    with pytest.raises(framepipe.DecodeError, match="no video stream.*audio"):
        VideoFileReader(audio)

    path, _, ref = files("x264-bframes")
    with VideoFileReader(path) as r:
        for t in (-0.001, r.duration + 0.001, float("nan"), 1e9):
            with pytest.raises(framepipe.ParameterError, match=r"x264\.mp4.*valid range 0 <= t <= 1\.33"):
                r.get_frame(t)
        with pytest.raises(framepipe.ParameterError, match="must be a number"):
            r.get_frame("1s")
        for i in (-1, len(ref), 10**6):
            with pytest.raises(framepipe.ParameterError, match=rf"index {i} is outside 0 <= index < {len(ref)}"):
                r.frame(i)
        with pytest.raises(framepipe.ParameterError, match="must be an int"):
            r.frame(1.0)
        assert np.array_equal(r.frame(np.int64(3)), ref[3])
        # the reader still works after the errors
        assert np.array_equal(r.get_frame(r.duration), ref[-1])


def test_without_pyav_the_error_says_what_to_install(files, monkeypatch):
    path, _, _ = files("x264-bframes")
    monkeypatch.setitem(sys.modules, "av", None)  # `import av` now raises ImportError
    with pytest.raises(framepipe.UnsupportedError, match="pip install av"):
        VideoFileReader(path)


def test_import_framepipe_does_not_import_av():
    code = "import sys, framepipe, framepipe.clips._video_file; print('av' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# --- resources, closing, pickling ------------------------------------------------------------------


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts file descriptors in /proc")
def test_no_file_descriptor_leak(files):
    path, _, ref = files("x264-bframes")
    gif, _, _ = files("gif-disposal2")
    VideoFileReader(path).close()  # warm up (libav's one-time state)
    gc.collect()
    before = _open_fds()
    for i in range(1000):
        r = VideoFileReader(gif if i % 2 else path)
        if i % 10 == 0:
            r.frame(r.n_frames - 1)  # with a seek and a decoder in the middle of the file
        r.close()
        r.close()  # idempotent
    assert _open_fds() == before
    for _ in range(200):  # never closed: garbage collection closes them
        r = VideoFileReader(path)
        r.frame(20)
        del r
    gc.collect()
    assert _open_fds() == before
    for _ in range(100):  # context manager, and reopening after close
        with VideoFileReader(path) as r:
            r.frame(3)
        assert np.array_equal(r.frame(30), ref[30])
        r.close()
    assert _open_fds() == before


def test_close_then_use_reopens(files):
    path, _, ref = files("x264-bframes")
    r = VideoFileReader(path)
    r.frame(10)
    r.close()
    assert r.size == (W, H) and r.n_frames == len(ref)  # known without reopening
    assert np.array_equal(r.frame(11), ref[11])
    assert r._stats["reopens"] == 1
    r.close()


def test_pickle_round_trip(files):
    path, _, ref = files("vp9.webm")
    with VideoFileReader(path, target_resolution=(None, 60)) as r:
        r.frame(12)
        data = pickle.dumps(r)
        assert len(data) < 500  # the path and the options only
        copy = pickle.loads(data)
        assert copy._dec is None and copy._meta is None  # nothing opened yet
        assert (copy.size, copy.n_frames, copy.fps, copy.duration) == (r.size, r.n_frames, r.fps, r.duration)
        assert np.array_equal(copy.frame(12), r.frame(12))
        copy.close()
    import cloudpickle

    # in another process, as clips go to render workers
    code = (
        "import pickle, sys, hashlib; r = pickle.loads(sys.stdin.buffer.read()); "
        "print(hashlib.sha256(r.get_frame(0.5).tobytes()).hexdigest(), r.size)"
    )
    with VideoFileReader(path) as r:
        blob = cloudpickle.dumps(r)
        expected = r.get_frame(0.5)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", code], input=blob, capture_output=True, check=True, env=env).stdout
    import hashlib

    assert out.decode().split()[0] == hashlib.sha256(expected.tobytes()).hexdigest()


def test_frames_are_read_only_and_kept(files):
    path, _, ref = files("x264-bframes")
    with VideoFileReader(path) as r:
        f = r.frame(4)
        assert not f.flags.writeable
        assert r.frame(4) is f
        with pytest.raises(ValueError):
            f[0, 0, 0] = 1
    with VideoFileReader(path, has_mask=True) as r:  # no alpha in the file: opaque
        f = r.frame(4)
        assert f.shape == (H, W, 4) and (f[..., 3] == 255).all()
        assert np.array_equal(f[..., :3], ref[4])


# --- timing (printed, not asserted) ----------------------------------------------------------------


def test_timing_sequential_vs_random(tmp_path):
    w, h, n = 640, 360, 300
    src = np.empty((n, h, w, 3), np.uint8)
    small = _content(n=n, w=w // 4, h=h // 4)
    src[:] = small.repeat(4, axis=1).repeat(4, axis=2)
    p = tmp_path / "timing.mp4"
    _ffmpeg_encode(p, src, ["-c:v", "libx264", "-preset", "veryfast", "-bf", "3", "-g", "60", "-pix_fmt", "yuv420p"])
    t0 = time.perf_counter()
    r = VideoFileReader(p)
    t_open = time.perf_counter() - t0
    t0 = time.perf_counter()
    for k in range(n):
        r.get_frame(k / r.fps)
    t_seq = time.perf_counter() - t0
    r.close()
    r = VideoFileReader(p)
    order = random.Random(0).sample(range(n), 60)
    t0 = time.perf_counter()
    for k in order:
        r.frame(k)
    t_rand = time.perf_counter() - t0
    stats = r._stats
    r.close()
    print(
        f"\nVideoFileReader, {w}x{h} H.264 (B-frames, GOP 60), {n} frames: open {t_open * 1000:.0f} ms; "
        f"sequential {t_seq / n * 1000:.2f} ms/frame ({n / t_seq:.0f} fps); "
        f"random {t_rand / len(order) * 1000:.2f} ms/frame over {len(order)} frames "
        f"({stats['seeks']} seeks, {stats['decoded']} frames decoded)"
    )
    assert r.n_frames == n


# --- threads, tags, limits (issue 21) ---------------------------------------------------------------

THREADS_SCRIPT = """
import random, sys, threading
import numpy as np
from framepipe.clips import VideoFileClip

path, ref_path, fps = sys.argv[1], sys.argv[2], float(sys.argv[3])
ref = np.load(ref_path)
n = len(ref)
wrong, failures, done = [], [], []
for run in range(20):
    clip = VideoFileClip(path)
    start = threading.Barrier(6)

    def work(seed):
        order = list(range(n))
        random.Random(seed).shuffle(order)
        start.wait()
        try:
            for k in order:
                if not np.array_equal(clip.get_frame(k / fps), ref[k]):
                    wrong.append((run, seed, k))
                done.append(k)
        except BaseException as e:
            failures.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=work, args=(run * 6 + i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    clip.close()
print(len(done), len(wrong), len(failures), wrong[:5], failures[:5])
"""


def test_one_clip_read_from_six_threads(files, tmp_path):
    """6 threads ask one VideoFileClip for frame k / fps in their own random orders (seeks,
    B-frames), 20 runs, in a child process so that a crash fails the test: every frame is the
    one ffmpeg decodes (before: SIGSEGV in 2 of 3 runs, "generator already executing" in the
    third)."""
    path, _, ref = files("x264-bframes")
    np.save(tmp_path / "ref.npy", ref)
    r = subprocess.run(
        [sys.executable, "-c", THREADS_SCRIPT, str(path), str(tmp_path / "ref.npy"), str(FPS)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, (r.returncode, r.stderr[-3000:])
    assert r.stdout.split()[:3] == [str(20 * 6 * len(ref)), "0", "0"], r.stdout


@pytest.mark.parametrize("ext", ["mp4", "mkv"])
def test_a_tag_that_is_not_utf8_does_not_stop_the_file_opening(files, tmp_path, ext):
    """`ffmpeg -metadata title=caf\\xe9` (Latin-1): the file opens (the tag is not what the
    reader is for) and its frames are ffmpeg's (before: UnicodeDecodeError from av.open)."""
    path, size, _ = files("x264-bframes")
    out = tmp_path / f"latin1.{ext}"
    _run([FFMPEG, "-v", "error", "-y", "-i", str(path), "-c", "copy", "-metadata", b"title=caf\xe9", str(out)])
    with pytest.raises(UnicodeDecodeError):  # the file does hold a tag that is not UTF-8
        av.open(str(out)).close()
    ref = ffmpeg_frames(out, *size)
    clip = framepipe.clips.VideoFileClip(out)
    assert clip.reader.n_frames == len(ref) == N and clip.size == list(size)  # a list, as MoviePy's
    for k in range(len(ref)):
        assert np.array_equal(clip.get_frame(k / FPS), ref[k]), k
    clip.close()


def test_target_resolution_within_the_frame_limit(files):
    """A target over the 8192-pixel limit is refused before PyAV is asked (before: a bare
    av.error.ArgumentError from the scaler), also where the aspect ratio makes the other side
    too large."""
    path, _, _ = files("x264-bframes")
    with pytest.raises(
        framepipe.ParameterError, match=r"target_resolution width must be an int from 1 to 8192.*100000"
    ):
        framepipe.clips.VideoFileClip(path, target_resolution=(100000, None))
    with pytest.raises(framepipe.ParameterError, match=r"target_resolution height .*8193"):
        VideoFileReader(path, target_resolution=(None, 8193))
    # 120 px high to 8000: 160 px wide becomes 10666
    with pytest.raises(framepipe.ParameterError, match=r"makes its 160x120 frames 10666x8000; .* 8192 pixels"):
        VideoFileReader(path, target_resolution=(None, 8000))
    assert VideoFileReader(path, target_resolution=(None, 6000)).size == (8000, 6000)
