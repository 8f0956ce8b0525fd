"""Probe's one list of fields (issue 22): `framepipe probe`, `framepipe probe --json` and
``framepipe.probe()`` hold the same fields, ``fragmented``, ``truncated`` and ``frames_present``
included, on a finished file, one still being written and one cut short (and on a GIF)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import framepipe
import numpy as np
import pytest
from conftest import ffprobe, smooth_frames

SCRIPT = str(Path(sys.executable).parent / "framepipe")
FRAMES = smooth_frames(40, 32, 48)


def three(path: Path) -> tuple[dict, dict, str, int]:
    """Python's dict, the CLI's JSON, the CLI's text and the text command's exit status."""
    py = framepipe.probe(path)
    js = subprocess.run([SCRIPT, "probe", "--json", str(path)], capture_output=True, timeout=60)
    tx = subprocess.run([SCRIPT, "probe", str(path)], capture_output=True, timeout=60)
    assert js.returncode == tx.returncode, (js.stderr, tx.stderr)
    return py, json.loads(js.stdout), tx.stdout.decode(), tx.returncode


def same(py: dict, js: dict) -> None:
    assert list(py) == list(js)
    for k, v in py.items():
        if k == "fps":
            assert (v is None and js[k] is None) or Fraction(*v) == Fraction(js[k]), (v, js[k])
        elif k == "color":
            assert (v is None and js[k] is None) or v == tuple(js[k].values()), (v, js[k])
        elif isinstance(v, float):
            assert v == pytest.approx(js[k], abs=1e-9), k
        else:
            assert v == js[k], (k, v, js[k])
    assert py["duration"] == py["duration_seconds"]  # the old key, for one release


def test_finished_mp4(tmp_path):
    p = tmp_path / "a.mp4"
    framepipe.write_video(p, FRAMES, fps=10, metadata={"title": "t"})
    py, js, text, status = three(p)
    same(py, js)
    assert status == 0
    assert py["frame_count"] == py["frames_present"] == 40 == int(ffprobe(p)["nb_read_frames"])
    assert py["truncated"] is False and py["fragmented"] is False and py["faststart"] is True
    assert py["fps"] == (10, 1) and py["fps_value"] == 10.0 and py["tags"]["title"] == "t"
    assert py["brand"] and py["bitrate_kbps"] > 0
    for line in ("frames: 40", "frames present: 40", "truncated: no", "fragmented: no", "tag title: t"):
        assert line in text.splitlines(), (line, text)


def test_mp4_being_written(tmp_path):
    p = tmp_path / "w.mp4"
    with framepipe.VideoWriter(p, 10, fragment_seconds=0.5, preset="ultrafast") as w:  # no lookahead
        for f in FRAMES:
            w.write(f)
        # Once x264 (no lookahead) has given out every frame, the file stays as it is until
        # close(): its whole fragments on disk, the last one still held.
        deadline = time.monotonic() + 60
        while w.frames_encoded < len(FRAMES) and time.monotonic() < deadline:
            time.sleep(0.05)
        on_disk = w.frames_on_disk
        assert w.frames_encoded == len(FRAMES) and 10 <= on_disk < len(FRAMES), (w.frames_encoded, on_disk)
        py, js, text, status = three(p)
    same(py, js)
    assert status == 0
    assert py["fragmented"] is True and js["fragmented"] is True
    assert py["truncated"] is False
    assert py["frame_count"] == py["frames_present"] == on_disk
    assert any(line.startswith("fragmented: yes") for line in text.splitlines()), text
    # The writer finished it: an ordinary MP4 now.
    assert framepipe.probe(p)["fragmented"] is False


def test_mp4_cut_short(tmp_path):
    p = tmp_path / "c.mp4"
    framepipe.write_video(p, FRAMES, fps=10)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) * 2 // 3])
    py, js, text, status = three(p)
    same(py, js)
    assert status == 1  # a truncated file is described, and the command fails
    assert py["truncated"] is True and py["fragmented"] is False
    assert 0 < py["frames_present"] < py["frame_count"] == 40 and py["missing_bytes"] > 0
    assert "truncated: yes" in text.splitlines() and f"frames present: {py['frames_present']}" in text


def test_gif(tmp_path):
    p = tmp_path / "g.gif"
    framepipe.write_video(p, FRAMES[:5], fps=10, loop=2)
    py, js, text, status = three(p)
    same(py, js)
    assert status == 0
    assert py["format"] == "gif" and py["frame_count"] == py["frames_present"] == 5
    assert py["fragmented"] is False and py["truncated"] is False and py["loop"] == 2
    assert int(ffprobe(p)["nb_read_frames"]) == 5
    for line in ("frames present: 5", "truncated: no", "fragmented: no"):
        assert line in text.splitlines(), (line, text)


def test_neither_format_named_so_by_both(tmp_path):
    p = tmp_path / "x.txt"
    p.write_bytes(b"hello, this is text")
    with pytest.raises(framepipe.DecodeError, match="not an MP4 or GIF file: it starts with bytes 68 65") as e:
        framepipe.probe(p)
    r = subprocess.run([SCRIPT, "probe", str(p)], capture_output=True, timeout=60)
    assert r.returncode == 1 and str(e.value) in r.stderr.decode(), r.stderr


def test_error_fields_are_attributes(tmp_path):
    """The engine's errors carry the frame and the argument as fields: Python's exceptions have
    them as attributes (never parsed from the text)."""
    with pytest.raises(framepipe.ParameterError) as e:
        framepipe.VideoWriter(tmp_path / "a.mp4", 10, crf=99)
    assert e.value.argument == "crf" and e.value.frame is None
    with pytest.raises(framepipe.ParameterError) as e:
        framepipe.VideoWriter(tmp_path / "a.gif", 10, dither="sierra")
    assert e.value.argument == "dither"
    bad = np.zeros((16, 16, 3), np.float32)
    bad[3, 4, 1] = np.nan
    with framepipe.VideoWriter(tmp_path / "b.mp4", 10) as w:
        w.write(np.zeros((16, 16, 3), np.float32))
        w.write(np.zeros((16, 16, 3), np.float32))
        with pytest.raises(framepipe.ParameterError) as e:
            w.write(bad)
    assert e.value.frame == 2 and str(e.value).startswith("frame 2: "), str(e.value)
    assert int(ffprobe(tmp_path / "b.mp4")["nb_read_frames"]) == 2
    with pytest.raises(framepipe.ParameterError) as e, framepipe.VideoWriter(tmp_path / "c.mp4", 10) as w:
        w.write(np.zeros((16, 16, 3), np.uint8))
        w.write(np.zeros((8, 16, 3), np.uint8))
    assert e.value.frame == 1 and e.value.argument == "shape"
