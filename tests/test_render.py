"""Parallel rendering: chunks rendered and encoded by workers (local processes or a real Dask
LocalCluster), joined without re-encoding, equivalent to the serial file."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from fractions import Fraction

import framepipe
import numpy as np
import pytest
from conftest import FFPROBE, check_video, decode_rgb, format_tags, psnr

H, W = 96, 128


def scene(i):
    """A smooth moving scene; frame i is a pure function of i (so workers agree)."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    t = i / 12
    f = np.empty((H, W, 3), np.float32)
    f[..., 0] = 0.5 + 0.4 * np.sin(x / 37 + t)
    f[..., 1] = 0.5 + 0.4 * np.sin(y / 29 - t)
    f[..., 2] = 0.5 + 0.4 * np.cos((x + y) / 61 + t / 2)
    cx, cy = W / 2 + 40 * np.cos(t), H / 2 + 25 * np.sin(t)
    disc = np.clip((12 - np.sqrt((x - cx) ** 2 + (y - cy) ** 2)) / 3, 0, 1)[..., None]
    return f * (1 - disc) + disc * np.array([1.0, 0.9, 0.2], np.float32)


def source(n):
    return np.stack([(np.clip(scene(i), 0, 1) * 255 + 0.5).astype(np.uint8) for i in range(n)])


def frame_info(path):
    """(key_frame, pts_time) of every decoded frame, from ffprobe."""
    import json

    r = subprocess.run(
        [
            FFPROBE,
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "frame=pts_time,key_frame",
            "-of",
            "json",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return [(int(f["key_frame"]), float(f["pts_time"])) for f in json.loads(r.stdout)["frames"]]


def assert_equivalent(parallel, serial, n, fps, chunk_starts):
    check_video(parallel, frames=n, width=W, height=H, fps=fps)
    info = frame_info(parallel)
    times = [t for _, t in info]
    assert times == pytest.approx([i / float(fps) for i in range(n)], abs=1e-6)  # monotonic, exact
    keys = {i for i, (k, _) in enumerate(info) if k == 1}
    assert set(chunk_starts) <= keys, (sorted(keys), chunk_starts)
    src = source(n)
    p_par, p_ser = psnr(decode_rgb(parallel), src), psnr(decode_rgb(serial), src)
    assert p_par >= 35 and abs(p_par - p_ser) <= 0.3, (p_par, p_ser)


@pytest.fixture(scope="module")
def serial_60(tmp_path_factory):
    p = tmp_path_factory.mktemp("serial") / "serial.mp4"
    res = framepipe.render(scene, p, n_frames=60, fps=24, workers=1)
    assert res.frames == 60
    check_video(p, frames=60, width=W, height=H, fps=24)
    return p


START_METHODS = pytest.mark.parametrize("start", ["fork", "spawn"])


@START_METHODS
def test_two_local_workers_match_serial(tmp_path, serial_60, start):
    out = tmp_path / "par.mp4"
    res = framepipe.render(scene, out, n_frames=60, fps=24, workers=2, chunk_frames=16, start_method=start)
    assert (res.frames, res.width, res.height) == (60, W, H)
    assert res.bytes == out.stat().st_size
    assert_equivalent(out, serial_60, 60, 24, chunk_starts=[0, 16, 32, 48])
    assert sorted(os.listdir(tmp_path)) == ["par.mp4"]  # no temporary file left behind


def test_uneven_chunks_and_more_workers_than_chunks(tmp_path, serial_60):
    out = tmp_path / "par.mp4"
    framepipe.render(scene, out, n_frames=60, fps=24, workers=3, chunk_frames=7)
    assert_equivalent(out, serial_60, 60, 24, chunk_starts=list(range(0, 60, 7)))
    out2 = tmp_path / "one_chunk.mp4"
    framepipe.render(scene, out2, n_frames=60, fps=24, workers=4, chunk_frames=100)
    assert_equivalent(out2, serial_60, 60, 24, chunk_starts=[0])


def test_duration_passes_exact_times(tmp_path):
    # make_frame(t): t = i / fps from the integer index; encode round(t * fps) into the frame.
    def by_time(t):
        i = round(t * Fraction(30000, 1001))
        assert abs(t - i * 1001 / 30000) < 1e-12, t
        f = np.zeros((16, 16), np.uint8)
        f[:] = (i * 37) % 200 + 20
        return f

    out = tmp_path / "t.mp4"
    res = framepipe.render(by_time, out, duration=2, fps=Fraction(30000, 1001), workers=2, chunk_frames=20)
    n = round(2 * Fraction(30000, 1001))
    assert res.frames == n == 60
    check_video(out, frames=n, width=16, height=16, fps=Fraction(30000, 1001))
    values = decode_rgb(out)[:, 8, 8, 0].astype(int)
    expect = np.array([(i * 37) % 200 + 20 for i in range(n)])
    assert np.abs(values - expect).max() <= 4


def test_setup_runs_once_per_worker(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()

    def setup():
        (marks / f"{os.getpid()}-{time.time_ns()}").touch()
        return {"base": np.full((16, 16, 3), 100, np.uint8)}

    def make(i, state):
        f = state["base"].copy()
        f[:, :, 0] = i % 256
        return f

    framepipe.render(make, tmp_path / "s.mp4", n_frames=80, fps=30, workers=2, chunk_frames=10, setup=setup)
    calls = os.listdir(marks)
    pids = {c.split("-")[0] for c in calls}
    assert len(calls) == len(pids) <= 2, calls  # once per worker process, not per chunk
    check_video(tmp_path / "s.mp4", frames=80, width=16, height=16)


def test_closures_are_shipped_with_cloudpickle(tmp_path):
    colour = np.array([10, 200, 30], np.uint8)
    out = tmp_path / "c.mp4"
    framepipe.render(lambda i: np.broadcast_to(colour, (32, 32, 3)), out, n_frames=20, workers=2, chunk_frames=5)
    decoded = decode_rgb(out)
    assert np.abs(decoded.astype(int) - colour).max() <= 3


def test_exception_in_make_frame_names_frame_and_worker_traceback(tmp_path):
    def boom(i):
        if i == 37:
            raise ValueError("bad data at 37")
        return np.zeros((16, 16, 3), np.uint8)

    out = tmp_path / "x.mp4"
    with pytest.raises(framepipe.RenderError) as e:
        framepipe.render(boom, out, n_frames=60, workers=2, chunk_frames=10)
    assert e.value.frame == 37
    msg = str(e.value)
    assert "frame 37" in msg and "bad data at 37" in msg and "in boom" in msg  # worker traceback
    assert isinstance(e.value.__cause__, ValueError)
    assert os.listdir(tmp_path) == []  # no partial or temporary file


def test_serial_exception_names_frame(tmp_path):
    def boom(i):
        if i == 5:
            raise KeyError("k")
        return np.zeros((16, 16, 3), np.uint8)

    with pytest.raises(framepipe.RenderError, match="frame 5"):
        framepipe.render(boom, tmp_path / "x.mp4", n_frames=10, workers=1)
    assert os.listdir(tmp_path) == []


@START_METHODS
def test_worker_death_is_retried_once(tmp_path, start):
    flag = tmp_path / "died-once"

    def flaky(i):
        if i == 23 and not flag.exists():
            flag.touch()
            os._exit(3)  # the worker process dies mid-chunk, once
        return (np.clip(scene(i), 0, 1) * 255).astype(np.uint8)

    out = tmp_path / "retry.mp4"
    res = framepipe.render(flaky, out, n_frames=40, fps=24, workers=2, chunk_frames=10, start_method=start)
    assert flag.exists() and res.frames == 40
    check_video(out, frames=40, width=W, height=H, fps=24)
    assert psnr(decode_rgb(out), source(40)) >= 35


@START_METHODS
def test_worker_that_always_dies_raises_clearly(tmp_path, start):
    def deadly(i):
        if i == 12:
            os.kill(os.getpid(), signal.SIGKILL)
        return np.zeros((16, 16, 3), np.uint8)

    out = tmp_path / "dead.mp4"
    with pytest.raises(framepipe.RenderError, match=r"died twice.*frames 10\.\.19"):
        framepipe.render(deadly, out, n_frames=30, workers=2, chunk_frames=10, start_method=start)
    assert os.listdir(tmp_path) == []


@START_METHODS
def test_ctrl_c_stops_all_workers_promptly(tmp_path, start):
    out = tmp_path / "int.mp4"
    pids = tmp_path / "pids"
    pids.mkdir()
    script = textwrap.dedent(f"""
        import os, time, numpy as np, framepipe
        def slow(i):
            open(os.path.join({str(pids)!r}, str(os.getpid())), "w").close()
            time.sleep(0.2)
            return np.zeros((16, 16, 3), np.uint8)
        framepipe.render(slow, {str(out)!r}, n_frames=400, workers=2, chunk_frames=20, start_method={start!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while len(os.listdir(pids)) < 2 and time.time() < deadline:
        time.sleep(0.1)
    assert len(os.listdir(pids)) >= 2, "workers did not start"
    proc.send_signal(signal.SIGINT)
    t0 = time.time()
    _, err = proc.communicate(timeout=30)
    stopped_after = time.time() - t0
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    assert stopped_after < 10, stopped_after
    time.sleep(0.5)
    alive = [
        p
        for p in os.listdir(pids)
        if os.path.exists(f"/proc/{p}") and "zombie" not in open(f"/proc/{p}/status").read().lower()
    ]
    assert alive == [], f"worker processes still running: {alive}"
    assert not out.exists() and [f for f in os.listdir(tmp_path) if f.endswith(".part")] == []


def test_bad_arguments(tmp_path):
    f = lambda i: np.zeros((8, 8), np.uint8)  # noqa: E731
    with pytest.raises(framepipe.ParameterError, match="exactly one"):
        framepipe.render(f, tmp_path / "a.mp4", n_frames=3, duration=1)
    with pytest.raises(framepipe.ParameterError, match="exactly one"):
        framepipe.render(f, tmp_path / "a.mp4")
    with pytest.raises(framepipe.ParameterError, match="workers"):
        framepipe.render(f, tmp_path / "a.mp4", n_frames=3, workers=0)
    with pytest.raises(framepipe.ParameterError, match="n_frames"):
        framepipe.render(f, tmp_path / "a.mp4", n_frames=0)


@pytest.mark.parametrize("how", ["local", "executor"])
def test_parent_holds_at_most_workers_plus_one_chunks(tmp_path, how):
    """While chunk 0 is slow, the other worker may finish chunks 1 and 2 (held, waiting to be
    appended after chunk 0) but must not start chunk 3: at most workers + 1 = 3 chunks are in
    flight or held. Each frame leaves a marker; chunk 0's last frame waits, then checks."""
    from concurrent.futures import ThreadPoolExecutor

    chunk = 4

    def frame(i):
        (tmp_path / f"f{i}").touch()
        if i == chunk - 1:
            deadline = time.time() + 20
            while not (tmp_path / f"f{3 * chunk - 1}").exists() and time.time() < deadline:
                time.sleep(0.02)  # let the other worker run ahead as far as it is allowed
            time.sleep(0.5)
            ahead = sorted(int(f.name[1:]) for f in tmp_path.glob("f*") if int(f.name[1:]) >= 3 * chunk)
            assert ahead == [], f"frames of chunk 3 or later started while chunk 0 was pending: {ahead}"
        return np.zeros((16, 16, 3), np.uint8)

    out = tmp_path / "m.mp4"
    if how == "local":
        res = framepipe.render(frame, out, n_frames=8 * chunk, workers=2, chunk_frames=chunk)
    else:
        with ThreadPoolExecutor(2) as ex:
            res = framepipe.render(frame, out, n_frames=8 * chunk, executor=ex, chunk_frames=chunk)
    assert res.frames == 8 * chunk
    check_video(out, frames=8 * chunk, width=16, height=16, fps=30)


def test_default_chunk_frames():
    import importlib

    f = importlib.import_module("framepipe._render.plan").default_chunk_frames
    assert f(300, 2, Fraction(30)) == 75  # 4 chunks of >= 2 s: every worker busy, few keyframes
    assert f(60, 2, Fraction(30)) == 30  # short renders: one chunk per worker
    assert f(100_000, 16, Fraction(30)) == 600  # the cap that bounds the parent's memory
    assert f(10, 4, Fraction(30)) == 3


def test_dask_local_cluster_matches_serial(tmp_path, serial_60, dask_client):
    assert len(dask_client.scheduler_info()["workers"]) == 2
    out = tmp_path / "dask.mp4"
    res = framepipe.render(
        scene, out, n_frames=60, fps=24, executor=dask_client.get_executor(), workers=2, chunk_frames=16
    )
    assert res.frames == 60
    assert_equivalent(out, serial_60, 60, 24, chunk_starts=[0, 16, 32, 48])


def test_dask_error_names_frame(tmp_path, dask_client):
    def boom(i):
        if i == 9:
            raise RuntimeError("dask boom")
        return np.zeros((16, 16, 3), np.uint8)

    with pytest.raises(framepipe.RenderError, match="frame 9.*dask boom"):
        framepipe.render(
            boom, tmp_path / "d.mp4", n_frames=20, executor=dask_client.get_executor(), workers=2, chunk_frames=5
        )
    assert os.listdir(tmp_path) == []


def test_dask_client_itself_as_executor(tmp_path, serial_60, dask_client):
    # Passing the Client (not client.get_executor()) is what people write first.
    out = tmp_path / "client.mp4"
    res = framepipe.render(scene, out, n_frames=60, fps=24, executor=dask_client, chunk_frames=16)
    assert res.frames == 60
    assert_equivalent(out, serial_60, 60, 24, chunk_starts=[0, 16, 32, 48])


def test_executor_of_the_wrong_kind(tmp_path):
    with pytest.raises(framepipe.ParameterError, match="executor must be a concurrent.futures.Executor.*got str"):
        framepipe.render(scene, tmp_path / "x.mp4", n_frames=4, executor="dask")
    assert os.listdir(tmp_path) == []


def unpicklable_scene():
    lock = threading.Lock()  # a lock cannot be pickled: neither can a closure over one

    def frame(i):
        with lock:
            return scene(i)

    return frame


def test_unpicklable_make_frame_default_workers_renders_here(tmp_path, serial_60, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)  # the default would be 2 workers on any machine
    out = tmp_path / "here.mp4"
    with pytest.warns(framepipe.FramepipeWarning, match=r"cannot be sent to worker processes \(TypeError.*lock"):
        res = framepipe.render(unpicklable_scene(), out, n_frames=60, fps=24)
    assert res.frames == 60
    assert out.read_bytes() == serial_60.read_bytes()


def test_unpicklable_make_frame_explicit_workers_is_an_error(tmp_path):
    with pytest.raises(
        framepipe.ParameterError, match=r"picklable.*2 worker processes.*TypeError.*lock.*pass workers=1"
    ):
        framepipe.render(unpicklable_scene(), tmp_path / "w.mp4", n_frames=60, fps=24, workers=2)
    assert os.listdir(tmp_path) == []


def make_line_figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3.2, 2.4), dpi=50)
    ax.set_xlim(0, 2 * np.pi)
    ax.set_ylim(-1.2, 1.2)
    x = np.linspace(0, 2 * np.pi, 200)
    (line,) = ax.plot(x, np.sin(x), lw=3)
    return fig, ax, line, x


def update_line(state, phase):
    fig, ax, line, x = state
    line.set_ydata(np.sin(x + phase))
    ax.set_title(f"phase {phase:.2f}")


def test_matplotlib_figures_in_parallel_match_serial(tmp_path):
    from framepipe.matplotlib import render as render_figures

    phases = list(np.linspace(0, 2 * np.pi, 40))
    serial, par = tmp_path / "s.mp4", tmp_path / "p.mp4"
    render_figures(make_line_figure, update_line, phases, serial, fps=20, workers=1)
    render_figures(make_line_figure, update_line, phases, par, fps=20, workers=2, chunk_frames=20)
    for p in (serial, par):
        check_video(p, frames=40, width=160, height=120, fps=20)
    # The figures themselves, drawn directly in this process, are the source.
    state = make_line_figure()
    src = []
    for ph in phases:
        update_line(state, ph)
        state[0].canvas.draw()
        src.append(np.asarray(state[0].canvas.buffer_rgba())[..., :3].copy())
    src = np.stack(src)
    q_par, q_ser = psnr(decode_rgb(par), src), psnr(decode_rgb(serial), src)
    assert q_par >= 30 and abs(q_par - q_ser) <= 0.3, (q_par, q_ser)


@pytest.mark.parametrize("workers", [1, 2])
def test_gif_output_renders_in_parallel(tmp_path, workers):
    from PIL import Image

    out = tmp_path / "anim.gif"
    res = framepipe.render(scene, out, n_frames=24, fps=12, workers=workers, chunk_frames=8)
    assert (res.frames, res.width, res.height, res.format) == (24, W, H, "gif")
    with Image.open(out) as im:
        assert im.format == "GIF" and im.size == (W, H)
        durations = []
        for k in range(im.n_frames):
            im.seek(k)
            durations.append(im.info["duration"])
    assert sum(durations) == pytest.approx(24 / 12 * 1000, abs=10)  # exact total duration (ms)
    assert [f for f in os.listdir(tmp_path)] == ["anim.gif"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is used on Linux only")
def test_fork_only_where_safe(tmp_path):
    """Workers are forked only with no other Python thread running and no GUI backend in use;
    otherwise they start as fresh interpreters. Checked in a fresh interpreter, since this test
    process may be running threads (Dask's client does)."""
    script = textwrap.dedent("""
        import importlib, threading
        import framepipe, matplotlib
        r = importlib.import_module("framepipe._render.pool")
        assert r.fork_is_safe()
        stop = threading.Event()
        t = threading.Thread(target=stop.wait)
        t.start()
        assert not r.fork_is_safe()
        stop.set(); t.join()
        # join() returns when the thread's code has finished (Python's, or the kernel's wake-up
        # of pthread_join, which comes before the thread is released); its task leaves
        # /proc/self/task a moment later, longer on a loaded machine: wait for that, not a guess.
        import os, time
        def settled():
            deadline = time.monotonic() + 30
            while not r.fork_is_safe() and time.monotonic() < deadline:
                time.sleep(0.01)
            return r.fork_is_safe()
        assert settled(), os.listdir("/proc/self/task")
        # A native thread that is not OpenBLAS's (here: an open writer's encoder thread).
        import numpy as np
        w = framepipe.VideoWriter(None, 24)
        w.write(np.zeros((16, 16, 3), np.uint8))
        assert not r.fork_is_safe()
        w.close()
        assert settled(), os.listdir("/proc/self/task")
        import matplotlib.pyplot  # the backend matters once pyplot is in use
        matplotlib.rcParams._get_backend_or_none = lambda: "QtAgg"
        assert not r.fork_is_safe()
        matplotlib.rcParams._get_backend_or_none = lambda: "agg"
        assert r.fork_is_safe()
        try:
            framepipe.render(lambda i: None, "x.mp4", n_frames=2, workers=2, start_method="forkserver")
        except framepipe.ParameterError as e:
            assert "start_method" in str(e)
        else:
            raise AssertionError("no error")
        print("ok")
    """)
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is used on Linux only")
def test_fork_survives_progress_bars_sigchld_and_keeps_prints(tmp_path):
    """A tqdm bar (progress=True) does not turn forking off for this or later renders; workers'
    prints reach the parent's stdout even when it is a pipe (block-buffered); a parent that
    ignores SIGCHLD (so its children are reaped by the kernel) still completes."""
    script = textwrap.dedent(f"""
        import os, signal, numpy as np, framepipe
        framepipe._inherited_mark = True  # a forked worker has it, a spawned one does not
        def frame(i):
            kind = "fork" if getattr(framepipe, "_inherited_mark", False) else "spawn"
            open(os.path.join({str(tmp_path)!r}, f"{{RUN}}-{{kind}}-{{i}}"), "w").close()
            print(f"printed by frame {{i}}")
            return np.zeros((16, 16, 3), np.uint8)
        def run(label, **kw):
            global RUN
            RUN = label
            framepipe.render(frame, os.path.join({str(tmp_path)!r}, label + ".mp4"), n_frames=4, workers=2,
                             chunk_frames=2, **kw)
        run("bar", progress=True)
        run("after", progress=False)
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)
        run("nochld_fork", start_method="fork")
        run("nochld_spawn", start_method="spawn")
    """)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    seen = {}
    for f in os.listdir(tmp_path):
        if f.count("-") == 2:
            label, kind, _ = f.split("-")
            seen.setdefault(label, set()).add(kind)
    assert seen == {"bar": {"fork"}, "after": {"fork"}, "nochld_fork": {"fork"}, "nochld_spawn": {"spawn"}}, seen
    assert p.stdout.count("printed by frame") == 4 * 4, p.stdout
    assert "Warning" not in p.stderr, p.stderr  # e.g. runpy's, if the package imported _worker
    for label in seen:
        check_video(tmp_path / f"{label}.mp4", frames=4, width=16, height=16, fps=30)


def test_forked_workers_get_fresh_random_state(tmp_path):
    """numpy's global RNG is reseeded in each forked worker, as in a fresh process (otherwise
    every chunk would draw the same 'random' numbers)."""

    def noisy(i):
        np.random.random()  # advance the state like a frame would
        value = np.random.randint(0, 2**31)
        (tmp_path / f"{i}-{os.getpid()}-{value}").touch()
        return np.zeros((16, 16, 3), np.uint8)

    framepipe.render(noisy, tmp_path / "n.mp4", n_frames=4, workers=2, chunk_frames=2, start_method="fork")
    names = [n.split("-") for n in os.listdir(tmp_path) if n.count("-") == 2]
    first_of_chunk = {int(i): v for i, _, v in names if int(i) in (0, 2)}
    assert len(first_of_chunk) == 2 and first_of_chunk[0] != first_of_chunk[2]


@pytest.mark.parametrize("workers", [1, 2])
def test_metadata_in_rendered_file(tmp_path, workers):
    out = tmp_path / "md.mp4"
    framepipe.render(
        scene,
        out,
        n_frames=20,
        fps=24,
        workers=workers,
        chunk_frames=10,
        metadata={"title": "rendered", "comment": f"{workers} workers"},
    )
    check_video(out, frames=20, width=W, height=H, fps=24)
    tags = format_tags(out)
    assert tags["title"] == "rendered" and tags["comment"] == f"{workers} workers"
    assert tags["encoder"].startswith("framepipe ")


def test_setup_state_is_per_thread_with_threaded_executors(tmp_path):
    """Chunks running at once in threads of one process (a ThreadPoolExecutor, a Dask worker
    with several threads) each get their own setup() state: a shared buffer would mix frames."""
    from concurrent.futures import ThreadPoolExecutor

    def setup():
        return np.empty((H, W, 3), np.uint8)

    def fill(i, buf):
        buf[...] = (np.clip(scene(i), 0, 1) * 255).astype(np.uint8)
        time.sleep(0.002)  # let the other thread run between filling and encoding
        return buf

    out = tmp_path / "t.mp4"
    with ThreadPoolExecutor(2) as ex:
        framepipe.render(fill, out, n_frames=40, fps=24, executor=ex, chunk_frames=5, setup=setup, crf=12)
    decoded, src = decode_rgb(out), source(40)
    worst = min(psnr(decoded[i : i + 1], src[i : i + 1]) for i in range(40))
    assert worst >= 35, worst


def test_option_names_are_the_writers():
    import typing

    from framepipe._options import OPTION_NAMES

    # VideoWriter takes the options as **options typed by EncodeOptions, whose keys are the table's.
    assert set(OPTION_NAMES) == set(typing.get_type_hints(framepipe.EncodeOptions))


def test_options_and_durations_are_checked_before_rendering(tmp_path):
    calls = tmp_path / "calls"
    calls.mkdir()

    def f(i):
        (calls / str(i)).touch()
        return np.zeros((16, 16, 3), np.uint8)

    for bad, cls, match in [
        (dict(crf=99), framepipe.ParameterError, "crf"),
        (dict(colors=16), framepipe.ParameterError, "GIF output only"),
        (dict(bogus=1), TypeError, "render\\(\\) got an unexpected keyword argument 'bogus'; "),
        (dict(worker=2), TypeError, "'worker' \\(did you mean 'workers'\\?\\).* resume, crf, .* durable, .* metadata"),
    ]:
        with pytest.raises(cls, match=match):
            framepipe.render(f, tmp_path / "o.mp4", n_frames=20, workers=2, **bad)
    for duration, match in [
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        (True, "duration"),
        (0.01, "less than one frame"),
        (-1, "positive"),
    ]:
        with pytest.raises(framepipe.ParameterError, match=match):
            framepipe.render(f, tmp_path / "o.mp4", duration=duration, workers=2)
    with pytest.raises(framepipe.UnsupportedError, match=r"\.webm"):
        framepipe.render(f, tmp_path / "o.webm", n_frames=3, workers=2)
    assert os.listdir(calls) == [] and os.listdir(tmp_path) == ["calls"]


@pytest.mark.parametrize("workers", [1, 2])
def test_results_report_the_files_size_for_odd_frames(tmp_path, workers):
    out = tmp_path / "odd.mp4"
    with pytest.warns(framepipe.FramepipeWarning, match="odd") if workers == 1 else contextlib.nullcontext():
        res = framepipe.render(
            lambda i: np.zeros((51, 71, 3), np.uint8), out, n_frames=4, workers=workers, chunk_frames=2
        )
    assert (res.width, res.height) == (72, 52)
    check_video(out, frames=4, width=72, height=52, fps=30)
    with pytest.warns(framepipe.FramepipeWarning, match="odd"):
        res = framepipe.write_video(tmp_path / "w.mp4", np.zeros((2, 51, 71, 3), np.uint8))
    assert (res.width, res.height) == (72, 52)


def test_gif_chunks_stay_short_so_the_parent_holds_little(tmp_path, monkeypatch):
    import importlib

    plan = importlib.import_module("framepipe._render.plan")
    sizes = []
    real = plan.chunks

    def spy(*args):
        chunks = real(*args)
        sizes.extend(e - s for _, s, e in chunks)
        return chunks

    monkeypatch.setattr(plan, "chunks", spy)
    framepipe.render(lambda i: np.full((8, 8, 3), i, np.uint8), tmp_path / "g.gif", n_frames=200, workers=2)
    assert sizes and max(sizes) <= 32 and sum(sizes) == 200


def mixed_frames(i):
    """Frames 0-99 are RGB uint8, later ones RGBA float32: a VideoWriter refuses frame 100."""
    if i < 100:
        return np.zeros((16, 16, 3), np.uint8)
    return np.ones((16, 16, 4), np.float32)


@pytest.mark.parametrize("workers, chunk", [(1, None), (2, 10), (2, 30), (2, 7)])
@pytest.mark.parametrize("ext", ["mp4", "gif"])
def test_frames_unlike_frame_0_are_refused_as_by_one_writer(tmp_path, workers, chunk, ext):
    out = tmp_path / f"x.{ext}"
    with pytest.raises(framepipe.ParameterError) as e:
        framepipe.render(mixed_frames, out, n_frames=140, workers=workers, chunk_frames=chunk)
    msg = str(e.value)
    assert msg.startswith("frame 100 has shape (16, 16, 4), but frame 0 had shape (16, 16, 3)"), msg
    assert os.listdir(tmp_path) == []  # no partial or temporary file
    # The reference: one VideoWriter, the same rule, the same first frame refused.
    w = framepipe.VideoWriter(tmp_path / f"ref.{ext}", fps=30)
    for i in range(100):
        w.write(mixed_frames(i))
    with pytest.raises(framepipe.ParameterError, match=r"^frame 100 has shape \(16, 16, 4\), but frame 0"):
        w.write(mixed_frames(100))
    w.close()


def nan_at_150(i):
    f = np.full((16, 16, 3), 0.5, np.float32)
    if i == 150:
        f[2, 3, 1] = np.nan
    return f


@pytest.mark.parametrize("workers", [1, 2])
def test_a_refused_frame_is_named_once_with_its_number_in_the_video(tmp_path, workers):
    with pytest.raises(framepipe.ParameterError) as e:
        framepipe.render(nan_at_150, tmp_path / "x.mp4", n_frames=200, workers=workers, chunk_frames=100)
    msg = str(e.value)
    assert msg.startswith("frame 150: contains NaN at row 2, column 3, channel 1"), msg
    assert "frame 50" not in msg and "rendering frame" not in msg, msg
    assert os.listdir(tmp_path) == []


def test_same_chunks_same_file_whatever_the_number_of_workers(tmp_path):
    """With chunk_frames given, 2 and 3 workers (and a thread pool) make the same bytes: each
    chunk is encoded alone with the same settings."""
    from concurrent.futures import ThreadPoolExecutor

    def frame(i):
        f = np.zeros((48, 64, 3), np.uint8)
        f[:, (i * 3) % 64] = 255
        f[(i * 5) % 48, :] = (0, 128, 255)
        return f

    outs = []
    for k, kw in enumerate([{"workers": 2}, {"workers": 3}]):
        out = tmp_path / f"w{k}.mp4"
        framepipe.render(frame, out, n_frames=150, fps=30, chunk_frames=40, **kw)
        outs.append(out.read_bytes())
    with ThreadPoolExecutor(2) as ex:
        out = tmp_path / "pool.mp4"
        framepipe.render(frame, out, n_frames=150, fps=30, chunk_frames=40, executor=ex)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2]
    check_video(tmp_path / "w0.mp4", frames=150, width=64, height=48, fps=30)


def test_bool_frames_in_a_parallel_gif_are_white(tmp_path):
    """True pixels are white however the GIF's frames were rendered (they once came out black
    from worker processes, which dropped the frames' bool kind)."""
    from PIL import Image

    def frame(i):
        f = np.zeros((16, 24), bool)
        f[:, : 4 + i] = True
        return f

    out = tmp_path / "bool.gif"
    framepipe.render(frame, out, n_frames=6, fps=10, workers=2, chunk_frames=3)
    with Image.open(out) as im:
        im.seek(5)
        px = np.asarray(im.convert("RGB"))
    assert (px[:, :9] == 255).all() and (px[:, 9:] == 0).all()


def test_render_output_gets_ordinary_permissions_and_a_clear_error_for_a_missing_folder(tmp_path):
    def frame(i):
        return np.full((16, 16, 3), i * 20, np.uint8)

    out = tmp_path / "perm.mp4"
    old = os.umask(0o022)
    try:
        framepipe.render(frame, out, n_frames=4, fps=10, workers=2, chunk_frames=2)
    finally:
        os.umask(old)
    assert (out.stat().st_mode & 0o777) == 0o644
    missing = tmp_path / "no-such-dir" / "x.mp4"
    with pytest.raises(framepipe.OutputError, match="does not exist") as e:
        framepipe.render(frame, missing, n_frames=4, fps=10, workers=2)
    assert "no-such-dir" in str(e.value) and ".part" not in str(e.value)


def scene_u8(i):
    return (np.clip(scene(i), 0, 1) * 255).astype(np.uint8)


def test_workers_1_resume_renders_in_this_process_chunk_by_chunk(tmp_path):
    """render(workers=1, resume=True) renders here, with a make_frame that cannot be pickled
    (it writes to an open file): chunks are kept as with more workers, a resumed render renders
    only what is missing, and the file is the one workers=2 makes with the same chunks. (Before,
    it sent make_frame to a worker process and failed telling the user to pass workers=1.)"""
    log = open(tmp_path / "log.txt", "w")  # noqa: SIM115 - the point: make_frame holds an open file
    stop_at = [25]

    def make_frame(i):
        if i == stop_at[0]:
            raise RuntimeError("interrupted")
        log.write(f"{i} {os.getpid()}\n")
        log.flush()
        return scene_u8(i)

    out = tmp_path / "one.mp4"
    with pytest.raises(framepipe.RenderError, match="frame 25"):
        framepipe.render(make_frame, out, n_frames=60, fps=24, workers=1, chunk_frames=10, resume=True)
    parts = tmp_path / "one.mp4.parts"
    kept = sorted(p.name for p in parts.glob("chunk-*.mp4"))
    assert kept == ["chunk-000000.mp4", "chunk-000001.mp4"]
    src = source(20)
    for c in (0, 1):
        chunk = parts / f"chunk-00000{c}.mp4"
        check_video(chunk, frames=10, width=W, height=H, fps=24)
        assert psnr(decode_rgb(chunk), src[c * 10 : c * 10 + 10]) >= 35
    stop_at[0] = -1
    res = framepipe.render(make_frame, out, n_frames=60, fps=24, workers=1, chunk_frames=10, resume=True)
    log.close()
    calls = [line.split() for line in (tmp_path / "log.txt").read_text().splitlines()]
    assert {int(pid) for _, pid in calls} == {os.getpid()}  # all in this process
    assert [int(i) for i, _ in calls] == list(range(25)) + list(range(20, 60))  # chunks 0, 1 kept
    assert res.frames == 60 and not parts.exists()
    check_video(out, frames=60, width=W, height=H, fps=24)
    assert psnr(decode_rgb(out), source(60)) >= 35
    two = tmp_path / "two.mp4"
    framepipe.render(scene_u8, two, n_frames=60, fps=24, workers=2, chunk_frames=10)
    assert out.read_bytes() == two.read_bytes()


def test_resume_with_other_workers_keeps_the_first_plan_and_says_so(tmp_path):
    """With the default chunk_frames the plan follows the number of workers (n=120 at 24 fps:
    60-frame chunks for 1 worker, 40 for 3); a render resumed with another number keeps the
    first plan, warns that it does, and makes the file the first render would have made."""
    from framepipe._render import plan as _render_plan

    assert _render_plan.chunks(120, 1, Fraction(24), None, False) != _render_plan.chunks(
        120, 3, Fraction(24), None, False
    )

    def failing(i):
        if i == 70:
            raise RuntimeError("interrupted")
        return scene_u8(i)

    out = tmp_path / "plan.mp4"
    with pytest.raises(framepipe.RenderError):
        framepipe.render(failing, out, n_frames=120, fps=24, workers=1, resume=True)
    assert [p.name for p in (tmp_path / "plan.mp4.parts").glob("chunk-*.mp4")] == ["chunk-000000.mp4"]
    with pytest.warns(framepipe.FramepipeWarning, match=r"plan of the render that made them \(2 chunks of 60 frames"):
        framepipe.render(scene_u8, out, n_frames=120, fps=24, workers=3, resume=True)
    same = tmp_path / "same.mp4"
    framepipe.render(scene_u8, same, n_frames=120, fps=24, workers=2, chunk_frames=60)
    assert out.read_bytes() == same.read_bytes()
    check_video(out, frames=120, width=W, height=H, fps=24)
    # chunk_frames given: the same plan for any workers, nothing to say
    with pytest.raises(framepipe.RenderError):
        framepipe.render(failing, out, n_frames=120, fps=24, workers=1, chunk_frames=60, resume=True)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", framepipe.FramepipeWarning)
        framepipe.render(scene_u8, out, n_frames=120, fps=24, workers=3, chunk_frames=60, resume=True)
    assert out.read_bytes() == same.read_bytes()


@pytest.mark.parametrize("resume", [False, True])
def test_output_path_is_checked_before_anything_is_rendered(tmp_path, resume):
    """A folder, a name ending in '/' and a missing folder are refused naming the path as
    given, before make_frame is called once (before, a folder was found out after rendering
    everything, naming the hidden temporary, and with a trailing '/' the temporary went into
    the parent folder)."""
    calls = []

    def frame(i):
        calls.append(i)
        return np.zeros((16, 16, 3), np.uint8)

    (tmp_path / "adir").mkdir()
    cases = [
        (str(tmp_path / "adir"), "is a directory"),
        (str(tmp_path / "adir") + "/", "ending in '/'"),
        (str(tmp_path / "new") + "/", "ending in '/'"),
        (str(tmp_path / "missing" / "x.mp4"), "does not exist"),
    ]
    for path, why in cases:
        with pytest.raises(framepipe.OutputError, match=why) as e:
            framepipe.render(frame, path, n_frames=4, fps=10, workers=1, chunk_frames=2, resume=resume)
        assert repr(path) in str(e.value)
    assert calls == []
    assert sorted(os.listdir(tmp_path)) == ["adir"] and os.listdir(tmp_path / "adir") == []


RENDER_WHEN_TOLD = """
import os, sys, time, numpy as np, framepipe
def frame(i):
    while not os.path.exists(sys.argv[3]):  # frames wait for the test's word
        time.sleep(0.01)
    return np.full((32, 32, 3), i * 7 % 256, np.uint8)
print("started", flush=True)
framepipe.render(frame, sys.argv[1], n_frames=int(sys.argv[2]), fps=10, workers=1)
"""


def _temporaries(d):
    return sorted(p for p in os.listdir(d) if p.endswith((".fp-tmp", ".part")))


def _render_temporaries(d):
    """render's own temporaries, not those of the engine's writer into one of them
    (``..NAME.ID.fp-tmp.ID.fp-tmp``, until its first fragment is renamed over render's)."""
    return [p for p in _temporaries(d) if not p.startswith("..")]


def test_a_killed_renders_temporary_is_removed_by_the_next_a_live_ones_is_not(tmp_path):
    """A render killed by SIGKILL leaves its locked temporary; the next render of that output
    removes it (its lock is free), while the temporary of a render still running (locked) is
    left alone and that render finishes into place."""
    out = tmp_path / "out.mp4"
    go = tmp_path.parent / f"{tmp_path.name}-go"

    procs = []

    def start(n):
        p = subprocess.Popen(
            [sys.executable, "-c", RENDER_WHEN_TOLD, str(out), str(n), str(go)], stdout=subprocess.PIPE, text=True
        )
        procs.append(p)
        assert p.stdout.readline().strip() == "started"
        deadline = time.time() + 60
        while len(_render_temporaries(tmp_path)) < start.count + 1:
            assert time.time() < deadline and p.poll() is None
            time.sleep(0.02)
        start.count += 1
        return p

    start.count = 0
    try:
        _killed_and_live(tmp_path, out, go, start)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
            p.stdout.close()
        go.unlink(missing_ok=True)


def _killed_and_live(tmp_path, out, go, start):
    live = start(40)  # waits for `go`
    (live_tmp,) = _render_temporaries(tmp_path)
    # With its engine writer's temporary (``.`` + live_tmp + ...), made before the first frame
    # but after render's own: on a busy machine it can come a moment later (a run read the
    # folder in between), so wait for it.
    deadline = time.monotonic() + 60
    while not any(t.startswith("." + live_tmp) for t in _temporaries(tmp_path)):
        assert time.monotonic() < deadline, _temporaries(tmp_path)
        time.sleep(0.01)
    live_all = _temporaries(tmp_path)
    killed = start(10)  # its sweep leaves the live render's temporaries alone
    killed.kill()
    killed.wait()
    stale = [t for t in _render_temporaries(tmp_path) if t != live_tmp]
    assert len(stale) == 1 and stale[0].startswith(".out.mp4.") and stale[0].endswith(".fp-tmp"), stale
    assert set(live_all) <= set(_temporaries(tmp_path))
    res = framepipe.render(scene_u8, out, n_frames=12, fps=24, workers=1)
    assert res.frames == 12
    assert _temporaries(tmp_path) == live_all  # the stale ones are gone, the live ones kept
    check_video(out, frames=12, width=W, height=H, fps=24)
    go.touch()
    assert live.wait(timeout=120) == 0
    assert _temporaries(tmp_path) == []
    check_video(out, frames=40, width=32, height=32, fps=10)  # the live render finished into place
    assert sorted(os.listdir(tmp_path)) == ["out.mp4"]


def test_absurd_frame_counts_are_refused_with_the_count(tmp_path):
    with pytest.raises(
        framepipe.ParameterError, match=r"duration=1e\+300 s at 30 fps makes 3e\+301 frames.*2147483647"
    ):
        framepipe.render(scene_u8, tmp_path / "x.mp4", duration=1e300, fps=30)
    with pytest.raises(framepipe.ParameterError, match=r"n_frames=2147483648 makes 2\.14748e\+09 frames"):
        framepipe.render(scene_u8, tmp_path / "x.mp4", n_frames=2**31, fps=30)
    assert os.listdir(tmp_path) == []


def test_render_is_a_function_not_a_module():
    """``framepipe.render`` is the function; the machinery is ``framepipe._render``. ``import
    framepipe.render`` finds no module (before, it silently gave the function), whatever was
    imported first. In a fresh interpreter: this one has imported everything."""
    script = textwrap.dedent("""
        import importlib, sys, types
        import framepipe
        from framepipe import render
        assert render is framepipe.render and callable(render) and not isinstance(render, types.ModuleType)
        assert render.__module__ == "framepipe._render.api"
        for how in ("import framepipe.render as r", "import framepipe.render"):
            try:
                exec(how)
            except ModuleNotFoundError as e:
                assert e.name == "framepipe.render", e.name
            else:
                raise AssertionError(how + " worked")
        assert "framepipe.render" not in sys.modules
        assert framepipe.render is render  # a failed import leaves the function in place
        assert isinstance(importlib.import_module("framepipe._render"), types.ModuleType)
        print("ok")
    """)
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr
