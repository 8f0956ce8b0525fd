"""Encode → decode round trips: counts, sizes, rates, durations, PSNR, colours, container layout."""

from __future__ import annotations

import json
import subprocess
import warnings
from fractions import Fraction

import framepipe
import numpy as np
import pytest
from conftest import (
    FFPROBE,
    check_video,
    decode_av,
    decode_rgb,
    ffprobe,
    format_tags,
    psnr,
    smooth_frames,
    top_level_boxes,
)


def test_smooth_content_round_trip_at_default_crf(out):
    src = smooth_frames(48, 240, 320)
    with framepipe.VideoWriter(out, fps=30) as w:
        for f in src:
            w.write(f)
    res = w.close()
    assert (res.frames, res.width, res.height) == (48, 320, 240)
    assert res.bytes == out.stat().st_size
    info = check_video(out, frames=48, width=320, height=240)
    assert info["profile"] == "High"
    assert info["pix_fmt"] == "yuv420p"
    assert (info["color_primaries"], info["color_transfer"], info["color_space"], info["color_range"]) == (
        "bt709",
        "bt709",
        "bt709",
        "tv",
    )
    decoded = decode_rgb(out)
    assert decoded.shape == src.shape
    assert psnr(decoded, src) >= 35
    # A second, independent decoder agrees.
    assert psnr(decode_av(out), src) >= 35


def test_moov_is_before_mdat_for_faststart(out):
    framepipe.write_video(out, smooth_frames(10, 64, 96), fps=24)
    boxes = top_level_boxes(out)
    assert boxes[0] == "ftyp"
    assert boxes.index("moov") < boxes.index("mdat"), boxes


@pytest.mark.parametrize("rgb", [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (128, 128, 128)])
def test_flat_colours_survive_within_3_levels(out, rgb):
    frame = np.empty((128, 128, 3), np.uint8)
    frame[:] = rgb
    framepipe.write_video(out, [frame] * 3, fps=30)
    for decoded in (decode_rgb(out), decode_av(out)):
        centre = decoded[:, 16:-16, 16:-16].astype(int)
        err = np.abs(centre - np.array(rgb)).max()
        assert err <= 3, (rgb, err, centre.reshape(-1, 3).mean(0))


def test_colour_patches_in_one_frame(out):
    patches = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (128, 128, 128)]
    frame = np.zeros((96, 96 * len(patches), 3), np.uint8)
    for k, c in enumerate(patches):
        frame[:, 96 * k : 96 * (k + 1)] = c
    framepipe.write_video(out, [frame] * 4, fps=30)
    decoded = decode_rgb(out)
    for k, c in enumerate(patches):
        centre = decoded[:, 24:-24, 96 * k + 24 : 96 * (k + 1) - 24].astype(int)
        assert np.abs(centre - np.array(c)).max() <= 3, (c, centre.reshape(-1, 3).mean(0))


@pytest.mark.parametrize("size", [(641, 481), (3, 5), (2, 2), (1, 1), (640, 481)])
def test_odd_sizes_pad_without_rescaling(out, size):
    w, h = size
    src = smooth_frames(6, max(h, 16), max(w, 16))[:, :h, :w]
    with pytest.warns(framepipe.FramepipeWarning, match="odd") if (w % 2 or h % 2) else warnings.catch_warnings():
        res = framepipe.write_video(out, src, fps=30)
    pw, ph = w + w % 2, h + h % 2
    check_video(out, frames=6, width=pw, height=ph)
    assert (res.width, res.height) == (pw, ph)  # what the file holds
    decoded = decode_rgb(out)
    # The picture itself is not rescaled: the source region matches, and the padding repeats
    # the last column/row.
    if w * h >= 64:
        assert psnr(decoded[:, :h, :w], src) >= 33
        if pw > w:
            assert np.abs(decoded[:, :h, w].astype(int) - decoded[:, :h, w - 1].astype(int)).mean() < 4
        if ph > h:
            assert np.abs(decoded[:, h, :w].astype(int) - decoded[:, h - 1, :w].astype(int)).mean() < 4
    else:
        assert np.abs(decoded[:, :h, :w].astype(int) - src.astype(int)).mean() < 40


def test_large_frame_8192_wide(out):
    frame = np.zeros((16, 8192, 3), np.uint8)
    frame[:, :, 0] = np.linspace(0, 255, 8192).astype(np.uint8)
    framepipe.write_video(out, [frame, frame], fps=30, preset="ultrafast")
    check_video(out, frames=2, width=8192, height=16)
    assert psnr(decode_rgb(out), np.stack([frame, frame])) > 35


def test_largest_frame_8192x8192(out):
    y = np.linspace(0, 255, 8192, dtype=np.float32)
    frame = np.empty((8192, 8192, 3), np.uint8)
    frame[..., 0] = y[None, :].astype(np.uint8)
    frame[..., 1] = y[:, None].astype(np.uint8)
    frame[..., 2] = 128
    with pytest.warns(framepipe.FramepipeWarning, match="beyond H.264's largest level"):
        framepipe.write_video(out, [frame], fps=30, preset="ultrafast")
    check_video(out, frames=1, width=8192, height=8192)
    decoded = decode_rgb(out)
    assert psnr(decoded[0, ::7, ::7], frame[::7, ::7]) >= 35


@pytest.mark.parametrize("fps", [Fraction(30000, 1001), 29.97, "30000/1001"])
def test_ntsc_rate_is_exact(out, fps):
    n = 100
    framepipe.write_video(out, smooth_frames(n, 32, 48), fps=fps)
    info = check_video(out, frames=n, width=48, height=32, fps=Fraction(30000, 1001))
    assert info["r_frame_rate"] == "30000/1001"
    # N frames last N * 1001 / 30000 s.
    assert abs(info["duration"] - n * 1001 / 30000) < 1e-3


@pytest.mark.parametrize("fps", [1, 24, 25, 60, Fraction(25, 2), 120])
def test_other_rates(out, fps):
    framepipe.write_video(out, smooth_frames(13, 32, 32), fps=fps)
    check_video(out, frames=13, width=32, height=32, fps=Fraction(fps))


def test_single_frame(out):
    src = smooth_frames(1, 90, 160)
    framepipe.write_video(out, src, fps=30)
    check_video(out, frames=1, width=160, height=90)
    assert psnr(decode_rgb(out), src) >= 35


def test_frame_timestamps_are_monotonic_and_start_at_zero(out):
    framepipe.write_video(out, smooth_frames(40, 48, 64), fps=25)
    r = subprocess.run(
        [FFPROBE, "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time", "-of", "json", str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    times = [float(f["pts_time"]) for f in json.loads(r.stdout)["frames"]]
    assert times == pytest.approx([i / 25 for i in range(40)], abs=1e-6)


def keyframe_indices(path) -> list[int]:
    r = subprocess.run(
        [
            FFPROBE,
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "frame=key_frame",
            "-of",
            "json",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return [i for i, f in enumerate(json.loads(r.stdout)["frames"]) if int(f["key_frame"]) == 1]


def test_keyint_option(out):
    framepipe.write_video(out, smooth_frames(50, 32, 32), fps=30, keyint=10)
    keys = keyframe_indices(out)
    assert keys[0] == 0
    assert all(b - a <= 10 for a, b in zip(keys, keys[1:] + [50]))


def test_bitrate_option_controls_size(tmp_path):
    src = smooth_frames(60, 144, 256, seed=3)
    noise = np.random.default_rng(0).integers(0, 40, src.shape, dtype=np.uint8)
    src = np.clip(src.astype(int) + noise - 20, 0, 255).astype(np.uint8)  # hard to compress
    low, high = tmp_path / "low.mp4", tmp_path / "high.mp4"
    framepipe.write_video(low, src, fps=30, bitrate=100)
    framepipe.write_video(high, src, fps=30, bitrate=1000)
    for p in (low, high):
        check_video(p, frames=60, width=256, height=144)
    kbps_low = low.stat().st_size * 8 / 2 / 1000
    kbps_high = high.stat().st_size * 8 / 2 / 1000
    assert 50 < kbps_low < 200, kbps_low
    assert 500 < kbps_high < 1500, kbps_high


def test_crf_trades_size_for_quality(tmp_path):
    src = smooth_frames(20, 120, 160)
    sizes, quality = [], []
    for crf in (18, 30):
        p = tmp_path / f"crf{crf}.mp4"
        framepipe.write_video(p, src, fps=30, crf=crf)
        sizes.append(p.stat().st_size)
        quality.append(psnr(decode_rgb(p), src))
    assert sizes[0] > sizes[1] and quality[0] > quality[1]


@pytest.mark.parametrize(
    "opts",
    [
        dict(preset="ultrafast"),
        dict(preset="veryslow"),
        dict(tune="animation"),
        dict(tune="stillimage"),
        dict(tune="film"),
        dict(tune="grain"),
        dict(threads=1),
        dict(threads=3),
        dict(crf=10.5),
    ],
)
def test_encoder_options_produce_valid_video(out, opts):
    src = smooth_frames(12, 48, 64)
    framepipe.write_video(out, src, fps=30, **opts)
    check_video(out, frames=12, width=64, height=48)
    assert psnr(decode_rgb(out), src) >= 33


def test_in_memory_output(tmp_path):
    src = smooth_frames(15, 64, 64)
    res = framepipe.write_video(None, src, fps=15)
    assert res.path is None and res.data is not None and res.frames == 15
    p = tmp_path / "mem.mp4"
    p.write_bytes(res.data)
    check_video(p, frames=15, width=64, height=64, fps=15)
    assert psnr(decode_rgb(p), src) >= 35


def test_write_video_accepts_generators_and_4d_arrays(tmp_path):
    src = smooth_frames(8, 32, 32)
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    framepipe.write_video(a, (f for f in src), fps=30)
    framepipe.write_video(b, src, fps=30)
    for p in (a, b):
        check_video(p, frames=8, width=32, height=32)
    assert np.array_equal(decode_rgb(a), decode_rgb(b))


def test_probe_reports_what_the_file_holds(out):
    framepipe.write_video(out, smooth_frames(30, 48, 64), fps=Fraction(30000, 1001))
    info = framepipe.probe(out)
    assert (info["width"], info["height"], info["frame_count"]) == (64, 48, 30)
    assert info["fps"] == (30000, 1001)
    assert info["duration"] == pytest.approx(30 * 1001 / 30000, abs=1e-3)
    assert info["codec"] == "avc1" and info["profile"] == "High"
    assert info["color"] == (1, 1, 1, False)
    assert info["faststart"] is True
    assert ffprobe(out)["nb_read_frames"] == 30


def test_metadata_tags_round_trip(tmp_path):
    """Tags ffprobe (and PyAV) read back: iTunes atoms for the keys ffmpeg knows, freeform atoms
    for others; UTF-8 kept; non-str values converted; the file stays faststart and plays."""
    out = tmp_path / "tags.mp4"
    md = {
        "title": "Wellen – ü ✓",
        "artist": "Ada",
        "comment": "line 1\nline 2",
        "genre": "science",
        "copyright": "CC-BY",
        "date": "2026-11-22",
        "description": "d",
        "subject": "s",
        "x.custom-key_1": 42,
    }
    frames = smooth_frames(6, 48, 64)
    framepipe.write_video(out, frames, fps=24, metadata=md)
    check_video(out, frames=6, width=64, height=48, fps=24)
    tags = format_tags(out)
    assert {k: tags.get(k) for k in md} == {k: str(v) for k, v in md.items()}
    assert tags["encoder"].startswith("framepipe ")
    assert top_level_boxes(out)[:3] == ["ftyp", "moov", "mdat"]
    assert framepipe.probe(out)["tags"] == {**{k: str(v) for k, v in md.items()}, "encoder": tags["encoder"]}
    import av

    with av.open(str(out)) as c:
        assert c.metadata["title"] == md["title"] and c.metadata["artist"] == "Ada"
    # An explicit encoder replaces framepipe's; in-memory output carries tags too.
    data = framepipe.write_video(None, frames, fps=24, metadata={"encoder": "mine"}).data
    (tmp_path / "mem.mp4").write_bytes(data)
    assert format_tags(tmp_path / "mem.mp4")["encoder"] == "mine"


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"bad key": "x"}, "metadata key"),
        ({"title": "a", "TITLE": "b"}, "twice"),
        ({"title": "a\0b"}, "NUL"),
        ({1: "x"}, "keys must be strings"),
        (["title", "x"], "mapping"),
    ],
)
def test_bad_metadata_is_refused_before_anything_is_written(tmp_path, bad, match):
    out = tmp_path / "bad.mp4"
    with pytest.raises(framepipe.ParameterError, match=match):
        framepipe.VideoWriter(out, 24, metadata=bad)
    assert not out.exists() or out.stat().st_size == 0
    with pytest.raises(framepipe.ParameterError, match="MP4"):
        framepipe.VideoWriter(tmp_path / "x.gif", 24, metadata={"title": "x"})
