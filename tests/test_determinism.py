"""Same frames and options, same bytes: whatever the process did before, whatever the input's
memory layout, however many threads write at once, whatever the heap held.

The files are compared byte for byte, and one of each kind is decoded by ffmpeg and compared with
the source (a test of identical garbage would pass too). Frames are 64x48: a width that is not a
multiple of 128 pixels, where x264's AVX-512 macroblock-tree code used to read past the end of
its rows (see crates/framepipe/src/encode/x264.rs), so the heap's old contents changed the file.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import framepipe
import numpy as np
import pytest
from conftest import check_video, decode_rgb, psnr, smooth_frames

H, W, N = 48, 64, 6
SRC = smooth_frames(N, H, W)
GRAY = SRC.mean(-1).astype(np.uint8)
RGBA = np.concatenate([SRC, np.full((N, H, W, 1), 255, np.uint8)], -1)


def digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def encode(path, frames, **kw) -> str:
    framepipe.write_video(path, frames, fps=30, **kw)
    return digest(path)


def other_writers(tmp_path, i: int) -> None:
    """Writers of other kinds between the compared ones: other and odd sizes, gray, alpha, GIF,
    another preset; and a decode by ffmpeg, which fills the heap with other data."""
    rng = np.random.default_rng(i)
    encode(tmp_path / "odd.mp4", list(smooth_frames(5, 37 + i % 5, 53 + 2 * (i % 3), seed=i)))
    encode(tmp_path / "gray_big.mp4", list(rng.integers(0, 256, (3, 130, 250), np.uint8)), preset="ultrafast")
    alpha = rng.integers(0, 256, (3, 40, 72, 4), np.uint8)
    encode(tmp_path / "alpha.mp4", list(alpha), background=(10, 200, 30))
    encode(tmp_path / "noise.gif", list(rng.integers(0, 256, (4, 33, 47, 3), np.uint8)))
    decode_rgb(tmp_path / "odd.mp4")


@pytest.mark.filterwarnings("ignore::framepipe.FramepipeWarning")  # odd sizes are padded
def test_same_frames_twenty_times_interleaved_with_other_writers(tmp_path):
    mp4, gif = set(), set()
    for i in range(20):
        mp4.add(encode(tmp_path / "a.mp4", list(SRC)))
        gif.add(encode(tmp_path / "a.gif", list(SRC)))
        other_writers(tmp_path, i)
    assert len(mp4) == 1, f"{len(mp4)} different MP4 files from the same frames"
    assert len(gif) == 1, f"{len(gif)} different GIF files from the same frames"
    check_video(tmp_path / "a.mp4", frames=N, width=W, height=H)
    assert psnr(decode_rgb(tmp_path / "a.mp4"), SRC) >= 35


def layouts() -> dict[str, list]:
    big = np.zeros((N, 2 * H, 2 * W, 3), np.uint8)
    big[:, ::2, ::2] = SRC
    flipped = np.ascontiguousarray(SRC[:, ::-1])
    return {
        "contiguous": list(SRC),
        "opaque_rgba": list(RGBA),
        "every_other_pixel": [f[::2, ::2] for f in big],
        "row_padded": [np.concatenate([f, f], 1)[:, :W] for f in SRC],
        "fortran_order": [np.asfortranarray(f) for f in SRC],
        "negative_strides": [f[::-1] for f in flipped],
        "channel_view": [np.concatenate([f, f], -1)[..., :3] for f in SRC],
    }


@pytest.mark.parametrize("fmt", ["mp4", "gif"])
def test_every_input_layout_gives_the_same_bytes(tmp_path, fmt):
    got = {name: encode(tmp_path / f"{name}.{fmt}", frames) for name, frames in layouts().items()}
    assert len(set(got.values())) == 1, got
    gray = {
        name: encode(tmp_path / f"{name}.{fmt}", frames)
        for name, frames in {
            "gray_2d": list(GRAY),
            "gray_hxwx1": list(GRAY[..., None]),
            "gray_strided": [np.repeat(f, 2, 1)[:, ::2] for f in GRAY],
        }.items()
    }
    assert len(set(gray.values())) == 1, gray
    if fmt == "mp4":
        check_video(tmp_path / "contiguous.mp4", frames=N, width=W, height=H)
        assert psnr(decode_rgb(tmp_path / "contiguous.mp4"), SRC) >= 35
        assert psnr(decode_rgb(tmp_path / "gray_2d.mp4"), np.repeat(GRAY[..., None], 3, -1)) >= 38


def test_four_threads_at_once_give_the_serial_bytes(tmp_path):
    expected = encode(tmp_path / "serial.mp4", list(SRC))
    expected_gif = encode(tmp_path / "serial.gif", list(SRC))
    results: dict[str, str] = {}
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for k in range(5):
                results[f"{t}-{k}.mp4"] = encode(tmp_path / f"{t}-{k}.mp4", list(SRC))
                results[f"{t}-{k}.gif"] = encode(tmp_path / f"{t}-{k}.gif", list(SRC))
                encode(tmp_path / f"{t}-{k}-other.mp4", list(GRAY[::-1]), threads=1 + t % 2)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(results) == 40
    assert {v for k, v in results.items() if k.endswith(".mp4")} == {expected}
    assert {v for k, v in results.items() if k.endswith(".gif")} == {expected_gif}


SCRIPT = textwrap.dedent(
    """
    import hashlib, sys
    import numpy as np
    import framepipe
    sys.path.insert(0, sys.argv[1])
    from conftest import smooth_frames
    pattern = int(sys.argv[2])
    # Leave the heap full of one byte pattern (and of a few other encoders' freed buffers)
    # before the encode that is compared.
    junk = [bytearray([pattern]) * n for n in (48, 64, 96, 200, 1000, 4096, 30000, 100000) for _ in range(40)]
    del junk
    for k in range(2):
        framepipe.write_video(None, list(smooth_frames(3, 30, 80, seed=k)), fps=30)
    data = framepipe.write_video(None, list(smooth_frames(6, 48, 64)), fps=30).data
    print(hashlib.sha256(data).hexdigest())
    """
)


def test_same_bytes_whatever_the_heap_held_before(tmp_path):
    """Fresh processes whose allocator fills new memory with different bytes (glibc's
    MALLOC_PERTURB_) and whose heap is left full of different patterns: one file."""
    here = str(Path(__file__).parent)
    seen = {}
    for perturb, pattern in [(None, 0), ("1", 255), ("85", 0), ("170", 128), ("254", 1)]:
        env = dict(os.environ)
        if perturb is not None:
            env["MALLOC_PERTURB_"] = perturb
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT, here, str(pattern)], env=env, capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr
        seen[(perturb, pattern)] = out.stdout.strip()
    in_process = encode(tmp_path / "x.mp4", list(SRC))
    assert set(seen.values()) == {in_process}, seen
