"""Writers with sound in threads, and flat memory for long files with sound (issue 23).

- Four threads each write their own file with sound at once (AAC and Opus): every file is
  decoded by ffmpeg (both tracks, the frames, the samples at lag 0) and is byte for byte the
  file the same calls make in one thread (the finished file does not depend on timing).
- One writer fed from two threads, ``write`` in one and ``write_audio`` in the other, with a
  third polling its counters: the same bytes as the calls made in one thread.
- Two threads calling ``write_audio`` on one writer at the same moment: never a crash or a
  broken file (each call holds the writer; the order of the two threads' samples is theirs).
- Memory: a child process writes ten minutes of 32x32 video at 30 fps with 48 kHz sound, in
  step, and with all the sound after the first frame written up front; its VmRSS grows less
  than 12 MB between the first minute and the end.
"""

from __future__ import annotations

import subprocess
import sys
import threading

import crashkit_audio as kit
import framepipe
import numpy as np
import pytest
from audio_support import check_interleaved, decode_ffmpeg, lag, snr_db, streams
from conftest import ffprobe

FPS, RATE, N = 30, 48000, 90  # 3 s
PER = RATE // FPS


def frame(i: int) -> np.ndarray:
    return np.full((32, 48, 3), (i * 7) % 256, np.uint8)


def make(path, codec: str, feed) -> bytes:
    with framepipe.VideoWriter(
        path, FPS, audio_fps=RATE, audio_channels=1, audio_codec=codec, preset="ultrafast", threads=1
    ) as w:
        feed(w)
    return path.read_bytes()


def in_step(w) -> None:
    for i in range(N):
        w.write(frame(i))
        w.write_audio(kit.sound(i * PER, PER))


def check_file(path, codec: str) -> None:
    assert {s["codec_type"] for s in streams(path)} == {"video", "audio"}
    assert ffprobe(path)["nb_read_frames"] == N
    got = decode_ffmpeg(path, 1)[:, 0]
    assert N * PER <= len(got) < N * PER + 1024
    want = kit.sound(0, len(got))
    mid = slice(RATE // 2, 5 * RATE // 2)
    assert lag(got[mid], want[mid], 256) == 0
    assert snr_db(got[mid], want[mid]) > 15
    check_interleaved(path)


def test_writers_in_threads(tmp_path):
    codecs = ["aac", "opus", "aac", "opus"]
    reference = {c: make(tmp_path / f"ref-{c}.mp4", c, in_step) for c in ("aac", "opus")}
    errors: list[BaseException] = []

    def run(k: int) -> None:
        try:
            make(tmp_path / f"t{k}.mp4", codecs[k], in_step)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    for k, c in enumerate(codecs):
        path = tmp_path / f"t{k}.mp4"
        check_file(path, c)
        assert path.read_bytes() == reference[c], k


@pytest.mark.parametrize("codec", ["aac", "opus"])
def test_one_writer_fed_from_two_threads(tmp_path, codec):
    reference = make(tmp_path / "ref.mp4", codec, in_step)
    errors: list[BaseException] = []
    seen: list[int] = []

    def feed(w) -> None:
        done = threading.Event()

        def guarded(f):
            def run():
                try:
                    f()
                except BaseException as e:
                    errors.append(e)

            return run

        def pictures():
            for i in range(N):
                w.write(frame(i))

        def sound():
            rng = np.random.default_rng(3)
            a = 0
            while a < N * PER:
                k = min(int(rng.integers(1, 5000)), N * PER - a)
                w.write_audio(kit.sound(a, k))
                a += k

        def poll():
            while not done.is_set():
                seen.append(w.frames_on_disk + w.frames_written)

        ts = [threading.Thread(target=guarded(f)) for f in (pictures, sound)]
        poller = threading.Thread(target=guarded(poll))
        poller.start()
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        done.set()
        poller.join(10)

    data = make(tmp_path / "two.mp4", codec, feed)
    assert not errors, errors
    check_file(tmp_path / "two.mp4", codec)
    assert data == reference
    assert seen


def test_two_threads_writing_sound_at_once_never_break_the_file(tmp_path):
    errors: list[BaseException] = []

    def feed(w) -> None:
        w.write(frame(0))

        def sound(seed: int):
            try:
                rng = np.random.default_rng(seed)
                for _ in range(200):
                    w.write_audio(kit.sound(0, int(rng.integers(1, 700))))
            except BaseException as e:
                errors.append(e)

        ts = [threading.Thread(target=sound, args=(s,)) for s in (1, 2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        for i in range(1, N):
            w.write(frame(i))

    make(tmp_path / "both.mp4", "aac", feed)
    assert not errors, errors
    path = tmp_path / "both.mp4"
    assert {s["codec_type"] for s in streams(path)} == {"video", "audio"}
    assert ffprobe(path)["nb_read_frames"] == N
    assert N * PER <= len(decode_ffmpeg(path, 1)) < N * PER + 1024


MEMORY_CHILD = r"""
import sys
import numpy as np
import framepipe
sys.path.insert(0, sys.argv[3])
import crashkit_audio as kit

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024

mode, out = sys.argv[1], sys.argv[2]
fps, rate, seconds = 30, 48000, 600
per = rate // fps
frame = np.zeros((32, 32, 3), np.uint8)
w = framepipe.VideoWriter(out, fps, audio_fps=rate, audio_channels=1, preset="ultrafast", threads=1)
w.write(frame)
if mode == "ahead":
    for s in range(seconds):
        w.write_audio(kit.sound(s * rate, rate))
        if s == 60:
            first = rss()
for i in range(1, seconds * fps):
    frame[:, :, 0] = i % 256
    w.write(frame)
    if mode == "step":
        w.write_audio(kit.sound(i * per, per))
        if i == 60 * fps:
            first = rss()
if mode == "step":
    w.write_audio(kit.sound(0, per))
last = rss()
r = w.close()
print(r.frames, r.audio_samples, first, last)
"""


@pytest.mark.parametrize("mode", ["step", "ahead"])
def test_ten_minutes_with_sound_in_flat_memory(tmp_path, mode):
    out = tmp_path / "long.mp4"
    run = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, mode, str(out), str(kit.__file__).rsplit("/", 1)[0]],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    frames, samples, first, last = map(int, run.stdout.split())
    assert (frames, samples) == (600 * FPS, 600 * RATE)
    growth = (last - first) / 2**20
    print(f"{mode}: VmRSS {first / 2**20:.1f} MiB after a minute, {last / 2**20:.1f} MiB at the end")
    assert growth < 12, f"VmRSS grew {growth:.1f} MiB from the first minute to the tenth"
    s = {x["codec_type"]: x for x in streams(out)}
    assert abs(float(s["audio"]["duration"]) - 600) < 1e-3 and abs(float(s["video"]["duration"]) - 600) < 1e-3
    check_interleaved(out)
