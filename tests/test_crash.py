"""A killed writer keeps its frames (issue: crash-proof writing).

While an MP4 is written it is a fragmented MP4 (about half a second per fragment here), so a
process killed with SIGKILL at any moment leaves a file that ffprobe and ffmpeg read up to its
last whole fragment; `framepipe.repair` then makes the faststart MP4 a clean close would have
made. A GIF always has its frames so far and a trailer on disk. Every check decodes the file
with ffmpeg and compares the pictures with the source frames (tests/crashkit.py).

What may be lost at a kill, and what the tests hold the writer to:
- nothing the writer reported as on disk (``VideoWriter.frames_on_disk``) before the kill;
- of the frames encoded (``VideoWriter.frames_encoded``), at most one fragment: the one being
  collected, which ends at the first point after ``FRAGMENT`` frames where no presented frame
  is missing (x264's B-frame groups are at most 4 frames), so ``FRAGMENT + 3`` frames;
- of the frames given, also the ones x264 held for its lookahead and the writer's queue:
  ``ENCODER_HOLDS``, with x264's delay at preset medium and 2 threads (set by the tests, since
  the delay grows with the thread count) being max(rc-lookahead 40, B-frames 3) + 2 frame
  threads - 1 + sync-lookahead 4 = 45, plus the writer's queue (4), the picture the encoder
  thread holds (1), and the encoded-frames counter, which the encoder thread updates after each
  frame, so a reader may see it one frame late (1). (Measured: at most 51 over 1,500 frames.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import crashkit
import framepipe
import numpy as np
import pytest
from conftest import decode_rgb, ffmpeg_errors, ffprobe, psnr, top_level_boxes

KIT = str(Path(__file__).with_name("crashkit.py"))
FRAGMENT = round(crashkit.FRAGMENT_SECONDS * crashkit.FPS)
FRAGMENT_MAX = FRAGMENT + 3
ENCODER_HOLDS = 45 + 4 + 2
KILLS = 20


class Reader(threading.Thread):
    """Reads a child's output lines as they come (so its pipe never fills)."""

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream = stream
        self.lines: list[str] = []
        self.started = threading.Event()

    def run(self):
        for line in self.stream:
            if line.endswith("\n"):  # not a line cut short by the kill
                self.lines.append(line.strip())
            if line.startswith("started"):
                self.started.set()
        self.started.set()


def kill_moments(seed: int) -> list[float]:
    """Seconds after the child starts writing: 20 moments from a fixed seed."""
    return list(np.random.default_rng(seed).uniform(0.05, 1.1, KILLS))


def signal_child(mode: str, out: Path, after: float, sig: int) -> tuple[subprocess.Popen, Reader, str]:
    """Start `python crashkit.py MODE OUT`, send it `sig` `after` seconds after it started
    writing, and wait for it to end; returns it, its output lines, and its standard error once
    every process holding that has closed it (render workers outlive the parent a moment)."""
    p = subprocess.Popen(
        [sys.executable, KIT, mode, str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    r = Reader(p.stdout)
    r.start()
    assert r.started.wait(60), "the child did not start"
    time.sleep(after)
    os.kill(p.pid, sig)
    p.wait()
    err = p.stderr.read()
    r.join(10)
    return p, r, err


def run_and_kill(mode: str, out: Path, after: float, sig: int = signal.SIGKILL) -> tuple[int, int, int]:
    """Start a child writing `mode` to `out`, kill it `after` seconds into writing; return
    (frames given, frames encoded, frames on disk) as last reported."""
    p, r, err = signal_child(mode, out, after, sig)
    assert p.returncode == -sig, err
    last = [ln for ln in r.lines if ln and ln[0].isdigit()]
    if not last:
        return 0, 0, 0
    given, encoded, on_disk = map(int, last[-1].split())
    return given, encoded, on_disk


def check_frames(path: Path, n: int) -> None:
    """ffmpeg decodes `n` frames without a complaint, and they are the source's first `n`."""
    assert ffmpeg_errors(path) == ""
    if n == 0:
        return
    got = decode_rgb(path)
    assert len(got) == n
    want = crashkit.frames(n)
    worst = min(psnr(got[k], want[k]) for k in range(n))
    assert worst > 30, worst


def check_killed_mp4(out: Path, given: int, encoded: int, on_disk: int, tmp_path: Path) -> int:
    """Every frame of every whole fragment plays; repair makes it a clean faststart MP4."""
    if not out.exists():
        # Killed before the first fragment (x264 had not given out a fragment's frames yet):
        # the video was still a temporary beside the output, which the next run removes.
        assert on_disk == 0, "frames were reported on disk, but there is no file"
        assert encoded <= FRAGMENT_MAX, f"{encoded} frames encoded and none on disk"
        assert given <= ENCODER_HOLDS + FRAGMENT_MAX, f"{given} frames given and none on disk"
        return 0
    info = ffprobe(out)
    n = info["nb_read_frames"]
    assert n >= on_disk, f"{n} frames in the file, but {on_disk} were reported on disk"
    assert n >= encoded - FRAGMENT_MAX, f"{n} of {encoded} frames encoded"
    assert n >= given - ENCODER_HOLDS - FRAGMENT_MAX, f"{n} of {given} frames given"
    check_frames(out, n)
    ours = framepipe.probe(out)
    assert ours["fragmented"] and ours["frame_count"] == n and not ours["truncated"]
    fixed = tmp_path / "repaired.mp4"
    r = framepipe.repair(out, fixed)
    assert (r.frames, r.frames_found, r.was_finished) == (n, n, False)
    assert top_level_boxes(fixed) == ["ftyp", "moov", "mdat"]
    info = ffprobe(fixed)
    assert info["nb_read_frames"] == n
    assert abs(info["format_duration"] - n / crashkit.FPS) < 0.0015
    check_frames(fixed, n)
    return n


def temporaries(folder: Path) -> list[str]:
    """framepipe's temporaries in `folder` (and the ``.NAME.repair-PID`` files that versions
    before the temporaries convention left)."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".fp-tmp") or ".repair-" in p.name)


def decode_count(path: Path) -> tuple[int, str]:
    """(frames ffprobe decodes, what the decoder complained about): one full decode."""
    r = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0"]
        + ["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
    )
    text = r.stdout.strip()
    return (int(text) if text.isdigit() else 0), r.stderr.strip()


def ff_count(path: Path) -> int:
    """Frames ffprobe decodes (0 when it finds none)."""
    r = subprocess.run(
        ["ffprobe", "-v", "quiet", "-count_frames", "-select_streams", "v:0"]
        + ["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
    )
    text = r.stdout.strip()
    return int(text) if text.isdigit() else 0


def test_python_writer_killed_keeps_its_fragments(tmp_path):
    """SIGKILL, and every fourth time SIGTERM (which Python's default ends the process by,
    with no cleanup, just as a kill)."""
    kept = []
    for k, after in enumerate(kill_moments(1)):
        out = tmp_path / f"killed-{k}.mp4"
        sig = signal.SIGTERM if k % 4 == 3 else signal.SIGKILL
        given, encoded, on_disk = run_and_kill("mp4", out, after, sig)
        kept.append((given, check_killed_mp4(out, given, encoded, on_disk, tmp_path)))
    # Most kills came well after the first fragment.
    assert sum(n > 0 for _, n in kept) >= KILLS // 2, kept


def test_cli_killed_keeps_its_fragments(tmp_path, cli_binary):
    """The CLI, fed raw frames on stdin, killed with SIGKILL: the same guarantees."""
    kept = []
    for k, after in enumerate(kill_moments(2)):
        out = tmp_path / f"cli-{k}.mp4"
        p = subprocess.Popen(
            [cli_binary, "encode", str(out), "--size", f"{crashkit.W}x{crashkit.H}", "--fps", str(crashkit.FPS)]
            + ["--fragment-seconds", str(crashkit.FRAGMENT_SECONDS), "--threads", "2"],
            stdin=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        fed = [0]

        def feed(p=p, fed=fed):
            try:
                for i in range(10**6):
                    p.stdin.write(crashkit.frame(i).tobytes())
                    fed[0] = i + 1
            except (BrokenPipeError, OSError):
                pass

        t = threading.Thread(target=feed, daemon=True)
        t.start()
        time.sleep(0.2 + after)
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        t.join(10)
        # Fed but not yet given to the CLI's writer: up to two frames in the pipe (64 KiB, frames
        # of 46 KB), one in the CLI's reader and one in its channel to the writer (capacity 1).
        given = max(0, fed[0] - 4)
        n = check_killed_mp4(out, given, 0, 0, tmp_path)
        kept.append((given, n))
        if n:
            # The CLI's own repair says what it kept, and makes the same file as Python's.
            fixed = tmp_path / "cli-repaired.mp4"
            r = subprocess.run([cli_binary, "repair", str(out), str(fixed)], capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
            assert f"kept {n} frames of the {n}" in r.stdout, r.stdout
            assert fixed.read_bytes() == (tmp_path / "repaired.mp4").read_bytes()
    assert sum(n > 0 for _, n in kept) >= KILLS // 2, kept


def pil_frames(path: Path) -> list[np.ndarray]:
    """The complete frames Pillow reads, composited as a player shows them."""
    from PIL import Image

    out = []
    with Image.open(path) as im:
        try:
            while True:
                im.load()
                out.append(np.asarray(im.convert("RGB")))
                im.seek(im.tell() + 1)
        except EOFError:
            pass
    return out


def test_gif_killed_keeps_every_frame(tmp_path, chromium):
    counts = []
    for k, after in enumerate(kill_moments(3)):
        out = tmp_path / f"killed-{k}.gif"
        given, _, on_disk = run_and_kill("gif", out, after)
        if not out.exists():
            # Killed before the encoder wrote the first frame: the GIF was still a temporary
            # beside the output.
            assert on_disk == 0 and given <= 5, (given, on_disk)
            continue
        if given == 0:
            continue
        # Pillow: every frame the encoder had (all but the writer's queue of 4 and the frame in
        # hand), as the source (GIF's palette: a lower bar than H.264's).
        got = pil_frames(out)
        n = len(got)
        assert n >= on_disk and n >= given - 5, (n, on_disk, given)
        want = crashkit.frames(n)
        assert min(psnr(got[i], want[i]) for i in range(n)) > 25
        # ffmpeg: the same frames, without a complaint (identical frames would be merged;
        # these all differ).
        assert ffmpeg_errors(out) == ""
        info = ffprobe(out)
        assert info["nb_read_frames"] == n
        ours = framepipe.probe(out)
        assert ours["format"] == "gif" and ours["frame_count"] == n
        counts.append(n)
        if len(counts) <= 3:
            assert chromium_gif_frames(chromium, out) == n
    assert len(counts) >= KILLS // 2, counts


CHROMIUM_GIF = r"""
const [b64, done] = [arguments[0], arguments[arguments.length - 1]];
(async () => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const d = new ImageDecoder({data: bytes, type: 'image/gif'});
  await d.tracks.ready;
  await d.completed;
  const n = d.tracks.selectedTrack.frameCount;
  for (let i = 0; i < n; i++) await d.decode({frameIndex: i});
  done({frames: n});
})().catch(e => done({error: String(e)}));
"""


def chromium_gif_frames(chromium, path: Path) -> int:
    """How many frames Chromium's own GIF decoder (WebCodecs ImageDecoder) decodes."""
    import base64

    # ImageDecoder exists in secure contexts only: a file:// page is one, about:blank is not.
    page = path.with_suffix(".html")
    page.write_text("<!doctype html><title>gif</title>")
    chromium.get(page.as_uri())
    res = chromium.execute_async_script(CHROMIUM_GIF, base64.b64encode(path.read_bytes()).decode())
    assert "error" not in res, res
    return res["frames"]


def test_truncated_unfinished_mp4_is_a_decodable_prefix_and_repairs(tmp_path, chromium):
    """An unfinished file cut at 50 random bytes (a kill or power loss while a fragment was
    being written): ffmpeg reads the frames of the whole fragments before the cut without a
    complaint, and repair makes each a faststart MP4 that decodes cleanly to the source's first
    frames; Chromium plays a repaired file.

    A cut inside fragment k means the writer was writing fragment k: its first box was still a
    `free` box then (the writer makes it the `moof` only once the fragment's bytes are all
    written, and with durable=True synced), so the cut file is the prefix with that box's type
    as it was while being written."""
    n_src = 150
    src = crashkit.frames(n_src)
    growing = tmp_path / "growing.mp4"
    w = framepipe.VideoWriter(growing, fps=crashkit.FPS, fragment_seconds=crashkit.FRAGMENT_SECONDS)
    for f in src:
        w.write(f)
    # Wait until x264's held frames are out? They come out only at close: take the file as it
    # is now, with the fragments written so far.
    time.sleep(0.5)
    unfinished = growing.read_bytes()
    on_disk = w.frames_on_disk
    w.close()
    assert on_disk >= n_src - ENCODER_HOLDS - FRAGMENT
    assert ffprobe(growing)["nb_read_frames"] == n_src
    boxes = []
    i = 0
    while i + 8 <= len(unfinished):
        size = int.from_bytes(unfinished[i : i + 4], "big")
        boxes.append((unfinished[i + 4 : i + 8].decode(), i, size))
        i += size
    assert [b[0] for b in boxes[:2]] == ["ftyp", "moov"] and boxes[-1][0] == "mdat"
    fragment_ends = [b[1] + b[2] for b in boxes if b[0] == "mdat"]
    moofs = [b[1] for b in boxes if b[0] == "moof"]
    # The frames in whole fragments up to each fragment end (from the probe of each prefix).
    moov_end = boxes[1][1] + boxes[1][2]
    rng = np.random.default_rng(4)
    cuts = sorted(int(c) for c in rng.integers(moov_end, len(unfinished) + 1, 50))
    repaired_any = None
    fragmented_any = None
    for k, cut in enumerate(cuts):
        part = tmp_path / f"cut-{k}.mp4"
        data = bytearray(unfinished[:cut])
        being_written = [m for m, e in zip(moofs, fragment_ends) if m < cut < e]
        if being_written and being_written[0] + 8 <= cut:
            data[being_written[0] + 4 : being_written[0] + 8] = b"free"
        part.write_bytes(bytes(data))
        whole = sum(1 for e in fragment_ends if e <= cut)
        info = framepipe.probe(part)
        assert info["fragmented"]
        n = info["frames_present"]
        # ffprobe reads every frame of the whole fragments, ffmpeg without a complaint.
        assert ff_count(part) == n
        if n:  # (with no frame at all, ffmpeg has nothing to decode, and says so)
            assert ffmpeg_errors(part) == ""
        if n >= 2 * FRAGMENT:
            fragmented_any = part
        fixed = tmp_path / f"fixed-{k}.mp4"
        r = framepipe.repair(part, fixed)
        assert r.frames >= n - FRAGMENT and (whole == 0 or r.frames > 0), (cut, r, n)
        assert top_level_boxes(fixed) == ["ftyp", "moov", "mdat"]
        if r.frames:
            info = ffprobe(fixed)
            assert info["nb_read_frames"] == r.frames
            check_frames(fixed, r.frames)
            repaired_any = fixed
    assert repaired_any is not None and fragmented_any is not None
    # Chromium plays a repaired file, and the unfinished (fragmented) file as it was left.
    for video in (repaired_any, fragmented_any):
        n = framepipe.probe(video)["frames_present"]
        check_chromium_plays(chromium, video, n)


def check_chromium_plays(chromium, video: Path, n: int) -> None:
    """Chromium plays `video` for n frames' time and shows frames 0, n/2 and n-1 as the source."""
    import browser

    html = f"<video src='{video.name}' muted></video>"
    page = video.with_suffix(".html")
    page.write_text(browser.page(html))
    chromium.get(page.as_uri())
    times = [(k + 0.5) / crashkit.FPS for k in (0, n // 2, n - 1)]
    centre = [(crashkit.W // 2, crashkit.H // 2)]
    res = chromium.execute_async_script(browser.PROBE_VIDEO, times, centre, 1 / crashkit.FPS)
    assert "error" not in res, (video.name, res)
    assert abs(res["duration"] - n / crashkit.FPS) < 0.05, (video.name, res["duration"], n)
    for got, k in zip(res["frames"], (0, n // 2, n - 1)):
        want = crashkit.frame(k)[crashkit.H // 2, crashkit.W // 2]
        assert max(abs(int(a) - int(b)) for a, b in zip(got[0], want)) <= 24, (video.name, k, got, want)


@pytest.fixture(scope="session")
def cli_binary():
    root = Path(__file__).resolve().parents[1]
    exe = root / "target" / "release" / "framepipe"
    # Always through cargo (a no-op when up to date): a binary left by an older build is stale.
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "framepipe-cli"], cwd=root, check=True)
    return str(exe)


def run_render_and_signal(mode: str, out: Path, after: float, sig: int) -> tuple[int, str]:
    p, _, err = signal_child(mode, out, after, sig)
    return p.returncode, err


def check_chunk(path: Path, first: int) -> None:
    """A kept chunk: exactly CHUNK frames, decoded cleanly, the source's frames first.. ."""
    info = ffprobe(path)
    assert info["nb_read_frames"] == crashkit.CHUNK
    assert ffmpeg_errors(path) == ""
    got = decode_rgb(path)
    want = np.stack([crashkit.frame(first + k) for k in range(crashkit.CHUNK)])
    assert min(psnr(got[k], want[k]) for k in range(crashkit.CHUNK)) > 30


def test_render_killed_keeps_finished_chunks_and_resumes(tmp_path):
    """render(workers=2, resume=True) killed with SIGKILL 20 times: every chunk it kept is
    whole and right, its workers leave without a traceback; resumed, it renders only the
    missing chunks and makes the same file as an uninterrupted render."""
    import json

    reference = tmp_path / "reference.mp4"
    crashkit.render(str(reference), False)
    kept_total, resumable = 0, None
    for k, after in enumerate(kill_moments(5)):
        out = tmp_path / f"render-{k}.mp4"
        code, err = run_render_and_signal("render", out, after, signal.SIGKILL)
        assert code == -signal.SIGKILL or not out.with_name(out.name + ".parts").exists()
        assert "Traceback" not in err and "Error" not in err, err
        parts = out.with_name(out.name + ".parts")
        if code != -signal.SIGKILL or not parts.exists():
            continue  # finished before the kill, or killed before the first chunk was planned
        manifest = json.loads((parts / "manifest.json").read_text())
        kept = sorted(parts.glob("chunk-*.mp4"))
        for f in kept:
            c = int(f.stem.split("-")[1])
            check_chunk(f, manifest["chunks"][c][1])
        kept_total += len(kept)
        if resumable is None and 0 < len(kept) < len(manifest["chunks"]):
            resumable = (out, len(kept))
    assert kept_total > 0 and resumable is not None, kept_total
    out, kept = resumable
    calls = tmp_path / "calls"

    def counted(i):
        with open(calls, "a") as f:
            f.write(f"{i}\n")
        return crashkit.frame(i)

    res = framepipe.render(
        counted,
        out,
        n_frames=crashkit.RENDER_FRAMES,
        fps=crashkit.FPS,
        workers=2,
        chunk_frames=crashkit.CHUNK,
        resume=True,
    )
    rendered = calls.read_text().split()
    assert len(rendered) == crashkit.RENDER_FRAMES - kept * crashkit.CHUNK, (len(rendered), kept)
    assert res.frames == crashkit.RENDER_FRAMES
    assert out.read_bytes() == reference.read_bytes()
    assert not out.with_name(out.name + ".parts").exists()


def test_render_resume_with_changed_parameters_starts_over(tmp_path):
    out = tmp_path / "changed.mp4"

    def failing(i):
        if i >= 2 * crashkit.CHUNK:
            raise RuntimeError("stop here")
        return crashkit.frame(i)

    # One worker: chunks 0 and 1 are done (and kept) before chunk 2 fails.
    with pytest.raises(framepipe.RenderError):
        framepipe.render(
            failing, out, n_frames=crashkit.RENDER_FRAMES // 4, fps=crashkit.FPS, workers=1,
            chunk_frames=crashkit.CHUNK, resume=True, crf=23,
        )  # fmt: skip
    parts = out.with_name(out.name + ".parts")
    assert len(list(parts.glob("chunk-*.mp4"))) == 2
    calls = []

    def counted(i):
        calls.append(i)
        return crashkit.frame(i)

    with pytest.warns(framepipe.FramepipeWarning, match="crf|encode"):
        framepipe.render(
            counted, out, n_frames=crashkit.RENDER_FRAMES // 4, fps=crashkit.FPS, workers=1,
            chunk_frames=crashkit.CHUNK, resume=True, crf=30,
        )  # fmt: skip
    assert sorted(calls) == list(range(crashkit.RENDER_FRAMES // 4))  # all of it, again
    assert not parts.exists()
    fresh = tmp_path / "fresh.mp4"
    framepipe.render(
        crashkit.frame, fresh, n_frames=crashkit.RENDER_FRAMES // 4, fps=crashkit.FPS, workers=2,
        chunk_frames=crashkit.CHUNK, crf=30,
    )  # fmt: skip
    assert out.read_bytes() == fresh.read_bytes()
    with pytest.raises(framepipe.ParameterError, match="MP4"):
        framepipe.render(crashkit.frame, tmp_path / "x.gif", n_frames=10, resume=True)


def test_render_stopped_by_sigterm_leaves_nothing_behind(tmp_path):
    """Without resume, SIGTERM ends a render like Ctrl-C does: its temporary file is removed,
    its workers stop without a word, and the process still ends by SIGTERM."""
    stopped = 0
    for k, after in enumerate([0.3, 0.8, 1.5]):
        d = tmp_path / f"run{k}"
        d.mkdir()
        out = d / "plain.mp4"
        code, err = run_render_and_signal("render-plain", out, after, signal.SIGTERM)
        left = sorted(x.name for x in d.iterdir())
        if code == 0:
            assert left == ["plain.mp4"]  # it had finished
            continue
        assert code == -signal.SIGTERM, (code, err)
        assert left == [], left
        assert "Traceback" not in err and "Error" not in err, err
        stopped += 1
    assert stopped >= 2, stopped


# --------------------------------------------------------------------------- close and repair


def start_big(mode: str, out: Path, closing: threading.Event | None = None) -> tuple[subprocess.Popen, Reader]:
    """`python crashkit.py MODE OUT` for the large file; `closing` is set when it says it is
    about to close."""
    p = subprocess.Popen(
        [sys.executable, KIT, mode, str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )

    class Watch(Reader):
        def run(self):
            for line in self.stream:
                if line.endswith("\n"):
                    self.lines.append(line.strip())
                if line.startswith("closing") and closing is not None:
                    closing.set()
            if closing is not None:
                closing.set()

    r = Watch(p.stdout)
    r.start()
    return p, r


def said(r: Reader, word: str) -> list[str] | None:
    """The fields after `word` on the child's line that starts with it."""
    for line in r.lines:
        if line.startswith(word + " "):
            return line.split()[1:]
    return None


def test_kill_during_close_keeps_every_frame_on_disk(tmp_path):
    """close() of a large MP4 (300 frames of 640x480 noise at crf=1, about 136 MB) killed with
    SIGKILL at random moments while it runs: the file keeps every frame that was on disk when
    close began (``frames_on_disk``). close writes the finished file beside the output and
    renames it over the fragmented one, which nothing touches before that: killed before the
    rename, the output is the fragmented file, which ffmpeg decodes without a complaint and
    repair finishes (removing the half-written temporary); after it, the finished file."""
    big = crashkit.BIG_FRAMES
    # An uninterrupted close, to time the kills.
    p, r = start_big("close", tmp_path / "whole.mp4")
    assert p.wait(300) == 0, p.stderr.read()
    r.join(10)
    frames, seconds = said(r, "closed")
    assert int(frames) == big
    close_s = float(seconds)
    whole = tmp_path / "whole.mp4"
    assert top_level_boxes(whole) == ["ftyp", "moov", "mdat"] and whole.stat().st_size > 100e6
    rng = np.random.default_rng(21)
    in_close = fragmented_left = 0
    attempt = 0
    while in_close < 20:
        attempt += 1
        assert attempt <= 40, f"only {in_close} of {attempt - 1} kills landed inside close()"
        out = tmp_path / "killed.mp4"
        closing = threading.Event()
        p, r = start_big("close", out, closing)
        assert closing.wait(300), p.stderr.read()
        # close_s also counts what follows the rename (freeing the fragmented file, x264's
        # teardown): most kills should come before it.
        time.sleep(float(rng.uniform(0, 0.8 * close_s)))
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        r.join(10)
        on_disk = int(said(r, "closing")[0])
        assert on_disk >= big - 2 * FRAGMENT, on_disk
        closed = said(r, "closed")
        if closed is None:
            in_close += 1
        else:
            # This close ended before the kill: its own time (the child's clock) is the better
            # measure of how long a close takes now. On a busy machine the timing run above can
            # be far slower than the closes after it; aiming by it alone then kills most
            # processes after their close.
            close_s = min(close_s, float(closed[1]))
        boxes = top_level_boxes(out)
        n, complaints = decode_count(out)
        assert complaints == "", complaints
        if boxes == ["ftyp", "moov", "mdat"]:
            assert n == big  # renamed into place before the kill: the finished file
        else:
            # The fragmented file, intact: every frame that was on disk plays. (close first
            # writes the fragments of the frames x264 still held: killed while writing one, the
            # file ends with it as a `free` box and its mdat, which readers skip.)
            fragmented_left += 1
            assert boxes[:2] == ["ftyp", "moov"] and set(boxes[2:]) <= {"moof", "mdat", "free"}, boxes
            assert n >= on_disk, (n, on_disk)
            info = framepipe.probe(out)
            assert info["fragmented"] and info["frame_count"] == n and not info["truncated"]
            r2 = framepipe.repair(out)
            assert r2.frames == n and not r2.was_finished and r2.in_place
            assert top_level_boxes(out) == ["ftyp", "moov", "mdat"]
            n2, complaints = decode_count(out)
            assert (n2, complaints) == (n, "")
            if fragmented_left == 1:
                # Every frame is the right one, in order (frame i has i in its top rows).
                got = decode_rgb(out)
                assert len(got) == n
                rows = got[:, :4, :, :].reshape(n, -1).mean(axis=1)
                assert np.all(np.abs(rows - np.arange(n) % 256) < 3), rows
        # Repair, or the next writer to this output, removed the half-written finished file.
        framepipe.repair(out)
        assert temporaries(tmp_path) == [], temporaries(tmp_path)
        out.unlink()
    assert fragmented_left >= 8, (fragmented_left, in_close)


def test_killed_repair_leaves_nothing_behind_after_a_rerun(tmp_path, cli_binary):
    """`framepipe repair` of a large unfinished file, in place, killed with SIGKILL 12 times at
    random moments: the file is the unfinished one or the repaired one, never anything else;
    the temporary the killed repair left is removed by the next repair, which makes the same
    file as an uninterrupted one."""
    import hashlib

    frag = tmp_path / "fragmented.mp4"
    p, r = start_big("fragmented", frag)
    assert p.wait(300) == 0, p.stderr.read()
    r.join(10)
    on_disk = int(said(r, "fragmented")[0])
    original = frag.read_bytes()
    reference = tmp_path / "reference.mp4"
    t = time.perf_counter()
    res = subprocess.run([cli_binary, "repair", str(frag), str(reference)], capture_output=True, text=True)
    repair_s = time.perf_counter() - t
    assert res.returncode == 0, res.stderr
    assert f"kept {on_disk} frames of the {on_disk}" in res.stdout, res.stdout
    assert decode_count(reference) == (on_disk, "")
    digest = {
        hashlib.sha256(original).hexdigest(): "fragmented",
        hashlib.sha256(reference.read_bytes()).hexdigest(): "repaired",
    }
    rng = np.random.default_rng(5)
    left_something = 0
    for k in range(12):
        victim = tmp_path / "victim.mp4"
        victim.write_bytes(original)
        p = subprocess.Popen([cli_binary, "repair", str(victim)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(float(rng.uniform(0.02, repair_s)))
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        state = digest.get(hashlib.sha256(victim.read_bytes()).hexdigest())
        assert state is not None, f"kill {k}: the file is neither the unfinished nor the repaired one"
        left_something += bool(temporaries(tmp_path))
        # Rerun: the temporary goes, and the file is the repaired one.
        res = subprocess.run([cli_binary, "repair", str(victim)], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        assert temporaries(tmp_path) == [], (k, temporaries(tmp_path))
        assert victim.read_bytes() == reference.read_bytes(), k
    assert left_something >= 6, left_something  # most kills landed while the repair was writing


def test_truncated_finished_mp4_repairs_to_the_frames_it_holds(tmp_path):
    """A finished MP4 (B-frames) cut at 30 places in its media data: repair rebuilds a clean
    faststart file of the frames whose bytes are in the file (the decode-order prefix with no
    gap in presentation), says how many, and ffmpeg and PyAV decode it without a complaint to
    the source's first frames."""
    import av

    n_src = 90
    src = crashkit.frames(n_src)
    whole = tmp_path / "whole.mp4"
    framepipe.write_video(whole, src, fps=crashkit.FPS)
    data = whole.read_bytes()
    # Cuts after the first frame (the keyframe: a large share of the bytes) ends: where each
    # packet lies, by ffprobe.
    packets = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pos,size", "-of", "csv=p=0"]
        + [str(whole)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    first_end = min(int(pos) + int(size) for size, pos in (p.split(",") for p in packets))
    rng = np.random.default_rng(44)
    cuts = sorted({int(c) for c in rng.integers(first_end, len(data), 30)})
    seen = set()
    for k, cut in enumerate(cuts):
        part = tmp_path / f"cut-{k}.mp4"
        part.write_bytes(data[:cut])
        info = framepipe.probe(part)
        assert info["truncated"] and info["frames_present"] < n_src
        fixed = tmp_path / f"fixed-{k}.mp4"
        r = framepipe.repair(part, fixed)
        assert (r.truncated, r.was_finished, r.in_place, r.frames_listed) == (True, False, False, n_src), r
        assert r.frames_found == info["frames_present"] and 0 < r.frames <= r.frames_found, (r, info)
        assert r.frames >= r.frames_found - 4, r  # at most a B-frame group is dropped
        assert part.read_bytes() == data[:cut], "the input is left alone"
        assert top_level_boxes(fixed) == ["ftyp", "moov", "mdat"]
        ours = framepipe.probe(fixed)
        assert (ours["frame_count"], ours["frames_present"], ours["truncated"]) == (r.frames, r.frames, False)
        assert decode_count(fixed) == (r.frames, "")
        check_frames(fixed, r.frames)
        with av.open(str(fixed)) as c:
            pyav = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        assert len(pyav) == r.frames
        assert min(psnr(pyav[i], src[i]) for i in range(r.frames)) > 30
        seen.add(r.frames)
    assert len(seen) >= 20, sorted(seen)
    assert temporaries(tmp_path) == []
