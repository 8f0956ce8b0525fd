"""framepipe.clips.audio against MoviePy 2.2.1 itself: the same chains of audio clips built in
both, compared by their sample arrays (``to_soundarray(fps=...)``).

Tolerance: for clips made from functions and arrays the two compute the same float64
expressions at the same times (t = n / fps), so the samples must be EQUAL (atol 0). For sound
read from files MoviePy's reader hands over 16-bit samples (ffmpeg's s16le), framepipe's the
decoder's floats: they differ by at most 1/32768 (one step of 16 bits) where resampling or a
lossy decoder makes values that are not 16-bit ones, and are equal for a 16-bit WAV read at its
own rate.
"""

from __future__ import annotations

import wave

import framepipe
import moviepy as mp
import numpy as np
import pytest
from audio_support import decode_ffmpeg, lag, snr_db, streams
from framepipe.clips import audio as fa
from framepipe.clips.audio import afx
from moviepy import afx as mafx

RATE = 44100
rng = np.random.default_rng(7)
NOISE = rng.uniform(-0.5, 0.5, (22050, 2))


def sine2(t):
    return np.array([0.6 * np.sin(2 * np.pi * 440 * t), 0.4 * np.sin(2 * np.pi * 660 * t)]).T


def sine1(t):
    return 0.5 * np.sin(2 * np.pi * 330 * t)


def tone(m, d=1.0):
    return m.AudioClip(sine2, duration=d, fps=RATE)


def noise(m, n=None):
    return m.AudioArrayClip(NOISE if n is None else NOISE[:n], fps=RATE)


# Each chain is built from the module `m` (moviepy or framepipe.clips.audio) and effects `f`.
CHAINS = {
    "sine_stereo": lambda m, f: tone(m),
    "sine_mono": lambda m, f: m.AudioClip(sine1, duration=1, fps=RATE),
    "array": lambda m, f: noise(m),
    "subclipped": lambda m, f: tone(m).subclipped(0.25, 0.75),
    "subclipped_timecodes": lambda m, f: noise(m).subclipped("00:00:00.1", (0, 0.4)),
    "speed": lambda m, f: noise(m).with_speed_scaled(1.5),
    "speed_final_duration": lambda m, f: tone(m).with_speed_scaled(final_duration=0.4),
    "loop_n": lambda m, f: tone(m, 0.3).with_effects([f.AudioLoop(n_loops=3)]),
    "loop_duration": lambda m, f: noise(m).with_effects([f.AudioLoop(duration=1.3)]),
    "time_mirror": lambda m, f: noise(m)[::-1],
    "concatenation": lambda m, f: m.concatenate_audioclips([tone(m, 0.3), noise(m), tone(m, 0.2)]),
    # MoviePy's AudioArrayClip has no `end` until with_start gives it one (and a composite of
    # clips without an end has no duration): hence with_start(0).
    "composite_starts": lambda m, f: m.CompositeAudioClip(
        [noise(m).with_start(0), tone(m, 0.4).with_start(0.3), noise(m, 5000).with_start(0.7)]
    ),
    "fade_in": lambda m, f: tone(m).with_effects([f.AudioFadeIn(0.2)]),
    "fade_out_timecode": lambda m, f: noise(m).with_effects([f.AudioFadeOut("00:00:00.3")]),
    "normalize": lambda m, f: tone(m).with_effects([f.AudioNormalize()]),
    "volume": lambda m, f: tone(m).with_effects([f.MultiplyVolume(0.5)]),
    "volume_range": lambda m, f: tone(m).with_effects([f.MultiplyVolume(0.5, start_time=0.2, end_time=0.6)]),
    "with_volume_scaled": lambda m, f: noise(m).with_volume_scaled(2.0),
    "delay": lambda m, f: tone(m, 0.3).with_effects([f.AudioDelay(offset=0.1, n_repeats=3, decay=0.5)]),
    "stereo_volume": lambda m, f: tone(m).with_effects([f.MultiplyStereoVolume(left=0.2, right=0.8)]),
    "section_cut_out": lambda m, f: noise(m).with_section_cut_out(0.1, 0.2),
    "chain": lambda m, f: m.concatenate_audioclips([tone(m, 0.5), noise(m)])
    .with_effects([f.AudioFadeIn(0.1), f.AudioFadeOut(0.2), f.MultiplyVolume(0.7)])
    .subclipped(0.2, 0.9)
    .with_speed_scaled(0.8),
}


def as_2d(a) -> np.ndarray:
    a = np.asarray(a)
    return a.reshape(len(a), -1)


@pytest.mark.parametrize("fps", [RATE, 22050])
@pytest.mark.parametrize("name", sorted(CHAINS))
def test_samples_equal_moviepy(name, fps):
    want_clip = CHAINS[name](mp, mafx)
    got_clip = CHAINS[name](fa, afx)
    want, got = as_2d(want_clip.to_soundarray(fps=fps)), got_clip.to_soundarray(fps=fps)
    assert got.shape == want.shape
    assert got_clip.duration == pytest.approx(want_clip.duration, abs=1e-12)
    np.testing.assert_array_equal(got, want)
    assert np.abs(got).max() > 0.05  # not silence compared with silence


def test_get_frame_chunks_quantize_and_max_volume_as_moviepy():
    clip, ref = CHAINS["composite_starts"](fa, afx), CHAINS["composite_starts"](mp, mafx)
    tt = np.array([0.0, 0.31, 0.5, 0.71, 0.8])
    np.testing.assert_array_equal(clip.get_frame(tt), ref.get_frame(tt))
    np.testing.assert_array_equal(clip.get_frame(0.31), ref.get_frame(0.31))
    assert clip.get_frame(tt).shape == (5, 2) and clip.get_frame(0.5).shape == (2,)
    # buffersize below the clip's length: int(fps * duration) samples, by chunks (MoviePy's count)
    np.testing.assert_array_equal(
        clip.to_soundarray(fps=RATE, buffersize=5000), ref.to_soundarray(fps=RATE, buffersize=5000)
    )
    for nbytes in (1, 2, 4):
        q, qref = (
            clip.to_soundarray(fps=RATE, quantize=True, nbytes=nbytes),
            ref.to_soundarray(fps=RATE, quantize=True, nbytes=nbytes),
        )
        assert q.dtype == qref.dtype
        np.testing.assert_array_equal(q, qref)
    chunks = list(clip.iter_chunks(chunksize=3000, fps=RATE))
    want = list(ref.iter_chunks(chunksize=3000, fps=RATE))
    assert [len(c) for c in chunks] == [len(c) for c in want]
    np.testing.assert_array_equal(np.vstack(chunks), np.vstack(want))
    assert clip.max_volume() == ref.max_volume()
    np.testing.assert_array_equal(clip.max_volume(stereo=True), ref.max_volume(stereo=True))
    assert clip.nchannels == ref.nchannels == 2


def write_wav16(path, samples: np.ndarray, rate: int) -> np.ndarray:
    pcm = np.round(samples * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(pcm.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return pcm


@pytest.mark.parametrize("fps", [RATE, 22050])
def test_audio_file_clip_of_a_wav_as_moviepy(tmp_path, fps):
    t = np.arange(30000) / RATE
    pcm = write_wav16(
        tmp_path / "g.wav", np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.3 * np.sin(2 * np.pi * 1000 * t)], 1), RATE
    )
    got_clip = fa.AudioFileClip(tmp_path / "g.wav", fps=fps)
    # MoviePy's reader fails on a whole 0.68 s clip at once (its buffer logic): read by chunks.
    want = mp.AudioFileClip(str(tmp_path / "g.wav"), fps=fps).to_soundarray(fps=fps, buffersize=10000)
    got = got_clip.to_soundarray(fps=fps, buffersize=10000)
    assert got_clip.duration == pytest.approx(30000 / RATE)
    n = len(want)
    assert abs(len(got) - n) <= 12 and len(got) == int(fps * 30000 / RATE)  # MoviePy: ffmpeg's 0.68 s
    if fps == RATE:
        np.testing.assert_array_equal(got[:n], want)
        np.testing.assert_array_equal(got, pcm / 32768)  # the file's samples, exactly
    else:
        np.testing.assert_allclose(got[:n], want, rtol=0, atol=1 / 32768)


def test_audio_file_clip_of_an_m4a_as_moviepy(tmp_path):
    t = np.arange(2 * RATE) / RATE
    src = fa.AudioArrayClip(np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.3 * np.sin(2 * np.pi * 1000 * t)], 1), RATE)
    src.write_audiofile(tmp_path / "g.m4a")
    got_clip = fa.AudioFileClip(tmp_path / "g.m4a")
    want = mp.AudioFileClip(str(tmp_path / "g.m4a")).to_soundarray(fps=RATE, buffersize=10000)
    got = got_clip.to_soundarray(fps=RATE, buffersize=10000)
    n = min(len(got), len(want))
    assert n >= 2 * RATE - 10
    np.testing.assert_allclose(got[:n], want[:n], rtol=0, atol=1 / 32768)
    # libav's AAC at its default bitrate, on tones that start abruptly (pre-echo at the onset)
    assert snr_db(got[:, 0], src.to_soundarray(fps=RATE)[:, 0]) > 20


def test_write_audiofile_wav_exact(tmp_path):
    clip = CHAINS["chain"](fa, afx)
    clip.write_audiofile(tmp_path / "a.wav", fps=RATE)
    with wave.open(str(tmp_path / "a.wav")) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, RATE)
        data = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2)
    want = clip.to_soundarray(fps=RATE, quantize=True, nbytes=2, buffersize=100)
    np.testing.assert_array_equal(data, want)
    # MoviePy's own writer (ffmpeg, pcm_s16le) writes the same samples.
    CHAINS["chain"](mp, mafx).write_audiofile(str(tmp_path / "m.wav"), fps=RATE, logger=None)
    with wave.open(str(tmp_path / "m.wav")) as w:
        np.testing.assert_array_equal(np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2), data)
    clip.write_audiofile(tmp_path / "b.wav", fps=22050, nbytes=4, codec="pcm_s32le")
    with wave.open(str(tmp_path / "b.wav")) as w:
        assert (w.getsampwidth(), w.getframerate()) == (4, 22050)
        data = np.frombuffer(w.readframes(w.getnframes()), "<i4").reshape(-1, 2)
    np.testing.assert_array_equal(data, clip.to_soundarray(fps=22050, quantize=True, nbytes=4, buffersize=100))


@pytest.mark.parametrize(
    ("name", "codec", "rate"),
    [("a.m4a", "aac", RATE), ("a.mp3", "mp3", RATE), ("a.ogg", "opus", 48000), ("a.flac", "flac", RATE)],
)
def test_write_audiofile_compressed_decoded_by_ffmpeg(tmp_path, name, codec, rate):
    t = np.arange(RATE) / RATE
    left = 0.4 * np.sin(2 * np.pi * 440 * t) * np.minimum(1, t / 0.05)
    clip = fa.AudioArrayClip(np.stack([left, 0.5 * left], 1), RATE)
    clip.write_audiofile(tmp_path / name, bitrate="192k")
    (s,) = streams(tmp_path / name)
    assert (s["codec_name"], int(s["sample_rate"]), s["channels"]) == (codec, rate, 2)
    assert float(s["duration"]) == pytest.approx(1.0, abs=0.05)
    got = decode_ffmpeg(tmp_path / name, 2)
    back = fa.AudioFileClip(tmp_path / name).to_soundarray(fps=RATE)  # at 44.1 kHz for the Opus too
    assert len(back) == pytest.approx(RATE, abs=2000)
    if rate == RATE:
        assert lag(got[:, 0], left) == 0
        assert snr_db(got[:, 0], left) > (80 if codec == "flac" else 25)
    assert snr_db(back[:, 0], left) > (80 if codec == "flac" else 20)


def test_notebook_shows_an_audio_element():
    html = CHAINS["delay"](fa, afx)._repr_html_()
    assert html.startswith('<audio controls src="data:audio/wav;base64,')
    assert fa.AudioClip(sine1, duration=0.1, fps=8000).display_in_notebook()._repr_html_().startswith("<audio controls")


def test_moviepy_1_names():
    clip = noise(fa)
    np.testing.assert_array_equal(clip.volumex(0.5).to_soundarray(), clip.with_volume_scaled(0.5).to_soundarray())
    np.testing.assert_array_equal(
        clip.audio_fadein(0.1).to_soundarray(), clip.with_effects([afx.AudioFadeIn(0.1)]).to_soundarray()
    )
    np.testing.assert_array_equal(
        clip.audio_fadeout(0.1).to_soundarray(), clip.with_effects([afx.AudioFadeOut(0.1)]).to_soundarray()
    )
    assert clip.audio_loop(nloops=2).duration == clip.audio_loop(duration=1.0).duration == 1.0
    assert clip.audio_normalize().max_volume() == pytest.approx(1.0)
    assert clip.subclip(0.1, 0.2).duration == pytest.approx(0.1)
    assert clip.set_start(1).start == 1 and clip.set_duration(0.2).duration == 0.2 and clip.set_end(0.3).end == 0.3
    assert (clip + clip).duration == 1.0
    assert framepipe.clips.audio.afx is framepipe.clips.audio.fx


def test_bad_input_is_a_parameter_error():
    clip = noise(fa)
    with pytest.raises(TypeError, match="did you mean 'duration'"):
        afx.AudioFadeIn(duraton=1)
    with pytest.raises(TypeError, match="did you mean 'n_loops'"):
        afx.AudioLoop(nloops=2)
    with pytest.raises(framepipe.ParameterError, match="MultiplyVolume factor must be a finite number, got nan"):
        afx.MultiplyVolume(float("nan"))
    with pytest.raises(framepipe.ParameterError, match="MultiplyVolume factor"):
        clip.with_volume_scaled(float("inf"))
    with pytest.raises(framepipe.ParameterError, match="fps.*> 0, got -44100"):
        fa.AudioArrayClip(NOISE, fps=-44100)
    with pytest.raises(framepipe.ParameterError, match="fps.*> 0, got -1"):
        clip.to_soundarray(fps=-1)
    with pytest.raises(framepipe.ParameterError, match="codec 'pcm_f99' is not one framepipe writes; allowed: .*aac"):
        clip.write_audiofile("x.wav", codec="pcm_f99")
    with pytest.raises(framepipe.ParameterError, match=r"no codec for the extension '\.xyz'.*WAV"):
        clip.write_audiofile("x.xyz")
    with pytest.raises(framepipe.ParameterError, match="sample 3 is not finite"):
        fa.AudioArrayClip(np.array([[0.0], [0], [0], [np.nan]]), fps=100)
    with pytest.raises(framepipe.ParameterError, match="AudioFadeIn duration must be a number of seconds > 0"):
        afx.AudioFadeIn(0)
    with pytest.raises(framepipe.ParameterError, match="AudioLoop: give n_loops"):
        afx.AudioLoop()
    with pytest.raises(framepipe.ParameterError, match="end_time .* is after the clip's end"):
        clip.subclipped(0, 2)
    with pytest.raises(framepipe.ParameterError, match="must be a finite number of seconds"):
        clip.with_start(float("nan"))
    with pytest.raises(framepipe.ParameterError, match="CompositeAudioClip: clips must be a non-empty list"):
        fa.CompositeAudioClip([clip, "x"])
    with pytest.raises(framepipe.ParameterError, match="has no duration"):
        fa.AudioClip(sine1, fps=100).to_soundarray()
