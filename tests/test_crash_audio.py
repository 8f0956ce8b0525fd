"""A killed writer keeps its sound too (issue 23: crash-proof with sound).

A child (tests/crashkit_audio.py) writes 160x96 frames at 30 fps (paced: at most about 110 a
second, so a kill leaves seconds, not minutes) and a mono 48 kHz chirp, with
``write`` and ``write_audio`` in a seeded random interleaving (the sound up to 3 frames ahead
of or behind the picture), in fragments of half a second, and is killed with SIGKILL at seeded
random moments: 6 while it streams (3 AAC, 3 Opus) and 6 inside ``close()`` of a larger file (3
each). Every file left is decoded by ffmpeg and PyAV and compared with what the child last
reported as given:

- both tracks are there; the picture is the source's first frames; of the video given, at most
  the encoder's and the writer's holdings and one fragment are lost (as in tests/test_crash.py);
- of the sound given, at most a second and a fragment are lost, and the sound never runs past
  the picture by more than a packet;
- the samples kept are the source's: cross-correlation peak at lag 0 and an SNR floor, at the
  start and at the end of what was kept;
- ``repair`` makes a faststart file with both tracks, the sound cut at the picture's end, its
  chunks at most a second and interleaved.

Truncation: a finished and an unfinished file with sound, cut at 6 seeded byte positions each in
their last boxes: ``probe`` says what ffmpeg finds (never more), and repair keeps the sound.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import crashkit
import crashkit_audio as kit
import framepipe
import numpy as np
import pytest
from audio_support import check_interleaved, decode_av, decode_ffmpeg, lag, snr_db, streams
from conftest import ffmpeg_errors, ffprobe, psnr, top_level_boxes

KIT = str(Path(__file__).with_name("crashkit_audio.py"))
RATE = kit.RATE
FPS = kit.FPS
FRAGMENT = round(kit.FRAGMENT_SECONDS * FPS)
#: Frames given but not in the file after a kill: at ultrafast x264 holds no lookahead, but its
#: 2 frame threads (1), the writer's queue (4, shared with the sound's chunks), the frame the
#: encoder thread holds (1), and the fragment being collected (a fragment of 15 frames, cut
#: where no presented frame is missing: at most 4 times that when it cannot be, never here
#: without B-frames) plus the report lagging the fragment written by one frame.
VIDEO_LOST = 1 + 4 + 1 + FRAGMENT + 1
#: Seconds of sound given but not in the file: the audio of the fragment being collected (it
#: goes with the video of its time), the video's holdings above, the interleaving's 3 frames,
#: and the encoder's delay (AAC: 1024 samples, Opus: 312 + a frame).
AUDIO_LOST_SECONDS = 1.0 + FRAGMENT / FPS
#: SNR floors (dB) for the chirp at 192 kbit/s (a lag of one sample would give about 3 dB).
MIN_SNR = {"aac": 20.0, "opus": 15.0}
CODEC_OF = {"aac": "aac", "opus": "opus"}
SNRS: list[float] = []


class Reader(threading.Thread):
    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream = stream
        self.lines: list[str] = []
        self.started = threading.Event()
        self.closing = threading.Event()

    def run(self):
        for line in self.stream:
            if line.endswith("\n"):
                self.lines.append(line.strip())
            if line.startswith("started"):
                self.started.set()
            if line.startswith("closing"):
                self.closing.set()
        self.started.set()
        self.closing.set()

    def said(self, word: str) -> list[str] | None:
        for line in self.lines:
            if line.startswith(word + " "):
                return line.split()[1:]
        return None


def start(mode: str, codec: str, out: Path) -> tuple[subprocess.Popen, Reader]:
    p = subprocess.Popen(
        [sys.executable, KIT, mode, codec, str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    r = Reader(p.stdout)
    r.start()
    return p, r


def kill(p: subprocess.Popen, r: Reader) -> None:
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    r.join(10)
    assert p.returncode == -signal.SIGKILL, p.stderr.read()


def source(n: int) -> np.ndarray:
    return kit.sound(0, n)


def check_sound(path: Path, n_frames: int, codec: str) -> int:
    """The file's sound, decoded by ffmpeg and by PyAV: the source's first samples (lag 0 and
    the SNR floor over the first and the last 0.5 s kept), never past the picture by more than
    a packet. Returns the samples ffmpeg decodes.

    A fragmented file's edit list only shifts its timestamps for FFmpeg 5.1: it decodes the
    encoder's priming too (AAC 1024 samples, Opus 312), so there the decoded sound may start
    with the priming, and is compared with the source after it."""
    info = framepipe.probe(path)
    priming = info["audio_priming"] if info["fragmented"] else 0
    video_samples = n_frames * RATE // FPS
    got = []
    for decoded in (decode_ffmpeg(path, 1)[:, 0], decode_av(path)[:, 0]):
        if len(decoded) >= RATE // 2 and priming:
            window = slice(RATE // 10, RATE // 10 + RATE // 4)
            shift = lag(decoded[window], source(RATE)[window], 1100)
            assert shift in (0, priming), (path.name, shift, priming)
            decoded = decoded[shift:]
        n = len(decoded)
        assert n <= video_samples + 1024, f"{n} samples of sound for {video_samples} of picture"
        got.append(n)
        if n < RATE:
            continue
        want = source(n)
        for at in (RATE // 10, n - RATE // 2 - 2048):
            window = slice(at, at + RATE // 2)
            assert lag(decoded[window], want[window], 256) == 0, (path.name, at)
            snr = snr_db(decoded[window], want[window])
            assert snr > MIN_SNR[codec], (path.name, at, snr)
            SNRS.append(snr)
    assert abs(got[0] - got[1]) <= 1024, got
    return got[0]


def pictures(path: Path) -> np.ndarray:
    """The video track decoded by ffmpeg to RGB, each frame once (with a sound track ffmpeg's
    default constant-rate output would repeat the last frame to the sound's end)."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-fps_mode", "passthrough"]
        + ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, crashkit.H, crashkit.W, 3)


def check_frames(path: Path, n: int) -> None:
    assert ffmpeg_errors(path) == ""
    got = pictures(path)
    assert len(got) == n
    want = crashkit.frames(n)
    assert min(psnr(got[k], want[k]) for k in range(n)) > 30


def check_repaired(out: Path, n: int, codec: str, tmp_path: Path) -> None:
    fixed = tmp_path / "repaired.mp4"
    r = framepipe.repair(out, fixed)
    assert (r.frames, r.was_finished) == (n, False), r
    assert top_level_boxes(fixed) == ["ftyp", "moov", "mdat"]
    kinds = {s["codec_type"]: s for s in streams(fixed)}
    assert set(kinds) == {"video", "audio"} and kinds["audio"]["codec_name"] == CODEC_OF[codec]
    assert float(kinds["audio"]["duration"]) <= n / FPS + 1e-3, kinds["audio"]["duration"]
    kept = check_sound(fixed, n, codec)
    assert kept >= n * RATE // FPS - 1024 - RATE // 10 or n * RATE // FPS < RATE, (kept, n)
    check_frames(fixed, n)
    if n >= 2 * FPS:
        check_interleaved(fixed)


def kill_moments(seed: int, k: int) -> list[float]:
    return list(np.random.default_rng(seed).uniform(0.3, 2.0, k))


@pytest.mark.parametrize("codec,seed", [("aac", 31), ("opus", 32)])
def test_killed_while_streaming_keeps_both_tracks(tmp_path, codec, seed):
    kept = []
    for k, after in enumerate(kill_moments(seed, 3)):
        out = tmp_path / f"killed-{k}.mp4"
        p, r = start("stream", codec, out)
        assert r.started.wait(60), p.stderr.read()
        time.sleep(after)
        kill(p, r)
        last = [ln for ln in r.lines if ln and ln[0].isdigit()]
        given, audio_given, on_disk = map(int, last[-1].split()) if last else (0, 0, 0)
        if not out.exists():
            assert on_disk == 0 and given <= VIDEO_LOST + FRAGMENT, (given, on_disk)
            continue
        info = ffprobe(out)
        n = info["nb_read_frames"]
        assert n >= on_disk and n >= given - VIDEO_LOST, (n, on_disk, given)
        check_frames(out, n)
        kinds = {s["codec_type"] for s in streams(out)}
        assert kinds == {"video", "audio"}, kinds
        got = check_sound(out, n, codec)
        assert got >= audio_given - AUDIO_LOST_SECONDS * RATE, (got, audio_given)
        ours = framepipe.probe(out)
        assert ours["fragmented"] and ours["frame_count"] == n and not ours["truncated"]
        assert ours["audio_codec"] == CODEC_OF[codec]
        # The probe's sound is what the decoders find (give or take the priming).
        assert abs(ours["audio_duration"] * RATE - got) <= 1024 + 312, (ours["audio_duration"], got)
        check_repaired(out, n, codec, tmp_path)
        kept.append((n, got))
    assert sum(n >= FPS for n, _ in kept) >= 2, kept


@pytest.mark.parametrize("codec,seed", [("aac", 41), ("opus", 42)])
def test_killed_inside_close_keeps_both_tracks(tmp_path, codec, seed):
    """close() of a 5-s file of noise at crf=1 (about 40 MB) killed at a random moment while it
    runs: the output is the fragmented file (every frame and the sound on disk when close began)
    or the finished one (everything, interleaved)."""
    whole = tmp_path / "whole.mp4"
    p, r = start("close", codec, whole)
    assert p.wait(120) == 0, p.stderr.read()
    r.join(10)
    close_s = float(r.said("closed")[0])
    n_all = kit.BIG_SECONDS * FPS
    assert top_level_boxes(whole) == ["ftyp", "moov", "mdat"]
    check_interleaved(whole)
    assert len(decode_ffmpeg(whole, 1)) >= n_all * RATE // FPS
    rng = np.random.default_rng(seed)
    inside = 0
    for k in range(3):
        out = tmp_path / f"closing-{k}.mp4"
        p, r = start("close", codec, out)
        assert r.closing.wait(120), p.stderr.read()
        time.sleep(float(rng.uniform(0, 0.8 * close_s)))
        kill(p, r)
        frames, audio_given, on_disk = map(int, r.said("closing"))
        closed = r.said("closed")
        inside += closed is None
        if closed is not None:
            # This close ended before the kill: its own time (the child's clock) is the better
            # measure of how long a close takes now (as in test_crash: on a busy machine the
            # timing run above can be far slower than the closes after it).
            close_s = min(close_s, float(closed[0]))
        boxes = top_level_boxes(out)
        n = ffprobe(out)["nb_read_frames"]
        assert ffmpeg_errors(out) == ""
        assert {s["codec_type"] for s in streams(out)} == {"video", "audio"}
        got = len(decode_ffmpeg(out, 1))
        if boxes == ["ftyp", "moov", "mdat"]:
            assert n == frames and got >= frames * RATE // FPS
            continue
        assert n >= on_disk
        # The sound on disk covers the picture on disk (less the last fragment's share).
        assert got >= n * RATE // FPS - AUDIO_LOST_SECONDS * RATE, (got, n)
        fixed = tmp_path / "fixed.mp4"
        rr = framepipe.repair(out, fixed)
        assert rr.frames == n
        assert {s["codec_type"] for s in streams(fixed)} == {"video", "audio"}
        assert len(decode_ffmpeg(fixed, 1)) >= n * RATE // FPS - 1024
        check_interleaved(fixed)
    assert inside >= 2, inside


# ------------------------------------------------------------------------------- truncation


def write_file(path: Path, codec: str, seconds: int, finish: bool) -> bytes:
    """A file with sound, finished, or as it is on disk while the writer still runs (after
    waiting for the encoder thread to write what it can)."""
    w = kit.writer(str(path), codec)
    kit.stream(w, crashkit.frame, seconds * FPS, False)
    if finish:
        w.close()
        return path.read_bytes()
    deadline = time.monotonic() + 10
    while w.frames_on_disk < seconds * FPS - 2 * FRAGMENT and time.monotonic() < deadline:
        time.sleep(0.01)
    data = path.read_bytes()
    w.close()
    return data


def box_list(data: bytes) -> list[tuple[str, int, int]]:
    out, i = [], 0
    while i + 8 <= len(data):
        size = int.from_bytes(data[i : i + 4], "big")
        if size == 1:
            size = int.from_bytes(data[i + 8 : i + 16], "big")
        out.append((data[i + 4 : i + 8].decode("latin-1"), i, size))
        i += size
    return out


def check_cut(part: Path, codec: str, tmp_path: Path, k: int) -> tuple[int, int]:
    """probe says no more than ffmpeg finds; repair keeps the sound with the picture."""
    info = framepipe.probe(part)
    n = info["frames_present"]
    count = subprocess.run(
        ["ffprobe", "-v", "quiet", "-count_frames", "-select_streams", "v:0"]
        + ["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", str(part)],
        capture_output=True,
        text=True,
    ).stdout.strip()
    if info["fragmented"]:
        assert int(count or 0) == n, (k, count, info)
    else:
        assert info["truncated"]
    fixed = tmp_path / f"fixed-{k}.mp4"
    r = framepipe.repair(part, fixed)
    assert r.frames > 0 and r.frames <= max(n, r.frames_found), (k, r, n)
    assert top_level_boxes(fixed) == ["ftyp", "moov", "mdat"]
    assert ffmpeg_errors(fixed) == ""
    kinds = {s["codec_type"]: s for s in streams(fixed)}
    assert set(kinds) == {"video", "audio"}, (k, kinds)
    assert float(kinds["audio"]["duration"]) <= r.frames / FPS + 1e-3
    got = check_sound(fixed, r.frames, codec)
    return r.frames, got


@pytest.mark.parametrize("codec", ["aac", "opus"])
def test_truncated_files_with_sound_repair_keeping_it(tmp_path, codec):
    """A finished file (8 s) cut at 6 seeded places in its mdat's last 3 seconds, and an
    unfinished one cut at 6 in its last four fragments: repair keeps the sound up to the
    picture kept, less at most a chunk (a second): the finished file interleaves them."""
    rng = np.random.default_rng(51 if codec == "aac" else 52)
    finished = write_file(tmp_path / "finished.mp4", codec, 8, True)
    boxes = box_list(finished)
    assert [b[0] for b in boxes] == ["ftyp", "moov", "mdat"]
    cuts = sorted(int(c) for c in rng.integers(len(finished) * 5 // 8, len(finished), 6))
    for k, cut in enumerate(cuts):
        part = tmp_path / f"cut-{k}.mp4"
        part.write_bytes(finished[:cut])
        frames, got = check_cut(part, codec, tmp_path, k)
        assert got >= frames * RATE // FPS - RATE - 1024, (cut, frames, got)
    unfinished = write_file(tmp_path / "unfinished.mp4", codec, 8, False)
    boxes = box_list(unfinished)
    moofs = [b for b in boxes if b[0] == "moof"]
    assert len(moofs) >= 8, [b[0] for b in boxes]
    lo = moofs[-4][1]
    cuts = sorted(int(c) for c in rng.integers(lo, len(unfinished) + 1, 6))
    for k, cut in enumerate(cuts):
        data = bytearray(unfinished[:cut])
        # A fragment cut short was still being written: its moof was a `free` box then.
        for kind, at, size in boxes:
            if kind == "moof" and at < cut < at + size + next(s for t, a, s in boxes if a == at + size):
                if at + 8 <= cut:
                    data[at + 4 : at + 8] = b"free"
        part = tmp_path / f"ucut-{k}.mp4"
        part.write_bytes(bytes(data))
        frames, got = check_cut(part, codec, tmp_path, 100 + k)
        assert got >= frames * RATE // FPS - RATE - 1024, (cut, frames, got)
