"""MoviePy 2.2.1's less usual sound forms and sound errors, with MoviePy itself as the reference:
sound functions giving one row per channel (``lambda t: [np.sin(...)]``), find_audio_period on
a looped CompositeAudioClip, write_videofile's error for an unknown audio codec; and a notebook
display that plays the clip's sound (decoded back by ffmpeg: SNR, lag 0)."""

from __future__ import annotations

import wave

import framepipe
import framepipe.clips as fc
import moviepy as mp
import numpy as np
import pytest
from audio_support import decode_ffmpeg, lag, snr_db, streams
from framepipe.clips import audio as fa
from framepipe.clips import fx as ffx
from framepipe.clips.audio import afx as fafx
from framepipe.clips.cuts import find_audio_period
from moviepy import afx as mafx
from moviepy import vfx as mvfx
from moviepy.audio.tools.cuts import find_audio_period as mp_find_audio_period

RATE = 22050


def mono_rows(t):
    return [np.sin(440 * 2 * np.pi * t)]


def stereo_rows(t):
    return [np.sin(440 * 2 * np.pi * t), 0.5 * np.sin(660 * 2 * np.pi * t)]


def stereo_columns(t):
    return np.array(stereo_rows(t)).T


@pytest.mark.parametrize("fn", [mono_rows, stereo_rows], ids=["mono", "stereo"])
def test_one_row_per_channel_as_moviepy(fn):
    """MoviePy reads the channel count from frame_function(0) and gives the function's arrays
    back as they are: (channels, n) for n times; framepipe gives the same arrays."""
    ours, theirs = fa.AudioClip(fn, duration=0.5, fps=RATE), mp.AudioClip(fn, duration=0.5, fps=RATE)
    assert ours.nchannels == theirs.nchannels == len(fn(0.0))
    want = np.asarray(theirs.to_soundarray())
    assert want.shape == (len(fn(0.0)), int(0.5 * RATE))
    np.testing.assert_array_equal(ours.to_soundarray(), want)
    tt = np.linspace(0, 0.4, 7)
    np.testing.assert_array_equal(ours.get_frame(tt), np.asarray(theirs.get_frame(tt)))
    np.testing.assert_array_equal(ours.get_frame(0.1), np.asarray(theirs.get_frame(0.1)))
    np.testing.assert_array_equal(ours.to_soundarray(quantize=True), np.asarray(theirs.to_soundarray(quantize=True)))
    # the volume changed over a range: MoviePy's (channels, n) result, equal
    effect = dict(factor=0, start_time=0.1, end_time=0.2)
    if ours.nchannels == 1:  # MoviePy's stereo branch multiplies (2, n) by (n, 2): it fails
        got = ours.with_effects([fafx.MultiplyVolume(**effect)]).to_soundarray()
        np.testing.assert_array_equal(got, theirs.with_effects([mafx.MultiplyVolume(**effect)]).to_soundarray())
    # mixed or written, the rows are channels: the same sound as the (n, channels) function's
    columns = fa.AudioClip(lambda t: np.array(fn(t)).reshape(len(fn(0.0)), -1).T, duration=0.5, fps=RATE)
    mixed = fa.CompositeAudioClip([ours.with_start(0.1)]).to_soundarray()
    np.testing.assert_array_equal(mixed, fa.CompositeAudioClip([columns.with_start(0.1)]).to_soundarray())
    assert mixed.shape == (int(0.6 * RATE), ours.nchannels)


def read_wav(path) -> np.ndarray:
    with wave.open(str(path)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), np.int16).reshape(-1, w.getnchannels())


def test_one_row_per_channel_written(tmp_path):
    """Mono: the WAV equals MoviePy's (its (1, n) chunk's bytes are the samples in order).
    Stereo: framepipe writes the two channels (MoviePy interleaves the rows' bytes wrongly)."""
    fa.AudioClip(mono_rows, duration=0.5, fps=RATE).write_audiofile(tmp_path / "a.wav", logger=None)
    mp.AudioClip(mono_rows, duration=0.5, fps=RATE).write_audiofile(str(tmp_path / "m.wav"), logger=None)
    got, want = read_wav(tmp_path / "a.wav"), read_wav(tmp_path / "m.wav")
    assert got.shape == (int(0.5 * RATE), 1)
    np.testing.assert_array_equal(got, want)
    fa.AudioClip(stereo_rows, duration=0.5, fps=RATE).write_audiofile(tmp_path / "s.wav", logger=None)
    fa.AudioClip(stereo_columns, duration=0.5, fps=RATE).write_audiofile(tmp_path / "c.wav", logger=None)
    got = read_wav(tmp_path / "s.wav")
    np.testing.assert_array_equal(got, read_wav(tmp_path / "c.wav"))
    tt = np.arange(int(0.5 * RATE)) / RATE
    np.testing.assert_array_equal(got, (32768 * np.clip(stereo_columns(tt), -0.99, 0.99)).astype(np.int16))


def test_one_row_per_channel_in_a_video(tmp_path):
    """MoviePy's test_setaudio: a video with a `[np.sin(...)]` sound, written and decoded."""

    def soft(t):  # MoviePy's form, at half scale and rising over 50 ms (AAC's hardest part)
        return [0.5 * np.minimum(1, np.asarray(t) / 0.05) * np.sin(440 * 2 * np.pi * t)]

    audio = fa.AudioClip(soft, duration=0.5)
    audio.fps = 44100
    clip = fc.ColorClip((32, 24), (255, 0, 0), duration=0.5).with_audio(audio)
    clip.write_videofile(tmp_path / "v.mp4", fps=24, workers=1)
    got = decode_ffmpeg(tmp_path / "v.mp4", 1)
    want = np.array(soft(np.arange(22050) / 44100)).T
    assert len(got) >= len(want)
    assert lag(got[:, 0], want[:, 0]) == 0
    assert snr_db(got, want) >= 30


def test_row_layout_ambiguity_is_kept_once_seen():
    """For n times == channels the result is read as rows per time unless the function gave
    (channels, n) before."""
    clip = fa.AudioClip(stereo_rows, duration=1, fps=RATE)
    assert clip.to_soundarray().shape == (2, RATE)
    tt = np.array([0.1, 0.2])
    np.testing.assert_array_equal(clip.get_frame(tt), np.array(stereo_rows(tt)))
    with pytest.raises(framepipe.ParameterError, match=r"gave shape \(3, 5\) for \d+ times.*one row per channel"):
        fa.AudioClip(lambda t: np.zeros((3, 5)), duration=1, fps=RATE).to_soundarray()


@pytest.mark.parametrize("stereo", [False, True], ids=["mono", "stereo"])
def test_find_audio_period_of_a_looped_composite(stereo):
    """MoviePy's test_find_audio_period: the same period as MoviePy's find_audio_period."""

    def wave_of(f1, f2):
        if stereo:
            return lambda t: np.array([np.sin(f1 * 2 * np.pi * t), np.sin(f2 * 2 * np.pi * t)]).T
        return lambda t: np.sin(f1 * 2 * np.pi * t)

    def period(m, vfx, afx, find):
        clip = m.CompositeAudioClip(
            [
                m.AudioClip(wave_of(400, 220), duration=0.3, fps=RATE),
                m.AudioClip(wave_of(100, 200), duration=0.3, fps=RATE).with_effects(
                    [afx.MultiplyVolume(0, end_time=0.1)]
                ),
            ]
        )
        return find(clip.with_effects([vfx.Loop(4)]))

    ours = period(fa, ffx, fafx, find_audio_period)
    assert ours == period(mp, mvfx, mafx, mp_find_audio_period)
    assert ours == pytest.approx(0.29932, rel=0.1)


def test_unknown_audio_codec_is_an_oserror_with_moviepy_words(tmp_path):
    clip = fc.ColorClip((8, 8), (0, 0, 0), duration=1).with_fps(10)
    with pytest.raises(OSError) as e:
        clip.write_videofile(tmp_path / "x.mp4", audio="media/none.mp3", audio_codec="nonexistent-codec")
    assert isinstance(e.value, framepipe.ParameterError) and isinstance(e.value, framepipe.errors.CodecError)
    assert "FFMPEG didn't find the specified codec for video or audio" in str(e.value)
    # The MP4 goes to the PyAV writer for a sound codec the engine lacks; it names the codec given
    # and what its FFmpeg has.
    assert "audio codec 'nonexistent-codec'" in str(e.value)
    assert any("nonexistent-codec" in note and "aac" in note and "libopus" in note for note in e.value.__notes__)
    assert not (tmp_path / "x.mp4").exists()


def test_bitrate_without_k_is_refused_clearly(tmp_path):
    """MoviePy passes bitrate="16" to ffmpeg, which reads 16 bit/s, warns "maybe you mean 16k"
    and writes its lowest rate instead; framepipe says so and writes nothing."""
    clip = fa.AudioClip(mono_rows, duration=0.2, fps=RATE)
    with pytest.raises(framepipe.ParameterError, match=r"at least 1000 bit/s.*got '16'.*did you mean '16k'"):
        clip.write_audiofile(tmp_path / "a.mp3", bitrate="16", logger=None)
    assert not (tmp_path / "a.mp3").exists()


def test_notebook_display_plays_the_sound(tmp_path):
    """display_in_notebook's in-memory MP4 carries the clip's sound (AAC, 44100 Hz)."""

    def tone(t):
        rise = np.clip(np.minimum(np.asarray(t), 1.5 - np.asarray(t)) / 0.05, 0, 1)  # and fall
        return 0.5 * (rise * np.array([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)])).T

    clip = fc.ColorClip((32, 24), (0, 90, 200), duration=1.5).with_fps(12)
    clip = clip.with_audio(fa.AudioClip(tone, duration=1.5, fps=44100))
    video = clip.display_in_notebook()
    assert video.has_sound and "muted" not in video._repr_html_()
    path = tmp_path / "shown.mp4"
    path.write_bytes(video._data)
    info = {s["codec_type"]: s for s in streams(path)}
    assert info["audio"]["codec_name"] == "aac" and int(info["audio"]["sample_rate"]) == 44100
    assert float(info["audio"]["duration"]) == pytest.approx(1.5, abs=1e-3)
    got, want = decode_ffmpeg(path, 2), clip.audio.to_soundarray(fps=44100)
    n = len(want)
    assert len(got) >= n
    assert lag(got[:n, 0], want[:n, 0]) == 0
    assert snr_db(got[:n], want[:n]) >= 27  # AAC at its default rate on two pure tones
    clip.write_videofile(tmp_path / "written.mp4", workers=1, logger=None)  # the same encoding
    np.testing.assert_array_equal(got, decode_ffmpeg(tmp_path / "written.mp4", 2))
    silent = fc.ColorClip((32, 24), (0, 90, 200), duration=0.5).with_fps(12).display_in_notebook()
    assert not silent.has_sound


def test_one_row_per_channel_previewed_as_channels():
    """audiopreview's samples for pygame are (n, channels) whatever the function's layout."""
    from framepipe.clips._player import _sound_array

    rows = _sound_array(fa.AudioClip(stereo_rows, duration=0.2, fps=RATE), RATE, 2, "x")
    columns = _sound_array(fa.AudioClip(stereo_columns, duration=0.2, fps=RATE), RATE, 2, "x")
    assert rows.shape == (int(0.2 * RATE), 2)
    np.testing.assert_array_equal(rows, columns)
