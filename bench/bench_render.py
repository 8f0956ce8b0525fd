"""Benchmark for parallel rendering (framepipe.render): a matplotlib animation that cannot be
blitted (ax.clear() + contourf of a moving field + scatter, every frame), 640x480, rendered
serially, with local worker processes, and through a Dask LocalCluster, in one run, alternating.

    .venv/bin/python bench/bench_render.py                  # 300 frames, workers 1/2 + Dask 2, 4, 8
    .venv/bin/python bench/bench_render.py --quick          # a smoke run

Each configuration runs in a fresh subprocess (so worker start-up and imports are counted) and
reports wall time, speed-up over serial, bytes and PSNR of the decoded file against the serial
file's decode (they must be equivalent).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time

RUN = r"""
import json, os, sys, time
import numpy as np
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import framepipe

cfg = json.loads(sys.argv[1])
if cfg.get("one_core"):
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # this process and its threads: one core

def setup():
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
    y, x = np.mgrid[-2:2:120j, -3:3:160j]
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(200, 2))
    return fig, ax, x, y, pts

def make_frame(i, state):
    fig, ax, x, y, pts = state
    t = i / 30
    ax.clear()  # no blitting possible: everything is redrawn
    z = np.sin(x * 1.5 + t) * np.cos(y * 2 - 0.7 * t) + 0.3 * np.sin(3 * (x + y) + 2 * t)
    ax.contourf(x, y, z, levels=14, cmap="viridis")
    p = pts * (1 + 0.2 * np.sin(t + pts[:, :1]))
    ax.scatter(p[:, 0], p[:, 1], s=12, c="white", edgecolors="black", linewidths=0.5)
    ax.set_title(f"t = {t:5.2f} s")
    ax.set_xlim(-3, 3)
    ax.set_ylim(-2, 2)
    return fig

kw = dict(n_frames=cfg["frames"], fps=30, setup=setup, progress=False)
if cfg["chunk"]:
    kw["chunk_frames"] = cfg["chunk"]
t0 = time.perf_counter()
if cfg["mode"] == "dask":
    from distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=cfg["workers"], threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=50)
    client = Client(cluster)
    t_cluster = time.perf_counter() - t0
    res = framepipe.render(make_frame, cfg["out"], executor=client.get_executor(), workers=cfg["workers"], **kw)
    client.close(); cluster.close()
else:
    t_cluster = 0.0
    if cfg.get("start"):
        kw["start_method"] = cfg["start"]
    res = framepipe.render(make_frame, cfg["out"], workers=cfg["workers"], **kw)
wall = time.perf_counter() - t0
print(json.dumps({"wall": wall, "cluster_start": t_cluster, "frames": res.frames, "bytes": res.bytes}))
"""


def decode(path):
    import numpy as np

    info = json.loads(
        subprocess.run(
            [
                "ffprobe",
                "-v",
                "error",
                "-select_streams",
                "v:0",
                "-show_entries",
                "stream=width,height",
                "-of",
                "json",
                path,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )["streams"][0]
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, info["height"], info["width"], 3)


def psnr(a, b):
    import numpy as np

    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--pause", type=float, default=2.0, help="idle seconds before each run")
    ap.add_argument("--quick", action="store_true", help="60 frames, 1 round")
    ap.add_argument("--extra-workers", default="4,8", help="worker counts beyond 2 for the scaling curve")
    ap.add_argument("--chunks", default="30,150", help="chunk sizes for the chunk-size runs (2 workers)")
    args = ap.parse_args()
    if args.quick:
        args.frames, args.rounds, args.extra_workers, args.chunks, args.pause = 60, 1, "", "", 0.0
    out_dir = tempfile.mkdtemp(prefix="fp-render-bench-")
    # (name, mode, workers, chunk_frames, extra config)
    configs = [
        ("serial", "local", 1, None, {}),
        ("workers=2", "local", 2, None, {}),
        ("dask 2 workers", "dask", 2, None, {}),
        ("serial on one core", "local", 1, None, {"one_core": True}),
        ("workers=2 spawn", "local", 2, None, {"start": "spawn"}),
    ]
    configs += [(f"workers={w}", "local", int(w), None, {}) for w in args.extra_workers.split(",") if w]
    configs += [(f"workers=2 chunk={c}", "local", 2, int(c), {}) for c in args.chunks.split(",") if c]
    results: dict[str, list[dict]] = {name: [] for name, *_ in configs}
    for r in range(args.rounds):
        order = list(configs)
        random.Random(r).shuffle(order)  # no configuration always runs after the same one
        for name, mode, workers, chunk, extra in order:
            out = os.path.join(out_dir, name.replace(" ", "_").replace("=", "") + ".mp4")
            cfg = dict(mode=mode, workers=workers, chunk=chunk, frames=args.frames, out=out, **extra)
            time.sleep(args.pause)
            c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            p = subprocess.run([sys.executable, "-c", RUN, json.dumps(cfg)], capture_output=True, text=True)
            c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            if p.returncode != 0:
                sys.exit(f"{name} failed:\n{p.stderr}")
            m = json.loads(p.stdout.strip().splitlines()[-1])
            # CPU of the whole run (its process, worker processes, Dask's), interpreter start included
            m["cpu"] = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
            m["out"] = out
            results[name].append(m)
            print(f"round {r} {name:22s} wall {m['wall']:7.2f} s  cpu {m['cpu']:6.2f} s", flush=True)
    serial_frames = decode(results["serial"][0]["out"])
    med = lambda name, key: statistics.median(m[key] for m in results[name])  # noqa: E731
    serial_wall = med("serial", "wall")
    one_core_wall = med("serial on one core", "wall")
    print(f"\n{args.frames} frames 640x480, {os.cpu_count()} cores, {args.rounds} rounds in shuffled order, medians\n")
    print(
        "| configuration | wall s (each run) | CPU s | speed-up vs serial | vs serial on one core | bytes | "
        "PSNR vs serial decode dB | frames |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, *_ in configs:
        ms = results[name]
        wall = med(name, "wall")
        decoded = decode(ms[0]["out"])
        q = psnr(decoded, serial_frames) if decoded.shape == serial_frames.shape else float("nan")
        runs = ", ".join(f"{m['wall']:.2f}" for m in ms)
        print(
            f"| {name} | {wall:.2f} ({runs}) | {med(name, 'cpu'):.1f} | {serial_wall / wall:.2f}× | "
            f"{one_core_wall / wall:.2f}× | {ms[0]['bytes']:,} | {q:.1f} | {ms[0]['frames']} |"
        )
        if "dask" in name:
            start = med(name, "cluster_start")
            rest = statistics.median(m["wall"] - m["cluster_start"] for m in ms)
            print(
                f"| {name}, cluster already running (its {start:.2f} s start left out) | {rest:.2f} | | "
                f"{serial_wall / rest:.2f}× | {one_core_wall / rest:.2f}× | | | |"
            )
    cores = os.cpu_count() or 1
    floor = one_core_wall / cores
    print(
        f"\nWork-conservation bound: the one-core serial run's {one_core_wall:.2f} s of work spread over "
        f"{cores} cores takes at least {floor:.2f} s, i.e. at most {serial_wall / floor:.2f}× the "
        f"{cores}-core serial run."
    )


if __name__ == "__main__":
    main()
