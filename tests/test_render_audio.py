"""framepipe.render(..., audio=...): the sound track is encoded once in the calling process and
muxed at the join, so a parallel, in-process (resume) or Dask render with sound is the same file
whatever the number of workers, its sound the samples given (checked by ffmpeg and PyAV: stream
layout, durations, lag 0 against the source, SNR), its packets those a VideoWriter writes for the
same samples; a resumed render makes the uninterrupted render's file; bad sound fails before any
frame is rendered, as a VideoWriter's."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import warnings
from concurrent.futures import ThreadPoolExecutor

import framepipe
import numpy as np
import pytest
from audio_support import assert_length, chirp, decode_av, decode_ffmpeg, lag, snr_db, streams, tones
from conftest import FFMPEG, FFPROBE, check_video, decode_rgb, ffmpeg_errors, psnr

H, W = 48, 64
FPS = 24
N = 48  # 2 s of video
RATE = 48000
CHUNK = 12
FAST = dict(preset="ultrafast", audio_bitrate=320)


def frame(i):
    """Frame i, a smooth moving pattern and a pure function of i (so every worker agrees)."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    f = np.empty((H, W, 3), np.float32)
    f[..., 0] = 128 + 90 * np.sin(x / 11 + i / 5)
    f[..., 1] = 128 + 90 * np.sin(y / 9 - i / 7)
    f[..., 2] = 128 + 90 * np.cos((x + y) / 17 + i / 9)
    return (f + 0.5).astype(np.uint8)


def sound(seconds: float = 2.5, rate: int = RATE) -> np.ndarray:
    """Stereo float32: a chirp on the left (one clear cross-correlation peak), a tone on the right."""
    n = int(seconds * rate)
    s = tones(n, rate, 2)
    s[:, 0] = chirp(n, rate)
    return s.astype(np.float32)


SOUND = sound()


def audio_packets(path) -> list[tuple[str, str, str]]:
    """(pts, duration, MD5 of the data) of every packet of the audio stream, by ffprobe."""
    out = subprocess.run(
        [
            FFPROBE,
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-show_data_hash",
            "MD5",
            "-show_entries",
            "packet=pts,duration,data_hash",
            "-of",
            "json",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [(p["pts"], p["duration"], p["data_hash"]) for p in json.loads(out)["packets"]]


def check_sound(path, source: np.ndarray, seconds: float, codec: str = "aac", min_snr: float = 45) -> None:
    """Two streams (H.264 video, `codec` stereo audio at 48 kHz), both `seconds` long; the sound
    decoded by ffmpeg and by PyAV is `source` (cut or padded with silence to `seconds`): the
    chirp at lag 0 and above `min_snr` dB, silence after the source's end."""
    by_type = {s["codec_type"]: s for s in streams(path)}
    assert sorted(by_type) == ["audio", "video"]
    a, v = by_type["audio"], by_type["video"]
    assert (a["codec_name"], int(a["channels"]), int(a["sample_rate"])) == (codec, 2, RATE)
    assert v["codec_name"] == "h264"
    assert abs(float(a["duration"]) - seconds) < 1e-3, a["duration"]
    assert abs(float(v["duration"]) - seconds) < 1e-3, v["duration"]
    assert ffmpeg_errors(path) == ""
    n = round(seconds * RATE)
    want = np.zeros((n, 2), np.float32)
    k = min(n, len(source))
    want[:k] = source[:k]
    for decoded in (decode_ffmpeg(path, 2), decode_av(path)):
        assert_length(decoded, n)
        mid = slice(RATE // 4, k - RATE // 4)
        assert lag(decoded[mid, 0], want[mid, 0]) == 0
        assert snr_db(decoded[mid, 0], want[mid, 0]) > min_snr
        assert snr_db(decoded[mid, 1], want[mid, 1]) > min_snr
        if k < n:
            assert np.abs(decoded[k + RATE // 20 : n]).max() < 1e-3  # silence after the source


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The render with sound by 2 local worker processes."""
    out = tmp_path_factory.mktemp("ref") / "two.mp4"
    r = framepipe.render(frame, out, N, FPS, workers=2, chunk_frames=CHUNK, audio=SOUND, audio_fps=RATE, **FAST)
    assert (r.frames, r.audio_fps, r.audio_clipped) == (N, RATE, 0)
    assert r.audio_samples == len(SOUND)  # all of it (a writer reads to 1 s past the video's end)
    return out


def test_parallel_render_with_sound_is_the_source(reference):
    check_video(reference, frames=N, width=W, height=H, fps=FPS)
    src = np.stack([frame(i) for i in range(N)])
    assert psnr(decode_rgb(reference), src) >= 35
    check_sound(reference, SOUND, N / FPS)


def test_same_bytes_whatever_runs_the_chunks(tmp_path, reference, dask_client):
    """Three workers, in this process chunk by chunk (workers=1, resume), a thread pool and a
    real Dask LocalCluster: the bytes of the 2-worker render."""
    kw = dict(chunk_frames=CHUNK, audio=SOUND, audio_fps=RATE, **FAST)
    runs = {
        "three": dict(workers=3),
        "in_process": dict(workers=1, resume=True),
        "dask": dict(executor=dask_client, workers=2),
    }
    for name, how in runs.items():
        framepipe.render(frame, tmp_path / f"{name}.mp4", N, FPS, **how, **kw)
    with ThreadPoolExecutor(2) as ex:
        framepipe.render(frame, tmp_path / "pool.mp4", N, FPS, executor=ex, **kw)
    want = reference.read_bytes()
    for name in [*runs, "pool"]:
        assert (tmp_path / f"{name}.mp4").read_bytes() == want, name
    assert sorted(os.listdir(tmp_path)) == sorted(f"{n}.mp4" for n in [*runs, "pool"])


@pytest.mark.parametrize("codec", ["aac", "opus"])
def test_sound_packets_are_a_video_writers(tmp_path, codec):
    """The audio packets (timestamps, durations, bytes) of a parallel render are those a
    VideoWriter writes for the same samples (workers=1 renders with one), at 44.1 kHz in (Opus
    resamples to 48 kHz) and with a sound shorter than the video (padded with silence)."""
    src = sound(1.2, 44100)
    kw = dict(audio=src, audio_fps=44100, audio_codec=codec, preset="ultrafast")
    par = framepipe.render(frame, tmp_path / "par.mp4", N, FPS, workers=2, chunk_frames=CHUNK, **kw)
    one = framepipe.render(frame, tmp_path / "one.mp4", N, FPS, workers=1, **kw)
    writer = framepipe.write_video(tmp_path / "w.mp4", (frame(i) for i in range(N)), FPS, **kw)
    packets = audio_packets(tmp_path / "par.mp4")
    assert len(packets) > 80
    assert packets == audio_packets(tmp_path / "one.mp4") == audio_packets(tmp_path / "w.mp4")
    for r in (par, one, writer):
        assert (r.audio_samples, r.audio_clipped, r.audio_fps) == (len(src), 0, 44100)
    by_type = {s["codec_type"]: s for s in streams(tmp_path / "par.mp4")}
    out_rate = 48000 if codec == "opus" else 44100
    assert (by_type["audio"]["codec_name"], int(by_type["audio"]["sample_rate"])) == (codec, out_rate)
    assert abs(float(by_type["audio"]["duration"]) - N / FPS) < 1e-3
    assert ffmpeg_errors(tmp_path / "par.mp4") == ""


def test_a_sound_file_shorter_than_the_video(tmp_path):
    """audio= a WAV file (read by PyAV): its sound, then silence to the video's end."""
    wav = tmp_path / "in.wav"
    src = sound(1.0)
    pcm = np.round(src * 32767).astype("<i2")
    subprocess.run(
        [FFMPEG, "-v", "error", "-f", "s16le", "-ar", str(RATE), "-ac", "2", "-i", "-", str(wav)],
        input=pcm.tobytes(),
        check=True,
    )
    out = tmp_path / "f.mp4"
    r = framepipe.render(frame, out, N, FPS, workers=2, chunk_frames=CHUNK, audio=wav, **FAST)
    assert (r.audio_samples, r.audio_fps) == (len(src), RATE)
    check_video(out, frames=N, width=W, height=H, fps=FPS)
    check_sound(out, pcm.astype(np.float32) / 32768, N / FPS)


def test_resume_with_sound_makes_the_uninterrupted_file(tmp_path, reference):
    """A render stopped midway (make_frame fails at frame 30) and resumed with the same sound
    renders only the missing chunks and makes the uninterrupted render's bytes. The kept chunks
    are video alone: a resume with other sound (or sound options) keeps them too, and makes the
    file an uninterrupted render with that sound makes (never a mix of two sounds)."""
    calls: list[int] = []
    fail_at = [30]

    def make_frame(i):
        if i == fail_at[0]:
            raise RuntimeError("stopped")
        calls.append(i)
        return frame(i)

    out = tmp_path / "r.mp4"
    kw = dict(workers=1, chunk_frames=CHUNK, resume=True, **FAST)
    with pytest.raises(framepipe.RenderError, match="frame 30"):
        framepipe.render(make_frame, out, N, FPS, audio=SOUND, audio_fps=RATE, **kw)
    assert not out.exists() and len(list((tmp_path / "r.mp4.parts").glob("chunk-*.mp4"))) == 2
    fail_at[0] = -1
    calls.clear()
    r = framepipe.render(make_frame, out, N, FPS, audio=SOUND, audio_fps=RATE, **kw)
    assert calls == list(range(24, N))  # chunks 0 and 1 were kept
    assert r.audio_samples == len(SOUND)
    assert out.read_bytes() == reference.read_bytes()
    assert not (tmp_path / "r.mp4.parts").exists()

    # Stopped with one sound, resumed with another (and another bitrate).
    other = sound(1.5)[:, ::-1].copy()
    fail_at[0] = 30
    with pytest.raises(framepipe.RenderError, match="frame 30"):
        framepipe.render(make_frame, out, N, FPS, audio=SOUND, audio_fps=RATE, **kw)
    fail_at[0] = -1
    calls.clear()
    kw2 = {**kw, "audio_bitrate": 256}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "other parameters" warning: the chunks are kept
        framepipe.render(make_frame, out, N, FPS, audio=other, audio_fps=RATE, **kw2)
    assert calls == list(range(24, N))
    fresh = tmp_path / "fresh.mp4"
    fresh_kw = {**FAST, "audio_bitrate": 256}
    framepipe.render(frame, fresh, N, FPS, workers=2, chunk_frames=CHUNK, audio=other, audio_fps=RATE, **fresh_kw)
    assert out.read_bytes() == fresh.read_bytes()
    check_sound(out, other, N / FPS)


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_bad_sound_fails_before_any_frame_as_a_video_writers(tmp_path):
    """Each bad sound argument raises what a VideoWriter raises for it, before make_frame is
    called or a worker starts, and leaves an existing output as it was."""
    calls: list[int] = []

    def make_frame(i):
        calls.append(i)
        return frame(i)

    out = tmp_path / "keep.mp4"
    out.write_bytes(b"not replaced")
    nan = SOUND.copy()
    nan[70000, 1] = np.nan
    cases = [
        (out, dict(audio=nan, audio_fps=RATE)),  # NaN: names the sample, frame, channel, time
        (tmp_path / "a.gif", dict(audio=SOUND, audio_fps=RATE)),  # a GIF has no sound
        (out, dict(audio=SOUND)),  # an array without audio_fps
        (out, dict(audio=SOUND, audio_fps=10)),  # a rate out of range
        (out, dict(audio=SOUND[:, :1].repeat(9, axis=1), audio_fps=RATE)),  # 9 channels
        (out, dict(audio=tmp_path / "missing.wav")),
        (out, dict(audio=SOUND, audio_fps=RATE, audio_channels=1)),
        (out, dict(audio_codec="opus")),  # sound options without a sound
        (out, dict(audio=SOUND, audio_fps=RATE, audio_bitrate=4)),
        (out, dict(audio=SOUND, audio_fps=RATE, audio_codec="mp3")),
    ]
    wdir = tmp_path / "by-writer"
    wdir.mkdir()
    for path, kw in cases:
        # The writer's own output elsewhere: write_video keeps the frames written before a bad
        # sample (a VideoWriter reads the sound as the video advances).
        with pytest.raises(Exception) as by_writer:
            framepipe.write_video(wdir / path.name, (frame(i) for i in range(N)), FPS, preset="ultrafast", **kw)
        for how in (dict(workers=2, chunk_frames=CHUNK), dict(workers=1)):
            with pytest.raises(type(by_writer.value)) as by_render:
                framepipe.render(make_frame, path, N, FPS, preset="ultrafast", **how, **kw)
            assert str(by_render.value) == str(by_writer.value), kw
            assert calls == [], kw
        assert out.read_bytes() == b"not replaced"
    assert sorted(os.listdir(tmp_path)) == ["by-writer", "keep.mp4"]


def test_nan_is_named_as_by_a_writer(tmp_path):
    nan = SOUND.copy()
    nan[70000, 1] = np.nan
    with pytest.raises(framepipe.ParameterError) as e:
        framepipe.render(frame, tmp_path / "n.mp4", N, FPS, workers=2, audio=nan, audio_fps=RATE)
    assert "sample 140001 (frame 70000, channel 1, at 1.458333 s) is NaN" in str(e.value)
    assert os.listdir(tmp_path) == []


def test_write_audio_tracks_are_refused(tmp_path):
    """audio_fps= and audio_channels= alone declare a writer's write_audio() track: render has
    no way to receive one, and says so."""
    with pytest.raises(framepipe.ParameterError, match="render takes its sound from audio="):
        framepipe.render(frame, tmp_path / "w.mp4", N, FPS, workers=2, audio_fps=RATE, audio_channels=2)
    assert os.listdir(tmp_path) == []
