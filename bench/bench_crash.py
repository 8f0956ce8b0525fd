"""Crash-proof writing: what a killed writer leaves, and what writing fragments costs.

1. **Killed mid-stream.** The same 1280x720 frames (bench_engine.py's, looped) are piped at full
   speed into each writer, which is killed with SIGKILL after a few seconds; the file left is
   counted by ffprobe (frames it decodes). Writers: the framepipe CLI (then `framepipe repair`),
   the ffmpeg pipe as matplotlib's FFMpegWriter runs it, and the ffmpeg pipe with
   `-movflags frag_keyframe+empty_moov` (the option an ffmpeg expert would know to add).
2. **Closing time and size.** The packets of one encoded 300-frame 1280x720 MP4 (no encoding
   timed) written 1, 10 and 100 times over by the MP4 muxer of this checkout and by the muxer
   before crash-proof writing (commit ``--old`` built in a git worktree): time of ``finish``
   (building the index and moving the media data behind it) and file size.

Run: ``.venv/bin/python bench/bench_crash.py [--old be59757] [--out-dir /tmp/framepipe-bench]``.
It needs bench_engine.py's frames file (run that first, or it is generated here), cargo, ffmpeg.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
W, H, FPS = 1280, 720, 30


def frames_file(out_dir: Path) -> Path:
    path = out_dir / f"frames_v2_{W}x{H}_300.rgb"
    if not path.exists():
        sys.path.insert(0, str(ROOT / "bench"))
        import bench_engine

        out_dir.mkdir(parents=True, exist_ok=True)
        bench_engine.generate_frames(path, 300, W, H)
    return path


def count_frames(path: Path) -> int:
    r = subprocess.run(
        ["ffprobe", "-v", "quiet", "-count_frames", "-select_streams", "v:0"]
        + ["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
    )
    text = r.stdout.strip()
    return int(text) if text.isdigit() else 0


def kill_run(cmd: list[str], src: bytes, after: float) -> int:
    """Feed frames (looping over `src`) into `cmd`, SIGKILL it `after` s in; frames fed."""
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    size = W * H * 3
    n = len(src) // size
    fed = [0]

    def feed():
        try:
            i = 0
            while True:
                k = i % n
                p.stdin.write(src[k * size : (k + 1) * size])
                i += 1
                fed[0] = i
        except OSError:
            pass

    t = threading.Thread(target=feed, daemon=True)
    t.start()
    time.sleep(after)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    t.join(5)
    return fed[0]


def killed(out_dir: Path, rounds: int, after: list[float]) -> list[dict]:
    src = frames_file(out_dir).read_bytes()
    cli = ROOT / "target" / "release" / "framepipe"
    base = ["ffmpeg", "-y", "-v", "quiet", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{W}x{H}"]
    base += ["-framerate", str(FPS), "-i", "-", "-c:v", "libx264", "-preset", "medium", "-crf", "23"]
    base += ["-pix_fmt", "yuv420p"]
    writers = {
        "framepipe CLI": lambda out: [str(cli), "encode", str(out), "--size", f"{W}x{H}", "--fps", str(FPS)],
        "ffmpeg pipe (matplotlib's FFMpegWriter)": lambda out: base + ["-movflags", "+faststart", str(out)],
        "ffmpeg pipe, -movflags frag_keyframe+empty_moov": lambda out: base
        + ["-movflags", "frag_keyframe+empty_moov", str(out)],
    }
    rows = []
    for name, cmd in writers.items():
        for a in after:
            for r in range(rounds):
                out = out_dir / "killed.mp4"
                out.unlink(missing_ok=True)
                fed = kill_run(cmd(out), src, a)
                row = {"writer": name, "after_s": a, "round": r, "fed": fed, "kept": count_frames(out)}
                row["bytes"] = out.stat().st_size if out.exists() else 0
                if name.startswith("framepipe"):
                    fixed = out_dir / "repaired.mp4"
                    subprocess.run([str(cli), "repair", str(out), str(fixed)], capture_output=True)
                    row["after_repair"] = count_frames(fixed)
                    row["repaired_faststart"] = (
                        "faststart: yes"
                        in subprocess.run([str(cli), "probe", str(fixed)], capture_output=True, text=True).stdout
                    )
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def closing(out_dir: Path, old: str, repeats: list[int], rounds: int) -> list[dict]:
    subprocess.run(
        ["cargo", "build", "--release", "-q", "--example", "mux_close", "-p", "framepipe"], cwd=ROOT, check=True
    )
    new_exe = ROOT / "target" / "release" / "examples" / "mux_close"
    tree = out_dir / f"framepipe-{old}"
    if not tree.exists():
        subprocess.run(["git", "worktree", "add", "-f", str(tree), old], cwd=ROOT, check=True, capture_output=True)
    (tree / "crates/framepipe/examples/mux_close.rs").write_bytes(
        (ROOT / "crates/framepipe/examples/mux_close.rs").read_bytes()
    )
    env = dict(os.environ, CARGO_TARGET_DIR=str(out_dir / "target-old"))
    subprocess.run(
        ["cargo", "build", "--release", "-q", "--example", "mux_close", "-p", "framepipe"],
        cwd=tree,
        env=env,
        check=True,
    )
    old_exe = out_dir / "target-old" / "release" / "examples" / "mux_close"
    # One encoded file to take packets from.
    src_mp4 = out_dir / "crash-src.mp4"
    if not src_mp4.exists():
        cli = ROOT / "target" / "release" / "framepipe"
        with open(frames_file(out_dir), "rb") as f:
            subprocess.run(
                [str(cli), "encode", str(src_mp4), "--size", f"{W}x{H}", "--fps", str(FPS)], stdin=f, check=True
            )
    rows = []
    for rep in repeats:
        for r in range(rounds):
            for label, exe in (("before", old_exe), ("now", new_exe)):
                out = out_dir / f"mux-{label}.mp4"
                res = json.loads(
                    subprocess.run(
                        [str(exe), str(src_mp4), str(out), str(rep)], capture_output=True, text=True, check=True
                    ).stdout
                )
                res.update(writer=label, repeat=rep, round=r, frames_in_file=None)
                rows.append(res)
                print(json.dumps(res), flush=True)
            same = (out_dir / "mux-before.mp4").read_bytes() == (out_dir / "mux-now.mp4").read_bytes()
            rows[-1]["same_bytes_as_before"] = same
    return rows


def report(kill_rows: list[dict], close_rows: list[dict], args) -> str:
    lines = ["## Crash-proof writing (bench/bench_crash.py)", ""]
    lines.append(f"Command: `.venv/bin/python bench/bench_crash.py --old {args.old} --rounds {args.rounds}`.")
    lines.append("")
    lines.append("Killed with SIGKILL while 1280x720 frames were piped in at full speed (median over rounds):")
    lines.append("")
    lines.append("| writer | killed after | frames fed | frames ffprobe decodes | after `framepipe repair` |")
    lines.append("| --- | --- | --- | --- | --- |")
    keys = sorted({(r["writer"], r["after_s"]) for r in kill_rows}, key=lambda k: (k[1], k[0]))
    for w, a in keys:
        rs = [r for r in kill_rows if r["writer"] == w and r["after_s"] == a]
        fed = statistics.median(r["fed"] for r in rs)
        kept = statistics.median(r["kept"] for r in rs)
        rep = statistics.median(r["after_repair"] for r in rs) if "after_repair" in rs[0] else None
        rep_s = "" if rep is None else f"{rep:.0f} (faststart: {all(r['repaired_faststart'] for r in rs)})"
        lines.append(f"| {w} | {a:.0f} s | {fed:.0f} | {kept:.0f} | {rep_s} |")
    lines.append("")
    lines.append("Closing (`finish`) of the MP4 muxer on the same packets, before crash-proof writing and now:")
    lines.append("")
    lines.append("| frames | finish before | finish now | ratio | bytes before | bytes now | size ratio | same bytes |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for rep in sorted({r["repeat"] for r in close_rows}):
        b = [r for r in close_rows if r["repeat"] == rep and r["writer"] == "before"]
        n = [r for r in close_rows if r["repeat"] == rep and r["writer"] == "now"]
        fb = statistics.median(r["finish_s"] for r in b)
        fn = statistics.median(r["finish_s"] for r in n)
        same = all(r.get("same_bytes_as_before") for r in n)
        lines.append(
            f"| {n[0]['frames']} | {fb * 1000:.1f} ms | {fn * 1000:.1f} ms | {fn / fb:.2f}x | {b[0]['bytes']:,} | "
            f"{n[0]['bytes']:,} | {n[0]['bytes'] / b[0]['bytes']:.4f} | {same} |"
        )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", default="/tmp/framepipe-bench")
    ap.add_argument("--old", default="be59757", help="the commit before crash-proof writing")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--after", default="2,5", help="seconds before the kill, comma-separated")
    ap.add_argument("--repeats", default="1,10,100", help="copies of the 300 packets for the closing test")
    args = ap.parse_args()
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "framepipe-cli"], cwd=ROOT, check=True)
    kill_rows = killed(out_dir, args.rounds, [float(x) for x in args.after.split(",")])
    close_rows = closing(out_dir, args.old, [int(x) for x in args.repeats.split(",")], args.rounds)
    text = report(kill_rows, close_rows, args)
    print(text)
    (out_dir / "crash.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
