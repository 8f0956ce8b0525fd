"""Every code block of README.md, ARCHITECTURE.md and docs/*.md runs as written.

Fenced blocks are taken from each page. ```python blocks run in order in one namespace (with
``__name__ == "__main__"``, as a script's), ```sh and ```console blocks with bash (``set -euo
pipefail``) with the venv's bin first on PATH (so ``framepipe`` is the console script); both in
the page's order, in one fresh directory per page (the cwd), in a subprocess with a timeout.
```text blocks (output, diagrams) are not run; a block without a language, or with another one,
fails. The files a block names as input (logo.png, frames/*.png, killed.mp4) are made here.

Every MP4 and GIF a page writes must decode with ffmpeg without a message; the files listed in
EXPECTED must exist with that many frames (decoded by ffprobe); files a page damages on purpose
are listed in DAMAGED. Relative links must point at files that exist, and #anchors at headings.
The examples/ scripts the docs name run too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import ffmpeg_errors, ffprobe

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", ROOT / "ARCHITECTURE.md", *sorted((ROOT / "docs").glob("*.md"))]
RUN = {"python", "sh", "console"}
NOT_RUN = {"text"}
PAGE_TIMEOUT = 300  # seconds; a page takes a few seconds (docs/rendering.md, with Dask, ~20)

# Outputs whose frame count is checked: {page: {file: frames}}.
EXPECTED = {
    "README.md": {"wave.mp4": 90, "sine.mp4": 60, "title.mp4": 48, "frames.mp4": 24},
    "docs/writing.md": {
        "wave.mp4": 90,
        "fade.mp4": 48,
        "tagged.mp4": 25,
        "shapes.mp4": 2,
        "yellow.mp4": 10,
        "green.mp4": 10,
        "song.mp4": 50,
        "tone.mp4": 50,
        "stream.mp4": 50,
    },
    "docs/matplotlib.md": {"out.mp4": 60, "out-slow.mp4": 60, "saved.mp4": 60, "parallel.mp4": 48},
    "docs/clips.md": {"scene.mp4": 48, "scene.gif": 24, "moviepy-style.mp4": 24, "grid.mp4": 36},
    "docs/clips_audio.md": {"movie.mp4": 36},
    "docs/rendering.md": {"plot.mp4": 48, "sky.mp4": 48, "sky-sound.mp4": 48, "long.mp4": 96, "cluster.mp4": 48},
    "docs/crash-safety.md": {"killed.mp4": None, "fixed.mp4": None, "durable.mp4": 48},
    "docs/gif.md": {"checks.gif": 40},
    "docs/cli.md": {
        "raw.mp4": 48,
        "images.mp4": 24,
        "ntsc.mp4": 24,
        "tagged.mp4": 24,
        "anim.gif": 24,
        "fixed.mp4": None,
    },
    "docs/probe.md": {"probe-me.mp4": 48},
    "docs/determinism.md": {"a.mp4": 12, "b.mp4": 12},
}
# Files a page cuts short on purpose (to show what probe says of them): not decoded cleanly.
DAMAGED = {
    "docs/crash-safety.md": {"cut.mp4"},
    "docs/probe.md": {"probe-cut.mp4"},
}


@dataclass(frozen=True)
class Block:
    page: str  # relative to the repository
    line: int  # of the opening fence, 1-based
    lang: str
    code: str


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page. Fences must start at column 0 (an indented
    fence inside a list would be easy to miss), and every block must be closed."""
    out, lines, i = [], path.read_text(encoding="utf-8").splitlines(), 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^(\s*)(`{3,}|~{3,})(.*)$", line)
        if not m:
            i += 1
            continue
        assert not m.group(1), f"{rel(path)}:{i + 1}: an indented code fence; start fences at column 0"
        fence, info = m.group(2), m.group(3).strip()
        start, i = i, i + 1
        body = []
        while i < len(lines) and not re.match(rf"^{fence[0]}{{{len(fence)},}}\s*$", lines[i]):
            body.append(lines[i])
            i += 1
        assert i < len(lines), f"{rel(path)}:{start + 1}: a code block that is never closed"
        out.append(Block(rel(path), start + 1, info.split()[0] if info else "", "\n".join(body) + "\n"))
        i += 1
    return out


def test_the_pages_exist():
    names = {rel(p) for p in PAGES}
    for page in EXPECTED:
        assert page in names, f"{page} is gone; update EXPECTED in tests/test_docs.py"
    for page in ("writing", "matplotlib", "clips", "rendering", "crash-safety", "gif", "cli", "determinism"):
        assert f"docs/{page}.md" in names


def test_the_readme_is_a_front_page():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines; move detail to docs/"


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_every_block_says_its_language(page):
    for b in blocks(page):
        assert b.lang in RUN | NOT_RUN, (
            f"{b.page}:{b.line}: a code block tagged {b.lang!r}; tag it python, sh or console (run by "
            f"tests/test_docs.py) or text (output, not run)"
        )


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`([^`]*)`", r"\1", heading.strip()).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    # Headings outside code blocks.
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.*)$", text, flags=re.M)}


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_links_point_at_files_and_headings(page):
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.S | re.M)
    for m in re.finditer(r"\]\(([^)\s]+)\)", text):
        target = m.group(1)
        if re.match(r"^[a-z]+:", target):  # https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        dest = (page.parent / file).resolve() if file else page
        assert dest.exists(), f"{rel(page)}: a link to {target}, which does not exist"
        if anchor:
            assert anchor in anchors(dest), f"{rel(page)}: a link to {target}: no such heading in {rel(dest)}"


# ------------------------------------------------------------------------------ running blocks

DRIVER = textwrap.dedent(
    """
    import json, subprocess, sys

    def main():
        with open(sys.argv[1]) as f:
            blocks = json.load(f)
        namespace = {"__name__": "__main__", "__builtins__": __builtins__}
        for b in blocks:
            print(f"=== {b['page']}:{b['line']} ({b['lang']})", flush=True)
            if b["lang"] == "python":
                # Padded so that a traceback names the page's own line numbers.
                code = compile("\\n" * b["line"] + b["code"], b["path"], "exec")
                exec(code, namespace)
            else:
                r = subprocess.run(["bash", "-c", "set -euo pipefail\\n" + b["code"]])
                if r.returncode != 0:
                    sys.exit(f"{b['page']}:{b['line']}: the block exited with status {r.returncode}")
            sys.stdout.flush()

    if __name__ == "__main__":
        main()
    """
)


def make_fixtures(folder: Path) -> None:
    """What the blocks read: a logo on white, 24 PNG frames, and an MP4 left by a killed writer."""
    from PIL import Image, ImageDraw

    logo = Image.new("RGB", (200, 120), "white")
    ImageDraw.Draw(logo).ellipse((30, 10, 170, 110), fill=(230, 120, 20))
    logo.save(folder / "logo.png")
    (folder / "frames").mkdir()
    y, x = np.mgrid[0:120, 0:160]
    for i in range(24):
        rgb = np.stack([(x * 1.5 + i * 8) % 256, (y * 2) % 256, np.full_like(x, 255 - i * 10)], -1)
        Image.fromarray(rgb.astype(np.uint8)).save(folder / "frames" / f"{i:04d}.png")
    killer = textwrap.dedent(
        """
        import os, signal, numpy as np, framepipe
        w = framepipe.VideoWriter("killed.mp4", fps=30)
        for i in range(150):
            w.write(np.full((240, 320, 3), (i, 255 - i, 128), np.uint8))
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    r = subprocess.run([sys.executable, "-c", killer], cwd=folder, capture_output=True, text=True, timeout=60)
    assert r.returncode == -9, r.stderr


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("doc-inputs")
    make_fixtures(folder)
    return folder


def run_page(page: Path, folder: Path) -> subprocess.CompletedProcess:
    runnable = [b for b in blocks(page) if b.lang in RUN]
    spec = [{**b.__dict__, "path": str(page)} for b in runnable]
    (folder / ".blocks.json").write_text(json.dumps(spec))
    (folder / ".driver.py").write_text(DRIVER)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "MPLBACKEND": "Agg",  # what a machine without a display uses anyway
    }
    return subprocess.run(
        [sys.executable, ".driver.py", ".blocks.json"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=PAGE_TIMEOUT,
    )


RUNNABLE_PAGES = [p for p in PAGES if any(b.lang in RUN for b in blocks(p))]


@pytest.mark.parametrize("page", RUNNABLE_PAGES, ids=rel)
def test_the_code_blocks_run(page, fixtures, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(fixtures, folder)

    def stamp(p: Path) -> tuple[int, int]:
        st = p.stat()
        return st.st_size, st.st_mtime_ns

    inputs = {p: stamp(p) for p in folder.rglob("*") if p.is_file()}
    r = run_page(page, folder)
    assert r.returncode == 0, f"{rel(page)}: a code block failed:\n{r.stdout[-4000:]}\n{r.stderr[-6000:]}"

    name = rel(page)
    damaged = DAMAGED.get(name, set())
    written = {
        p.relative_to(folder).as_posix(): p
        for p in folder.rglob("*")
        if p.suffix in (".mp4", ".gif") and p.is_file() and inputs.get(p) != stamp(p)
    }
    for f in damaged:
        assert f in written, f"{name} no longer writes {f}; update DAMAGED in tests/test_docs.py"
    for f, path in sorted(written.items()):
        if f in damaged:
            continue
        assert ffmpeg_errors(path) == "", f"{name} wrote {f}, which does not decode cleanly"
        assert ffprobe(path)["nb_read_frames"] > 0, f"{name} wrote {f} without a frame"
    for f, frames in EXPECTED.get(name, {}).items():
        assert f in written, f"{name} did not write {f}"
        if frames is not None:
            assert ffprobe(written[f])["nb_read_frames"] == frames, f"{name}: {f}"


def test_pages_that_write_videos_are_checked():
    """A page with runnable blocks that write files has its outputs listed in EXPECTED."""
    for page in RUNNABLE_PAGES:
        if any(re.search(r"\.(mp4|gif)\b", b.code) for b in blocks(page) if b.lang in RUN):
            assert rel(page) in EXPECTED, f"list the files {rel(page)} writes in EXPECTED"


# --------------------------------------------------------------------------------- examples


def documented_examples() -> list[str]:
    text = "\n".join(p.read_text(encoding="utf-8") for p in PAGES)
    return sorted(set(re.findall(r"examples/(\w+\.py)", text)))


@pytest.mark.parametrize("script", documented_examples())
def test_the_examples_the_docs_name_run(script, tmp_path):
    out = tmp_path / "out.mp4"
    r = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), str(out)],
        cwd=tmp_path,
        env={**os.environ, "MPLBACKEND": "Agg"},
        capture_output=True,
        text=True,
        timeout=PAGE_TIMEOUT,
    )
    assert r.returncode == 0, r.stderr[-4000:]
    assert ffmpeg_errors(out) == ""
    assert ffprobe(out)["nb_read_frames"] > 0
