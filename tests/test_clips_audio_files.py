"""write_audiofile's files: a failed write leaves an existing file as it was, a write is never
made over the file the sound is read from (whatever name points at it), the same sound gives
the same bytes, and sizes are checked before anything is allocated."""

from __future__ import annotations

import errno
import hashlib
import os

import numpy as np
import pytest
from framepipe.clips.audio import AudioClip, AudioFileClip, _write
from framepipe.errors import ParameterError

RATE = 8000


def _tone(duration: float = 0.5) -> AudioClip:
    return AudioClip(lambda t: 0.5 * np.sin(2 * np.pi * 440 * t), duration=duration, fps=RATE)


@pytest.mark.parametrize("name", ["k.wav", "k.m4a", "k.mp3", "k.opus", "k.flac"])
def test_a_failed_write_keeps_the_existing_file(tmp_path, monkeypatch, name):
    """A write that fails once the file is being written (here: the disk full after the data
    went out) leaves the existing file as it was and no temporary beside it."""
    out = tmp_path / name
    _tone().write_audiofile(out)
    before = out.read_bytes()
    writer = "write_wav" if name.endswith(".wav") else "_encode"
    real = getattr(_write, writer)

    def full(*args, **kwargs):
        real(*args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_write, writer, full)
    with pytest.raises(OSError, match="No space left"):
        _tone(0.25).write_audiofile(out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_no_write_over_the_source_through_a_link(tmp_path):
    src = tmp_path / "src.wav"
    _tone().write_audiofile(src)
    before = src.read_bytes()
    (tmp_path / "link.wav").symlink_to(src)
    os.link(src, tmp_path / "hard.wav")
    clip = AudioFileClip(src, fps=RATE).subclipped(0, 0.1)
    for name in ("src.wav", "link.wav", "hard.wav"):
        with pytest.raises(ParameterError, match="is a source of AudioFileClip"):
            clip.write_audiofile(tmp_path / name)
    assert src.read_bytes() == before


@pytest.mark.parametrize("name", ["a.wav", "a.m4a", "a.mp3", "a.opus", "a.ogg", "a.flac"])
def test_the_same_sound_gives_the_same_bytes(tmp_path, name):
    digests = set()
    for k in range(3):
        out = tmp_path / f"{k}{name}"
        _tone().write_audiofile(out)
        digests.add(hashlib.md5(out.read_bytes()).hexdigest())
    assert len(digests) == 1, name


def test_sizes_are_checked_before_allocating(tmp_path):
    with pytest.raises(ParameterError, match="fps must be from 1 to 768000 Hz"):
        _tone().write_audiofile(tmp_path / "a.wav", fps=2**40)
    with pytest.raises(ParameterError, match="GiB as float64"):
        _tone(1e18).write_audiofile(tmp_path / "a.wav", fps=44100)
    assert list(tmp_path.iterdir()) == []
