#!/usr/bin/env python3
"""What VideoWriter.close() costs, and whether two builds finish to the same bytes (issue 21).

Writes N frames (default 300 of 640x480, x264 preset ultrafast, crf 1: a large file, about
136 MB with these frames) in a fresh subprocess per run, times close() alone, and prints the
finished file's size and SHA-256. Give several Python interpreters (each with its own framepipe
build) to compare them: runs alternate between them, and the report gives each one's median
close time and whether their files are byte-identical.

    .venv/bin/python bench/bench_close.py --python /work/main/.venv/bin/python \
        --python .venv/bin/python --runs 3
    .venv/bin/python bench/bench_close.py --python A --python B --frames 30 --no-durable

The output goes to --out-dir (default: a folder in the current directory's file system, as an
output beside the user's files would be) and is removed after each run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

CHILD = r"""
import hashlib, json, os, sys, time
import numpy as np
import framepipe
n, w, h, durable, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5]
rng = np.random.default_rng(21)
y, x = np.mgrid[0:h, 0:w]
writer = framepipe.VideoWriter(path, fps=30, preset="ultrafast", crf=1, durable=durable)
t0 = time.perf_counter()
for i in range(n):
    grad = ((x + 3 * i) % 256).astype(np.uint8)[..., None]
    writer.write(rng.integers(0, 128, (h, w, 3), dtype=np.uint8) + grad // 2)
t1 = time.perf_counter()
res = writer.close()
t2 = time.perf_counter()
digest = hashlib.sha256()
with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
        digest.update(block)
print(json.dumps({"write_s": t1 - t0, "close_s": t2 - t1, "bytes": os.path.getsize(path),
                  "frames": res.frames, "sha256": digest.hexdigest()}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", action="append", required=True, help="an interpreter with framepipe (repeatable)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--no-durable", action="store_true", help="durable=False (no fsync)")
    ap.add_argument("--out-dir", default=".")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    results: dict[str, list[dict]] = {p: [] for p in args.python}
    with tempfile.TemporaryDirectory(dir=args.out_dir, prefix=".bench-close-") as d:
        for r in range(args.runs):
            order = args.python if r % 2 == 0 else args.python[::-1]
            for py in order:
                out = os.path.join(d, "out.mp4")
                p = subprocess.run(
                    [py, "-c", CHILD, str(args.frames), str(w), str(h), "0" if args.no_durable else "1", out],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                res = json.loads(p.stdout)
                os.remove(out)
                results[py].append(res)
                print(f"run {r} {py}: close {res['close_s']:.3f} s, {res['bytes']} bytes, {res['sha256'][:16]}")
    digests = {res["sha256"] for rs in results.values() for res in rs}
    for py, rs in results.items():
        closes = [x["close_s"] for x in rs]
        print(
            f"{py}: close median {statistics.median(closes):.3f} s (runs: {', '.join(f'{c:.3f}' for c in closes)}), "
            f"{rs[0]['bytes']} bytes, {rs[0]['frames']} frames"
        )
    print("byte-identical across all runs and builds:", len(digests) == 1)
    sys.exit(0 if len(digests) == 1 else 1)


if __name__ == "__main__":
    main()
