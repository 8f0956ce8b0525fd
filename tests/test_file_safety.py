"""No framepipe operation destroys a file through another name (issue 21).

Outputs are written as a hidden temporary (``.NAME.*.fp-tmp``, locked with flock while its
writer lives) in the output's folder and renamed over the output: an existing file is never
written into, so a hard link to it keeps its bytes, an output that is the input under another
name is never emptied, and a killed run's temporary is removed by the next run to that output.
Same file means same device and inode, whatever the path (``./a.mp4``, symlinks, hard links).
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import crashkit
import framepipe
import numpy as np
import pytest
from conftest import check_video, decode_rgb, ffmpeg_errors, psnr, top_level_boxes


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".fp-tmp"))


def killed_writer(path: Path, n: int) -> int:
    """The file a writer of crashkit frames 0..n-1 leaves when it dies before close (fragments
    of 0.2 s; preset ultrafast, so only the last fragment is still in memory): returns the
    frames on disk."""
    script = textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import crashkit, framepipe
        w = framepipe.VideoWriter({str(path)!r}, fps=crashkit.FPS, preset="ultrafast", fragment_seconds=0.2)
        for i in range({n}):
            w.write(crashkit.frame(i))
        while w.frames_on_disk < {n} - 12:
            time.sleep(0.01)
        print(w.frames_on_disk, flush=True)
        os._exit(0)
    """)
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return int(p.stdout)


def check_frames(path: Path, n: int) -> None:
    assert ffmpeg_errors(path) == ""
    got = decode_rgb(path)
    assert len(got) == n
    assert min(psnr(got[k], crashkit.frame(k)) for k in range(n)) > 30


def test_repair_onto_the_input_by_another_name_repairs_in_place(tmp_path):
    """`repair(a, "./a")`, through a symlink, through a hard link: never an emptied file."""
    src = tmp_path / "src.mp4"
    on_disk = killed_writer(src, 60)
    killed = src.read_bytes()
    reference = tmp_path / "reference.mp4"
    r = framepipe.repair(src, reference)
    assert (r.in_place, r.was_finished) == (False, False) and r.frames >= on_disk > 0
    n = r.frames
    check_frames(reference, n)
    repaired = reference.read_bytes()

    a = tmp_path / "a.mp4"
    a.write_bytes(killed)
    r = framepipe.repair(a, os.path.join(tmp_path, ".", "a.mp4"))
    assert (r.frames, r.in_place) == (n, True)
    assert a.read_bytes() == repaired
    b = tmp_path / "b.mp4"
    b.write_bytes(killed)
    (tmp_path / "link.mp4").symlink_to(b)
    r = framepipe.repair(b, tmp_path / "link.mp4")
    assert r.in_place and b.read_bytes() == repaired and (tmp_path / "link.mp4").is_symlink()
    c = tmp_path / "c.mp4"
    c.write_bytes(killed)
    os.link(c, tmp_path / "hard.mp4")
    r = framepipe.repair(c, tmp_path / "hard.mp4")
    # The repaired file replaces the output's name; the input's name keeps the input's bytes.
    assert (tmp_path / "hard.mp4").read_bytes() == repaired and c.read_bytes() == killed

    # A finished file by the same three names: nothing to do, and nothing emptied.
    f = tmp_path / "f.mp4"
    f.write_bytes(repaired)
    (tmp_path / "flink.mp4").symlink_to(f)
    os.link(f, tmp_path / "fhard.mp4")
    for other in [os.path.join(tmp_path, ".", "f.mp4"), tmp_path / "flink.mp4", tmp_path / "fhard.mp4", None]:
        r = framepipe.repair(f, other)
        assert (r.was_finished, r.in_place, r.frames) == (True, True, n), (other, r)
        assert f.read_bytes() == repaired, other
    assert temporaries(tmp_path) == []


def test_writing_onto_a_hard_link_leaves_the_other_name_its_bytes(tmp_path):
    for ext in ("mp4", "gif"):
        keep = tmp_path / f"keep.{ext}"
        framepipe.write_video(keep, crashkit.frames(4), fps=crashkit.FPS)
        before = keep.read_bytes()
        out = tmp_path / f"out.{ext}"
        os.link(keep, out)
        res = framepipe.write_video(out, crashkit.frames(7), fps=crashkit.FPS)
        assert res.frames == 7
        assert keep.read_bytes() == before, ext
        assert os.stat(out).st_ino != os.stat(keep).st_ino
        if ext == "mp4":
            check_video(out, frames=7, width=crashkit.W, height=crashkit.H)
            check_frames(out, 7)
        else:
            assert framepipe.probe(out)["frame_count"] == 7 and ffmpeg_errors(out) == ""
    assert temporaries(tmp_path) == []


def test_writing_through_a_symlink_replaces_the_file_it_points_to(tmp_path):
    real = tmp_path / "real.mp4"
    real.write_bytes(b"old")
    link = tmp_path / "link.mp4"
    link.symlink_to(real)
    framepipe.write_video(link, crashkit.frames(5), fps=crashkit.FPS)
    assert link.is_symlink() and os.readlink(link) == str(real)
    check_video(real, frames=5, width=crashkit.W, height=crashkit.H)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.mp4", "real.mp4"]


def test_an_existing_output_is_replaced_only_once_a_fragment_is_on_disk(tmp_path):
    """Until the first fragment is written the video is a temporary beside the output, so a
    writer that fails or is killed before that leaves the old file as it was; then the
    fragmented file is the output (it plays under its own name), and close finishes it."""
    out = tmp_path / "out.mp4"
    out.write_bytes(b"the old video")
    w = framepipe.VideoWriter(out, fps=crashkit.FPS, preset="ultrafast", fragment_seconds=1)
    for i in range(5):
        w.write(crashkit.frame(i))
    assert out.read_bytes() == b"the old video" and len(temporaries(tmp_path)) == 1
    for i in range(5, 80):
        w.write(crashkit.frame(i))
    deadline = time.monotonic() + 60
    while w.frames_on_disk == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    on_disk = w.frames_on_disk
    assert top_level_boxes(out)[:3] == ["ftyp", "moov", "moof"]
    assert framepipe.probe(out)["frame_count"] >= on_disk > 0  # (more may be on disk by now)
    w.close()
    check_frames(out, 80)
    assert temporaries(tmp_path) == []


def test_a_dead_writer_temporary_is_swept_and_a_live_one_kept(tmp_path):
    """A temporary whose flock is free was left by a process that died: the next writer to
    that output removes it. One whose lock another process holds (a live writer, here a Python
    process with fcntl.flock as framepipe's Python code uses it) is left alone."""
    out = tmp_path / "out.mp4"
    dead = tmp_path / ".out.mp4.12345-0-0.fp-tmp"
    dead.write_bytes(b"half a video")
    live = tmp_path / ".out.mp4.live.fp-tmp"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT | os.O_EXCL)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
            "print('locked', flush=True)\n"
            "time.sleep(600)\n",
            str(live),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        framepipe.write_video(out, crashkit.frames(3), fps=crashkit.FPS)
        assert temporaries(tmp_path) == [live.name]
        # Our own lock (a second open file description) cannot be taken either.
        fd = os.open(live, os.O_RDONLY)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                raise AssertionError("took a live writer's lock")
            except BlockingIOError:
                pass
        finally:
            os.close(fd)
    finally:
        holder.kill()
        holder.wait()
    framepipe.write_video(out, crashkit.frames(3), fps=crashkit.FPS)
    assert temporaries(tmp_path) == []
    check_video(out, frames=3, width=crashkit.W, height=crashkit.H)


def test_writer_killed_before_its_first_fragment_leaves_the_old_file(tmp_path):
    out = tmp_path / "out.mp4"
    framepipe.write_video(out, crashkit.frames(3), fps=crashkit.FPS)
    before = out.read_bytes()
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import crashkit, framepipe
        w = framepipe.VideoWriter({str(out)!r}, fps=crashkit.FPS)
        w.write(crashkit.frame(0))
        os._exit(0)
    """)
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert out.read_bytes() == before
    assert len(temporaries(tmp_path)) == 1
    r = framepipe.repair(out)  # any run to this output sweeps
    assert r.was_finished and temporaries(tmp_path) == []
    assert out.read_bytes() == before


def test_close_on_a_disk_without_room_for_the_finished_file_keeps_the_fragmented_one(tmp_path):
    """close() writes the finished file beside the output, so it needs room for a copy for a
    moment. On a full disk (a 600 KB tmpfs holding about 500 KB of fragments) it cannot: it
    raises OutputError (ENOSPC) saying so, and the output stays the unfinished (fragmented)
    MP4, which plays, with every frame that was on disk; repair, where there is room, makes
    the finished file of those frames."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mnt)], capture_output=True
        ).returncode
    ):
        pytest.skip("needs root to mount a small tmpfs")
    try:
        out = mnt / "full.mp4"
        rng = np.random.default_rng(0)
        noise = [rng.integers(0, 255, (96, 96, 3), dtype=np.uint8) for _ in range(4)]  # ~17 KB/frame
        w = framepipe.VideoWriter(out, fps=30, crf=10, preset="ultrafast", fragment_seconds=0.1)
        with pytest.raises(framepipe.OutputError) as e:
            for i in range(1000):
                w.write(noise[i % 4])
        assert e.value.errno == errno.ENOSPC
        on_disk = w.frames_on_disk
        assert on_disk > 20
        with pytest.raises(framepipe.OutputError, match=r"framepipe repair") as e:
            w.close()
        assert e.value.errno == errno.ENOSPC and "full.mp4" in str(e.value)
        n = int(re.search(r"fragmented\) MP4 with its (\d+) frames, which plays", str(e.value)).group(1))
        assert n >= on_disk
        info = framepipe.probe(out)
        assert info["fragmented"] and info["frame_count"] == n and not info["truncated"]
        assert ffmpeg_errors(out) == ""
        got = decode_rgb(out)
        assert len(got) == n
        # Noise through 4:2:0 chroma is far from its source (about 12 dB), but each frame is
        # nearest its own source (about 8 dB from the others): every frame is the right one.
        for k in range(n):
            own = psnr(got[k], noise[k % 4])
            assert all(own > psnr(got[k], noise[j]) + 3 for j in range(4) if j != k % 4), k
        assert temporaries(mnt) == []
        fixed = tmp_path / "fixed.mp4"
        r = framepipe.repair(out, fixed)
        assert r.frames == n and not r.was_finished
        check_video(fixed, frames=n, width=96, height=96)
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


@pytest.mark.parametrize("fmt", ["mp4", "gif"])
def test_a_sweep_during_render_finishing_leaves_its_temporary(tmp_path, fmt):
    """render writes through the engine's writer into its own locked temporary; the engine
    renames its finished file over that name, so the name then holds the engine's file. From
    then until render renames it over the output, that file must stay locked (the engine hands
    its lock to render at close): held here just after close, another process sweeps the output
    (Python's sweep and an engine writer's) and must not remove it."""
    out = tmp_path / f"out.{fmt}"
    n = 12
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import crashkit, framepipe
        render = sys.modules["framepipe._render.api"]
        calls = [0]
        original = render.check_stop
        def check_stop():
            calls[0] += 1
            if calls[0] == {n} + 1:  # the call right after the writer's close
                print("closed", flush=True)
                assert sys.stdin.readline().strip() == "go"
            original()
        render.check_stop = check_stop
        res = framepipe.render(crashkit.frame, {str(out)!r}, {n}, fps=crashkit.FPS, workers=1)
        print("done", res.frames, flush=True)
    """)
    a = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert a.stdout.readline().strip() == "closed", a.stderr.read()
        (live,) = temporaries(tmp_path)
        sweeper = textwrap.dedent(f"""
            import sys
            sys.path.insert(0, {str(Path(__file__).parent)!r})
            import crashkit, framepipe
            from framepipe._render.output import sweep
            print(sweep({str(out)!r}))
            framepipe.write_video({str(out)!r}, crashkit.frames(3), fps=crashkit.FPS)
        """)
        b = subprocess.run([sys.executable, "-c", sweeper], capture_output=True, text=True, timeout=120)
        assert b.returncode == 0, b.stderr
        assert b.stdout.strip() == "[]"
        assert temporaries(tmp_path) == [live]
        a.stdin.write("go\n")
        a.stdin.flush()
        assert a.wait(timeout=120) == 0, a.stderr.read()
        assert a.stdout.read().split() == ["done", str(n)]
    finally:
        a.kill()
        a.wait()
    assert temporaries(tmp_path) == []
    if fmt == "mp4":
        check_frames(out, n)
    else:
        assert ffmpeg_errors(out) == ""
        assert len(decode_rgb(out)) == n
