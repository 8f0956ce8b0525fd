"""Stop signals during framepipe.render, at random moments right after its first worker is
forked (while the others are being forked): SIGTERM, SIGINT and SIGHUP always stop the render
with the documented exit (SIGTERM and SIGHUP end the process by that signal, Ctrl-C raises
KeyboardInterrupt), and leave nothing behind: no output, no temporary file, no worker process.

Each render runs in its own process, marked by an environment variable that its workers inherit
(forked or spawned), so a worker left running is found by scanning /proc after the render's
process has ended."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

# A render of 4 chunks on 2 workers, a few ms a frame: about a second, so a signal swallowed
# on the way lets it finish (exit 0), which the test sees.
SCRIPT = """
import sys, time
import numpy as np
import framepipe

def frame(i):
    time.sleep(0.004)
    return np.full((48, 64, 3), (i * 5) % 256, np.uint8)

framepipe.render(frame, sys.argv[1], n_frames=160, fps=30, workers=2, chunk_frames=40,
                 start_method=sys.argv[2], preset="ultrafast")
"""


def _marked(marker: bytes) -> list[int]:
    """The live processes whose environment holds the marker."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if marker in f.read():
                    found.append(int(pid))
        except OSError:
            continue  # gone, or not ours
    return found


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _trial(d, sig: int, delay: float, start_method: str) -> tuple[int, str, float]:
    """Run the render in `d`, send `sig` `delay` seconds after its first worker appeared, and
    check that nothing is left. Returns (exit status, stderr, seconds the render took to stop)."""
    out = d / "out.mp4"
    marker = f"FP_SIGNAL_TEST={uuid.uuid4().hex}"
    env = {**os.environ, "FP_SIGNAL_TEST": marker.split("=", 1)[1]}
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(out), start_method],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not _children(proc.pid):
            assert proc.poll() is None, f"the render ended before starting a worker: {proc.stderr.read()!r}"
            assert time.monotonic() < deadline, "no worker started in 120 s"
            time.sleep(0.0003)
        forked = time.monotonic()
        while time.monotonic() - forked < delay:
            pass  # a busy wait: sleeping would overshoot the short delays
        proc.send_signal(sig)
        sent = time.monotonic()
        _, err = proc.communicate(timeout=60)
        stopped = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # A worker stopped by the render is gone at once; give the kernel a moment to reap it.
    left = _marked(marker.encode())
    t = time.monotonic()
    while left and time.monotonic() - t < 5:
        time.sleep(0.05)
        left = _marked(marker.encode())
    assert left == [], f"worker processes left running: {left} (stderr: {err.decode()[-2000:]})"
    files = sorted(p.name for p in d.iterdir())
    assert files == [], f"left behind: {files} (exit {proc.returncode})"
    return proc.returncode, err.decode(errors="replace"), stopped


def test_sigterm_at_random_moments_while_workers_fork(tmp_path):
    """40 SIGTERMs 0-20 ms after the first worker's fork: every one ends the process by
    SIGTERM (before, 12 of 40 were swallowed inside os.fork's hooks and the render went on to
    exit 0), quietly, within seconds, with nothing left behind."""
    rng = random.Random(21)
    for k in range(40):
        d = tmp_path / f"t{k}"
        d.mkdir()
        delay = rng.uniform(0, 0.02)
        code, err, stopped = _trial(d, signal.SIGTERM, delay, "fork")
        assert code == -signal.SIGTERM, (k, delay, code, err[-2000:])
        assert "Traceback" not in err and "Exception ignored" not in err, (k, delay, err[-2000:])
        assert stopped < 10, (k, stopped)


@pytest.mark.parametrize(
    "sig, start_method",
    [(signal.SIGINT, "fork"), (signal.SIGHUP, "fork"), (signal.SIGTERM, "spawn"), (signal.SIGHUP, "spawn")],
)
def test_sigint_and_sighup_and_spawned_workers(tmp_path, sig, start_method):
    """SIGINT raises KeyboardInterrupt in the render's process (its one traceback) and ends it
    by SIGINT; SIGHUP ends it by SIGHUP without a word; either way the workers (forked or
    started afresh) are stopped and nothing is left."""
    rng = random.Random(int(sig) * 10 + len(start_method))
    for k in range(4):
        d = tmp_path / f"t{k}"
        d.mkdir()
        delay = rng.uniform(0, 0.02)
        code, err, _ = _trial(d, sig, delay, start_method)
        assert code == -sig, (k, delay, code, err[-2000:])
        assert "Exception ignored" not in err, err[-2000:]
        if sig == signal.SIGINT:
            assert err.count("Traceback") == 1 and err.rstrip().endswith("KeyboardInterrupt"), err[-2000:]
        else:
            assert "Traceback" not in err, err[-2000:]
