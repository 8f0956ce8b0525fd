"""The `framepipe` console script of the Python package (framepipe._cli, which runs the CLI's Rust
code in-process) behaves as the binary `cargo build` makes: same output, same exit codes, same
bytes written. (scripts/test-wheel.sh also runs all of crates/framepipe-cli/tests/cli.rs against
the console script of an installed wheel.)"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import framepipe
import numpy as np
import pytest
from conftest import ffprobe

ROOT = Path(__file__).resolve().parents[1]
W, H, N = 64, 48, 12


@pytest.fixture(scope="module")
def commands() -> dict[str, str]:
    """The binary, and the console script of the venv running these tests."""
    binary = ROOT / "target" / "release" / "framepipe"
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "framepipe-cli"], cwd=ROOT, check=True)
    script = Path(sys.executable).parent / "framepipe"
    assert script.exists(), f"no console script at {script}: is framepipe installed (scripts/setup.sh)?"
    assert "framepipe._cli" in script.read_text(), "not the console script"
    return {"binary": str(binary), "script": str(script)}


def frames() -> list[np.ndarray]:
    y, x = np.mgrid[0:H, 0:W]
    return [
        np.stack([(x * 4 + i * 5) % 256, (y * 5) % 256, (x + y + i * 9) % 256], -1).astype(np.uint8) for i in range(N)
    ]


def run(cmd: str, *args: str, stdin: bytes = b"", cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([cmd, *args], input=stdin, capture_output=True, cwd=cwd, timeout=120)


def both(commands, *args: str, stdin: bytes = b"", cwd: Path | None = None):
    return {name: run(cmd, *args, stdin=stdin, cwd=cwd) for name, cmd in commands.items()}


def test_version_names_x264(commands):
    r = both(commands, "--version")
    assert r["script"].returncode == r["binary"].returncode == 0
    assert r["script"].stdout == r["binary"].stdout
    text = r["script"].stdout.decode()
    info = framepipe.build_info()
    assert text.startswith(f"framepipe {framepipe.__version__}\n"), text
    assert f"x264 core {info['x264_core']}, version {info['x264_version']} (GPL-2.0-or-later)" in text, text
    assert info["x264_version"].startswith(f"0.{info['x264_core']}."), info
    assert info["libavcodec"].startswith("Lavc61."), info  # FFmpeg 7.1's, the AAC encoder's
    # -V is the short version, as clap gives it.
    r = both(commands, "-V")
    assert r["script"].stdout == r["binary"].stdout == f"framepipe {framepipe.__version__}\n".encode()


@pytest.mark.parametrize(
    "args, status",
    [
        (["--help"], 0),
        (["encode", "--help"], 0),
        ([], 2),  # no subcommand
        (["bogus"], 2),
        (["encode", "out.mp4", "--crf", "20", "--bitrate", "100", "--size", "8x8"], 2),
        (["encode", "out.mp4"], 2),  # usage error raised by the command itself: no --size
        (["encode", "-", "--size", "8x8"], 2),
        (["probe", "missing.mp4"], 1),
        (["repair", "missing.mp4"], 1),
    ],
)
def test_same_output_and_status(commands, tmp_path, args, status):
    r = both(commands, *args, cwd=tmp_path)
    assert r["binary"].returncode == status, r["binary"].stderr
    assert r["script"].returncode == status, r["script"].stderr
    assert r["script"].stdout == r["binary"].stdout
    assert r["script"].stderr == r["binary"].stderr
    assert not (tmp_path / "out.mp4").exists()


def test_encode_from_stdin_and_pngs_gives_the_binarys_bytes(commands, tmp_path):
    from PIL import Image

    src = frames()
    raw = b"".join(f.tobytes() for f in src)
    pngs = []
    for i, f in enumerate(src):
        pngs.append(str(tmp_path / f"f{i:02d}.png"))
        Image.fromarray(f).save(pngs[-1])
    for kind, extra, stdin in [("raw", ["--size", f"{W}x{H}", "--pix-fmt", "rgb24"], raw), ("png", pngs, b"")]:
        for ext in ("mp4", "gif"):
            outs = {}
            for name, cmd in commands.items():
                out = tmp_path / f"{kind}-{name}.{ext}"
                r = run(cmd, "encode", str(out), "--fps", "24", *extra, stdin=stdin)
                assert r.returncode == 0, (name, r.stderr)
                outs[name] = out
            info = ffprobe(outs["script"])
            assert (info["width"], info["height"], info["nb_read_frames"]) == (W, H, N), info
            assert outs["script"].read_bytes() == outs["binary"].read_bytes(), f"{kind} -> {ext}"
            r = both(commands, "probe", "--json", str(outs["script"]))
            assert r["script"].returncode == 0 and r["script"].stdout == r["binary"].stdout.replace(
                str(outs["binary"]).encode(), str(outs["script"]).encode()
            )
            assert json.loads(r["script"].stdout)["frame_count"] == N


def test_truncated_input_and_file_fail_the_same_way(commands, tmp_path):
    raw = b"".join(f.tobytes() for f in frames())[:-100]  # the last frame is cut short
    for name, cmd in commands.items():
        r = run(cmd, "encode", str(tmp_path / f"{name}.mp4"), "--size", f"{W}x{H}", stdin=raw)
        assert r.returncode == 1, r.stderr
        assert b"ended 9116 bytes into frame 11" in r.stderr, r.stderr
        assert r.stderr.endswith(f"the 11 complete frames before it were kept in {tmp_path / name}.mp4\n".encode())
    data = (tmp_path / "script.mp4").read_bytes()
    assert data == (tmp_path / "binary.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) - 300])
    r = both(commands, "probe", str(tmp_path / "cut.mp4"))
    assert r["script"].returncode == r["binary"].returncode == 1
    assert r["script"].stdout == r["binary"].stdout and r["script"].stderr == r["binary"].stderr
    assert b"truncated" in r["script"].stderr


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_finishes_the_file_without_a_traceback(commands, tmp_path, sig, status):
    """As the binary: the first signal stops the input and finishes the file; no KeyboardInterrupt."""
    src = frames()
    out = tmp_path / "out.mp4"
    p = subprocess.Popen(
        [commands["script"], "encode", str(out), "--size", f"{W}x{H}"], stdin=subprocess.PIPE, stderr=subprocess.PIPE
    )
    p.stdin.write(b"".join(f.tobytes() for f in src[:5]))
    p.stdin.flush()
    deadline = time.monotonic() + 60
    # The writer exists (its temporary beside the output, which becomes the output once a
    # fragment is on disk): the handlers are installed.
    while not [f for f in tmp_path.iterdir() if f.name.endswith(".fp-tmp")]:
        assert time.monotonic() < deadline, "the encode never started"
        time.sleep(0.02)
    time.sleep(1.0)  # the 5 frames read
    p.send_signal(sig)
    err = p.stderr.read().decode()
    assert p.wait(60) == status, err
    p.stdin.close()
    name = signal.Signals(sig).name
    kept = f"the 5 frames encoded so far were kept in {out}"
    assert err == f"framepipe: interrupted: {name} received, stopped reading input; {kept}\n"
    assert ffprobe(out)["nb_read_frames"] == 5


def test_cli_main_returns_the_status(capfd):
    """In-process: the status comes back (the process is not exited); output goes to fd 2."""
    assert framepipe._native.cli_main(["framepipe", "probe", "/nonexistent/x.mp4"]) == 1
    assert framepipe._native.cli_main(["framepipe", "--bogus"]) == 2
    err = capfd.readouterr().err
    assert err.startswith("framepipe: error: opening /nonexistent/x.mp4: "), err
    assert "unexpected argument '--bogus'" in err, err
