"""MoviePy's video.tools.cuts and video.tools.interpolators in framepipe, against MoviePy
2.2.1 itself: scene cuts, a clip's period, matching frames, and interpolated trajectories."""

from __future__ import annotations

import math

import numpy as np
import pytest
from framepipe import clips as fp
from framepipe.clips import cuts, interpolators

mp = pytest.importorskip("moviepy")
from moviepy.video.tools import cuts as their_cuts  # noqa: E402
from moviepy.video.tools import interpolators as theirs  # noqa: E402

LOOPS = [
    ["RRR", "GGG", "BBB"],
    ["WWW", "WWW", "WWW"],
    ["WWW", "WWW", "WWW"],
    ["WWW", "WWW", "WWW"],
    ["RRR", "GGG", "BBB"],
    ["RRR", "GGG", "BBB"],
    ["WWW", "WWW", "WWW"],
    ["RRR", "GGG", "BBB"],
    ["WWW", "WWW", "WWW"],
]
NEAR = [["RRR", "GGG", "BBB"], ["RRR", "GGG", "BBR"], ["RRR", "GGG", "BBB"], ["RRR", "GGG", "BRR"]]


def test_detect_scenes_as_moviepy():
    def video(m):
        red = m.ColorClip((64, 48), color=(255, 0, 0)).with_duration(1)
        black = m.ColorClip((64, 48), color=(0, 0, 0)).with_duration(1)
        return m.concatenate_videoclips([red, black, red.with_duration(0.5)])

    ours, ours_lum = cuts.detect_scenes(video(fp), fps=10, logger=None)
    theirs_cuts, theirs_lum = their_cuts.detect_scenes(video(mp), fps=10, logger=None)
    assert len(ours) == 3
    np.testing.assert_allclose(np.array(ours, float), np.array(theirs_cuts, float))
    np.testing.assert_array_equal(ours_lum, theirs_lum)
    # from luminosities alone
    assert (
        cuts.detect_scenes(luminosities=ours_lum, fps=10)[0]
        == their_cuts.detect_scenes(luminosities=theirs_lum, fps=10)[0]
    )


def test_find_video_period_as_moviepy():
    frames = [["RGB", "WOA"], ["GBR", "OAW"], ["BRG", "AWO"], ["CDE", "FRG"], ["EDC", "GRF"]]
    ours = fp.BitmapClip(frames, fps=10).with_effects([fp.fx.Loop(3)])
    theirs_clip = mp.BitmapClip(frames, fps=10).with_effects([mp.vfx.Loop(3)])
    assert cuts.find_video_period(ours, fps=10) == pytest.approx(their_cuts.find_video_period(theirs_clip, fps=10))
    assert round(cuts.find_video_period(ours, fps=10, start_time="00:00:00.1"), 6) == 0.5


@pytest.mark.parametrize(("bitmap", "threshold", "max_duration"), [(LOOPS, 1, math.inf), (LOOPS, 1, 2), (NEAR, 70, 2)])
def test_frames_matches_as_moviepy(bitmap, threshold, max_duration, tmp_path):
    ours = cuts.FramesMatches.from_clip(fp.BitmapClip(bitmap, fps=1), threshold, max_duration, logger=None)
    theirs_m = their_cuts.FramesMatches.from_clip(mp.BitmapClip(bitmap, fps=1), threshold, max_duration, logger=None)
    assert ours and isinstance(ours[0], cuts.FramesMatch)
    assert [tuple(round(n, 4) for n in m) for m in ours] == [tuple(round(n, 4) for n in m) for m in theirs_m]
    assert str(ours.best()) == str(theirs_m.best())
    assert [tuple(m) for m in ours.filter(lambda m: m.end_time > 4)] == [
        tuple(m) for m in theirs_m.filter(lambda m: m.end_time > 4)
    ]
    ours.save(tmp_path / "m.txt")
    assert [tuple(m) for m in cuts.FramesMatches.load(tmp_path / "m.txt")] == [
        tuple(m) for m in their_cuts.FramesMatches.load(str(tmp_path / "m.txt"))
    ]
    picked = ours.select_scenes(1, 1, nomatch_threshold=0)
    assert [tuple(m) for m in picked] == [tuple(m) for m in theirs_m.select_scenes(1, 1, nomatch_threshold=0)]


def test_frames_match_equality():
    assert cuts.FramesMatch(1, 2, 0, 0) == cuts.FramesMatch(1, 2, 0, 0)
    assert cuts.FramesMatch(1, 2, 0, 0) != cuts.FramesMatch(1, 2, 0.8, 0)


def test_interpolator_and_trajectory_as_moviepy(tmp_path):
    times = np.linspace(-1, 3, 17)
    for kw in (
        dict(tt=[0, 1, 2], ss=[3, 4, 5]),
        dict(ttss=[[0, 3], [1, 4], [2, 5]]),
        dict(tt=[0, 2], ss=[1, 5], left=0, right=9),
    ):
        np.testing.assert_allclose(interpolators.Interpolator(**kw)(times), theirs.Interpolator(**kw)(times))
    args = ([0, 0.166, 0.333], [554, 474, 384], [100, 90, 91])
    a, b = interpolators.Trajectory(*args), theirs.Trajectory(*args)
    for t in times:
        np.testing.assert_allclose(a(t), b(t))
    np.testing.assert_allclose(a.addx(5)(0.2), b.addx(5)(0.2))
    np.testing.assert_allclose(a.addy(-3)(0.2), b.addy(-3)(0.2))
    a.to_file(tmp_path / "ours.txt")
    b.to_file(str(tmp_path / "theirs.txt"))
    assert (tmp_path / "ours.txt").read_text() == (tmp_path / "theirs.txt").read_text()
    back = interpolators.Trajectory.from_file(tmp_path / "theirs.txt")
    np.testing.assert_allclose(back(0.1), theirs.Trajectory.from_file(str(tmp_path / "theirs.txt"))(0.1))
    interpolators.Trajectory.save_list([a, a.addx(1)], tmp_path / "list.txt")
    loaded = interpolators.Trajectory.load_list(tmp_path / "list.txt")
    their_loaded = theirs.Trajectory.load_list(str(tmp_path / "list.txt"))
    assert len(loaded) == len(their_loaded) == 2
    for x, y in zip(loaded, their_loaded):
        np.testing.assert_allclose(x(0.2), y(0.2))


def test_a_trajectory_positions_a_clip():
    path = interpolators.Trajectory([0, 1], [0, 30], [10, 10])
    dot = fp.ColorClip((4, 4), (255, 255, 255), duration=1).with_position(lambda t: tuple(int(v) for v in path(t)))
    frame = fp.CompositeVideoClip([dot], size=(40, 20), bg_color=(0, 0, 0)).get_frame(0.5)
    assert frame[11, 16].tolist() == [255, 255, 255] and frame[11, 5].tolist() == [0, 0, 0]


def test_find_audio_period_as_moviepy():
    # framepipe's find_audio_period takes any sound clip with fps and iter_chunks: here MoviePy's
    from moviepy.audio.tools.cuts import find_audio_period as theirs_find

    def wave(freq):
        return lambda t: np.sin(2 * np.pi * freq * np.asarray(t))

    loud = mp.AudioClip(frame_function=wave(400), duration=0.3, fps=22050)
    quiet = mp.AudioClip(frame_function=lambda t: 0.2 * wave(100)(t), duration=0.3, fps=22050)
    loop = mp.concatenate_audioclips([loud, quiet] * 3)
    ours = cuts.find_audio_period(loop)
    assert ours == theirs_find(loop)
    assert ours == pytest.approx(0.6, abs=0.02)
    from framepipe.editor.audio.tools.cuts import find_audio_period

    assert find_audio_period is cuts.find_audio_period


# ---- ffmpeg_tools: MoviePy's command lines, run on the same files ----------------------------


def _probe(path):
    import json
    import subprocess

    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_entries",
         "stream=codec_type,width,height,nb_read_frames,sample_rate", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return json.loads(out)["streams"]


def _frames(path):
    av = pytest.importorskip("av")
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_ffmpeg_tools_as_moviepy(tmp_path):
    import wave

    from framepipe.clips import ffmpeg_tools
    from moviepy.video.io import ffmpeg_tools as their_tools

    src = tmp_path / "src.mp4"
    ramp = fp.VideoClip(lambda t: np.full((48, 64, 3), int(100 * t), np.uint8), duration=2).with_fps(10)
    ramp.write_videofile(src, logger=None, keyint=5)
    sound = tmp_path / "tone.wav"
    with wave.open(str(sound), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(22050)
        samples = (8000 * np.sin(2 * np.pi * 440 * np.arange(44100) / 22050)).astype("<i2")
        w.writeframes(samples.tobytes())
    for name, mod in (("ours", ffmpeg_tools), ("theirs", their_tools)):
        mod.ffmpeg_extract_subclip(
            str(src), "00:00:00.5", (0, 1.5), outputfile=str(tmp_path / f"{name}-sub.mp4"), logger=None
        )
        mod.ffmpeg_resize(str(src), str(tmp_path / f"{name}-small.mp4"), (32, 24), logger=None)
        mod.ffmpeg_merge_video_audio(
            str(src), str(sound), str(tmp_path / f"{name}-av.mp4"), audio_codec="aac", logger=None
        )
        mod.ffmpeg_extract_audio(str(tmp_path / f"{name}-av.mp4"), str(tmp_path / f"{name}-a.wav"), logger=None)
        mod.ffmpeg_stabilize_video(str(src), output_dir=str(tmp_path), outputfile=f"{name}-stab.mp4", logger=None)
    for kind in ("sub.mp4", "small.mp4", "av.mp4", "a.wav", "stab.mp4"):
        ours, theirs = _probe(tmp_path / f"ours-{kind}"), _probe(tmp_path / f"theirs-{kind}")
        assert ours == theirs, kind
    assert _probe(tmp_path / "ours-small.mp4")[0]["width"] == 32
    assert sorted(s["codec_type"] for s in _probe(tmp_path / "ours-av.mp4")) == ["audio", "video"]
    for kind in ("sub.mp4", "small.mp4"):
        ours, theirs = _frames(tmp_path / f"ours-{kind}"), _frames(tmp_path / f"theirs-{kind}")
        assert len(ours) == len(theirs) > 0
        for x, y in zip(ours, theirs):
            np.testing.assert_array_equal(x, y)
    # MoviePy runs imageio-ffmpeg's binary here (its ffmpeg_version fails on that one's version
    # string); framepipe's runs the ffmpeg on the PATH: its version as `ffmpeg -version` says.
    import shutil
    import subprocess

    first = subprocess.run([shutil.which("ffmpeg"), "-version"], capture_output=True, text=True).stdout.split()
    full, numeric = ffmpeg_tools.ffmpeg_version()
    assert full == first[2] and full.startswith(numeric) and numeric[0].isdigit()
    from framepipe.editor.video.io.ffmpeg_tools import ffmpeg_resize

    assert ffmpeg_resize is ffmpeg_tools.ffmpeg_resize
    with pytest.raises(OSError):
        ffmpeg_tools.ffmpeg_resize(str(tmp_path / "missing.mp4"), str(tmp_path / "x.mp4"), (8, 8), logger=None)
