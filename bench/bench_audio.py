#!/usr/bin/env python3
"""Audio codecs for framepipe's soundtracks (issue 23): quality and speed of the candidates.

Inputs (48 kHz stereo float, generated with numpy/scipy; `--real FILE` adds a recording):

  music   a synthetic mix: piano-like chords (decaying inharmonic partials), kick, snare and
          hi-hat (noise transients), a bass line, panned
  speech  glottal pulses through moving formants, syllable envelopes, fricative noise (mono
          content in both channels)
  sweep   a logarithmic sine sweep 20 Hz - 20 kHz (-6 dBFS left, -12 dBFS right)
  noise   white noise, independent channels, -16.5 dBFS RMS
  real    --real FILE: an excerpt of a recording, decoded and resampled to 48 kHz by ffmpeg

Encoders (every output written as a plain stream and decoded back by ffmpeg):

  fp-aac        framepipe's AAC encoder (FFmpeg 7.1.5's native AAC encoder, linked statically:
                encode/aac.rs), crates/framepipe/examples/audio_encode.rs
  ffmpeg-aac    the system's FFmpeg CLI: `ffmpeg -threads 1 -f f32le ... -c:a aac -b:a 128k`
  fp-opus       framepipe's Opus encoder (libopus 1.6.1), same example, 96 kbit/s
  fp-aac-fast   (--aac-fast) fp-aac with FFmpeg's "fast" coder instead of its default "twoloop"
  ffmpeg-aac-fast (--aac-fast) the CLI with `-aac_coder fast`
  ffmpeg-min    (--ffmpeg-min PATH) bench/ffmpeg_min_aac.c linked to a minimal static libavcodec:
                the same encoder as ffmpeg-aac (FFmpeg 5.1), for its speed without the CLI

Measures (on the decoded output, aligned to the source by cross-correlation; the lag found must
equal the encoder's priming, which is printed):

  kbps          the stream's real bitrate
  NMR dB        noise-to-mask ratio, a simplified Brandenburg model: 2048-point Hann STFT, 25
                critical bands, masking threshold = the source's band energies spread with
                Schroeder's spreading function, lowered by Johnston's tonality-dependent offset,
                floored at the threshold in quiet (0 dBFS = 92 dB SPL); the mean over frames and
                bands of coding-noise energy / threshold, in dB. Below 0: noise under the mask on
                average. Lower is better.
  %>0           share of frames whose worst band has NMR > 0 dB (likely audible). Lower is better.
  LSD dB        log-spectral distance over the bins within 60 dB of each frame's peak.
  BW kHz        kept bandwidth: the highest frequency where the source has energy (within 60 dB
                of its long-term peak) and the output keeps it within 10 dB.
  SNR dB        plain signal-to-noise ratio (not perceptual; for reference).
  ViSQOL        MOS-LQO of ViSQOL v3's audio mode (visqol-python, which matches Google's C++;
                on the mono downmix; 1..5, higher is better; skipped with --no-visqol).
  x realtime    audio duration / the encoder's CPU time, pinned to one core (taskset), best of
                --rounds runs on the 60 s music signal.

  .venv/bin/pip install -r bench/requirements.txt
  .venv/bin/python bench/bench_audio.py [--real FILE] [--ffmpeg-min PATH] [--seconds 20] [--aac-fast]
  .venv/bin/python bench/bench_audio.py --quick      # smoke run: 2 s signals, no ViSQOL, 1 round
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SR = 48000
FFMPEG = shutil.which("ffmpeg") or "ffmpeg"


# --------------------------------------------------------------------------------------------
# Signals
# --------------------------------------------------------------------------------------------


def sig_music(sec: float, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(sec * SR)
    left = np.zeros(n)
    right = np.zeros(n)
    beat = 0.5
    chords = [[261.63, 329.63, 392.0], [220.0, 261.63, 329.63], [174.61, 220.0, 261.63], [196.0, 246.94, 293.66]]
    for k in range(int(sec / beat)):
        s = int(k * beat * SR)
        m = min(n - s, int(2.0 * SR))
        tt = np.arange(m) / SR
        for j, f in enumerate(chords[(k // 4) % 4]):
            pan = 0.3 + 0.2 * j
            tone = np.zeros(m)
            for h in range(1, 12):
                if f * h > 20000:
                    break
                tone += np.sin(2 * np.pi * f * h * tt * (1 + 0.0004 * h * h)) * np.exp(-tt * (1.5 + 0.8 * h)) / h
            tone *= 0.06
            left[s : s + m] += tone * (1 - pan)
            right[s : s + m] += tone * pan
        mk = min(n - s, int(0.3 * SR))
        tk = np.arange(mk) / SR
        kick = 0.5 * np.sin(2 * np.pi * (50 * tk + 60 * (1 - np.exp(-tk * 30)) / 30)) * np.exp(-tk * 12)
        left[s : s + mk] += kick
        right[s : s + mk] += kick
        if k % 2 == 1:
            ms = min(n - s, int(0.2 * SR))
            snare = rng.standard_normal(ms) * np.exp(-np.arange(ms) / SR * 25) * 0.25
            left[s : s + ms] += snare * 0.9
            right[s : s + ms] += snare
        for half in (0, 1):
            s2 = s + int(half * beat / 2 * SR)
            mh = min(n - s2, int(0.05 * SR))
            if mh <= 0:
                continue
            hat = np.diff(rng.standard_normal(mh), prepend=0.0) * np.exp(-np.arange(mh) / SR * 80) * 0.08
            left[s2 : s2 + mh] += hat * 0.7
            right[s2 : s2 + mh] += hat
    notes = np.repeat([65.41, 55.0, 43.65, 49.0], int(2 * SR))
    bass = 0.18 * np.sin(2 * np.pi * np.resize(notes, n).cumsum() / SR)
    x = np.stack([left + bass, right + bass], 1)
    return (x / np.abs(x).max() * 0.8).astype(np.float32)


def sig_speech(sec: float, seed: int = 2) -> np.ndarray:
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    n = int(sec * SR)
    t = np.arange(n) / SR
    f0 = 120 + 30 * np.sin(2 * np.pi * 0.3 * t) + 15 * np.sin(2 * np.pi * 1.7 * t)
    pulses = np.diff(np.floor(np.cumsum(f0) / SR), prepend=0.0)
    src = lfilter([1.0], [1.0, -0.97], pulses)
    vowels = [(730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480), (570, 840, 2410)]
    out = np.zeros(n)
    seg = int(0.25 * SR)
    for k in range(0, n, seg):
        y = src[k : k + seg]
        m = len(y)
        for f, bw in zip(vowels[(k // seg) % len(vowels)], (80, 100, 150)):
            r = np.exp(-np.pi * bw / SR)
            y = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * f / SR), r * r], y)
        out[k : k + m] += y * np.sin(np.pi * np.arange(m) / m) ** 0.5
        if (k // seg) % 2 == 1 and m == seg:
            fm = int(0.08 * SR)
            fric = lfilter([1, -1], [1, 0.3], rng.standard_normal(fm)) * 0.02 * np.hanning(fm)
            out[k + m - fm : k + m] += fric
    out = out / np.abs(out).max() * 0.7
    return np.stack([out, out], 1).astype(np.float32)


def sig_sweep(sec: float) -> np.ndarray:
    t = np.arange(int(sec * SR)) / SR
    k = np.log(20000.0 / 20.0)
    s = 0.5 * np.sin(2 * np.pi * 20.0 * sec / k * (np.exp(t / sec * k) - 1))
    return np.stack([s, 0.5 * s], 1).astype(np.float32)


def sig_noise(sec: float, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((int(sec * SR), 2)) * 0.15).clip(-1, 1).astype(np.float32)


def sig_real(path: str, sec: float, start: float) -> np.ndarray:
    raw = subprocess.run(
        [
            FFMPEG,
            "-v",
            "error",
            "-ss",
            str(start),
            "-t",
            str(sec),
            "-i",
            path,
            "-ar",
            str(SR),
            "-ac",
            "2",
            "-f",
            "f32le",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, np.float32).reshape(-1, 2).copy()


# --------------------------------------------------------------------------------------------
# Measures
# --------------------------------------------------------------------------------------------

BARK_EDGES = [0, 100, 200, 300, 400, 510, 630, 770, 920, 1080, 1270, 1480, 1720, 2000, 2320, 2700, 3150, 3700, 4400,
              5300, 6400, 7700, 9500, 12000, 15500, 24000]  # fmt: skip
NFFT = 2048
HOP = 1024


def stft(x: np.ndarray) -> np.ndarray:
    w = np.hanning(NFFT)
    frames = np.lib.stride_tricks.sliding_window_view(x, NFFT)[::HOP] * w
    return np.fft.rfft(frames, axis=1)


def ath_db(f: np.ndarray) -> np.ndarray:
    """Terhardt's threshold in quiet, dB SPL."""
    k = np.maximum(f, 20.0) / 1000.0
    return 3.64 * k**-0.8 - 6.5 * np.exp(-0.6 * (k - 3.3) ** 2) + 1e-3 * k**4


def nmr(ref: np.ndarray, dec: np.ndarray) -> tuple[float, float]:
    freqs = np.fft.rfftfreq(NFFT, 1 / SR)
    band = np.searchsorted(BARK_EDGES, freqs, side="right") - 1
    band = np.clip(band, 0, len(BARK_EDGES) - 2)
    nb = len(BARK_EDGES) - 1
    z = np.arange(nb, dtype=float)
    dz = z[:, None] - z[None, :]  # masked - masker
    spread = 10 ** ((15.81 + 7.5 * (dz + 0.474) - 17.5 * np.sqrt(1 + (dz + 0.474) ** 2)) / 10)
    # a full-scale sine's energy in one STFT frame: the calibration of the threshold in quiet
    tone = np.sin(2 * np.pi * 1000 * np.arange(NFFT) / SR)
    e_fs = np.sum(np.abs(np.fft.rfft(tone * np.hanning(NFFT))) ** 2)
    quiet = np.array([np.min(ath_db(freqs[band == b])) if np.any(band == b) else 0.0 for b in range(nb)])
    t_quiet = e_fs * 10 ** ((quiet - 92.0) / 10)
    ratios = []
    worst = []
    for ch in range(ref.shape[1]):
        xr = stft(ref[:, ch].astype(np.float64))
        xd = stft(dec[:, ch].astype(np.float64))
        pr = np.abs(xr) ** 2
        pe = np.abs(xd - xr) ** 2
        er = np.zeros((len(pr), nb))
        ee = np.zeros((len(pr), nb))
        for b in range(nb):
            er[:, b] = pr[:, band == b].sum(1)
            ee[:, b] = pe[:, band == b].sum(1)
        spread_e = er @ spread.T
        gm = np.exp(np.mean(np.log(pr[:, 1:] + 1e-20), 1))
        am = np.mean(pr[:, 1:], 1) + 1e-20
        sfm_db = 10 * np.log10(gm / am + 1e-20)
        alpha = np.minimum(sfm_db / -60.0, 1.0)[:, None]
        offset = alpha * (14.5 + z[None, :]) + (1 - alpha) * 5.5
        mask = np.maximum(spread_e * 10 ** (-offset / 10), t_quiet[None, :])
        r = ee / mask
        ratios.append(r.mean(1))
        worst.append(r.max(1))
    return 10 * np.log10(np.mean(np.concatenate(ratios))), 100.0 * np.mean(np.concatenate(worst) > 1.0)


def lsd(ref: np.ndarray, dec: np.ndarray) -> float:
    out = []
    for ch in range(ref.shape[1]):
        pr = np.abs(stft(ref[:, ch].astype(np.float64))) ** 2
        pd = np.abs(stft(dec[:, ch].astype(np.float64))) ** 2
        keep = pr > pr.max(1, keepdims=True) * 1e-6
        d = (10 * np.log10((pr + 1e-20) / (pd + 1e-20))) ** 2
        per_frame = np.sqrt(np.sum(d * keep, 1) / np.maximum(keep.sum(1), 1))
        out.append(per_frame[pr.max(1) > 1e-10])
    return float(np.mean(np.concatenate(out)))


def bandwidth(ref: np.ndarray, dec: np.ndarray) -> tuple[float, float]:
    from scipy.signal import welch

    f, pr = welch(ref.astype(np.float64), SR, nperseg=4096, axis=0)
    _, pd = welch(dec.astype(np.float64), SR, nperseg=4096, axis=0)
    pr = pr.mean(1)
    pd = pd.mean(1)
    has = pr > pr.max() * 1e-6
    kept = has & (pd > pr * 0.1)
    return float(f[np.nonzero(has)[0].max()]), float(f[np.nonzero(kept)[0].max()])


def snr(ref: np.ndarray, dec: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(ref.astype(np.float64) ** 2) / np.sum((ref.astype(np.float64) - dec) ** 2)))


def decode(path: Path) -> np.ndarray:
    raw = subprocess.run(
        [FFMPEG, "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "2", "-ar", str(SR), "-"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, np.float32).reshape(-1, 2)


def find_lag(ref: np.ndarray, dec: np.ndarray, max_lag: int = 8192) -> int:
    n = min(len(ref), 5 * SR)
    a = ref[:n].mean(1).astype(np.float64)
    b = dec[: n + max_lag].mean(1).astype(np.float64)
    size = 1 << int(np.ceil(np.log2(n + 2 * max_lag)))
    c = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    return int(np.argmax(c[:max_lag]))


# --------------------------------------------------------------------------------------------
# Encoders
# --------------------------------------------------------------------------------------------


def example_binary() -> Path:
    subprocess.run(
        ["cargo", "build", "--release", "-q", "-p", "framepipe", "--example", "audio_encode"], cwd=ROOT, check=True
    )
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target / "release" / "examples" / "audio_encode"


def run_timed(cmd: list[str]) -> tuple[float, str]:
    """Runs cmd pinned to one core; returns its CPU time (user+sys) and stderr."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(["taskset", "-c", "0", *cmd], capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {p.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, p.stderr


def encoders(args, example: Path) -> dict:
    def fp(codec: str, kbps: int):
        def enc(src: Path, out: Path) -> tuple[float, dict]:
            cpu, err = run_timed([str(example), codec, str(kbps), str(SR), "2", str(src), str(out)])
            info = json.loads(err.strip().splitlines()[-1])
            return info["encode_cpu_s"], info

        return enc

    def ffmpeg_aac(src: Path, out: Path) -> tuple[float, dict]:
        cmd = [FFMPEG, "-v", "error", "-y", "-threads", "1", "-f", "f32le", "-ar", str(SR), "-ac", "2", "-i", str(src)]
        cpu, _ = run_timed([*cmd, "-c:a", "aac", "-b:a", "128k", "-f", "adts", str(out)])
        # the CLI's own start-up and raw reading, measured without encoding
        base, _ = run_timed([*cmd, "-f", "null", "-"])
        return max(cpu - base, 1e-9), {"priming": 1024}

    def ffmpeg_min(src: Path, out: Path) -> tuple[float, dict]:
        _, err = run_timed([args.ffmpeg_min, str(src), str(out), str(SR), "2", "128000"])
        line = [x for x in err.splitlines() if x.startswith("packets")][-1]
        cpu = float(line.split(" cpu ")[1].split("s")[0])
        return cpu, {"priming": int(line.split("priming ")[1])}

    def ffmpeg_aac_fast(src: Path, out: Path) -> tuple[float, dict]:
        cmd = [FFMPEG, "-v", "error", "-y", "-threads", "1", "-f", "f32le", "-ar", str(SR), "-ac", "2", "-i", str(src)]
        cpu, _ = run_timed([*cmd, "-c:a", "aac", "-aac_coder", "fast", "-b:a", "128k", "-f", "adts", str(out)])
        base, _ = run_timed([*cmd, "-f", "null", "-"])
        return max(cpu - base, 1e-9), {"priming": 1024}

    enc = {"fp-aac": (fp("aac", 128), ".aac"), "ffmpeg-aac": (ffmpeg_aac, ".aac")}
    if args.aac_fast:
        enc["fp-aac-fast"] = (fp("aac-fast", 128), ".aac")
        enc["ffmpeg-aac-fast"] = (ffmpeg_aac_fast, ".aac")
    if args.ffmpeg_min:
        enc["ffmpeg-min"] = (ffmpeg_min, ".aac")
    enc["fp-opus"] = (fp("opus", 96), ".opus")
    return enc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--real", help="a music recording (any format ffmpeg reads)")
    ap.add_argument("--real-start", type=float, default=30.0)
    ap.add_argument("--ffmpeg-min", help="bench/ffmpeg_min_aac.c built against a minimal libavcodec")
    ap.add_argument("--no-visqol", action="store_true")
    ap.add_argument("--visqol-seconds", type=float, default=10.0, help="ViSQOL on the first N s (it is slow)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out-dir", default="/tmp/framepipe-bench-audio")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument(
        "--aac-fast", action="store_true", help='also FFmpeg\'s "fast" AAC coder (fp-aac-fast, ffmpeg-aac-fast)'
    )
    ap.add_argument("--speed-seconds", type=float, default=60.0, help="length of the music signal timed for speed")
    ap.add_argument("--quick", action="store_true", help="smoke run: 2 s signals, no ViSQOL, speed on 5 s, 1 round")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.no_visqol, args.speed_seconds, args.rounds = 2.0, True, 5.0, 1

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    example = example_binary()
    encs = encoders(args, example)
    signals = {
        "music": sig_music(args.seconds),
        "speech": sig_speech(args.seconds),
        "sweep": sig_sweep(args.seconds),
        "noise": sig_noise(args.seconds),
    }
    if args.real:
        signals["real"] = sig_real(args.real, args.seconds, args.real_start)
    visqol = None
    if not args.no_visqol:
        from visqol import VisqolApi

        visqol = VisqolApi()
        visqol.create(mode="audio")

    results = []
    print(f"{'signal':7s} {'encoder':15s} {'kbps':>6s} {'lag':>5s} {'NMR dB':>7s} {'%>0':>6s} {'LSD dB':>7s} "
          f"{'BW kHz':>10s} {'SNR dB':>7s} {'ViSQOL':>6s}")  # fmt: skip
    for name, x in signals.items():
        src = out / f"{name}.f32"
        x.tofile(src)
        for enc_name, (enc, ext) in encs.items():
            path = out / f"{name}.{enc_name}{ext}"
            _, info = enc(src, path)
            d = decode(path)
            lag = find_lag(x, d)
            d = d[lag : lag + len(x)]
            if len(d) != len(x):
                raise RuntimeError(f"{path}: {len(d)} samples after the lag, expected {len(x)}")
            kbps = path.stat().st_size * 8 / (len(x) / SR) / 1000
            n_db, audible = nmr(x, d)
            src_bw, kept_bw = bandwidth(x, d)
            row = dict(signal=name, encoder=enc_name, kbps=kbps, lag=lag, priming=info.get("priming"), nmr_db=n_db,
                       nmr_frames_above_pct=audible, lsd_db=lsd(x, d), source_bw_hz=src_bw, kept_bw_hz=kept_bw,
                       snr_db=snr(x, d))  # fmt: skip
            if visqol is not None:
                m = int(args.visqol_seconds * SR)
                r = visqol.measure_from_arrays(x[:m].mean(1).astype(np.float64), d[:m].mean(1).astype(np.float64), SR)
                row["visqol"] = float(r.moslqo)
            results.append(row)
            vq = f"{row['visqol']:6.3f}" if "visqol" in row else "     -"
            print(f"{name:7s} {enc_name:15s} {kbps:6.1f} {lag:5d} {n_db:7.2f} {audible:6.1f} {row['lsd_db']:7.2f} "
                  f"{kept_bw / 1000:4.1f}/{src_bw / 1000:4.1f} {row['snr_db']:7.2f} {vq}", flush=True)  # fmt: skip

    # speed: --speed-seconds (60) of music, pinned to one core, best of --rounds
    sec = args.speed_seconds
    long = sig_music(sec)
    src = out / f"music{sec:g}.f32"
    long.tofile(src)
    print(f"\nspeed, {sec:g} s of 48 kHz stereo music on one core (encoder CPU time, best of {args.rounds}):")
    speed = {}
    for enc_name, (enc, ext) in encs.items():
        times = [enc(src, out / f"music{sec:g}.{enc_name}{ext}")[0] for _ in range(args.rounds)]
        best = min(times)
        speed[enc_name] = sec / best
        print(
            f"  {enc_name:15s} {best:6.3f} s  {sec / best:6.0f}x realtime  (runs: {', '.join(f'{t:.3f}' for t in times)})"
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"quality": results, "speed_x_realtime": speed, "when": time.ctime()}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
