#!/usr/bin/env python3
"""Video with a soundtrack (issue 23): what a 48 kHz stereo sound track costs next to a 720p x264
encode, in framepipe and in its peers.

The frames are bench_engine.py's plot-like frames (rgb24, generated once, kept in the page cache);
the sound is bench_audio.py's synthetic music signal (48 kHz stereo float32, as long as the video),
written once as a 32-bit float WAV for the peers that read a file. Every contender runs in a fresh
subprocess of this script; its CPU time (user+sys of the process and its children, getrusage
deltas around the timed region) and wall time are taken; reading the frames (and the WAV or the
array) is inside the timed region for everyone. Contenders alternate round by round (the order
rotates each round); the report gives each contender's best (lowest) CPU time and its median, and
per-round ratios to framepipe without sound.

    .venv/bin/python bench/bench_av.py              # 300 frames 1280x720 @ 30 fps + 10 s sound, 3 rounds
    .venv/bin/python bench/bench_av.py --quick      # smoke run: 30 frames of 640x360 + 1 s, 1 round

Contenders (x264: crf 23, preset medium, threads auto everywhere; AAC 128 kbit/s, Opus 96):
  framepipe            framepipe.VideoWriter, no sound (the baseline)
  framepipe+aac        the same with audio=<the float32 array>, audio_fps=48000 (AAC, FFmpeg 7.1.5's
                       encoder linked in)
  framepipe+opus       the same with audio_codec="opus" (libopus)
  framepipe+aac-wav    the same as framepipe+aac, reading the WAV file (audio="music.wav", PyAV decodes)
  ffmpeg-pipe          `ffmpeg -f rawvideo ... -i - -c:v libx264 ...`, no sound
  ffmpeg-pipe+aac      `ffmpeg ... -i - -i music.wav -c:v libx264 ... -c:a aac -b:a 128k`
  imageio-ffmpeg+aac   imageio_ffmpeg.write_frames(..., audio_path="music.wav", audio_codec="aac",
                       output_params=[..., "-b:a", "128k"]) (its own static ffmpeg binary)
  pyav+aac             PyAV writing a libx264 stream and an aac stream itself (its bundled FFmpeg;
                       its defaults, which give x264 slice threads)
  moviepy+aac          MoviePy 2: VideoClip(...).with_audio(AudioArrayClip(...)).write_videofile(
                       audio_codec="aac", audio_bitrate="128k", audio_fps=48000)

Every output is checked with ffprobe (the stream count, H.264 with all frames, the audio codec, 48 kHz
stereo, both durations within 0.1 s of the source's) and its sound decoded by ffmpeg and compared with
the source (aligned by cross-correlation; its SNR must be at least 6 dB): a run whose file fails is
reported as failed, never compared.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_audio import SR, find_lag, sig_music, snr  # noqa: E402
from bench_engine import _read_frame, busy_seconds, generate_frames, wait_idle  # noqa: E402

GEN_VERSION = 2  # bench_engine.py's frame generator version (names the cached frames file)
CONTENDERS = [
    "framepipe",
    "framepipe+aac",
    "framepipe+opus",
    "framepipe+aac-wav",
    "ffmpeg-pipe",
    "ffmpeg-pipe+aac",
    "imageio-ffmpeg+aac",
    "pyav+aac",
    "moviepy+aac",
]
AUDIO_CODEC = {c: ("opus" if c.endswith("opus") else "aac") for c in CONTENDERS if "+" in c}
MIN_AUDIO_SNR_DB = 6.0


# --------------------------------------------------------------------------- worker side


def worker(a) -> dict:
    """Runs one contender once; returns its measurements (the timed region only)."""
    import numpy as np

    name, w, h, n, fps = a.worker, a.w, a.h, a.frames, a.fps
    codec = AUDIO_CODEC.get(name)
    if name.startswith("framepipe"):
        import framepipe
    elif name.startswith("imageio-ffmpeg"):
        import imageio_ffmpeg
    elif name.startswith("pyav"):
        import av
    elif name.startswith("moviepy"):
        from moviepy import VideoClip
        from moviepy.audio.AudioClip import AudioArrayClip
    src = open(a.frames_file, "rb")

    s0, c0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    if name.startswith("framepipe"):
        kw: dict = {}
        if name == "framepipe+aac-wav":
            kw = dict(audio=a.wav, audio_codec="aac", audio_bitrate=128)
        elif codec:
            samples = np.fromfile(a.f32, np.float32).reshape(-1, 2)
            kw = dict(audio=samples, audio_fps=SR, audio_codec=codec, audio_bitrate=128 if codec == "aac" else 96)
        vw = framepipe.VideoWriter(a.out, fps=fps, crf=a.crf, preset=a.preset, **kw)
        for i in range(n):
            vw.write(_read_frame(src, i, w, h))
        vw.close()
    elif name.startswith("ffmpeg-pipe"):
        cmd = ["ffmpeg", "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}"]
        cmd += ["-framerate", str(fps), "-i", "-"]
        if codec:
            cmd += ["-i", a.wav, "-map", "0:v", "-map", "1:a", "-c:a", "aac", "-b:a", "128k"]
        cmd += ["-c:v", "libx264", "-preset", a.preset, "-crf", str(a.crf), "-pix_fmt", "yuv420p", a.out]
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for i in range(n):
            p.stdin.write(memoryview(_read_frame(src, i, w, h)).cast("B"))
        p.stdin.close()
        err = p.stderr.read()
        if p.wait() != 0:
            raise RuntimeError(f"ffmpeg failed: {err.decode()[-2000:]}")
    elif name.startswith("imageio-ffmpeg"):
        gen = imageio_ffmpeg.write_frames(
            a.out,
            (w, h),
            fps=fps,
            codec="libx264",
            quality=None,
            pix_fmt_in="rgb24",
            pix_fmt_out="yuv420p",
            macro_block_size=1,
            ffmpeg_log_level="error",
            output_params=["-crf", str(a.crf), "-preset", a.preset, "-b:a", "128k"],
            audio_path=a.wav,
            audio_codec="aac",
        )
        gen.send(None)
        for i in range(n):
            gen.send(_read_frame(src, i, w, h))
        gen.close()
    elif name.startswith("pyav"):
        samples = np.fromfile(a.f32, np.float32).reshape(-1, 2)
        per_frame = SR // fps
        with av.open(a.out, "w") as c:
            vs = c.add_stream("libx264", rate=fps)
            vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
            vs.options = {"crf": str(a.crf), "preset": a.preset}
            st = c.add_stream("aac", rate=SR, layout="stereo")
            st.bit_rate = 128_000
            for i in range(n):
                c.mux(vs.encode(av.VideoFrame.from_ndarray(_read_frame(src, i, w, h), format="rgb24")))
                chunk = samples[i * per_frame : (i + 1) * per_frame if i + 1 < n else len(samples)]
                af = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk.T), format="fltp", layout="stereo")
                af.sample_rate, af.pts = SR, i * per_frame
                c.mux(st.encode(af))
            c.mux(vs.encode(None))
            c.mux(st.encode(None))
    elif name.startswith("moviepy"):
        samples = np.fromfile(a.f32, np.float32).reshape(-1, 2)

        def frame_at(t):
            return _read_frame(src, min(int(round(t * fps)), n - 1), w, h)

        clip = VideoClip(frame_function=frame_at, duration=n / fps).with_audio(AudioArrayClip(samples, fps=SR))
        clip.write_videofile(
            a.out,
            fps=fps,
            codec="libx264",
            preset=a.preset,
            ffmpeg_params=["-crf", str(a.crf)],
            audio_codec="aac",
            audio_bitrate="128k",
            audio_fps=SR,
            temp_audiofile_path=str(Path(a.out).parent),
            logger=None,
        )
        clip.close()
    else:
        raise SystemExit(f"unknown contender {name}")
    t1 = time.perf_counter()
    s1, c1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (s1.ru_utime - s0.ru_utime) + (s1.ru_stime - s0.ru_stime) + (c1.ru_utime - c0.ru_utime)
    cpu += c1.ru_stime - c0.ru_stime
    return {"name": name, "wall_s": t1 - t0, "cpu_s": cpu, "bytes": os.path.getsize(a.out)}


# --------------------------------------------------------------------------- checks


def check_output(path: Path, a, codec: str | None, source) -> dict:
    """ffprobe's view of `path` and its sound against the source; 'ok' False with the reasons if
    anything is off."""
    import numpy as np

    r = subprocess.run(
        ["ffprobe", "-v", "error", "-count_packets", "-show_entries",
         "stream=codec_type,codec_name,nb_read_packets,duration,sample_rate,channels,bit_rate",
         "-of", "json", str(path)],
        capture_output=True, text=True,
    )  # fmt: skip
    streams = json.loads(r.stdout or "{}").get("streams", [])
    bad = []
    want = 2 if codec else 1
    if len(streams) != want:
        bad.append(f"{len(streams)} streams, expected {want}")
    dur = a.frames / a.fps
    v = next((s for s in streams if s["codec_type"] == "video"), None)
    au = next((s for s in streams if s["codec_type"] == "audio"), None)
    info: dict = {}
    if not v or v["codec_name"] != "h264" or int(v.get("nb_read_packets", 0)) != a.frames:
        bad.append(f"video stream {v}: expected h264 with {a.frames} frames")
    elif abs(float(v.get("duration", 0)) - dur) > 0.1:
        bad.append(f"video duration {v.get('duration')} s, expected {dur}")
    if v:
        info["video_s"] = float(v.get("duration", 0))
    if codec:
        if not au or au["codec_name"] != codec or int(au.get("sample_rate", 0)) != SR or au.get("channels") != 2:
            bad.append(f"audio stream {au}: expected {codec} 48000 Hz stereo")
        else:
            info["audio_s"] = float(au.get("duration", 0))
            info["audio_kbps"] = int(au.get("bit_rate", 0)) / 1000
            if abs(info["audio_s"] - dur) > 0.1:
                bad.append(f"audio duration {info['audio_s']} s, expected {dur}")
            raw = subprocess.run(
                [
                    "ffmpeg",
                    "-v",
                    "error",
                    "-i",
                    str(path),
                    "-map",
                    "0:a",
                    "-f",
                    "f32le",
                    "-ac",
                    "2",
                    "-ar",
                    str(SR),
                    "-",
                ],
                capture_output=True,
            ).stdout
            d = np.frombuffer(raw, np.float32).reshape(-1, 2)
            lag = find_lag(source, d, max_lag=4096)
            m = min(len(source), len(d) - lag)
            info["audio_lag"] = lag
            info["audio_snr_db"] = snr(source[:m], d[lag : lag + m]) if m > SR // 10 else float("nan")
            if not info["audio_snr_db"] >= MIN_AUDIO_SNR_DB:
                bad.append(f"sound SNR {info['audio_snr_db']:.1f} dB against the source (lag {lag})")
    info["ok"] = not bad
    info["problems"] = bad
    return info


# --------------------------------------------------------------------------- driver


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--crf", type=int, default=23)
    ap.add_argument("--preset", default="medium")
    ap.add_argument("--out-dir", default="/tmp/framepipe-bench-av")
    ap.add_argument("--only", default=",".join(CONTENDERS), help="comma-separated subset of: " + ",".join(CONTENDERS))
    ap.add_argument("--taskset", default=None, help="pin every contender to these CPUs (taskset -c LIST)")
    ap.add_argument("--idle-timeout", type=float, default=5, help="wait up to this long for a quiet machine per run")
    ap.add_argument("--quick", action="store_true", help="smoke run: 30 frames of 640x360 (1 s of sound), 1 round")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--report", help="also write the markdown report here")
    # Worker mode (internal).
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--frames-file", help=argparse.SUPPRESS)
    ap.add_argument("--wav", help=argparse.SUPPRESS)
    ap.add_argument("--f32", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.quick:
        a.frames, a.rounds, a.size, a.idle_timeout = 30, 1, "640x360", 2
    a.w, a.h = map(int, a.size.lower().split("x"))
    if a.worker:
        print(json.dumps(worker(a)))
        return 0

    from scipy.io import wavfile

    names = [c.strip() for c in a.only.split(",") if c.strip()]
    for c in names:
        if c not in CONTENDERS:
            ap.error(f"unknown contender {c}")
    out = Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frames_file = out / f"frames_v{GEN_VERSION}_{a.w}x{a.h}_{a.frames}.rgb"
    if not frames_file.exists() or frames_file.stat().st_size != a.frames * a.w * a.h * 3:
        print(f"generating {a.frames} frames of {a.w}x{a.h} -> {frames_file}", file=sys.stderr)
        generate_frames(frames_file.with_suffix(".tmp"), a.frames, a.w, a.h)
        frames_file.with_suffix(".tmp").rename(frames_file)
    sound = sig_music(a.frames / a.fps)
    wav, f32 = out / "music.wav", out / "music.f32"
    wavfile.write(wav, SR, sound)  # float32 data: a WAVE_FORMAT_IEEE_FLOAT file
    sound.tofile(f32)
    os.sync()
    for f in (frames_file, wav, f32):  # into the page cache
        f.read_bytes()

    def launch(c: str, r: int) -> dict:
        path = out / f"{c}.r{r}.mp4"
        path.unlink(missing_ok=True)
        cmd = [sys.executable, __file__, "--worker", c, "--frames-file", str(frames_file), "--wav", str(wav)]
        cmd += ["--f32", str(f32), "--out", str(path), "--frames", str(a.frames), "--size", a.size]
        cmd += ["--fps", str(a.fps), "--crf", str(a.crf), "--preset", a.preset]
        if a.taskset:
            cmd = ["taskset", "-c", a.taskset, *cmd]
        wait_idle(a.idle_timeout)
        b0 = busy_seconds()
        p = subprocess.run(cmd, capture_output=True, text=True)
        busy = busy_seconds() - b0
        if p.returncode != 0:
            print(f"{c} round {r} FAILED: {p.stderr[-1500:]}", file=sys.stderr)
            return {"name": c, "round": r, "ok": False, "problems": ["the contender failed"]}
        res = json.loads(p.stdout.strip().splitlines()[-1])
        res["round"] = r
        res["foreign_cpu_s"] = max(busy - res["cpu_s"], 0.0)
        res.update(check_output(path, a, AUDIO_CODEC.get(c), sound))
        flag = "" if res["ok"] else "  BROKEN: " + "; ".join(res["problems"])
        print(f"r{r} {c:20s} cpu {res['cpu_s']:7.2f} s  wall {res['wall_s']:6.2f} s  {res['bytes']:>9,} B  "
              f"others {res['foreign_cpu_s']:5.2f} s{flag}", file=sys.stderr, flush=True)  # fmt: skip
        if r > 0:
            path.unlink(missing_ok=True)  # keep round 0's files to look at
        return res

    load0 = os.getloadavg()
    t_start = time.time()
    results: dict[str, list[dict]] = {c: [] for c in names}
    for r in range(a.rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for c in order:
            results[c].append(launch(c, r))
    report = make_report(a, names, results, load0, os.getloadavg(), time.time() - t_start)
    print(report)
    if a.report:
        Path(a.report).write_text(report)
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))
    broken = [c for c in names if not all(x["ok"] for x in results[c])]
    if broken:
        print(f"broken outputs: {', '.join(broken)}", file=sys.stderr)
    return 1 if broken else 0


def make_report(a, names, results, load0, load1, elapsed) -> str:
    ok = {c: [x for x in results[c] if x["ok"]] for c in names}
    best = {c: min(ok[c], key=lambda x: x["cpu_s"]) for c in names if ok[c]}
    med = {c: statistics.median(x["cpu_s"] for x in ok[c]) for c in names if ok[c]}
    base = "framepipe" if "framepipe" in best else None
    L = [
        f"Command: `.venv/bin/python bench/bench_av.py {' '.join(sys.argv[1:])}`".replace("  ", " "),
        "",
        f"{_dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; {platform.node()}, {os.cpu_count()} cores; "
        f"{a.frames} frames {a.w}x{a.h} @ {a.fps} fps, crf {a.crf}, preset {a.preset}, x264 threads auto, "
        f"{a.frames / a.fps:g} s of 48 kHz stereo sound; {a.rounds} round(s)"
        + (f", pinned to CPUs {a.taskset}" if a.taskset else "")
        + f"; load average {load0[0]:.1f} at the start, {load1[0]:.1f} at the end; whole run {elapsed:.0f} s.",
        "",
        "| contender | CPU s best | CPU s median | wall s (best run) | bytes | audio kbit/s | sound SNR dB | "
        "CPU ×framepipe | runs ok |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in names:
        if c not in best:
            L.append(f"| {c} | failed | | | | | | | 0/{len(results[c])} |")
            continue
        b = best[c]
        kb = f"{b['audio_kbps']:.1f}" if "audio_kbps" in b else "–"
        sn = f"{b['audio_snr_db']:.1f}" if "audio_snr_db" in b else "–"
        ratio = f"{b['cpu_s'] / best[base]['cpu_s']:.3f}×" if base else "–"
        L.append(
            f"| {c} | {b['cpu_s']:.2f} | {med[c]:.2f} | {b['wall_s']:.2f} | {b['bytes']:,} | {kb} | {sn} | {ratio} | "
            f"{len(ok[c])}/{len(results[c])} |"
        )
    L += [
        "",
        "CPU = user+sys of the contender's process and its children (getrusage around the timed region: "
        "reading frames and sound, encoding, muxing). Best = the run with the least CPU. Every file checked: "
        "ffprobe's streams (H.264, all frames; the audio codec, 48 kHz stereo), both durations within 0.1 s of "
        f"{a.frames / a.fps:g} s, and the sound decoded by ffmpeg against the source (aligned; SNR ≥ "
        f"{MIN_AUDIO_SNR_DB:g} dB).",
        "",
    ]
    if base:
        L.append("What the sound track costs (CPU with sound / CPU without, best against best; and the median of "
                 "per-round ratios to the same round's run without sound):")  # fmt: skip
        L.append("")
        pairs = [(c, "framepipe") for c in names if c.startswith("framepipe+")]
        if "ffmpeg-pipe+aac" in best and "ffmpeg-pipe" in best:
            pairs.append(("ffmpeg-pipe+aac", "ffmpeg-pipe"))
        for c, b0 in pairs:
            if c not in best:
                continue
            over = best[c]["cpu_s"] / best[b0]["cpu_s"] - 1
            per_round = {x["round"]: x["cpu_s"] for x in ok[b0]}
            rs = [x["cpu_s"] / per_round[x["round"]] - 1 for x in ok[c] if x["round"] in per_round]
            pr = f"{100 * statistics.median(rs):+.1f}%" if rs else "n/a"
            L.append(f"- {c} vs {b0}: {100 * over:+.1f}% (per round: {pr}; rounds: "
                     + ", ".join(f"{100 * x:+.1f}%" for x in rs) + ")")  # fmt: skip
        L.append("")
    L.append("Per-round CPU s (CPU s other processes used meanwhile):")
    L.append("")
    for c in names:
        L.append(
            f"- {c}: "
            + ", ".join(
                f"r{x['round']} {x['cpu_s']:.2f} ({x['foreign_cpu_s']:.1f})" if x["ok"] else f"r{x['round']} BROKEN"
                for x in results[c]
            )
        )
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    sys.exit(main())
