"""Smoke test of an installed framepipe wheel (scripts/test-wheel.sh), in two steps:

``smoke.py write OUTDIR X264_VERSION`` runs with the wheel's venv, inside a mount namespace where
the system's libx264 (and libclang, Rust, cargo) are hidden: it checks that they are, and that the
x264 encoding is the wheel's own (compiled into the extension: version X264_VERSION, as
"0.164.3108 31e19f9", and no libx264 mapped into the process), writes an MP4 and a GIF through
the Python API and two MP4s through the venv's ``framepipe`` command (raw rgb24 frames on stdin,
PNG files), interrupts one encode with SIGINT, and saves the source frames.
``smoke.py check OUTDIR`` runs outside (ffmpeg itself links libx264, so it cannot run in there):
ffprobe decodes every file (frame count, size) and ffmpeg's pixels are compared with the source
frames (PSNR).
"""

from __future__ import annotations

import ctypes
import json
import shutil
import signal
import struct
import subprocess
import sys
import time
import wave
import zlib
from pathlib import Path

import numpy as np

W, H, N = 160, 120, 30  # MP4s
GW, GH, GN = 96, 64, 12  # the GIF
FPS = 30
RATE = 48000  # the sound track's sample rate


def gradient(w: int, h: int, i: int) -> np.ndarray:
    """A smooth, moving RGB frame (so that PSNR means something)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    fx, fy = x / 160.0, y / 120.0
    tau = 2 * np.pi
    r = 128 + 90 * np.sin(tau * (fx + i / 40))
    g = 128 + 90 * np.cos(tau * (fy * 0.8 - i / 50))
    b = 128 + 70 * np.sin(tau * ((fx + fy) * 0.5 + i / 60))
    return np.clip(np.round(np.stack([r, g, b], -1)), 0, 255).astype(np.uint8)


def png(rgb: np.ndarray) -> bytes:
    """An 8-bit RGB PNG (no imaging library in the wheel's venv)."""
    h, w, _ = rgb.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def check(cond: bool, what: str) -> None:
    if not cond:
        raise SystemExit(f"smoke: FAILED: {what}")
    print(f"smoke: ok: {what}")


def run(cmd: list[str], stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=300)


def assert_hidden(hidden: list[str]) -> None:
    """What the namespace hides is really hidden (and would be found otherwise)."""
    check(len(hidden) > 0, f"the test hides {len(hidden)} files: {', '.join(hidden)}")
    for path in hidden:
        with open(path, "rb") as f:
            check(f.read(4) != b"\x7fELF", f"{path} is hidden (not an ELF file in this namespace)")
    try:
        ctypes.CDLL("libx264.so.164")
        loaded = True
    except OSError as e:
        loaded = False
        print(f"smoke: dlopen('libx264.so.164'): {e}")
    check(not loaded, "the system's libx264.so.164 cannot be loaded")
    for tool in ("cargo", "rustc", "clang"):
        check(shutil.which(tool) is None, f"no {tool} on PATH")


def write(out: Path, x264_version: str, hidden: list[str]) -> None:
    assert_hidden(hidden)
    import framepipe

    venv_bin = Path(sys.executable).parent
    check(Path(framepipe.__file__).resolve().is_relative_to(Path(sys.prefix).resolve()), "framepipe is the venv's")
    info = framepipe.build_info()
    print(f"smoke: build_info: {info}")
    core = int(x264_version.split(".")[1])
    check(
        (info["x264_core"], info["x264_version"]) == (core, x264_version)
        and (info["x264_compiled_core"], info["x264_compiled_version"]) == (core, x264_version),
        f"build_info names the wheel's x264: core {core}, {x264_version}",
    )
    check(info["x264_license"] == "GPL-2.0-or-later", "build_info gives x264's licence")
    maps = Path("/proc/self/maps").read_text()
    x264_maps = {line.split()[-1] for line in maps.splitlines() if "libx264" in line}
    check(not x264_maps, f"no x264 library is mapped (x264 is inside the extension): {x264_maps}")

    frames = [gradient(W, H, i) for i in range(N)]
    gif_frames = [gradient(GW, GH, 3 * i) for i in range(GN)]
    np.save(out / "frames.npy", np.stack(frames))
    np.save(out / "gif_frames.npy", np.stack(gif_frames))

    with framepipe.VideoWriter(out / "api.mp4", fps=FPS, crf=18, preset="fast") as v:
        for f in frames:
            v.write(f)
    check(v.close().frames == N, "VideoWriter wrote an MP4")
    framepipe.write_video(out / "api.gif", gif_frames, fps=10)
    check(framepipe.probe(out / "api.gif")["frame_count"] == GN, "write_video wrote a GIF")
    # Sound (issue 23): the same frames with a 440/660 Hz stereo tone, through the API (an array)
    # and the command (a WAV file), checked in verify() against the tone.
    tone = sound_tone()
    np.save(out / "tone.npy", tone)
    pcm = (tone * 32768).astype("<i2")  # exact: the tone is on the 16-bit grid
    r = framepipe.write_video(out / "api_sound.mp4", frames, fps=FPS, crf=18, audio=pcm, audio_fps=RATE)
    check(r.frames == N and r.audio_samples == len(tone), f"write_video wrote an MP4 with sound: {r}")
    with wave.open(str(out / "tone.wav"), "wb") as f:
        f.setnchannels(2)
        f.setsampwidth(2)
        f.setframerate(RATE)
        f.writeframes(pcm.tobytes())

    exe = str(venv_bin / "framepipe")
    check(shutil.which("framepipe") == exe, f"`framepipe` on PATH is the venv's console script ({exe})")
    r = run([exe, "--version"])
    version = r.stdout.decode()
    expected = f"x264 core {core}, version {x264_version} "
    check(r.returncode == 0 and expected in version, f"framepipe --version: {version!r}")
    r = run([exe, "encode", str(out / "cli_raw.mp4"), "--size", f"{W}x{H}", "--pix-fmt", "rgb24", "--crf", "18"],
            stdin=b"".join(f.tobytes() for f in frames))  # fmt: skip
    check(r.returncode == 0, f"framepipe encode from stdin: {r.stderr.decode()}")
    pngs = []
    for i, f in enumerate(frames):
        p = out / f"frame{i:03d}.png"
        p.write_bytes(png(f))
        pngs.append(str(p))
    r = run([exe, "encode", str(out / "cli_png.mp4"), "--fps", str(FPS), "--crf", "18", *pngs])
    check(r.returncode == 0, f"framepipe encode from PNG files: {r.stderr.decode()}")
    r = run([exe, "encode", str(out / "cli_sound.mp4"), "--fps", str(FPS), "--crf", "18",
             "--audio", str(out / "tone.wav"), *pngs])  # fmt: skip
    check(r.returncode == 0, f"framepipe encode --audio: {r.stderr.decode()}")
    r = run([exe, "probe", "--json", str(out / "cli_png.mp4")])
    check(r.returncode == 0 and json.loads(r.stdout)["frame_count"] == N, "framepipe probe --json")
    r = run([exe, "encode", str(out / "never.mp4")])
    check(r.returncode == 2 and b"--size" in r.stderr, f"a usage error exits 2: {r.stderr.decode()}")
    r = run([exe, "probe", str(out / "missing.mp4")])
    check(r.returncode == 1 and r.stderr.startswith(b"framepipe: error: "), "a failure exits 1")

    # Ctrl-C while the command waits for input: the frames so far are kept, status 130.
    p = subprocess.Popen(
        [exe, "encode", str(out / "cli_sigint.mp4"), "--size", f"{W}x{H}"],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert p.stdin is not None and p.stderr is not None
    p.stdin.write(b"".join(f.tobytes() for f in frames[:10]))
    p.stdin.flush()
    deadline = time.monotonic() + 60
    while not (out / "cli_sigint.mp4").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # the 10 frames read and handed to x264
    p.send_signal(signal.SIGINT)
    err = p.stderr.read().decode()
    status = p.wait(60)
    p.stdin.close()
    check(
        status == 130 and err.startswith("framepipe: interrupted: SIGINT received") and "Traceback" not in err,
        f"SIGINT finishes the file and exits 130: {status} {err!r}",
    )


def ffprobe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
         "stream=codec_name,width,height,nb_read_frames", "-of", "json", str(path)],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return json.loads(out)["streams"][0]


def decode(path: Path, w: int, h: int) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def sound_tone() -> np.ndarray:
    """N / FPS seconds of 440 Hz (left) and 660 Hz (right) at half scale, (n, 2) float32, in
    16-bit steps (the API gets it as int16, the command as a 16-bit WAV: the same samples)."""
    t = np.arange(round(N / FPS * RATE)) / RATE
    tone = 0.5 * np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)], axis=1)
    return (np.round(tone * 32768) / 32768).astype(np.float32)  # on the 16-bit grid of the WAV


def ffprobe_audio(path: Path) -> dict:
    r = run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
             "stream=codec_name,sample_rate,channels,duration", "-of", "json", str(path)])  # fmt: skip
    check(r.returncode == 0, f"ffprobe {path.name}: {r.stderr.decode()}")
    streams = json.loads(r.stdout)["streams"]
    check(len(streams) == 1, f"{path.name} has a sound track")
    return streams[0]


def audio_packets(path: Path) -> bytes:
    r = run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a:0", "-c", "copy", "-f", "data", "-"])
    check(r.returncode == 0 and len(r.stdout) > 0, f"ffmpeg copies the sound of {path.name}: {r.stderr.decode()}")
    return r.stdout


def decode_audio(path: Path) -> np.ndarray:
    r = run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a:0", "-f", "f32le", "-"])
    check(r.returncode == 0, f"ffmpeg decodes the sound of {path.name}: {r.stderr.decode()}")
    return np.frombuffer(r.stdout, "<f4").reshape(-1, 2)


def verify(out: Path) -> None:
    frames = np.load(out / "frames.npy")
    gif_frames = np.load(out / "gif_frames.npy")
    for name, codec, src, n_min in [
        ("api.mp4", "h264", frames, 38.0),
        ("cli_raw.mp4", "h264", frames, 38.0),
        ("cli_png.mp4", "h264", frames, 38.0),
        ("api.gif", "gif", gif_frames, 30.0),
    ]:
        info = ffprobe(out / name)
        n, h, w = src.shape[:3]
        got_facts = (info["codec_name"], info["width"], info["height"], int(info["nb_read_frames"]))
        check(got_facts == (codec, w, h, n), f"ffprobe: {name} is {codec}, {w}x{h}, {n} frames ({info})")
        got = decode(out / name, w, h)
        db = psnr(got, src)
        check(got.shape == src.shape and db >= n_min, f"{name}: decoded pixels match the source, PSNR {db:.1f} dB")
    tone = np.load(out / "tone.npy")
    for name in ("api_sound.mp4", "cli_sound.mp4"):
        a = ffprobe_audio(out / name)
        facts = (a["codec_name"], int(a["sample_rate"]), int(a["channels"]), round(float(a["duration"]), 3))
        check(
            facts == ("aac", RATE, 2, round(N / FPS, 3)), f"ffprobe: {name} has AAC stereo {RATE} Hz, {N / FPS} s: {a}"
        )
        got = decode_audio(out / name)[: len(tone)]
        snr = 10 * np.log10(np.sum(tone**2) / np.sum((got - tone) ** 2))
        check(len(got) == len(tone) and snr >= 24, f"{name}: decoded sound matches the tone, SNR {snr:.1f} dB")
    # The same samples and options through the API and the command: the same sound track.
    check(audio_packets(out / "api_sound.mp4") == audio_packets(out / "cli_sound.mp4"), "API and CLI: same AAC")
    kept = ffprobe(out / "cli_sigint.mp4")
    check(int(kept["nb_read_frames"]) == 10, f"the interrupted encode kept its 10 frames ({kept})")
    # The command and the API give the same bytes for the same frames and options.
    check((out / "cli_raw.mp4").read_bytes() == (out / "cli_png.mp4").read_bytes(), "stdin and PNG input: same MP4")


if __name__ == "__main__":
    step, outdir = sys.argv[1], Path(sys.argv[2])
    if step == "write":
        write(outdir, sys.argv[3], sys.argv[4:])
    elif step == "check":
        verify(outdir)
    else:
        raise SystemExit(f"usage: {sys.argv[0]} write OUTDIR X264_VERSION [HIDDEN_FILE...] | check OUTDIR")
    print(f"smoke: {step}: all checks passed")
