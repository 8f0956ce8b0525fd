"""framepipe.probe(): one probe for MP4 and GIF, checked against what ffprobe decodes; a file cut
short says how many frames it still holds."""

from __future__ import annotations

import subprocess
import sys
import time
from fractions import Fraction

import framepipe
import numpy as np
import pytest
from conftest import ffprobe, smooth_frames


def gif_facts(path) -> tuple[int, int, int]:
    """(width, height, decoded frame count) of a GIF, from ffprobe."""
    s = ffprobe(path)
    return s["width"], s["height"], s["nb_read_frames"]


def test_gifs_are_probed_like_mp4s(tmp_path):
    frames = smooth_frames(12, 40, 56)
    path = tmp_path / "anim.gif"
    framepipe.write_video(path, list(frames), fps=20, loop=3)
    info = framepipe.probe(path)
    assert info["format"] == "gif" and info["codec"] == "gif" and info["version"] == "GIF89a"
    assert (info["width"], info["height"], info["frame_count"]) == gif_facts(path) == (56, 40, 12)
    assert info["duration"] == pytest.approx(12 / 20)
    assert info["loop"] == 3
    assert info["file_size"] == path.stat().st_size
    # Told apart by content, not name.
    renamed = tmp_path / "anim.mp4"
    renamed.write_bytes(path.read_bytes())
    assert framepipe.probe(renamed)["format"] == "gif"


def test_a_whole_mp4_has_every_frame_present(tmp_path):
    path = tmp_path / "whole.mp4"
    framepipe.write_video(path, list(smooth_frames(20, 48, 64)), fps=24)
    info = framepipe.probe(path)
    assert info["format"] == "mp4"
    assert info["frame_count"] == info["frames_present"] == ffprobe(path)["nb_read_frames"] == 20
    assert info["truncated"] is False and info["missing_bytes"] == 0
    assert Fraction(*info["fps"]) == 24


def test_a_truncated_mp4_says_how_many_frames_it_holds(tmp_path):
    path = tmp_path / "whole.mp4"
    framepipe.write_video(path, list(smooth_frames(120, 48, 64)), fps=30)
    data = path.read_bytes()
    mdat = data.index(b"mdat") + 12
    for fraction in (0.1, 0.55, 0.97):
        cut = mdat + int((len(data) - mdat) * fraction)
        part = tmp_path / f"cut{cut}.mp4"
        part.write_bytes(data[:cut])
        info = framepipe.probe(part)
        assert info["frame_count"] == 120 and info["truncated"] is True
        assert info["missing_bytes"] == len(data) - cut
        assert 0 < info["frames_present"] < 120
        assert info["frames_present"] == ffprobe(part)["nb_read_frames"], cut


def test_a_file_of_neither_format_is_a_decode_error(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("just some text")
    with pytest.raises(framepipe.DecodeError, match="not an MP4 or GIF file") as e:
        framepipe.probe(path)
    assert isinstance(e.value, ValueError) and isinstance(e.value, framepipe.FramepipeError)
    assert not isinstance(e.value, framepipe.ParameterError)
    garbled = tmp_path / "garbled.gif"
    garbled.write_bytes(b"GIF89a" + np.zeros(3, np.uint8).tobytes())
    with pytest.raises(framepipe.DecodeError, match="truncated GIF"):
        framepipe.probe(garbled)


def unfinished_mp4(tmp_path, n: int = 60) -> bytes:
    """The bytes of an MP4 a writer has not finished (fragments of about 0.2 s), as a killed
    writer leaves it: taken while the writer is still open."""
    growing = tmp_path / "growing.mp4"
    w = framepipe.VideoWriter(growing, fps=30, fragment_seconds=0.2, preset="ultrafast")
    for f in smooth_frames(n, 48, 64):
        w.write(f)
    deadline = time.monotonic() + 30
    while w.frames_on_disk < n // 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    data = growing.read_bytes()
    w.close()
    assert w.frames_on_disk >= n // 2
    return data


def boxes(data: bytes) -> list[tuple[str, int, int]]:
    out, i = [], 0
    while i + 8 <= len(data):
        size = int.from_bytes(data[i : i + 4], "big")
        out.append((data[i + 4 : i + 8].decode("latin-1"), i, size))
        i += size
    return out


def test_a_file_torn_in_its_last_moof_is_truncated(tmp_path):
    """Issue 21: an unfinished file cut inside its last moof (a power loss while the fragment
    was written) was called whole, while ffmpeg cannot read it at all."""
    data = unfinished_mp4(tmp_path)
    b = boxes(data)
    _, moof, moof_len = [x for x in b if x[0] == "moof"][-1]
    before = tmp_path / "before.mp4"
    before.write_bytes(data[:moof])
    info = framepipe.probe(before)
    assert info["fragmented"] and not info["truncated"] and info["torn_bytes"] == 0 and info["torn_box"] == ""
    whole = info["frames_present"]
    assert whole == info["frame_count"] == ffprobe(before)["nb_read_frames"] > 0
    for cut in (moof + 3, moof + 8, moof + moof_len // 2, moof + moof_len - 1):
        part = tmp_path / f"torn{cut}.mp4"
        part.write_bytes(data[:cut])
        info = framepipe.probe(part)
        assert info["truncated"] is True, cut
        assert info["frames_present"] == info["frame_count"] == whole
        assert info["torn_bytes"] == cut - moof
        assert info["torn_box"] == ("moof" if cut - moof >= 8 else "")
    # Cut in the last mdat: the frames whose bytes are missing are not present.
    mdat = moof + moof_len
    part = tmp_path / "cut-mdat.mp4"
    part.write_bytes(data[: mdat + 8 + (len(data) - mdat - 8) // 2])
    info = framepipe.probe(part)
    assert info["truncated"] is True and info["torn_box"] == "mdat"
    assert whole < info["frames_present"] < info["frame_count"]


CRAFTED_PROBE = """
import resource, sys
import framepipe

def vm_size():
    for line in open("/proc/self/status"):
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024

limit = vm_size() + 256 * 1024 * 1024
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
calls = (("probe", framepipe.probe, sys.argv[1:2]), ("repair", framepipe.repair, sys.argv[1:3]))
for what, call, args in calls:
    try:
        call(*args)
        print(what, "accepted it")
    except framepipe.DecodeError as e:
        print(what, "DecodeError", e)
"""


def test_a_crafted_file_of_millions_of_empty_frames_is_refused_in_little_memory(tmp_path):
    """Issue 21: 2 MB with 8 truns of 2,000,000 zero-size samples made probe take 1.25 GB and
    report 16,000,000 frames; repair took as much. Under a limit of 256 MB more address space
    than the interpreter has, both refuse it with a DecodeError."""
    data = unfinished_mp4(tmp_path, 30)
    _, moov, moov_len = [x for x in boxes(data) if x[0] == "moov"][0]
    head = data[: moov + moov_len]

    def box(kind: bytes, body: bytes) -> bytes:
        return (len(body) + 8).to_bytes(4, "big") + kind + body

    tfhd = box(b"tfhd", (0x020010).to_bytes(4, "big") + (1).to_bytes(4, "big") + (0).to_bytes(4, "big"))
    mfhd = box(b"mfhd", (0).to_bytes(4, "big") + (1).to_bytes(4, "big"))
    moof_len = 8 + len(mfhd) + 8 + len(tfhd) + 8 * 20
    trun = box(b"trun", (1).to_bytes(4, "big") + (2_000_000).to_bytes(4, "big") + (moof_len + 8).to_bytes(4, "big"))
    moof = box(b"moof", mfhd + box(b"traf", tfhd + trun * 8))
    assert len(moof) == moof_len
    crafted = tmp_path / "crafted.mp4"
    crafted.write_bytes(head + moof + box(b"mdat", bytes(2_000_000)))
    out = subprocess.run(
        [sys.executable, "-c", CRAFTED_PROBE, str(crafted), str(tmp_path / "repaired.mp4")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 2, out.stdout
    for line, what in zip(lines, ("probe", "repair")):
        assert line.startswith(f"{what} DecodeError") and "lists 2000000 samples of 0 bytes" in line, line
    assert not (tmp_path / "repaired.mp4").exists()
