"""Video clips with sound: ``clip.audio`` carried through the time changes as MoviePy 2.2.1
carries it (compared by the sample arrays, which must be EQUAL: the same float64 expressions at
the same times), written by ``write_videofile`` (serially, on worker processes, on Dask) and
decoded back by ffmpeg (AAC: SNR >= 30 dB against the clip's own samples, lag 0 by
cross-correlation, the track as long as the video), and read back by ``VideoFileClip``."""

from __future__ import annotations

import pickle
import warnings

import cloudpickle
import framepipe
import framepipe.clips as fc
import moviepy as mp
import numpy as np
import pytest
from audio_support import decode_ffmpeg, lag, snr_db, streams
from framepipe.clips import audio as fa
from framepipe.clips import fx as ffx
from framepipe.clips.audio import afx as fafx
from moviepy import afx as mafx
from moviepy import vfx as mvfx

RATE = 44100
NOISE = np.random.default_rng(3).uniform(-0.5, 0.5, (2 * RATE, 2))


def sine2(t):
    return np.array([0.6 * np.sin(2 * np.pi * 440 * t), 0.4 * np.sin(2 * np.pi * 660 * t)]).T


class FP:
    """framepipe's names where the chains below use MoviePy's."""

    ColorClip, CompositeVideoClip, concatenate_videoclips = (
        fc.ColorClip,
        fc.CompositeVideoClip,
        fc.concatenate_videoclips,
    )
    AudioArrayClip, AudioClip, clips_array = fa.AudioArrayClip, fa.AudioClip, fc.clips_array


def vid(m, sound, d=2.0):
    a = m.AudioArrayClip(NOISE, fps=RATE) if sound == "noise" else m.AudioClip(sine2, duration=d, fps=RATE)
    return m.ColorClip((32, 24), (200, 0, 0), duration=d).with_fps(24).with_audio(a)


CHAINS = {
    "subclipped": lambda m, v, a: vid(m, "noise").subclipped(0.5, 1.5),
    "subclipped_negative_start": lambda m, v, a: vid(m, "noise").subclipped(-1.2),
    "subclipped_negative_end": lambda m, v, a: vid(m, "noise").subclipped(0.3, -0.4),
    "with_fps_change_duration": lambda m, v, a: vid(m, "noise").with_fps(12, change_duration=True),
    "clips_array": lambda m, v, a: m.clips_array([[vid(m, "noise"), vid(m, "sine", 1.5)]]),
    "with_speed_scaled": lambda m, v, a: vid(m, "noise").with_speed_scaled(1.7),
    "MultiplySpeed": lambda m, v, a: vid(m, "sine").with_effects([v.MultiplySpeed(0.6)]),
    "Loop_n": lambda m, v, a: vid(m, "sine", 0.7).with_effects([v.Loop(n=3)]),
    "Loop_duration": lambda m, v, a: vid(m, "noise").with_effects([v.Loop(duration=3.1)]),
    "TimeMirror": lambda m, v, a: vid(m, "noise").with_effects([v.TimeMirror()]),
    "slice_speed": lambda m, v, a: vid(m, "noise")[0.2:1.8:2],
    "slice_backwards": lambda m, v, a: vid(m, "noise")[0.2:1.8:-2],
    "section_cut_out": lambda m, v, a: vid(m, "noise").with_section_cut_out(0.5, (0, 1.0)),
    "Freeze": lambda m, v, a: vid(m, "noise").with_effects([v.Freeze(t=0.5, freeze_duration=0.7)]),
    "AccelDecel": lambda m, v, a: vid(m, "noise").with_effects([v.AccelDecel(1.5)]),
    "start_duration": lambda m, v, a: vid(m, "noise").with_start(0.5).with_duration(1.2),
    "with_end": lambda m, v, a: vid(m, "noise").with_end(1.3),
    "concatenate": lambda m, v, a: m.concatenate_videoclips(
        [vid(m, "noise").subclipped(0, 1), vid(m, "sine", 0.8), vid(m, "noise")]
    ),
    "concatenate_compose": lambda m, v, a: m.concatenate_videoclips(
        [vid(m, "noise").subclipped(0, 1), vid(m, "sine", 0.8)], method="compose", padding=-0.3
    ),
    "composite": lambda m, v, a: m.CompositeVideoClip(
        [vid(m, "noise"), vid(m, "sine", 1.0).with_start(0.6), vid(m, "noise", 1.0).with_start(1.5)]
    ),
    "with_volume_scaled": lambda m, v, a: vid(m, "noise").with_volume_scaled(0.3),
    "audio_effects": lambda m, v, a: vid(m, "sine").with_effects(
        [a.AudioFadeIn(0.5), a.AudioFadeOut(0.4), a.MultiplyStereoVolume(0.5, 1)]
    ),
}


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_sound_follows_the_frames_as_in_moviepy(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = CHAINS[name](mp, mvfx, mafx)
    got = CHAINS[name](FP, ffx, fafx)
    assert got.duration == pytest.approx(ref.duration, abs=1e-12)
    assert got.audio.start == ref.audio.start
    # Over the video's time (MoviePy leaves some of these sounds without a duration).
    tt = np.arange(int(22050 * got.duration)) / 22050
    want = ref.audio.get_frame(tt)
    np.testing.assert_array_equal(got.audio.to_soundarray(tt=tt), want)
    assert np.abs(want).max() > 0.1


def smooth_tone(d: float) -> fa.AudioClip:
    """Two tones that rise over 50 ms (an abrupt start is the hardest thing for AAC)."""

    def f(t):
        rise = np.minimum(1, np.asarray(t) / 0.05)
        return 0.5 * sine2(t) * (rise[:, None] if rise.ndim else rise)

    return fa.AudioClip(f, duration=d, fps=RATE)


def check_written(path, clip, n_video_frames: int, fps: float) -> None:
    info = {s["codec_type"]: s for s in streams(path)}
    assert info["audio"]["codec_name"] == "aac" and int(info["audio"]["sample_rate"]) == RATE
    assert int(info["video"]["nb_frames"]) == n_video_frames
    assert float(info["audio"]["duration"]) == pytest.approx(n_video_frames / fps, abs=1e-3)
    got = decode_ffmpeg(path, 2)
    want = clip.audio.to_soundarray(fps=RATE)
    n = min(len(want), int(RATE * clip.duration))
    assert len(got) >= n
    assert lag(got[:n, 0], want[:n, 0]) == 0
    assert snr_db(got[:n], want[:n]) >= 30


@pytest.mark.parametrize("workers", [1, 2])
def test_write_videofile_with_sound(tmp_path, workers):
    clip = (
        fc.ColorClip((64, 48), (0, 90, 200), duration=2)
        .with_audio(smooth_tone(2))
        .with_effects([fafx.AudioFadeOut(0.5)])
    )
    r = clip.write_videofile(
        tmp_path / "a.mp4", fps=24, workers=workers, audio_bitrate="192k", temp_audiofile="unused.m4a"
    )
    assert (r.audio_samples, r.audio_fps) == (2 * RATE, RATE)
    check_written(tmp_path / "a.mp4", clip, 48, 24)


def test_write_videofile_on_dask(tmp_path, dask_client):
    first = fc.ColorClip((64, 48), (250, 0, 0), duration=1).with_audio(smooth_tone(1)).audio_fadeout(0.1)
    second = fc.ColorClip((64, 48), (0, 250, 0), duration=1.5).with_audio(smooth_tone(1.5).with_volume_scaled(0.5))
    clip = fc.concatenate_videoclips([first, second])
    clip.write_videofile(
        tmp_path / "d.mp4", fps=10, executor=dask_client.get_executor(), workers=2, chunk_frames=8, audio_bitrate=192
    )
    check_written(tmp_path / "d.mp4", clip, 25, 10)


def test_composite_written_mixes_its_layers(tmp_path):
    base = fc.ColorClip((64, 48), (0, 0, 0), duration=2).with_audio(smooth_tone(2).with_volume_scaled(0.5))
    over = fc.ColorClip((16, 16), (255, 255, 255), duration=0.8).with_audio(smooth_tone(0.8).with_volume_scaled(0.4))
    clip = fc.CompositeVideoClip([base, over.with_start(0.7)])
    want = clip.audio.to_soundarray(fps=RATE)
    np.testing.assert_allclose(want[int(0.2 * RATE)], base.audio.get_frame(0.2), rtol=0, atol=0)
    t = 1.0
    np.testing.assert_allclose(
        clip.audio.get_frame(t), base.audio.get_frame(t) + over.audio.get_frame(t - 0.7), atol=1e-15
    )
    clip.write_videofile(tmp_path / "c.mp4", fps=20, workers=1)
    check_written(tmp_path / "c.mp4", clip, 40, 20)


def test_audio_file_given_to_write_videofile_and_read_back(tmp_path):
    sound = smooth_tone(3)
    sound.write_audiofile(tmp_path / "s.wav")
    clip = fc.ColorClip((32, 32), (10, 20, 30), duration=2)
    r = clip.write_videofile(tmp_path / "f.mp4", fps=25, audio=str(tmp_path / "s.wav"), audio_codec="aac", workers=1)
    assert r.audio_fps == RATE
    got = decode_ffmpeg(tmp_path / "f.mp4", 2)
    want = sound.to_soundarray(fps=RATE)[: 2 * RATE]
    assert lag(got[: 2 * RATE, 0], want[:, 0]) == 0 and snr_db(got[: 2 * RATE], want) >= 30
    # VideoFileClip reads the sound track: the decoded samples, sample for sample with the frames.
    back = fc.VideoFileClip(tmp_path / "f.mp4")
    assert back.audio is not None and back.audio.duration == pytest.approx(2.0, abs=1e-9)
    assert back.audio.array is None  # decoded when first used (MP4 states the track's length)
    samples = back.audio.to_soundarray(fps=RATE)
    assert samples.shape == (2 * RATE, 2)
    np.testing.assert_allclose(samples, got[: 2 * RATE], rtol=0, atol=1e-6)
    # MoviePy reads the same (as 16-bit samples).
    ref = mp.VideoFileClip(str(tmp_path / "f.mp4")).audio.to_soundarray(fps=RATE, buffersize=10000)
    n = min(len(ref), len(samples))
    np.testing.assert_allclose(samples[:n], ref[:n], rtol=0, atol=1 / 32768)
    sub = back.subclipped(0.5, 1.5)
    np.testing.assert_array_equal(sub.audio.to_soundarray(fps=RATE), samples[RATE // 2 : RATE // 2 + RATE])
    # Pickled (as for a render's workers) without the decoded samples, which are read again.
    again = pickle.loads(cloudpickle.dumps(sub.audio))
    np.testing.assert_array_equal(again.to_soundarray(fps=RATE), sub.audio.to_soundarray(fps=RATE))
    assert back.audio.array is not None and back.audio.__getstate__()["array"] is None
    assert fc.VideoFileClip(tmp_path / "f.mp4", audio=False).audio is None
    clip.write_videofile(tmp_path / "silent.mp4", fps=25, workers=1)
    assert fc.VideoFileClip(tmp_path / "silent.mp4").audio is None
    assert [s["codec_type"] for s in streams(tmp_path / "silent.mp4")] == ["video"]


def test_video_sound_methods_and_moviepy_1_names():
    clip = fc.ColorClip((8, 8), (0, 0, 0), duration=2).with_fps(10)
    sound = fa.AudioArrayClip(NOISE, RATE)
    a, b = clip.with_audio(sound), clip.set_audio(sound)
    np.testing.assert_array_equal(a.audio.to_soundarray(), b.audio.to_soundarray())
    assert a.without_audio().audio is None and a.audio is sound
    for old, new in [
        (a.volumex(0.5), a.with_volume_scaled(0.5)),
        (a.audio_fadein(0.3), a.with_effects([fafx.AudioFadeIn(0.3)])),
        (a.audio_fadeout(0.3), a.with_effects([fafx.AudioFadeOut(0.3)])),
        (a.audio_normalize(), a.with_effects([fafx.AudioNormalize()])),
    ]:
        np.testing.assert_array_equal(old.audio.to_soundarray(), new.audio.to_soundarray())
        assert old.duration == 2
    assert clip.with_volume_scaled(0.5).audio is None  # no sound: unchanged


def test_bad_input(tmp_path):
    clip = fc.ColorClip((8, 8), (0, 0, 0), duration=1).with_audio(smooth_tone(1))
    # An MP4 with a sound codec the engine lacks goes to the PyAV writer, whose FFmpeg has no
    # libvorbis either: MoviePy's words, then what is allowed.
    with pytest.raises(framepipe.ParameterError, match="audio codec 'libvorbis' is not available for a mp4 file") as e:
        clip.write_videofile(tmp_path / "x.mp4", fps=10, audio_codec="libvorbis")
    assert "aac" in e.value.__notes__[0] and "libvorbis" in e.value.__notes__[0]
    with pytest.raises(framepipe.ParameterError, match="cannot read audio_bitrate='loud'"):
        clip.write_videofile(tmp_path / "x.mp4", fps=10, audio_bitrate="loud")
    with pytest.raises(framepipe.ParameterError, match="audio_fps must be from 1000 to 768000 Hz, got -44100"):
        clip.write_videofile(tmp_path / "x.mp4", fps=10, audio_fps=-44100)
    with pytest.raises(framepipe.ParameterError, match="audio must be True, False or a sound file's path, got 3"):
        clip.write_videofile(tmp_path / "x.mp4", fps=10, audio=3)
    with pytest.raises(framepipe.ParameterError, match="with_audio: give an audio clip"):
        clip.with_audio(NOISE)
    nan = clip.with_audio(fa.AudioClip(lambda t: np.where(t > 0.5, np.nan, 0.0), duration=1, fps=RATE))
    with pytest.raises(framepipe.ParameterError, match="NaN|not finite"):
        nan.write_videofile(tmp_path / "x.mp4", fps=10, workers=1)
    with pytest.raises(framepipe.ParameterError, match="MultiplyVolume factor must be a finite number, got nan"):
        clip.with_volume_scaled(float("nan"))
