"""Every accepted frame type: pixel layouts, dtypes, strides, PIL images, matplotlib Figures."""

from __future__ import annotations

import threading
import time

import framepipe
import numpy as np
import pytest
from conftest import check_video, decode_rgb, psnr, smooth_frames

H, W, N = 48, 64, 6


@pytest.fixture(scope="module")
def src():
    return smooth_frames(N, H, W)


def encode(out, frames, **kw):
    framepipe.write_video(out, frames, fps=30, **kw)
    check_video(out, frames=len(frames), width=W, height=H)
    return decode_rgb(out)


def test_gray_2d_and_hxwx1(out, tmp_path, src):
    gray = src.mean(-1).astype(np.uint8)
    decoded = encode(out, list(gray))
    assert psnr(decoded, np.repeat(gray[..., None], 3, -1)) >= 38
    # Chroma is neutral: R = G = B within rounding.
    assert np.abs(decoded[..., 0].astype(int) - decoded[..., 2].astype(int)).max() <= 3
    out2 = tmp_path / "b.mp4"
    assert np.array_equal(encode(out2, list(gray[..., None])), decoded)


def test_rgba_alpha_composited_over_background(out):
    frame = np.zeros((H, W, 4), np.uint8)
    frame[..., :3] = (255, 255, 255)
    frame[:, : W // 2, 3] = 255  # left half opaque white
    frame[:, W // 2 :, 3] = 0  # right half fully transparent
    decoded = encode(out, [frame] * 2, background=(0, 0, 255))
    left = decoded[:, 8:-8, 8 : W // 2 - 8].astype(int)
    right = decoded[:, 8:-8, W // 2 + 8 : -8].astype(int)
    assert np.abs(left - (255, 255, 255)).max() <= 3
    assert np.abs(right - (0, 0, 255)).max() <= 3


def test_half_transparent_blends(out):
    frame = np.zeros((H, W, 4), np.uint8)
    frame[...] = (255, 0, 0, 128)
    decoded = encode(out, [frame], background=(0, 0, 0))
    assert np.abs(decoded[:, 8:-8, 8:-8].astype(int) - (128, 0, 0)).max() <= 4


def test_opaque_rgba_equals_rgb(tmp_path, src):
    rgba = np.concatenate([src, np.full(src.shape[:-1] + (1,), 255, np.uint8)], -1)
    a = encode(tmp_path / "a.mp4", list(src))
    b = encode(tmp_path / "b.mp4", list(rgba))
    assert np.array_equal(a, b)


@pytest.mark.parametrize("fmt", ["bgr24", "bgra", "argb"])
def test_other_byte_orders(out, src, fmt):
    if fmt == "bgr24":
        frames = src[..., ::-1].copy()
    elif fmt == "bgra":
        frames = np.concatenate([src[..., ::-1], np.full(src.shape[:-1] + (1,), 255, np.uint8)], -1)
    else:
        frames = np.concatenate([np.full(src.shape[:-1] + (1,), 255, np.uint8), src], -1)
    decoded = encode(out, list(frames), pix_fmt=fmt)
    assert psnr(decoded, src) >= 35


def test_bool_frames_are_black_and_white(out):
    frame = np.zeros((H, W), bool)
    frame[:, : W // 2] = True
    decoded = encode(out, [frame] * 2)
    assert decoded[:, 8:-8, 8 : W // 2 - 8].min() >= 252
    assert decoded[:, 8:-8, W // 2 + 8 : -8].max() <= 3


def test_uint16_full_range_maps_to_8_bit(out, src):
    wide = src.astype(np.uint16) * 257  # 255 → 65535
    decoded = encode(out, list(wide))
    assert psnr(decoded, src) >= 35


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_frames_in_unit_range(out, src, dtype):
    f = (src / 255.0).astype(dtype)
    decoded = encode(out, list(f))
    assert psnr(decoded, src) >= 35


def test_float_frames_are_clipped_not_rescaled_per_frame(tmp_path):
    # A dim frame stays dim: peers that rescale each frame to its own max make videos flicker.
    dim = np.full((H, W, 3), 0.25, np.float32)
    bright = np.full((H, W, 3), 1.7, np.float32)  # clipped to 1.0
    negative = np.full((H, W, 3), -3.0, np.float32)  # clipped to 0.0
    with pytest.warns(framepipe.FramepipeWarning, match="^frame 1 is a float array with values above 1"):
        decoded = encode(tmp_path / "f.mp4", [dim, bright, negative])
    assert abs(decoded[0].mean() - 64) <= 3
    assert decoded[1].min() >= 252
    assert decoded[2].max() <= 3


# --- a float frame above 1 (0-255 data given as floats) warns once --------------------------------


def _float_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if "float array with values above 1" in str(w.message)]


def test_float_frame_of_0_255_data_warns_once_naming_the_frame(tmp_path):
    """The issue's case: (40, 200, 0) meant as 0-255 comes out (255, 255, 0) (clipped, as
    documented); the writer says so once, naming the first such frame and what to do."""
    import warnings

    ok = np.full((H, W, 3), 0.5, np.float32)
    rgb = np.zeros((H, W, 3), np.float64)
    rgb[:] = (40, 200, 0)
    out = tmp_path / "w.mp4"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with framepipe.VideoWriter(out, fps=30) as w:
            for f in (ok, ok, rgb, ok, rgb):
                w.write(f)
    (msg,) = _float_warnings(caught)
    assert msg.startswith("frame 2 is a float array with values above 1") and "[0, 1]" in msg
    assert "divide by 255" in msg and "uint8" in msg
    assert [w.category for w in caught if str(w.message) == msg] == [framepipe.FramepipeWarning]
    assert caught[0].filename == __file__  # the user's line, not framepipe's
    decoded = decode_rgb(out)
    assert np.abs(decoded[2].astype(int) - (255, 255, 0)).max() <= 6  # what the warning is about
    assert np.abs(decoded[0].astype(int) - 128).max() <= 3


def test_write_video_warns_too_and_each_writer_once(tmp_path):
    import warnings

    rgb = np.full((H, W, 3), 200.0, np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        framepipe.write_video(tmp_path / "a.mp4", [rgb] * 3, fps=30)
        framepipe.write_video(tmp_path / "b.mp4", [np.zeros_like(rgb), rgb], fps=30)
    assert [m[:8] for m in _float_warnings(caught)] == ["frame 0 ", "frame 1 "]
    assert all(w.filename == __file__ for w in caught)


@pytest.mark.parametrize(
    "frame",
    [
        np.full((H, W, 3), 1.0, np.float32),  # full intensity: in range
        np.zeros((H, W, 3), np.float64),
        np.full((H, W, 3), -7.0, np.float32),  # below 0: clipped, not 0-255 data
        np.full((H, W, 3), 200, np.uint8),
        np.full((H, W, 3), 60000, np.uint16),
        np.ones((H, W), np.bool_),
    ],
    ids=["one", "zero", "negative", "uint8", "uint16", "bool"],
)
def test_no_float_warning_for_frames_in_range_or_not_float(tmp_path, frame):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        framepipe.write_video(tmp_path / "a.mp4", [frame] * 2, fps=30)


def test_nan_is_refused_not_warned_about(tmp_path):
    import warnings

    frame = np.full((H, W, 3), np.nan, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(framepipe.ParameterError, match="frame 0: contains NaN"):
            framepipe.write_video(tmp_path / "a.mp4", [frame], fps=30)


@pytest.mark.parametrize("workers, path", [(1, "r.mp4"), (2, "r.mp4"), (2, "r.gif")])
def test_render_warns_once_about_the_first_such_frame(tmp_path, workers, path):
    """Parallel chunks report it to the render, which warns once, about the first such frame of
    the video (not of a chunk), as workers=1 does."""
    import warnings

    ok = np.full((16, 16, 3), 0.5, np.float32)
    high = np.full((16, 16, 3), 9.0, np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        framepipe.render(
            lambda i: high if i >= 5 else ok, tmp_path / path, n_frames=16, workers=workers, chunk_frames=4
        )
    assert [m[:8] for m in _float_warnings(caught)] == ["frame 5 "]


def test_strided_and_non_contiguous_arrays(tmp_path, src):
    reference = encode(tmp_path / "ref.mp4", list(src))
    big = np.zeros((N, H * 2, W * 2, 3), np.uint8)
    big[:, ::2, ::2] = src
    views = {
        "every_other_pixel": [f[::2, ::2] for f in big],
        "fortran_order": [np.asfortranarray(f) for f in src],
        "flipped_twice": [f[::-1][::-1] for f in src],
        "negative_strides": [np.ascontiguousarray(f[::-1])[::-1] for f in src],
        "channel_view": [np.ascontiguousarray(np.concatenate([f, f], -1))[..., :3] for f in src],
        "float_strided": [(np.concatenate([f, f], 1) / 255.0)[:, :W] for f in src],
        # uint8 rows with packed pixels but padded rows: the engine reads them in place.
        "row_padded": [np.concatenate([f, f], 1)[:, :W] for f in src],
    }
    for name, frames in views.items():
        assert not all(f.flags.c_contiguous for f in frames) or name == "flipped_twice", name
        decoded = encode(tmp_path / f"{name}.mp4", frames)
        if name == "float_strided":
            assert psnr(decoded, src) >= 35, name
        else:
            assert np.array_equal(decoded, reference), name


def test_pil_images(tmp_path, src):
    from PIL import Image

    modes = {
        "RGB": [Image.fromarray(f) for f in src],
        "RGBA": [Image.fromarray(f).convert("RGBA") for f in src],
        "L": [Image.fromarray(f).convert("L") for f in src],
        "P": [Image.fromarray(f).convert("P", palette=Image.Palette.ADAPTIVE, colors=256) for f in src],
    }
    for mode, frames in modes.items():
        decoded = encode(tmp_path / f"{mode}.mp4", frames)
        expect = np.stack([np.asarray(im.convert("RGB")) for im in frames])
        assert psnr(decoded, expect) >= 33, mode


def test_matplotlib_figures(out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3.2, 2.4), dpi=50)  # 160x120 pixels
    ax.set_axis_off()
    fig.subplots_adjust(0, 0, 1, 1)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    (line,) = ax.plot([0, 1], [0, 1], lw=10, color="tab:blue")
    expected = []
    with framepipe.VideoWriter(out, fps=10) as w:
        for i in range(5):
            line.set_ydata([0, i / 4])
            w.write(fig)  # drawn fresh for each frame
            expected.append(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
    plt.close(fig)
    check_video(out, frames=5, width=160, height=120, fps=10)
    decoded = decode_rgb(out)
    assert psnr(decoded, np.stack(expected)) >= 33
    # Each decoded frame is closest to its own source frame: the figure was redrawn each time.
    for i in range(5):
        assert int(np.argmax([psnr(decoded[i], e) for e in expected])) == i


def test_gil_is_released_while_encoding(tmp_path):
    # While one thread converts and encodes big frames, another keeps running Python code.
    frame = np.random.default_rng(1).random((1080, 1920, 3))  # float64: slow conversion path
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    with framepipe.VideoWriter(tmp_path / "gil.mp4", fps=30, preset="ultrafast") as w:
        w.write(frame)  # warm-up: opens the encoder
        t = threading.Thread(target=ticker)
        t.start()
        time.sleep(0.02)
        start = time.perf_counter()
        for _ in range(3):
            w.write(frame)
        end = time.perf_counter()
        time.sleep(0.02)
        stop.set()
        t.join()
    per_write = (end - start) / 3
    inside = [x for x in ticks if start - 0.005 <= x <= end + 0.005]
    gaps = np.diff(inside)
    # Had write() held the GIL, the ticker would have stalled for a whole write (per_write).
    assert len(inside) >= 3 and gaps.max() < max(per_write / 2, 0.02), (gaps.max(), per_write)


def test_broadcast_unaligned_and_big_endian_arrays(tmp_path, src):
    reference = encode(tmp_path / "ref.mp4", list(src))
    # A broadcast frame (row stride 0) is read correctly, not refused.
    bcast = np.broadcast_to(src[0, 0], (H, W, 3))  # one row repeated: strides (0, 3, 1)
    assert bcast.strides[0] == 0
    decoded = encode(tmp_path / "bcast.mp4", [bcast] * 2)
    assert psnr(decoded, np.stack([bcast] * 2)) >= 35
    # Big-endian uint16 and float32 are accepted and mean the same values.
    be16 = [(f.astype(np.uint16) * 257).astype(">u2") for f in src]
    assert psnr(encode(tmp_path / "be16.mp4", be16), src) >= 35
    bef = [(f / 255.0).astype(">f4") for f in src]
    assert psnr(encode(tmp_path / "bef.mp4", bef), src) >= 35
    # Unaligned float32 memory (offset by one byte inside a bytes buffer).
    unaligned = []
    for f in src:
        raw = b"\0" + (f / 255.0).astype(np.float32).tobytes()
        a = np.frombuffer(raw, np.float32, offset=1).reshape(H, W, 3)
        assert not a.flags.aligned
        unaligned.append(a)
    assert psnr(encode(tmp_path / "unaligned.mp4", unaligned), src) >= 35
    assert reference.shape == (N, H, W, 3)


def test_progress_can_be_polled_from_another_thread_during_writes(tmp_path):
    # Reading the writer's counters while another thread is inside write() must not deadlock.
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import threading, numpy as np, framepipe
        frame = np.random.default_rng(0).random((720, 1280, 3)).astype(np.float32)
        w = framepipe.VideoWriter({str(tmp_path / "poll.mp4")!r}, fps=30, preset="ultrafast")
        seen = []
        done = threading.Event()
        def poll():
            while not done.is_set():
                seen.append((w.frames_written, w.closed, repr(w)))
        t = threading.Thread(target=poll)
        t.start()
        for _ in range(8):
            w.write(frame)
        done.set()
        t.join()
        res = w.close()
        print(res.frames, len(seen), max(s[0] for s in seen))
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    frames, polls, max_seen = map(int, r.stdout.split())
    assert frames == 8 and polls > 0 and 0 <= max_seen <= 8
    check_video(tmp_path / "poll.mp4", frames=8, width=1280, height=720)


def test_warnings_point_at_the_callers_line_in_a_python_c_script(tmp_path):
    """A warning is attributed to the first line outside framepipe, here a ``python -c`` script
    (whose loader cannot give its source: the warning must not ask it)."""
    import subprocess
    import sys

    code = (
        "import framepipe, numpy as np\n"
        f"framepipe.write_video({str(tmp_path / 'c.mp4')!r}, [np.full((16, 16, 3), 9.0)], fps=10)\n"
        "print('written')\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout == "written\n", p.stderr
    assert p.stderr.startswith("<string>:2: FramepipeWarning: frame 0 is a float array with values above 1"), p.stderr
