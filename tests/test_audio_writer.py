"""Sound tracks (issue 23): VideoWriter(audio=...), write_audio, write_video(audio=...), the
matplotlib writer's audio= and `framepipe encode --audio`. Every file is decoded by ffmpeg and
PyAV (which apply the edit list: the encoder's priming is hidden) and compared with the source:
two streams, each track's duration (the video sets the length), the samples (lag 0, SNR, a
tone's frequency and level), for AAC and Opus, 1/2/6 channels, float and integer arrays and
WAV/FLAC/MP3 files made by ffmpeg."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import framepipe
import numpy as np
import pytest
from audio_support import (
    assert_length,
    chirp,
    decode_av,
    decode_ffmpeg,
    lag,
    rms_db,
    snr_db,
    streams,
    tone_frequency,
    tones,
)
from conftest import FFMPEG, ffmpeg_errors

SCRIPT = str(Path(sys.executable).parent / "framepipe")
FRAME = np.zeros((32, 32, 3), np.uint8)
FAST = dict(preset="ultrafast")


def frames(n: int):
    for i in range(n):
        yield np.full((32, 32, 3), (i * 7) % 256, np.uint8)


def by_type(path) -> dict[str, dict]:
    return {s["codec_type"]: s for s in streams(path)}


def make_file(path: Path, rate: int, channels: int, seconds: float, *codec: str) -> Path:
    """A sound file made by ffmpeg: a 1 kHz sine of amplitude 0.5 on every channel (lavfi's sine is 1/8)."""
    src = f"sine=frequency=1000:sample_rate={rate}:duration={seconds}"
    subprocess.run(
        [
            FFMPEG,
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            src,
            "-af",
            f"volume=4,pan={channels}c|" + "|".join(f"c{i}=c0" for i in range(channels)),
            *codec,
            str(path),
        ],
        check=True,
    )
    return path


# --------------------------------------------------------------------------- lengths and streams


@pytest.mark.parametrize("codec", ["aac", "opus"])
@pytest.mark.parametrize("seconds", [0.5, 5.0])
def test_the_video_sets_the_length(tmp_path, codec, seconds):
    out = tmp_path / "a.mp4"
    rate = 48000
    src = tones(int(seconds * rate), rate, 2)
    r = framepipe.write_video(out, frames(60), 30, audio=src, audio_fps=rate, audio_codec=codec, **FAST)
    assert (r.frames, r.audio_fps, r.audio_clipped) == (60, rate, 0)
    # All of a short array; of a long one, what the video needed (read about 1 s ahead of it).
    assert r.audio_samples == len(src) if seconds < 2 else 2 * rate <= r.audio_samples <= 3.1 * rate
    s = by_type(out)
    assert set(s) == {"video", "audio"}
    assert s["audio"]["codec_name"] == codec and int(s["audio"]["channels"]) == 2
    assert abs(float(s["audio"]["duration"]) - 2.0) < 1e-3, s["audio"]["duration"]
    assert abs(float(s["video"]["duration"]) - 2.0) < 1e-3
    assert ffmpeg_errors(out) == ""
    for decoded in (decode_ffmpeg(out, 2), decode_av(out)):
        assert_length(decoded, 2 * rate)
        if seconds < 2:
            # The sound, then silence up to the video's end.
            assert rms_db(decoded[int(0.1 * rate) : int(0.4 * rate), 0]) > -10
            assert np.abs(decoded[int(0.6 * rate) :]).max() < 1e-3
        else:
            assert rms_db(decoded[int(1.5 * rate) : int(1.9 * rate), 0]) > -10


# ------------------------------------------------------------------------------- the samples


CASES = [
    # codec, channels, rate, dtype, bitrate (kbit/s), min SNR (dB)
    ("aac", 1, 44100, np.float32, 192, 50),
    ("aac", 2, 48000, np.int16, 320, 50),
    ("aac", 6, 48000, np.float64, 960, 50),
    ("opus", 1, 48000, np.int32, 256, 30),
    ("opus", 2, 44100, np.float32, 256, 30),
    ("opus", 6, 48000, np.float32, 768, 30),
]


def as_dtype(x: np.ndarray, dtype) -> np.ndarray:
    if dtype == np.int16:
        return np.round(x * 32767).astype(np.int16)
    if dtype == np.int32:
        return np.round(x * (2**31 - 1)).astype(np.int32)
    return x.astype(dtype)


@pytest.mark.parametrize("codec,channels,rate,dtype,bitrate,min_snr", CASES)
def test_samples_match_the_source(tmp_path, codec, channels, rate, dtype, bitrate, min_snr):
    out_rate = 48000 if codec == "opus" else rate
    n = 3 * rate
    # Channel 0: a chirp (for the lag and SNR); the others: tones of their own frequencies (so
    # a channel in the wrong place shows).
    src = tones(n, rate, channels)
    src[:, 0] = chirp(n, rate)
    r = framepipe.write_video(
        tmp_path / "s.mp4",
        frames(90),
        30,
        audio=as_dtype(src, dtype),
        audio_fps=rate,
        audio_codec=codec,
        audio_bitrate=bitrate,
        **FAST,
    )
    assert r.audio_samples == n
    s = by_type(tmp_path / "s.mp4")["audio"]
    assert (s["codec_name"], int(s["channels"]), int(s["sample_rate"])) == (codec, channels, out_rate)
    want = tones(3 * out_rate, out_rate, channels)
    want[:, 0] = chirp(3 * out_rate, out_rate)
    for decoded in (decode_ffmpeg(tmp_path / "s.mp4", channels), decode_av(tmp_path / "s.mp4")):
        assert_length(decoded, 3 * out_rate)
        mid = slice(out_rate // 2, 5 * out_rate // 2)
        assert lag(decoded[mid, 0], want[mid, 0]) == 0
        assert snr_db(decoded[mid, 0], want[mid, 0]) > min_snr
        for c in range(1, channels):
            f = tone_frequency(decoded[mid, c], out_rate)
            assert abs(f - [1000, 1500, 700, 80, 300, 1800][c]) < 1, (c, f)
            assert abs(rms_db(decoded[mid, c]) - rms_db(want[mid, c])) < 0.2, c


@pytest.mark.parametrize(
    "suffix,codec_args",
    [(".wav", ["-c:a", "pcm_s16le"]), (".flac", []), (".mp3", ["-b:a", "192k"])],
)
def test_sound_files(tmp_path, suffix, codec_args):
    src = make_file(tmp_path / f"in{suffix}", 44100, 2, 3.0, *codec_args)
    out = tmp_path / "f.mp4"
    r = framepipe.write_video(out, frames(60), 24, audio=src, **FAST)  # 2.5 s of video
    assert r.audio_fps == 44100 and r.audio_samples >= int(2.5 * 44100)
    for decoded in (decode_ffmpeg(out, 2), decode_av(out)):
        assert_length(decoded, int(2.5 * 44100))
        mid = decoded[22050:88200]
        for c in range(2):
            assert abs(tone_frequency(mid[:, c], 44100) - 1000) < 0.5
            assert abs(rms_db(mid[:, c]) - rms_db(np.full(1, 0.5 / np.sqrt(2)))) < 0.5
    # The same file through `framepipe encode --audio` (the engine's own reader).
    raw = b"".join(f.tobytes() for f in frames(60))
    cli_out = tmp_path / "cli.mp4"
    run = subprocess.run(
        [
            SCRIPT,
            "encode",
            str(cli_out),
            "--size",
            "32x32",
            "--fps",
            "24",
            "--preset",
            "ultrafast",
            "--audio",
            str(src),
        ],
        input=raw,
        capture_output=True,
    )
    assert run.returncode == 0, run.stderr
    decoded = decode_ffmpeg(cli_out, 2)
    assert_length(decoded, int(2.5 * 44100))
    assert abs(tone_frequency(decoded[22050:88200, 1], 44100) - 1000) < 0.5


def test_cli_refuses_audio_for_a_gif_and_audio_options_without_audio(tmp_path):
    wav = make_file(tmp_path / "in.wav", 48000, 1, 0.5)
    raw = FRAME.tobytes()
    for args, words in [
        (["--audio", str(wav)], "a GIF has no sound"),
        (["--audio-codec", "opus"], "--audio-codec applies to a sound track"),
    ]:
        out = tmp_path / ("x.gif" if "--audio" in args else "x.mp4")
        r = subprocess.run(
            [SCRIPT, "encode", str(out), "--size", "32x32", *args], input=raw, capture_output=True, text=False
        )
        assert r.returncode != 0 and words in r.stderr.decode(), r.stderr
        assert not out.exists()
    r = subprocess.run(
        [SCRIPT, "encode", str(tmp_path / "y.mp4"), "--size", "32x32", "--audio", str(tmp_path / "none.wav")],
        input=raw,
        capture_output=True,
    )
    assert r.returncode == 1 and b"none.wav" in r.stderr


# ------------------------------------------------------------------------ write_audio streaming


def interleaved(tmp_path, order: str) -> np.ndarray:
    rate, n_frames = 48000, 48
    src = tones(2 * rate, rate, 2)  # 2 s of sound for 2 s of video at 24 fps
    out = tmp_path / f"{order}.mp4"
    with framepipe.VideoWriter(out, 24, audio_fps=rate, audio_channels=2, **FAST) as w:
        if order == "audio first":
            w.write_audio(src)
            for f in frames(n_frames):
                w.write(f)
        elif order == "video first":
            for f in frames(n_frames):
                w.write(f)
            w.write_audio(src)
        else:
            per = 2 * rate // n_frames
            for i, f in enumerate(frames(n_frames)):
                w.write_audio(src[i * per : (i + 1) * per])
                w.write(f)
    assert w.close().audio_samples == 2 * rate
    return decode_ffmpeg(out, 2)


def test_interleavings_give_the_same_sound(tmp_path):
    a = interleaved(tmp_path, "audio first")
    assert_length(a, 96000)
    assert rms_db(a[24000:72000, 0]) > -10
    for order in ("video first", "alternating"):
        assert np.array_equal(interleaved(tmp_path, order), a), order


def test_clipping_is_counted_and_warned_once(tmp_path):
    with pytest.warns(framepipe.FramepipeWarning, match=r"audio: 2 sample\(s\) outside \[-1, 1\] were clipped"):
        with framepipe.VideoWriter(tmp_path / "c.mp4", 10, audio_fps=8000, audio_channels=1, **FAST) as w:
            w.write(FRAME)
            w.write_audio(np.array([0.5, 1.5, -3.0, 0.0], np.float32))
            w.write_audio(np.array([2.0], np.float32))
    assert (w.close().audio_clipped, w.close().audio_samples) == (3, 5)


# ------------------------------------------------------------------------------- bad input


def test_bad_samples_and_rates_are_parameter_errors(tmp_path):
    out = tmp_path / "b.mp4"
    w = framepipe.VideoWriter(out, 10, audio_fps=48000, audio_channels=2, **FAST)
    w.write(FRAME)
    good = np.zeros((4800, 2), np.float32)
    w.write_audio(good)
    bad = [
        (np.zeros((10, 2), np.uint8), "dtype uint8"),
        (np.zeros((10, 2), np.complex64), "dtype complex64"),
        (np.zeros((10, 2, 1), np.float32), "shape (n,) or (n, channels)"),
        (np.zeros((10, 3), np.float32), "have 3 channel(s), but the sound track has 2"),
        (np.zeros(10, np.float32), "have 1 channel(s), but the sound track has 2"),
    ]
    for samples, words in bad:
        with pytest.raises(framepipe.ParameterError, match=words.replace("(", r"\(").replace(")", r"\)")):
            w.write_audio(samples)
    nan = np.zeros((100, 2), np.float32)
    nan[37, 1] = np.nan
    with pytest.raises(framepipe.ParameterError, match=r"sample 9675 \(frame 4837, channel 1, at 0\.100771 s\) is NaN"):
        w.write_audio(nan)
    w.write_audio(good)  # still usable; the refused call kept nothing
    w.write(FRAME)
    r = w.close()
    assert r.audio_samples == 9600
    assert ffmpeg_errors(out) == ""
    assert_length(decode_ffmpeg(out, 2), 9600)  # 2 frames at 10 fps

    for kwargs, words in [
        (dict(audio_fps=0, audio_channels=1), "audio_fps must be from 1000 to 768000 Hz, got 0"),
        (dict(audio_fps=10**7, audio_channels=1), "audio_fps must be from 1000"),
        (dict(audio_fps=48000, audio_channels=9), "audio_channels must be from 1 to 8"),
        (dict(audio_fps=48000), "both audio_fps= .* and audio_channels="),
        (dict(audio=np.zeros(10)), r"audio_fps= \(the samples' rate in Hz\) is required"),
        (dict(audio=np.zeros((10, 9)), audio_fps=8000), "has 9 channels; allowed 1 to 8"),
        (dict(audio_codec="opus"), "audio_codec and audio_bitrate apply to a sound track"),
        (dict(audio_fps=48000, audio_channels=1, audio_codec="mp3"), 'unknown audio_codec "mp3"'),
        (dict(audio_fps=48000, audio_channels=1, audio_bitrate=3), "audio_bitrate must be between 8 and 2048"),
        (dict(audio_fps=48000, audio_channels=1, audio_bitrate=1000), "audio_bitrate 1000 kbit/s does not suit"),
    ]:
        with pytest.raises(framepipe.ParameterError, match=words):
            framepipe.VideoWriter(tmp_path / "x.mp4", 10, **kwargs)
    with pytest.raises(framepipe.ParameterError, match="a GIF has no sound"):
        framepipe.VideoWriter(tmp_path / "x.gif", 10, audio=np.zeros(10), audio_fps=8000)
    with pytest.raises(framepipe.ParameterError, match="it has no sound track"):
        framepipe.VideoWriter(None, 10).write_audio(good)
    assert not (tmp_path / "x.mp4").exists() and not (tmp_path / "x.gif").exists()


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        framepipe.VideoWriter(tmp_path / "x.mp4", 10, audio=tmp_path / "missing.wav")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" * 10)
    with pytest.raises(framepipe.DecodeError, match="junk.wav"):
        framepipe.VideoWriter(tmp_path / "x.mp4", 10, audio=junk)
    silent = tmp_path / "silent.mp4"
    framepipe.write_video(silent, frames(3), 10, **FAST)
    with pytest.raises(framepipe.DecodeError, match="has no audio stream"):
        framepipe.VideoWriter(tmp_path / "x.mp4", 10, audio=silent)
    wav = make_file(tmp_path / "ok.wav", 44100, 1, 0.5)
    with pytest.raises(framepipe.ParameterError, match="audio_fps=48000 does not match .* 44100 Hz"):
        framepipe.VideoWriter(tmp_path / "x.mp4", 10, audio=wav, audio_fps=48000)
    assert not (tmp_path / "x.mp4").exists()
    # A file cut short mid-stream: what was read is kept, the rest is silence, the file plays.
    mp3 = make_file(tmp_path / "long.mp3", 44100, 1, 4.0)
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(mp3.read_bytes()[: mp3.stat().st_size // 2])
    r = framepipe.write_video(tmp_path / "c.mp4", frames(40), 10, audio=cut, **FAST)
    assert 1.5 * 44100 < r.audio_samples < 2.5 * 44100
    d = decode_ffmpeg(tmp_path / "c.mp4", 1)
    assert_length(d, 4 * 44100)
    assert np.abs(d[int(3 * 44100) :]).max() < 1e-3


def test_a_sample_rate_that_changes_mid_stream(tmp_path):
    # Two ADTS streams end to end: libav decodes the second half at its own rate. The engine's
    # CLI decoder refuses that (a soundtrack keeps one rate); so does the Python side, with a
    # DecodeError naming the file, both rates and the time, not PyAV's bare ValueError.
    first = make_file(tmp_path / "a.aac", 44100, 1, 1.0)
    second = make_file(tmp_path / "b.aac", 48000, 1, 1.0)
    joined = tmp_path / "joined.aac"
    joined.write_bytes(first.read_bytes() + second.read_bytes())
    out = tmp_path / "o.mp4"
    with pytest.raises(
        framepipe.DecodeError, match=r"joined\.aac: the sample rate changes from 44100 Hz to 48000 Hz at 1\.0\d\d s"
    ):
        framepipe.write_video(out, frames(40), 10, audio=joined, **FAST)
    # What was written before the error is a finished, playable file with both tracks.
    kept = by_type(out)
    assert set(kept) == {"video", "audio"}
    assert int(kept["video"]["nb_frames"]) >= 1
    assert decode_av(out).shape[0] > 0
    assert ffmpeg_errors(out) == ""


def test_matplotlib_writer_takes_audio(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    fig, ax = plt.subplots(figsize=(1, 1), dpi=32)
    (line,) = ax.plot([0, 1], [0, 1])
    ani = FuncAnimation(fig, lambda i: [line], frames=20)
    from framepipe.matplotlib import FramepipeWriter

    sound = tones(44100, 44100, 1)[:, 0]
    w = FramepipeWriter(fps=10, audio=sound, audio_fps=44100, audio_codec="opus", preset="ultrafast")
    ani.save(tmp_path / "m.mp4", writer=w)
    plt.close(fig)
    assert w.result.audio_samples == 44100
    s = by_type(tmp_path / "m.mp4")
    assert s["audio"]["codec_name"] == "opus" and abs(float(s["audio"]["duration"]) - 2.0) < 1e-3
    d = decode_ffmpeg(tmp_path / "m.mp4", 1)
    assert abs(tone_frequency(d[4800:43200, 0], 48000) - 1000) < 0.5
    assert np.abs(d[int(1.1 * 48000) :]).max() < 1e-3
