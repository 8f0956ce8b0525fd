"""framepipe.probe(): one probe for MP4 and GIF, checked against what ffprobe decodes; a file cut
short says how many frames it still holds."""

from __future__ import annotations

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
    with pytest.raises(framepipe.DecodeError, match="not an MP4 file") as e:
        framepipe.probe(path)
    assert isinstance(e.value, ValueError) and isinstance(e.value, framepipe.FramepipeError)
    assert not isinstance(e.value, framepipe.ParameterError)
    garbled = tmp_path / "garbled.gif"
    garbled.write_bytes(b"GIF89a" + np.zeros(3, np.uint8).tobytes())
    with pytest.raises(framepipe.DecodeError, match="truncated GIF"):
        framepipe.probe(garbled)
