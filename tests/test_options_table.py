"""One option table for every front end (issue 22): the engine's table (``_native.option_table()``)
is what the CLI's flags and Python's keywords accept and refuse, with the same messages; the
``EncodeOptions`` TypedDict has its keys; the dither aliases work the same everywhere."""

from __future__ import annotations

import inspect
import subprocess
import sys
import typing
from pathlib import Path

import framepipe
import numpy as np
import pytest
from conftest import decode_rgb, ffprobe, psnr, smooth_frames
from framepipe import _native

TABLE = {row["name"]: row for row in _native.option_table()}
SCRIPT = str(Path(sys.executable).parent / "framepipe")
FRAMES = smooth_frames(3, 16, 24)


def cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """Run the venv's `framepipe` console script (the engine's CLI, in-process in Python)."""
    return subprocess.run([SCRIPT, *args], input=stdin, capture_output=True, timeout=120)


def test_encode_options_typeddict_keys_are_the_engine_table():
    hints = typing.get_type_hints(framepipe.EncodeOptions)
    assert set(hints) == set(TABLE) and len(hints) == len(TABLE)
    assert framepipe.EncodeOptions.__required_keys__ == frozenset()
    # The matplotlib writer's: all but the two MovieWriter has as arguments and the two a figure fixes.
    figure = typing.get_type_hints(framepipe.FigureEncodeOptions)
    assert set(figure) == set(TABLE) - {"bitrate", "metadata", "format", "pix_fmt"}
    # The writers take them as **options typed with the TypedDict, not one parameter each.
    from framepipe.matplotlib import FramepipeWriter

    for f, typed in (
        (framepipe.VideoWriter.__init__, "EncodeOptions"),
        (framepipe.write_video, "EncodeOptions"),
        (framepipe.render, "EncodeOptions"),
        (FramepipeWriter.__init__, "FigureEncodeOptions"),
    ):
        params = inspect.signature(f).parameters.values()
        assert not {p.name for p in params} & set(TABLE) - {"bitrate", "metadata"}, f
        kw = next(p for p in params if p.kind is p.VAR_KEYWORD)
        assert f"Unpack[{typed}]" in str(kw.annotation), (f, kw.annotation)


def test_writers_take_every_table_option_and_name_the_nearest(tmp_path):
    """Each writer accepts every option of its TypedDict (the keyword check knows them from the
    annotation), says what each is in its docstring (from the table), and names the nearest
    option for a misspelt one."""
    from framepipe.matplotlib import FramepipeWriter

    for name in TABLE:
        assert f"    {name}: {TABLE[name]['doc']}" in framepipe.VideoWriter.__doc__, name
    for name in typing.get_type_hints(framepipe.FigureEncodeOptions):
        assert f"    {name}: {TABLE[name]['doc']}" in FramepipeWriter.__doc__, name
    w = FramepipeWriter(fps=10, queue_frames=2, durable=True, fragment_seconds=0.5, crf=30)
    assert w.options["queue_frames"] == 2 and w.options["background"] == (255, 255, 255)
    with pytest.raises(
        TypeError, match=r"FramepipeWriter\(\) got an unexpected keyword argument 'crff' \(did you mean 'crf'\?\)"
    ):
        FramepipeWriter(fps=10, crff=20)
    with pytest.raises(TypeError, match=r"'pix_fmt'"):
        FramepipeWriter(fps=10, pix_fmt="bgr24")
    with pytest.raises(TypeError, match=r"VideoWriter\(\) got an unexpected keyword argument 'quality'"):
        framepipe.VideoWriter(str(tmp_path / "a.mp4"), 30, quality=5)
    with pytest.raises(TypeError, match=r"did you mean 'keyint'"):
        framepipe.write_video(str(tmp_path / "b.mp4"), FRAMES, 30, keyinte=5)
    assert not (tmp_path / "a.mp4").exists() and not (tmp_path / "b.mp4").exists()


def test_clip_write_options_extend_the_engine_table_and_render():
    from framepipe._render import RENDER_KEYWORDS
    from framepipe.clips import VideoClip
    from framepipe.clips._write import ClipWriteOptions

    keys = set(typing.get_type_hints(ClipWriteOptions))
    assert set(TABLE) <= keys
    assert {k for k in RENDER_KEYWORDS if k not in ("n_frames", "fps", "duration")} <= keys
    for f in (VideoClip.write_videofile, VideoClip.write_gif):
        kw = next(p for p in inspect.signature(f).parameters.values() if p.kind is p.VAR_KEYWORD)
        assert "ClipWriteOptions" in str(kw.annotation), (f, kw.annotation)


def test_table_rows_are_complete():
    for row in TABLE.values():
        assert row["doc"] and row["type"] in ("int", "float", "choice", "bool", "color", "tags"), row
        assert set(row["formats"]) <= {"mp4", "gif"} and row["formats"], row
        if row["type"] in ("int", "float"):
            assert row["min"] is not None and row["max"] is not None and row["min"] <= row["max"], row
        if row["type"] == "choice":
            assert row["choices"], row
    assert TABLE["dither"]["choices"] == {
        "none": [],
        "ordered": ["bayer"],
        "floyd-steinberg": ["fs", "floyd", "floydsteinberg"],
    }


def _format_for(row: dict) -> str:
    return "gif" if row["formats"] == ["gif"] else "mp4"


def _accepted(row: dict) -> list[tuple[object, str]]:
    """Valid values of an option: (Python value, the same on the command line)."""
    t = row["type"]
    if t == "int":
        lo = int(row["min"])
        return [(lo, str(lo)), (lo + 1, str(lo + 1))]
    if t == "float":
        lo, hi = row["min"], row["max"]
        x = lo + 0.5 if row["min_exclusive"] else lo
        return [(x, repr(x)), (hi, repr(hi))]
    if t == "choice":
        names = [n for name, aliases in row["choices"].items() for n in (name, *aliases)]
        return [(n, n) for n in names]
    if t == "bool":
        return [(True, "")]
    if t == "color":
        return [((1, 128, 255), "0180ff"), ((1, 128, 255), "1,128,255")]
    if t == "tags":
        return [({"title": "x y"}, "title=x y")]
    raise AssertionError(row)


def _refused(row: dict) -> list[tuple[object, str]]:
    """Invalid values of an option, as Python and CLI values."""
    t = row["type"]
    if t == "int":
        lo, hi = int(row["min"]), int(row["max"])
        return [(lo - 1, str(lo - 1)), (hi + 1, str(hi + 1))]
    if t == "float":
        lo, hi = row["min"], row["max"]
        below = lo if row["min_exclusive"] else lo - 0.5
        return [(below, repr(below)), (hi + 1.0, repr(hi + 1.0))]
    if t == "choice":
        return [("nonsense", "nonsense")]
    if t == "color":
        return [((1, 2, 300), None)]  # the CLI's text form has no out-of-range integer to compare
    return []


def _cli_flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _write_pngs(d: Path) -> list[str]:
    from PIL import Image

    paths = []
    for i, f in enumerate(FRAMES):
        p = d / f"f{i}.png"
        Image.fromarray(f).save(p)
        paths.append(str(p))
    return paths


def _write_wav(path: Path) -> Path:
    """A short mono 44.1 kHz 16-bit WAV (a 440 Hz tone), for the sound-track options (mono: the
    table's lowest audio_bitrate, 8 kbit/s, is one channel's lowest for AAC)."""
    import wave

    t = np.arange(22050) / 44100
    tone = np.round(np.sin(2 * np.pi * 440 * t) * 16000).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(44100)
        f.writeframes(tone.tobytes())
    return path


CLI_ROWS = [name for name, row in TABLE.items() if row["cli"] and name != "pix_fmt"]


@pytest.mark.parametrize("name", CLI_ROWS)
def test_every_option_is_accepted_alike_by_cli_and_python(tmp_path, name):
    row = TABLE[name]
    ext = _format_for(row)
    pngs = _write_pngs(tmp_path)
    # The sound-track options need a sound track: the same WAV for both.
    sound = {"audio": _write_wav(tmp_path / "tone.wav")} if name.startswith("audio_") else {}
    for i, (py_value, cli_value) in enumerate(_accepted(row)):
        py_out, cli_out = tmp_path / f"py{i}.{ext}", tmp_path / f"cli{i}.{ext}"
        framepipe.write_video(py_out, list(FRAMES), fps=10, **sound, **{name: py_value})
        args = [_cli_flag(name)] if row["type"] == "bool" else [_cli_flag(name), cli_value]
        if sound:
            args += ["--audio", str(sound["audio"])]
        r = cli("encode", str(cli_out), "--fps", "10", *args, *pngs)
        assert r.returncode == 0, (name, cli_value, r.stderr.decode())
        # Both are whole videos of the source frames (decoded by ffmpeg), from the same options.
        for out in (py_out, cli_out):
            assert int(ffprobe(out)["nb_read_frames"]) == len(FRAMES), (name, out)
            assert psnr(decode_rgb(out)[0], FRAMES[0]) > (12 if name == "colors" else 20), (name, out)
        if ext == "mp4":
            assert framepipe.probe(py_out)["tags"] == framepipe.probe(cli_out)["tags"]
        # Same options, same pictures: the same bytes (PNG in, RGBA, versus RGB arrays: the
        # engine composites opaque RGBA to the same RGB).
        assert py_out.read_bytes() == cli_out.read_bytes(), (name, py_value, cli_value)


@pytest.mark.parametrize("name", [n for n in TABLE if _refused(TABLE[n])])
def test_every_option_is_refused_alike_by_cli_and_python(tmp_path, name):
    row = TABLE[name]
    ext = _format_for(row)
    for py_value, cli_value in _refused(row):
        with pytest.raises(framepipe.ParameterError) as e:
            framepipe.VideoWriter(tmp_path / f"x.{ext}", 10, **{name: py_value})
        msg = str(e.value)
        assert e.value.argument == name, (name, msg)
        assert name in msg, msg
        if not row["cli"] or cli_value is None:
            continue
        r = cli("encode", str(tmp_path / f"c.{ext}"), "--fps", "10", f"{_cli_flag(name)}={cli_value}", "-")
        err = r.stderr.decode()
        assert r.returncode == 2, (name, err)
        # The same message, word for word.
        assert msg in err, (name, msg, err)
    assert list(tmp_path.iterdir()) == []


def test_pix_fmt_names_and_aliases_alike(tmp_path):
    """pix_fmt describes raw frames on the command line: each name and alias is accepted by
    both, and the same frames give the same video."""
    row = TABLE["pix_fmt"]
    rgb = FRAMES
    layouts = {
        "rgb24": rgb,
        "bgr24": rgb[..., ::-1],
        "rgba": np.concatenate([rgb, np.full(rgb.shape[:3] + (1,), 255, np.uint8)], axis=3),
        "gray8": rgb[..., 1],
    }
    layouts["bgra"] = np.concatenate([rgb[..., ::-1], layouts["rgba"][..., 3:]], axis=3)
    layouts["argb"] = np.concatenate([layouts["rgba"][..., 3:], rgb], axis=3)
    for name, aliases in row["choices"].items():
        data = np.ascontiguousarray(layouts[name])
        for n in (name, *aliases):
            py_out, cli_out = tmp_path / f"py-{n}.mp4", tmp_path / f"cli-{n}.mp4"
            with framepipe.VideoWriter(py_out, 10, pix_fmt=n) as w:
                for f in data:
                    w.write(f)
            r = cli("encode", str(cli_out), "--fps", "10", "--size", "24x16", "--pix-fmt", n, stdin=data.tobytes())
            assert r.returncode == 0, (n, r.stderr.decode())
            assert py_out.read_bytes() == cli_out.read_bytes(), n
            ref = FRAMES if name != "gray8" else np.repeat(FRAMES[..., 1:2], 3, axis=3)
            assert psnr(decode_rgb(py_out)[0], ref[0]) > 25, n


def test_dither_aliases_are_the_same_in_cli_and_python(tmp_path):
    """The drift of issue 22: `--dither fs` worked, `dither="fs"` did not."""
    pngs = _write_pngs(tmp_path)
    outputs = {}
    for alias in ("fs", "floyd", "floyd-steinberg", "FLOYD_STEINBERG", "bayer", "ordered", "none"):
        py_out, cli_out = tmp_path / f"py-{alias}.gif", tmp_path / f"cli-{alias}.gif"
        framepipe.write_video(py_out, list(FRAMES), fps=10, dither=alias)
        r = cli("encode", str(cli_out), "--fps", "10", "--dither", alias, *pngs)
        assert r.returncode == 0, r.stderr.decode()
        assert py_out.read_bytes() == cli_out.read_bytes(), alias
        assert int(ffprobe(py_out)["nb_read_frames"]) == len(FRAMES)
        outputs[alias] = py_out.read_bytes()
    assert outputs["fs"] == outputs["floyd"] == outputs["floyd-steinberg"] == outputs["FLOYD_STEINBERG"]
    assert outputs["bayer"] == outputs["ordered"]
    assert len({outputs["fs"], outputs["ordered"], outputs["none"]}) == 3


def test_misplaced_options_refused_alike(tmp_path):
    with pytest.raises(framepipe.ParameterError) as e:
        framepipe.VideoWriter(tmp_path / "a.gif", 10, crf=20, keyint=5)
    assert str(e.value) == (
        "crf, keyint apply to MP4 (H.264) output, not to a GIF; a GIF's size and quality are set by colors and dither"
    )
    r = cli("encode", str(tmp_path / "a.gif"), "--crf", "20", "--keyint", "5", "-")
    assert r.returncode == 2 and str(e.value) in r.stderr.decode(), r.stderr
    with pytest.raises(framepipe.ParameterError) as e:
        framepipe.VideoWriter(tmp_path / "a.mp4", 10, colors=20)
    r = cli("encode", str(tmp_path / "a.mp4"), "--colors", "20", "-")
    assert r.returncode == 2 and str(e.value) in r.stderr.decode(), r.stderr
    assert list(tmp_path.iterdir()) == []


def test_misspelt_option_names_name_the_nearest_in_both(tmp_path):
    with pytest.raises(TypeError, match="'colors'"):
        framepipe.VideoWriter(tmp_path / "a.gif", 10, colours=20)
    r = cli("encode", str(tmp_path / "a.gif"), "--colours", "20", "-")
    assert r.returncode == 2 and "--colors" in r.stderr.decode(), r.stderr


def test_render_checks_options_by_the_table(tmp_path):
    for kw, msg in [({"dither": "fs"}, None), ({"crf": 60}, "crf must be between 1 and 51, got 60")]:
        path = tmp_path / ("r.gif" if "dither" in kw else "r.mp4")
        if msg is None:
            framepipe.render(lambda i: FRAMES[i], path, n_frames=3, fps=10, workers=1, **kw)
            assert int(ffprobe(path)["nb_read_frames"]) == 3
        else:
            with pytest.raises(framepipe.ParameterError, match=msg) as e:
                framepipe.render(lambda i: FRAMES[i], path, n_frames=3, fps=10, workers=1, **kw)
            assert e.value.argument == "crf"
            assert not path.exists()
