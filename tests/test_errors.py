"""Bad input gets a clear error and loses nothing: the frames before it stay in a playable file."""

from __future__ import annotations

import errno
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import framepipe
import numpy as np
import pytest
from conftest import check_video, decode_rgb, psnr, smooth_frames

SRC = smooth_frames(8, 48, 64)


def test_shape_change_mid_stream_names_index_and_shapes_and_keeps_writer_usable(out):
    with framepipe.VideoWriter(out, fps=30) as w:
        for f in SRC[:5]:
            w.write(f)
        with pytest.raises(ValueError) as e:
            w.write(np.zeros((24, 32, 3), np.uint8))
        assert isinstance(e.value, framepipe.ParameterError)
        msg = str(e.value)
        assert "frame 5" in msg and "(24, 32, 3)" in msg and "(48, 64, 3)" in msg
        with pytest.raises(framepipe.ParameterError, match=r"frame 5 .*\(48, 64, 4\)"):
            w.write(np.zeros((48, 64, 4), np.uint8))  # channel count is fixed too
        for f in SRC[5:]:
            w.write(f)  # still usable
    check_video(out, frames=8, width=64, height=48)
    assert psnr(decode_rgb(out), SRC) >= 35


def test_wrong_dimensions_and_channel_counts(out):
    w = framepipe.VideoWriter(out, fps=30)
    for bad in (np.zeros((4, 4, 2), np.uint8), np.zeros((4, 4, 3, 1), np.uint8), np.zeros(16, np.uint8)):
        with pytest.raises(framepipe.ParameterError, match="frame 0"):
            w.write(bad)
    w.write(SRC[0])
    w.close()
    check_video(out, frames=1, width=64, height=48)


@pytest.mark.parametrize("dtype", [np.int64, np.int8, np.complex64, object])
def test_unsupported_dtypes(out, dtype):
    with framepipe.VideoWriter(out, fps=30) as w:
        w.write(SRC[0])
        with pytest.raises(framepipe.UnsupportedError, match=r"dtype"):
            w.write(np.zeros((48, 64, 3), dtype))
        assert isinstance(framepipe.UnsupportedError("x"), TypeError)
        w.write(SRC[1])
    check_video(out, frames=2, width=64, height=48)


def test_nan_is_an_error_naming_the_frame(out):
    with framepipe.VideoWriter(out, fps=30) as w:
        w.write(SRC[0] / 255.0)
        w.write(SRC[1] / 255.0)
        bad = SRC[2] / 255.0
        bad[10, 20, 1] = np.nan
        with pytest.raises(framepipe.ParameterError, match=r"frame 2.*NaN at row 10, column 20"):
            w.write(bad)
        w.write(SRC[3] / 255.0)
    check_video(out, frames=3, width=64, height=48)


def test_nan_location_is_right_for_fortran_order_arrays(out):
    with framepipe.VideoWriter(out, fps=30) as w:
        bad = np.asfortranarray(SRC[0] / 255.0)
        bad[10, 20, 1] = np.nan
        with pytest.raises(framepipe.ParameterError, match=r"frame 0.*NaN at row 10, column 20, channel 1"):
            w.write(bad)
        w.write(SRC[0])
    check_video(out, frames=1, width=64, height=48)


@pytest.mark.parametrize(
    "opts",
    [
        dict(background=(300, 0, 0)),
        dict(background="red"),
        dict(bitrate=-5),
        dict(threads=-1),
        dict(keyint=-1),
        dict(crf="x"),
        dict(crf=float("nan")),
        dict(preset=3),
        dict(fps=Fraction(10**10, 3)),
        dict(threads=2.5),
    ],
)
def test_out_of_range_or_mistyped_options_are_parameter_errors(out, opts):
    opts = dict(opts)
    fps = opts.pop("fps", 30)
    with pytest.raises(framepipe.ParameterError):
        framepipe.VideoWriter(out, fps=fps, **opts)


def test_write_after_close_raises(out):
    w = framepipe.VideoWriter(out, fps=30)
    w.write(SRC[0])
    res = w.close()
    assert w.close() == res  # closing twice is harmless
    with pytest.raises(framepipe.WriterClosedError, match="closed"):
        w.write(SRC[1])
    check_video(out, frames=1, width=64, height=48)


def test_exception_inside_with_block_finishes_file_then_reraises(out):
    with pytest.raises(RuntimeError, match="boom"):
        with framepipe.VideoWriter(out, fps=30) as w:
            for i, f in enumerate(SRC):
                if i == 6:
                    raise RuntimeError("boom")
                w.write(f)
    check_video(out, frames=6, width=64, height=48)
    assert psnr(decode_rgb(out), SRC[:6]) >= 35


def test_keyboard_interrupt_keeps_frames(out):
    with pytest.raises(KeyboardInterrupt):
        with framepipe.VideoWriter(out, fps=30) as w:
            for f in SRC[:4]:
                w.write(f)
            raise KeyboardInterrupt
    check_video(out, frames=4, width=64, height=48)


def test_real_sigint_in_a_child_process_keeps_frames(tmp_path):
    # A real Ctrl-C (SIGINT) delivered while the writer is busy.
    out = tmp_path / "sigint.mp4"
    script = textwrap.dedent(f"""
        import os, signal, numpy as np, framepipe
        frames = np.random.default_rng(0).integers(0, 255, (4, 48, 64, 3), dtype=np.uint8)
        with framepipe.VideoWriter({str(out)!r}, fps=30) as w:
            for i in range(1000):
                w.write(frames[i % 4])
                if i == 9:
                    os.kill(os.getpid(), signal.SIGINT)
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert r.returncode != 0 and "KeyboardInterrupt" in r.stderr
    info = check_video(out, frames=10, width=64, height=48)
    assert info["nb_read_frames"] == 10


def test_no_frames_is_a_clear_error(out):
    with pytest.raises(framepipe.ParameterError, match="no frames"):
        with framepipe.VideoWriter(out, fps=30):
            pass


def test_unwritable_path_fails_at_construction(tmp_path):
    with pytest.raises(framepipe.OutputError) as e:
        framepipe.VideoWriter(tmp_path / "missing-dir" / "out.mp4", fps=30)
    assert isinstance(e.value, OSError) and e.value.errno == errno.ENOENT
    assert "missing-dir" in str(e.value)


@pytest.mark.parametrize(
    "opts, cls, pattern",
    [
        (dict(crf=99), framepipe.ParameterError, "crf must be between 1 and 51"),
        (dict(crf=-1), framepipe.ParameterError, "crf must be between 1 and 51"),
        (dict(crf="low"), framepipe.ParameterError, "crf must be a number"),
        (dict(preset="fastest"), framepipe.ParameterError, "unknown preset"),
        (dict(tune="cartoon"), framepipe.ParameterError, "unknown tune"),
        (dict(crf=20, bitrate=500), framepipe.ParameterError, "either crf or bitrate"),
        (dict(fps=0), framepipe.ParameterError, "fps must be positive"),
        (dict(fps=-2.5), framepipe.ParameterError, "positive"),
        (dict(fps=1e-4), framepipe.ParameterError, "too slow for MP4"),  # a frame every 2.8 hours
        (dict(keyint=0), framepipe.ParameterError, "keyint"),
        (dict(threads=0), framepipe.ParameterError, "threads"),
        (dict(crf=0), framepipe.ParameterError, "lossless.*crf 1 or more"),
        (dict(crf=0.5), framepipe.ParameterError, "lossless"),
    ],
)
def test_bad_options_fail_early_and_clearly(out, opts, cls, pattern):
    opts = dict(opts)
    fps = opts.pop("fps", 30)
    with pytest.raises(cls, match=pattern):
        framepipe.VideoWriter(out, fps=fps, **opts)
    assert issubclass(cls, framepipe.FramepipeError)


def can_mount_tmpfs(path) -> bool:
    if os.geteuid() != 0:
        return False
    return (
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(path)], capture_output=True).returncode
        == 0
    )


def test_disk_full_raises_enospc_and_keeps_earlier_frames(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    if not can_mount_tmpfs(mnt):
        pytest.skip("needs root to mount a small tmpfs")
    try:
        out = mnt / "full.mp4"
        rng = np.random.default_rng(0)
        noise = [rng.integers(0, 255, (128, 128, 3), dtype=np.uint8) for _ in range(4)]  # ~30 KB/frame
        w = framepipe.VideoWriter(out, fps=30, crf=10, preset="ultrafast")
        with pytest.raises(framepipe.OutputError) as e:
            for i in range(1000):
                w.write(noise[i % 4])
        assert e.value.errno == errno.ENOSPC
        assert "frame" in str(e.value) and "full.mp4" in str(e.value)
        # Writing on reports the same cause, still as an OutputError with its errno.
        with pytest.raises(framepipe.OutputError) as again:
            w.write(noise[0])
        assert again.value.errno == errno.ENOSPC and "earlier error" in str(again.value)
        # close() has no room to write the finished file beside the output: it fails saying so,
        # and the output stays the fragmented file with the frames on disk, which plays; repair
        # finishes it where there is room.
        with pytest.raises(framepipe.OutputError) as closing:
            w.close()
        assert closing.value.errno == errno.ENOSPC and "fragmented" in str(closing.value)
        info = framepipe.probe(out)
        assert info["fragmented"] and info["frame_count"] > 3
        check_video(out, frames=info["frame_count"], width=128, height=128)
        fixed = tmp_path / "fixed.mp4"
        assert framepipe.repair(out, fixed).frames == info["frame_count"]
        check_video(fixed, frames=info["frame_count"], width=128, height=128)
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_a_failed_run_leaves_an_existing_output_untouched(tmp_path):
    """The old file is replaced only once the first frame is accepted: a run whose frames never
    come (or whose first frame is refused) loses nothing."""
    out = tmp_path / "keep.mp4"
    framepipe.write_video(out, np.zeros((3, 16, 16, 3), np.uint8), fps=10)
    before = out.read_bytes()

    def broken():
        raise RuntimeError("renderer crashed before frame 0")
        yield  # unreachable: makes this a generator

    with pytest.raises(RuntimeError):
        framepipe.write_video(out, broken(), fps=10)
    assert out.read_bytes() == before
    w = framepipe.VideoWriter(out, fps=10)
    with pytest.raises(framepipe.ParameterError, match="frame 0"):
        w.write(np.zeros((16, 16, 5), np.uint8))
    with pytest.raises(framepipe.ParameterError, match="no frames"):
        w.close()
    assert out.read_bytes() == before
    # Once a frame is accepted, the new video replaces it.
    framepipe.write_video(out, np.full((2, 16, 16, 3), 200, np.uint8), fps=10)
    check_video(out, frames=2, width=16, height=16, fps=10)
    # A writer that created the file and wrote nothing removes it again.
    fresh = tmp_path / "fresh.mp4"
    with pytest.raises(framepipe.ParameterError):
        framepipe.VideoWriter(fresh, fps=10).close()
    assert not fresh.exists()


def test_bad_frame_type_mid_stream_names_the_frame(out):
    with framepipe.VideoWriter(out, fps=10) as w:
        for _ in range(5):
            w.write(np.zeros((16, 16, 3), np.uint8))
        with pytest.raises(framepipe.UnsupportedError, match=r"^frame 5: .*int32"):
            w.write(np.zeros((16, 16, 3), np.int32))
        with pytest.raises(framepipe.FramepipeError, match=r"^frame 5: "):
            w.write(None)
        w.write(np.zeros((16, 16, 3), np.uint8))
    check_video(out, frames=6, width=16, height=16, fps=10)


def test_outputs_that_cannot_hold_an_mp4_are_refused_clearly(tmp_path):
    with pytest.raises(framepipe.ParameterError, match="not a regular file.*in memory"):
        framepipe.VideoWriter(os.devnull, fps=10)
    with pytest.raises(framepipe.ParameterError, match="NUL"):
        framepipe.VideoWriter(str(tmp_path / "a\0b.mp4"), fps=10)
    with pytest.raises(framepipe.ParameterError, match='unknown pix_fmt "rgbx"'):
        framepipe.VideoWriter(tmp_path / "p.mp4", fps=10, pix_fmt="rgbx")
    assert not (tmp_path / "p.mp4").exists()
    res = framepipe.write_video(os.fsencode(tmp_path / "bytes-path.mp4"), np.zeros((2, 8, 8, 3), np.uint8), fps=10)
    assert res.frames == 2 and (tmp_path / "bytes-path.mp4").exists()


@pytest.mark.parametrize(
    "fps, expected",
    [
        ("29.97", Fraction(30000, 1001)),
        ("30000/1001", Fraction(30000, 1001)),
        (" 24 ", Fraction(24)),
        ("12.5", Fraction(25, 2)),
        (1 / 60, Fraction(1, 60)),
        ("0.5", Fraction(1, 2)),
    ],
)
def test_fps_strings_mean_what_the_cli_and_floats_mean(fps, expected):
    w = framepipe.VideoWriter(None, fps=fps)
    assert w.fps == expected
    w.write(np.zeros((8, 8, 3), np.uint8))
    w.close()


def test_disk_full_before_the_first_frame_leaves_no_empty_video(tmp_path):
    """If not even frame 0 fits, close() raises (not a result with 0 frames) and the file,
    which would hold no picture, is removed. The file size limit (RLIMIT_FSIZE) stands in for a
    full disk: writes past it fail with EFBIG (Python ignores SIGXFSZ)."""
    out = tmp_path / "tiny.mp4"
    script = textwrap.dedent(f"""
        import resource, numpy as np, framepipe
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        noise = np.random.default_rng(0).integers(0, 255, (256, 256, 3), dtype=np.uint8)
        w = framepipe.VideoWriter({str(out)!r}, fps=30, crf=5, preset="ultrafast")
        try:
            w.write(noise)
        except framepipe.OutputError as e:
            print("write raised:", e)
        for _ in range(2):
            try:
                w.close()
            except framepipe.OutputError as e:
                print("close raised:", e)
            else:
                print("no error")
    """)
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "close raised:" in p.stdout and "no frame could be written" in p.stdout, p.stdout
    assert p.stdout.count("no frame could be written") == 2, p.stdout  # closing again: the same error
    assert "frame 0" in p.stdout and "File too large" in p.stdout, p.stdout
    assert not out.exists()


HUGE_SCRIPT = textwrap.dedent(
    """
    import resource, sys
    import numpy as np
    import framepipe
    out, kind = sys.argv[1], sys.argv[2]
    frames = {
        "uint8_100000": lambda: np.broadcast_to(np.uint8(0), (100000, 100000, 3)),
        "float32_20000": lambda: np.broadcast_to(np.float32(0.5), (20000, 20000, 3)),
        "float64_60000": lambda: np.broadcast_to(np.float64(0.5), (60000, 60000)),
        "float16_9000": lambda: np.broadcast_to(np.float16(0.5), (9000, 100, 3)),
        "bigendian_10000": lambda: np.broadcast_to(np.array(7, ">u2"), (100, 10000, 4)),
        # A view with a negative stride (BGR as RGB) that a copy would make 10.8 GB of.
        "negative_strides_60000": lambda: np.lib.stride_tricks.as_strided(
            np.zeros(3, np.uint8)[2:], shape=(60000, 60000, 3), strides=(0, 0, -1)
        ),
    }
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    w = framepipe.VideoWriter(out, fps=30)
    try:
        w.write(frames[kind]())
    except framepipe.ParameterError as e:
        print("refused:", e)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(f"grown_mb: {grown_mb:.0f}")
    w.write(np.zeros((48, 64, 3), np.uint8))  # the writer is still usable
    w.close()
    """
)


@pytest.mark.parametrize(
    "kind",
    ["uint8_100000", "float32_20000", "float64_60000", "float16_9000", "bigendian_10000", "negative_strides_60000"],
)
def test_huge_frames_are_refused_before_anything_is_allocated(tmp_path, kind):
    """A frame larger than 8192 pixels on a side is refused before it is converted or copied: no
    abort, no gigabytes allocated, the writer stays usable (a subprocess, since the failure this
    guards against ended the process)."""
    out = tmp_path / "out.mp4"
    r = subprocess.run([sys.executable, "-c", HUGE_SCRIPT, str(out), kind], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    refused = r.stdout.splitlines()[0]
    assert refused.startswith("refused: frame 0:") and "at most 8192x8192" in refused, r.stdout
    shape = {
        "uint8_100000": "100000x100000",
        "float32_20000": "20000x20000",
        "float64_60000": "60000x60000",
        "float16_9000": "100x9000",
        "bigendian_10000": "10000x100",
        "negative_strides_60000": "60000x60000",
    }[kind]
    assert f"got {shape}" in refused, refused
    grown = float(r.stdout.splitlines()[1].split()[1])
    assert grown < 100, f"{grown} MB allocated for a frame that was refused"
    check_video(out, frames=1, width=64, height=48)


def test_infinity_is_refused_like_nan_and_finite_values_are_clipped(out):
    frame = SRC[0] / 255.0
    with framepipe.VideoWriter(out, fps=30) as w:
        for value in (np.inf, -np.inf):
            bad = frame.copy()
            bad[3, 4, 2] = value
            with pytest.raises(
                framepipe.ParameterError,
                match=rf"frame 0: contains {'-' if value < 0 else ''}inf "
                r"at row 3, column 4, channel 2.*\[0, 1\]",
            ):
                w.write(bad)
        # Finite values outside [0, 1] are clipped: -5 is black, 1e30 white, 1.5 white.
        clipped = frame.copy()
        clipped[:, : 64 // 3] = -5.0
        clipped[:, 64 // 3 : 2 * 64 // 3] = 1e30
        clipped[:, 2 * 64 // 3 :] = 1.5
        # The refused frames are not warned about; this one is (once: see test_inputs.py).
        with pytest.warns(framepipe.FramepipeWarning, match="^frame 0 is a float array with values above 1"):
            w.write(clipped)
        w.write(np.float32(clipped))
    check_video(out, frames=2, width=64, height=48)
    decoded = decode_rgb(out).astype(int)
    assert decoded[:, 4:-4, 2 : 64 // 3 - 3].max() <= 4
    assert decoded[:, 4:-4, 64 // 3 + 3 : -3].min() >= 251


@pytest.mark.parametrize(
    "make, cls, pattern",
    [
        (
            lambda out: framepipe.VideoWriter(out, fps=30, crf=float("nan")),
            framepipe.ParameterError,
            r"crf must be a number from 1 to 51, got NaN",
        ),
        (
            lambda out: framepipe.VideoWriter(out, fps=30, crf=float("inf")),
            framepipe.ParameterError,
            r"crf must be a number from 1 to 51, got inf",
        ),
        (
            lambda out: framepipe.VideoWriter(out, fps=1e9),
            framepipe.ParameterError,
            r"frame rate 1000000000 is above the maximum of 1000000 fps",
        ),
        (lambda out: framepipe.VideoWriter("", fps=30), framepipe.ParameterError, r"the output path is empty"),
        (
            lambda out: framepipe.VideoWriter(out.with_suffix(".webm"), fps=30),
            framepipe.UnsupportedError,
            r"\.webm file.*name it \.mp4.*or pass format=\"mp4\" or format=\"gif\"",
        ),
    ],
)
def test_messages_say_what_was_given_and_what_is_allowed(out, make, cls, pattern):
    with pytest.raises(cls, match=pattern) as e:
        make(out)
    assert "-inf" not in str(e.value) and "cannot open  " not in str(e.value)
    assert not out.with_suffix(".webm").exists()


def test_none_and_non_numeric_frames_say_what_they_got(out):
    with framepipe.VideoWriter(out, fps=30) as w:
        w.write(SRC[0])
        with pytest.raises(framepipe.ParameterError, match=r"^frame 1: got None; expected a numpy array") as e:
            w.write(None)
        assert "dtype" not in str(e.value)
        with pytest.raises(framepipe.UnsupportedError, match=r"^frame 1: got a dict that is not an array of numbers"):
            w.write({"a": 1})
        w.write(SRC[1])
    check_video(out, frames=2, width=64, height=48)


LOW_MEMORY_SCRIPT = textwrap.dedent(
    """
    import resource, sys, numpy as np, framepipe
    fmt, limit = sys.argv[1], int(sys.argv[2])
    f = np.broadcast_to(np.uint8(128), (8192, 8192, 3))
    g = np.broadcast_to(np.uint8(64), (8192, 8192, 3))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        opts = {"preset": "ultrafast", "threads": 1} if fmt == "mp4" else {}  # x264's own needs, small
        w = framepipe.VideoWriter(sys.argv[3], fps=10, format=fmt, **opts)
        for frame in (f, g, f):
            w.write(frame)
        print("closed", w.close().frames)
    except framepipe.OutOfMemoryError as e:
        print("out of memory:", e)
    except MemoryError as e:
        print("MemoryError:", e)
    except framepipe.EncoderError as e:  # x264's own allocation failed: it says so, and fails to open
        print("encoder error:", e)
    """
)


@pytest.mark.parametrize("fmt", ["gif", "mp4"])
def test_short_of_memory_is_an_error_not_an_abort(tmp_path, fmt):
    """8192x8192 frames under address-space limits from too small to just enough: the writer
    either finishes or raises a MemoryError (OutOfMemoryError; or an EncoderError when x264's
    own allocation fails) and the process lives on; it is never killed by an allocation failure
    (SIGABRT, exit status 134)."""
    outcomes = []
    for limit_mb in (700, 1000, 1300, 2000, 3000):
        out = tmp_path / f"big-{limit_mb}.{fmt}"
        p = subprocess.run(
            [sys.executable, "-c", LOW_MEMORY_SCRIPT, fmt, str(limit_mb << 20), str(out)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert p.returncode == 0, (limit_mb, p.returncode, p.stderr[-2000:])
        assert "memory allocation" not in p.stderr, p.stderr[-2000:]
        outcomes.append(p.stdout.split(":")[0].split()[0])
    assert "closed" in outcomes, outcomes


def test_cli_short_of_memory_for_a_raw_frame_is_an_error_not_an_abort(tmp_path):
    """The CLI's buffer for one raw 8192x8192 RGBA frame (268 MB) under a 200 MB address-space
    limit: an error naming the frame, exit status 1, not an abort."""
    import resource

    root = Path(__file__).resolve().parents[1]
    cli = root / "target" / "release" / "framepipe"
    # Always through cargo (a no-op when up to date): a binary left by an older build is stale.
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "framepipe-cli"], cwd=root, check=True)

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (200 << 20, 200 << 20))

    p = subprocess.run(
        [str(cli), "encode", str(tmp_path / "x.mp4"), "--size", "8192x8192", "--pix-fmt", "rgba"],
        input=b"\0" * 1000,
        capture_output=True,
        preexec_fn=limit,
        timeout=60,
    )
    err = p.stderr.decode()
    assert p.returncode == 1, (p.returncode, err)
    assert "raw frame 0" in err and "memory" in err, err


# --- OutputError is also the built-in exception for its errno (as PyAV's errors are) -------------

BUILTIN_ERRNOS = sorted(c for c in errno.errorcode if type(OSError(c, "")) is not OSError)


@pytest.mark.parametrize("code", BUILTIN_ERRNOS, ids=errno.errorcode.get)
def test_output_error_is_also_the_builtin_for_its_errno(code):
    """For every errno that Python maps to a subclass of OSError (FileNotFoundError for ENOENT,
    PermissionError for EACCES and EPERM, ...), OutputError(errno, text) is also that subclass,
    and still an OutputError, with the errno and text as given; it pickles (workers send it)."""
    builtin = type(OSError(code, ""))
    e = framepipe.OutputError(code, "cannot write out.mp4")
    assert isinstance(e, builtin) and isinstance(e, framepipe.OutputError) and isinstance(e, framepipe.FramepipeError)
    assert type(e).__name__ == f"Output{builtin.__name__}" and type(e).__module__ == "framepipe.errors"
    assert e.errno == code and e.strerror == "cannot write out.mp4"
    assert str(e) == f"[Errno {code}] cannot write out.mp4"
    again = pickle.loads(pickle.dumps(e))
    assert type(again) is type(e) and again.errno == code and str(again) == str(e)
    with pytest.raises(builtin):
        raise e


def test_every_errno_python_maps_has_its_output_error():
    from framepipe.errors import OUTPUT_ERRORS

    assert set(OUTPUT_ERRORS) == set(BUILTIN_ERRNOS)
    assert {errno.ENOENT, errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOTDIR, errno.EEXIST} <= set(OUTPUT_ERRORS)


def test_an_errno_without_a_builtin_is_a_plain_output_error():
    for e in (framepipe.OutputError(errno.ENOSPC, "disk full"), framepipe.OutputError("no errno")):
        assert type(e) is framepipe.OutputError and isinstance(e, OSError)
        assert not isinstance(e, (FileNotFoundError, PermissionError))
    assert framepipe.OutputError(errno.ENOSPC, "disk full").errno == errno.ENOSPC


def test_a_missing_folder_is_a_file_not_found_error(tmp_path):
    """From the engine (VideoWriter, write_video) and from render's own check of the path: both
    caught by ``except FileNotFoundError`` and by ``except framepipe.OutputError``."""
    target = tmp_path / "missing-dir" / "out.mp4"
    frame = np.zeros((16, 16, 3), np.uint8)
    for make in (
        lambda: framepipe.VideoWriter(target, fps=30),
        lambda: framepipe.write_video(target, [frame], fps=30),
        lambda: framepipe.render(lambda i: frame, target, n_frames=2, workers=1),
    ):
        with pytest.raises(FileNotFoundError) as e:
            make()
        assert isinstance(e.value, framepipe.OutputError) and e.value.errno == errno.ENOENT
        assert "missing-dir" in str(e.value)


def test_a_folder_as_output_and_a_file_as_folder(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    for path, builtin in ((tmp_path, IsADirectoryError), (tmp_path / "file.txt" / "out.mp4", NotADirectoryError)):
        for make in (
            lambda path=path: framepipe.VideoWriter(path, fps=30),
            lambda path=path: framepipe.render(lambda i: np.zeros((16, 16, 3), np.uint8), path, n_frames=2, workers=1),
        ):
            with pytest.raises(builtin) as e:
                make()
            assert isinstance(e.value, framepipe.OutputError), type(e.value)


def test_no_write_permission_is_a_permission_error(tmp_path):
    """In a folder without write permission. As root (who may write anyway) the check runs with
    the capabilities that let root ignore permissions dropped (util-linux's setpriv)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    script = textwrap.dedent(f"""
        import framepipe
        try:
            framepipe.VideoWriter({str(folder / "out.mp4")!r}, fps=30)
        except PermissionError as e:
            assert isinstance(e, framepipe.OutputError), type(e)
            print("PermissionError", e.errno)
    """)
    cmd = [sys.executable, "-c", script]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("as root, needs setpriv (util-linux) to drop the capabilities that ignore permissions")
        cmd = [setpriv, "--bounding-set=-dac_override,-dac_read_search", *cmd]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    finally:
        folder.chmod(0o755)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["PermissionError", str(errno.EACCES)]
