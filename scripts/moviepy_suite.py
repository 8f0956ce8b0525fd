#!/usr/bin/env python3
"""Run MoviePy 2.2.1's own test suite against MoviePy and against ``framepipe.editor``.

What it takes (nothing of MoviePy is kept in this repository):

* ``tests/`` from MoviePy 2.2.1's sdist on the package index (``pip download --no-deps
  --no-binary :all: moviepy==2.2.1`` into a cache directory, or ``--sdist FILE``), with
  ``docs/_static/code`` (the scripts test_doc_examples.py runs). The sdist leaves out
  ``tests/conftest.py`` and ``tests/__init__.py``; those two come with ``media/`` below.
* ``media/`` (and the two files above) from MoviePy's repository at tag v2.2.1: ``--media DIR``
  (a checkout or unpacked release holding ``media/`` and ``tests/conftest.py``), ``--moviepy-git
  DIR`` (a git directory: each file of ``media/`` read with ``git cat-file``; blobs the git
  directory does not hold are listed and left out), or else the release tarball downloaded from
  GitHub. Tests that need a file left out fail in both runs, so they are not in the baseline.

It lays out a directory as MoviePy's tests expect (they open ``media/...`` and
``docs/_static/code`` relative to the working directory, and write to ``tempfile.gettempdir()``,
which is pointed at a fresh directory per run) and runs ``python -m pytest tests`` there twice
with the same interpreter (``--python``, default the running one):

(a) the baseline: the files as they are, against the installed ``moviepy``;
(b) framepipe: a copy whose Python files (``tests/*.py`` with the conftest, and the
    ``docs/_static/code`` scripts) have their MoviePy imports pointed at ``framepipe.editor``.

The rewrite rules (``rewrite_source``), applied per line so line numbers stay:

1. ``from moviepy import ...`` -> ``from framepipe.editor import ...``; ``from moviepy.a.b import
   ...`` -> ``from framepipe.editor.a.b import ...`` (a parenthesised name list on the next lines
   is untouched: only the module changes).
2. ``import moviepy.a.b as t`` -> ``import framepipe.editor.a.b as t``.
3. ``import moviepy`` -> ``import framepipe.editor as moviepy``; ``import moviepy.a.b`` ->
   ``import framepipe.editor.a.b; import framepipe.editor as moviepy`` (the name ``moviepy`` is
   bound to ``framepipe.editor``, so attribute uses ``moviepy.a.b.x`` need no rewriting).
4. A string literal whose whole text is a module path ``moviepy`` or ``moviepy.a.b`` (for
   ``importlib.import_module("moviepy.tools")``, ``sys.modules["moviepy.config"]``) ->
   ``framepipe.editor`` / ``framepipe.editor.a.b``. Other strings (file names such as
   ``moviepy_issue_470.wav``, URLs, docstrings) are untouched.

Nothing else changes. So that a form these rules miss cannot silently test MoviePy itself, the
framepipe run blocks ``import moviepy``: a plugin loaded into that pytest raises ImportError
for it. The same plugin gives each test a time limit (SIGALRM) when pytest-timeout is not
installed in that interpreter; the whole run has a limit too.

It prints and writes (``--out DIR``: results.json and results.md) how many tests MoviePy passes
(P of N), how many of those framepipe passes (F of P), the tests framepipe passes and MoviePy
does not, and each test MoviePy passes and framepipe does not with the first line of its error,
grouped by cause (a missing name or module, an AttributeError, an assertion, ...). A test
module framepipe cannot import counts all its baseline-passed tests as failed, with the import
error as their cause.

Both runs are under one virtual X display when ``Xvfb`` is installed (scripts/xvfb.py starts it
on a free display number; ``DISPLAY`` is set to it for both runs, ``SDL_AUDIODRIVER=dummy``),
else with no display: tests that call ``clip.show()`` (``test_TextClip::test_no_font``, the doc
example ``rendering/show.py``) then compare like with like (MoviePy's ``show`` hands the frame to
PIL's image viewer, which does nothing visible without a display; framepipe's opens a window,
and without a display raises a clear error instead). ``--no-xvfb`` runs both without a display.
An earlier baseline (``--reuse-baseline``) keeps the display it was run with.

Usage: ``PYTHONPATH=python .venv/bin/python scripts/moviepy_suite.py --out /tmp/suite``
(framepipe is imported from the interpreter's path, so PYTHONPATH picks the checkout).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tokenize
import urllib.request
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

VERSION = "2.2.1"
TAG = f"v{VERSION}"
TARBALL_URL = f"https://codeload.github.com/Zulko/moviepy/tar.gz/refs/tags/{TAG}"
TARGET = "framepipe.editor"
# Files MoviePy's repository has and the sdist leaves out, taken with media/.
REPO_FILES = ("tests/conftest.py", "tests/__init__.py")

_FROM = re.compile(r"^(\s*)from\s+moviepy((?:\.\w+)*)(\s+import\b)")
_IMPORT_AS = re.compile(r"^(\s*)import\s+moviepy((?:\.\w+)*)(\s+as\s+\w+\s*(?:#.*)?)$")
_IMPORT = re.compile(r"^(\s*)import\s+moviepy((?:\.\w+)*)(\s*(?:#.*)?)$")
_MODULE_STRING = re.compile(r"""^([rRuU]?)(['"])moviepy((?:\.\w+)*)\2$""")


def rewrite_source(text: str) -> str:
    """The Python source `text` with its MoviePy imports pointed at framepipe.editor (rules in
    the module docstring). Line count and line numbers are kept."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        body = line.rstrip("\r\n")
        end = line[len(body) :]
        if m := _FROM.match(body):
            body = f"{m[1]}from {TARGET}{m[2]}{m[3]}{body[m.end() :]}"
        elif m := _IMPORT_AS.match(body):
            body = f"{m[1]}import {TARGET}{m[2]}{m[3]}"
        elif m := _IMPORT.match(body):
            body = f"{m[1]}import {TARGET} as moviepy{m[3]}"
            if m[2]:
                body = f"{m[1]}import {TARGET}{m[2]}; import {TARGET} as moviepy{m[3]}"
        lines[i] = body + end
    return _rewrite_strings("".join(lines))


def _rewrite_strings(text: str) -> str:
    """Rule 4: string literals that are exactly a moviepy module path."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return text  # not Python that tokenizes: left as is (it fails in both runs)
    lines = text.splitlines(keepends=True)
    # Replace from the end so earlier columns stay valid.
    for tok in reversed(tokens):
        if tok.type != tokenize.STRING or tok.start[0] != tok.end[0]:
            continue
        if m := _MODULE_STRING.match(tok.string):
            row, col = tok.start[0] - 1, tok.start[1]
            line = lines[row]
            new = f"{m[1]}{m[2]}{TARGET}{m[3]}{m[2]}"
            lines[row] = line[:col] + new + line[tok.end[1] :]
    return "".join(lines)


# --- results ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One test's outcome in one run: passed, failed, error, skipped (or xfailed), and the first
    line of its error."""

    outcome: str
    message: str = ""


@dataclass
class RunResult:
    tests: dict[str, Outcome] = field(default_factory=dict)
    # Modules that failed to import: dotted module name -> first line of the error.
    collection_errors: dict[str, str] = field(default_factory=dict)


def _first_error_line(message: str, text: str) -> str:
    """The line that says what went wrong: the first ``E   `` line of pytest's report when
    there is one (it names the exception), else the message's first line."""
    for line in (text or "").splitlines():
        if line.startswith("E   ") and line[4:].strip():
            return line[4:].strip()
    first = (message or "").strip().splitlines()
    return first[0].strip() if first else ""


def parse_junit(xml_text: str, root: str = "") -> RunResult:
    """The outcomes in a pytest --junitxml report. `root`, when given, is removed from test
    names (parametrized ids holding absolute paths), so two runs in different directories
    name their tests alike."""
    result = RunResult()
    for case in ET.fromstring(xml_text).iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        if root:
            name = name.replace(root.rstrip("/") + "/", "")
        failure, error = case.find("failure"), case.find("error")
        skipped = case.find("skipped")
        if not classname and error is not None:  # a module that did not import
            result.collection_errors[name] = _first_error_line(error.get("message", ""), error.text or "")
            continue
        key = f"{classname}::{name}"
        if failure is not None:
            outcome = Outcome("failed", _first_error_line(failure.get("message", ""), failure.text or ""))
        elif error is not None:
            outcome = Outcome("error", _first_error_line(error.get("message", ""), error.text or ""))
        elif skipped is not None:
            outcome = Outcome("skipped", (skipped.get("message") or "").strip().split("\n")[0])
        else:
            outcome = Outcome("passed")
        result.tests[key] = outcome
    return result


def cause(message: str) -> str:
    """The group a failure belongs to, from the first line of its error."""
    m = re.match(r"(?:E\s+)?(\w+(?:\.\w+)*)(?::\s*(.*))?$", message.strip(), re.S)
    kind, detail = (m[1], m[2] or "") if m else ("", message)
    kind = kind.rsplit(".", 1)[-1]
    if kind in ("ImportError", "ModuleNotFoundError"):
        if n := re.search(r"cannot import name '([^']+)' from '([^']+)'", detail):
            return f"ImportError: no name {n[1]} in {n[2]}"
        if n := re.search(r"No module named '([^']+)'", detail):
            return f"ModuleNotFoundError: no module {n[1]}"
        return f"{kind}: {detail[:100]}"
    if kind == "AttributeError":
        if n := re.search(r"'?([\w.]+)'? (?:object )?has no attribute '([^']+)'", detail):
            return f"AttributeError: {n[1]}.{n[2]}"
        return f"AttributeError: {detail[:100]}"
    if kind == "NameError" and (n := re.search(r"name '([^']+)' is not defined", detail)):
        return f"NameError: {n[1]} not defined"
    if kind == "TypeError":
        if n := re.search(r"(\w+\(\)) got an unexpected keyword argument '([^']+)'", detail):
            return f"TypeError: {n[1]} has no keyword {n[2]}"
        return f"TypeError: {detail[:90]}"
    if kind == "AssertionError" or message.startswith("assert "):
        return "AssertionError (a different result)"
    if kind == "Failed" and "DID NOT RAISE" in detail:
        return "DID NOT RAISE (no error where MoviePy raises)"
    if kind == "Timeout" or (kind == "Failed" and "Timeout" in detail):
        return "Timeout"
    return f"{kind}: {detail[:90]}" if kind and detail else kind or "other"


def module_of(test_id: str) -> str:
    """``tests.test_fx::test_x`` or ``tests.test_fx.TestA::test_x`` -> ``tests.test_fx``."""
    classname = test_id.split("::", 1)[0]
    parts = classname.split(".")
    while parts and not parts[-1].startswith("test_"):
        parts.pop()  # a class name
    return ".".join(parts) if parts else classname


def compare(base: RunResult, fp: RunResult) -> dict[str, object]:
    """The numbers and lists of the report."""
    collection = {m.replace("/", ".").removesuffix(".py"): e for m, e in fp.collection_errors.items()}
    passed = sorted(t for t, o in base.tests.items() if o.outcome == "passed")
    fails: dict[str, str] = {}
    for t in passed:
        o = fp.tests.get(t)
        if o is None:
            mod = module_of(t)
            fails[t] = collection.get(mod) or collection.get("tests.conftest", "not collected in the framepipe run")
        elif o.outcome != "passed":
            fails[t] = f"[{o.outcome}] {o.message}" if o.outcome == "skipped" else o.message
    groups: dict[str, list[str]] = defaultdict(list)
    for t, msg in fails.items():
        groups["skipped" if msg.startswith("[skipped]") else cause(msg)].append(t)
    base_passed = set(passed)
    extra = sorted(t for t, o in fp.tests.items() if o.outcome == "passed" and t not in base_passed)
    p, f = len(passed), len(passed) - len(fails)
    return {
        "moviepy_version": VERSION,
        "total": len(base.tests),
        "moviepy_passed": p,
        "moviepy_collection_errors": base.collection_errors,
        "framepipe_passed_of_those": f,
        "percent": round(100.0 * f / p, 1) if p else 0.0,
        "framepipe_total_passed": sum(o.outcome == "passed" for o in fp.tests.values()),
        "framepipe_passes_moviepy_does_not": extra,
        "framepipe_collection_errors": fp.collection_errors,
        "failures": {t: fails[t] for t in sorted(fails)},
        "groups": {k: sorted(v) for k, v in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))},
    }


def markdown(report: dict[str, object]) -> str:
    """The report as a markdown page."""
    r = report
    out = [
        f"# MoviePy {r['moviepy_version']}'s test suite against framepipe.editor",
        "",
        "| | tests |",
        "| --- | --- |",
        f"| collected (MoviePy run) | {r['total']} |",
        f"| MoviePy passes | {r['moviepy_passed']} |",
        f"| framepipe passes, of those | {r['framepipe_passed_of_those']} ({r['percent']} %) |",
        f"| framepipe passes, MoviePy does not | {len(r['framepipe_passes_moviepy_does_not'])} |",  # type: ignore[arg-type]
        "",
        "## Tests MoviePy passes and framepipe does not, by cause",
        "",
    ]
    if r.get("flat_submodules"):
        out[1:1] = [
            "",
            "**Diagnostic run (--flat-submodules), not the measure**: MoviePy's submodule paths that"
            " framepipe.editor lacks were stood in for by framepipe.editor itself.",
        ]
    failures: dict[str, str] = r["failures"]  # type: ignore[assignment]
    groups: dict[str, list[str]] = r["groups"]  # type: ignore[assignment]
    out += ["| cause | tests |", "| --- | --- |"]
    out += [f"| {k.replace('|', '/')} | {len(v)} |" for k, v in groups.items()]
    for k, v in groups.items():
        out += ["", f"### {k} ({len(v)})", ""]
        out += [f"- `{t}`: {failures[t].replace('|', '/')[:300]}" for t in v]
    imports: dict[str, list[str]] = r.get("missing_imports") or {}  # type: ignore[assignment]
    if imports:
        out += ["", "## What the rewritten files import that framepipe.editor lacks", ""]
        out += ["| module or name | files importing it |", "| --- | --- |"]
        out += [
            f"| `{k.split(' ', 1)[1]}` ({k.split(' ', 1)[0]}) | {len(v)}: {', '.join(v)} |" for k, v in imports.items()
        ]
    extra: list[str] = r["framepipe_passes_moviepy_does_not"]  # type: ignore[assignment]
    if extra:
        out += ["", "## Tests framepipe passes and MoviePy does not", ""]
        out += [f"- `{t}`" for t in extra]
    return "\n".join(out) + "\n"


# --- getting MoviePy's files -----------------------------------------------------------------


def get_sdist(cache: Path, python: str) -> Path:
    """MoviePy's sdist in `cache`, downloaded with pip when not there yet."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"moviepy-{VERSION}.tar.gz"
    if path.exists():
        return path
    cmd = [python, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", f"moviepy=={VERSION}"]
    print(f"downloading MoviePy {VERSION}'s sdist: {' '.join(cmd)}", flush=True)
    done = subprocess.run([*cmd, "-d", str(cache)], capture_output=True, text=True)
    if done.returncode != 0 or not path.exists():
        said = done.stderr.strip()[-500:]
        sys.exit(f"could not download MoviePy {VERSION}'s sdist (pip said: {said}); give --sdist FILE")
    return path


def _extract(tar: tarfile.TarFile, dest: Path, wanted: tuple[str, ...]) -> int:
    """Extract the members under the top folder whose paths start with one of `wanted`."""
    n = 0
    for member in tar.getmembers():
        rel = member.name.split("/", 1)[1] if "/" in member.name else ""
        if not member.isfile() or not rel.startswith(wanted):
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        src = tar.extractfile(member)
        assert src is not None
        target.write_bytes(src.read())
        n += 1
    return n


def unpack_sdist(sdist: Path, dest: Path) -> None:
    with tarfile.open(sdist) as tar:
        if _extract(tar, dest, ("tests/", "docs/_static/code/")) == 0:
            sys.exit(f"{sdist} holds no tests/: is it MoviePy {VERSION}'s sdist?")


def media_from_dir(src: Path, dest: Path) -> None:
    if not (src / "media").is_dir():
        sys.exit(f"--media {src}: no media/ folder there (give a MoviePy {TAG} checkout or unpacked release)")
    shutil.copytree(src / "media", dest / "media")
    for rel in REPO_FILES:
        if (src / rel).is_file():
            shutil.copy(src / rel, dest / rel)


def media_from_git(git_dir: Path, dest: Path) -> list[str]:
    """media/ and REPO_FILES at the tag, read blob by blob; the paths whose blob the git
    directory lacks (a partial mirror) are returned."""
    git = ["git", "--git-dir", str(git_dir)]
    listing = subprocess.run(
        [*git, "ls-tree", "-r", "-z", TAG, "--", "media", *REPO_FILES], capture_output=True, check=False
    )
    if listing.returncode != 0:
        sys.exit(f"--moviepy-git {git_dir}: no tag {TAG} there ({listing.stderr.decode().strip()})")
    missing = []
    for entry in listing.stdout.decode().split("\0"):
        if not entry:
            continue
        meta, path = entry.split("\t", 1)
        sha = meta.split()[2]
        blob = subprocess.run([*git, "cat-file", "blob", sha], capture_output=True)
        if blob.returncode != 0:
            missing.append(path)
            continue
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        (dest / path).write_bytes(blob.stdout)
    return missing


def media_from_github(cache: Path, dest: Path) -> None:
    path = cache / f"moviepy-{TAG}.tar.gz"
    if not path.exists():
        print(f"downloading {TARBALL_URL}", flush=True)
        try:
            with urllib.request.urlopen(TARBALL_URL, timeout=60) as response:
                data = response.read()
        except OSError as e:
            sys.exit(
                f"could not download MoviePy's media/ from {TARBALL_URL} ({e}); give --media DIR (a MoviePy "
                f"{TAG} checkout) or --moviepy-git DIR (a clone's git directory with tag {TAG})"
            )
        cache.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    with tarfile.open(path) as tar:
        _extract(tar, dest, ("media/", *REPO_FILES))


# --- running ---------------------------------------------------------------------------------

PLUGIN = '''"""Loaded into the pytest runs by scripts/moviepy_suite.py."""
import os, signal, sys

import pytest

if os.environ.get("MOVIEPY_SUITE_BLOCK_MOVIEPY"):
    class _Block:
        def find_spec(self, name, path=None, target=None):
            if name == "moviepy" or name.startswith("moviepy."):
                raise ImportError(f"moviepy is blocked in the framepipe run (import of {name!r} was not rewritten)")
            return None
    sys.meta_path.insert(0, _Block())
    for _name in [m for m in sys.modules if m == "moviepy" or m.startswith("moviepy.")]:
        del sys.modules[_name]

if os.environ.get("MOVIEPY_SUITE_FLAT"):
    # Diagnostic only: MoviePy's submodule paths that framepipe.editor lacks resolve to
    # framepipe.editor itself (names looked up there, then in its vfx and afx).
    import importlib.abc, importlib.machinery, types
    import framepipe.editor as _editor

    # MoviePy's module names, from its files (not imported): only those get a stand-in.
    _spec = importlib.machinery.PathFinder.find_spec("moviepy")
    _base = os.path.dirname(_spec.origin) if _spec and _spec.origin else ""
    _MODULES = set()
    for _dir, _subdirs, _files in os.walk(_base):
        _rel = os.path.relpath(_dir, _base).replace(os.sep, ".")
        _pkg = "framepipe.editor" + ("" if _rel == "." else "." + _rel)
        _MODULES.add(_pkg)
        _MODULES.update(_pkg + "." + f[:-3] for f in _files if f.endswith(".py") and f != "__init__.py")

    # Then framepipe's own modules, wherever the name is defined (framepipe.clips.tools, ...).
    _MORE = []
    for _m in ("framepipe.clips", "framepipe.clips.audio", "framepipe.clips.tools", "framepipe.clips.decorators"):
        try:
            _MORE.append(importlib.import_module(_m))
        except ImportError:
            pass

    class _Proxy(types.ModuleType):
        def __getattr__(self, name):
            # framepipe.editor.a.b: editor.a.b, editor.b (tools, vfx, ...), editor, vfx, afx.
            parts = self.__name__.split(".")[2:]
            nested = _editor
            for p in parts:
                nested = getattr(nested, p, None)
            places = (nested, getattr(_editor, parts[-1], None), _editor)
            for where in (*places, getattr(_editor, "vfx", None), getattr(_editor, "afx", None), *_MORE):
                if where is not None and not isinstance(where, _Proxy) and hasattr(where, name):
                    return getattr(where, name)
            raise AttributeError(f"flat stand-in module {self.__name__!r} has no attribute {name!r}")

        def __repr__(self):
            return f"<flat stand-in module {self.__name__!r}>"

    class _Flat(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path=None, target=None):
            if name in _MODULES:
                return importlib.machinery.ModuleSpec(name, self, is_package=True)
            return None
        def create_module(self, spec):
            m = _Proxy(spec.name)
            m.__path__ = []
            m.__all__ = [n for n in dir(_editor) if not n.startswith("_")]
            return m
        def exec_module(self, module):
            pass

    if not hasattr(_editor, "__path__"):
        _editor.__path__ = []
    sys.meta_path.append(_Flat())

_LIMIT = float(os.environ.get("MOVIEPY_SUITE_TEST_TIMEOUT") or 0)

class Timeout(Exception):
    pass

def _alarm(signum, frame):
    raise Timeout(f"Timeout: the test took over {_LIMIT:g} s")

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    if _LIMIT > 0:
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, _LIMIT)
    try:
        yield
    finally:
        if _LIMIT > 0:
            signal.setitimer(signal.ITIMER_REAL, 0)
'''


def run_pytest(
    python: str,
    root: Path,
    label: str,
    test_timeout: float,
    run_timeout: float,
    block: bool,
    flat: bool = False,
    display: str | None = None,
) -> RunResult:
    """pytest over root/tests, from root, with its temp dir and report in root; on X `display`
    (with SDL's dummy sound driver), else with no display."""
    tmp = root / "tmp"
    tmp.mkdir(exist_ok=True)
    (root / "moviepy_suite_plugin.py").write_text(PLUGIN)
    report = root / "junit.xml"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH", "")]))
    env["TMPDIR"] = str(tmp)
    env["MOVIEPY_SUITE_BLOCK_MOVIEPY"] = "1" if block else ""
    env["MOVIEPY_SUITE_FLAT"] = "1" if flat else ""
    env.setdefault("MPLBACKEND", "Agg")
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    if display is not None:
        env["DISPLAY"] = display
        env["SDL_AUDIODRIVER"] = "dummy"
    cmd = [python, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", "-p", "moviepy_suite_plugin"]
    cmd += [f"--junitxml={report}", "-o", "junit_family=xunit1", "--continue-on-collection-errors"]
    has_timeout = subprocess.run([python, "-c", "import pytest_timeout"], capture_output=True).returncode == 0
    if has_timeout:
        cmd += ["-p", "pytest_timeout", f"--timeout={test_timeout:g}"]
    else:
        env["MOVIEPY_SUITE_TEST_TIMEOUT"] = f"{test_timeout:g}"
    print(f"[{label}] {' '.join(cmd)} (in {root})", flush=True)
    start = time.monotonic()
    with open(root / "pytest.log", "w") as log:
        try:
            subprocess.run(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=run_timeout)
        except subprocess.TimeoutExpired:
            print(f"[{label}] the whole run took over {run_timeout:g} s and was stopped", flush=True)
    print(f"[{label}] {time.monotonic() - start:.0f} s; log: {root / 'pytest.log'}", flush=True)
    if not report.exists():
        return conftest_failure((root / "pytest.log").read_text(errors="replace"), label, root)
    return parse_junit(report.read_text(), str(root))


def conftest_failure(log: str, label: str, root: Path) -> RunResult:
    """The result of a run that stopped before collecting: MoviePy's conftest did not import
    (every test counts as failed, with its error), or something else (the script stops)."""
    if "ImportError while loading conftest" not in log:
        sys.exit(f"[{label}] pytest wrote no report; see {root / 'pytest.log'}")
    print(f"[{label}] tests/conftest.py did not import: no test ran", flush=True)
    return RunResult(collection_errors={"tests.conftest": _first_error_line("", log)})


IMPORT_PROBE = """
import ast, importlib, json, sys, types
from pathlib import Path
missing = {}
def miss(key, f):
    missing.setdefault(key, set()).add(f)
def moviepy_module(module):
    return importlib.import_module("moviepy" + module[len("framepipe.editor"):])
def is_module_there(module, n):
    # vfx, afx, tools...: modules in MoviePy, maybe other objects in framepipe.
    try:
        return isinstance(getattr(moviepy_module(module), n, None), types.ModuleType)
    except ImportError:
        return False
def public(mod):
    return set(getattr(mod, "__all__", None) or [n for n in dir(mod) if not n.startswith("_")])
for f in sys.argv[1:]:
    tree = ast.parse(Path(f).read_text())
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    bound = {}  # names of MoviePy modules (vfx) -> (qualified name, framepipe's object)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            wanted = [(node.module, node.names)]
        elif isinstance(node, ast.Import):
            wanted = [(a.name, None) for a in node.names]
        else:
            continue
        for module, names in wanted:
            if not module.startswith("framepipe.editor"):
                continue
            try:
                mod = importlib.import_module(module)
            except Exception as e:
                miss("module " + module, f)
                continue
            for a in names or []:
                if a.name == "*":
                    # The names MoviePy's module exports that this file uses.
                    theirs = public(moviepy_module(module))
                    ours = public(mod)
                    for n in sorted((theirs & used) - ours):
                        miss("name " + module + "." + n, f)
                    for n in ours & used:
                        if is_module_there(module, n):
                            bound[n] = (module + "." + n, getattr(mod, n))
                elif not hasattr(mod, a.name):
                    miss("name " + module + "." + a.name, f)
                elif is_module_there(module, a.name):
                    bound[a.asname or a.name] = (module + "." + a.name, getattr(mod, a.name))
    # Attributes of modules taken from framepipe.editor: vfx.Crop, afx.AudioFadeIn, tools.x.
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound:
            qualified, obj = bound[node.value.id]
            if not hasattr(obj, node.attr):
                miss("name " + qualified + "." + node.attr, f)
print(json.dumps({k: sorted(v) for k, v in missing.items()}))
"""


def missing_imports(python: str, root: Path) -> dict[str, list[str]]:
    """What the rewritten files import from framepipe.editor that is not there: ``module M``
    or ``name M.N`` -> the files (relative to root) that import it. Each import is tried on its
    own, so this lists everything missing, not only the first failure of each file."""
    files = [
        str(p.relative_to(root))
        for p in [*sorted((root / "tests").rglob("*.py")), *sorted((root / "docs").rglob("*.py"))]
    ]
    env = dict(os.environ, MPLBACKEND="Agg")
    done = subprocess.run([python, "-c", IMPORT_PROBE, *files], cwd=root, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"the import check failed: {done.stderr.strip()[-500:]}", flush=True)
        return {}
    found: dict[str, list[str]] = json.loads(done.stdout.strip().splitlines()[-1])
    return dict(sorted(found.items(), key=lambda kv: (-len(kv[1]), kv[0])))


def rewrite_tree(root: Path) -> int:
    """Rewrite every .py file under root/tests and root/docs in place; the count changed."""
    n = 0
    for path in [*sorted((root / "tests").rglob("*.py")), *sorted((root / "docs").rglob("*.py"))]:
        text = path.read_text()
        new = rewrite_source(text)
        if new != text:
            path.write_text(new)
            n += 1
    return n


def _xvfb_module():
    """scripts/xvfb.py (shared with tests/test_preview.py), loaded by path."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("framepipe_xvfb", Path(__file__).with_name("xvfb.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_both(
    args: argparse.Namespace, work: Path, src: Path, display: str | None
) -> tuple[dict[str, RunResult], dict[str, list[str]]]:
    """The baseline (MoviePy) and framepipe runs, on `display`."""
    runs: dict[str, RunResult] = {}
    imports: dict[str, list[str]] = {}
    for label, rewrite in (("moviepy", False), ("framepipe", True)):
        root = work / label
        if label == "moviepy" and args.reuse_baseline and (root / "junit.xml").exists():
            print(f"[moviepy] the result of an earlier run: {root / 'junit.xml'}", flush=True)
            runs[label] = parse_junit((root / "junit.xml").read_text(), str(root))
            continue
        if root.exists():
            shutil.rmtree(root)
        shutil.copytree(src, root)
        if rewrite:
            print(f"[framepipe] rewrote the imports of {rewrite_tree(root)} files", flush=True)
            imports = missing_imports(args.python, root)
        flat = rewrite and args.flat_submodules
        runs[label] = run_pytest(args.python, root, label, args.test_timeout, args.run_timeout, rewrite, flat, display)

    return runs, imports


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--python", default=sys.executable, help="the interpreter running both pytest runs")
    ap.add_argument("--sdist", type=Path, help=f"MoviePy {VERSION}'s sdist (else downloaded with pip)")
    ap.add_argument("--media", type=Path, help=f"a directory holding MoviePy {TAG}'s media/ (and tests/conftest.py)")
    ap.add_argument("--moviepy-git", type=Path, help=f"a git directory of MoviePy's repository with tag {TAG}")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "framepipe-moviepy-suite")
    ap.add_argument("--work", type=Path, help="where to lay out the runs (default: a new temp dir, kept)")
    ap.add_argument("--out", type=Path, help="write results.json and results.md here")
    ap.add_argument("--test-timeout", type=float, default=120.0, help="seconds per test")
    ap.add_argument(
        "--reuse-baseline",
        action="store_true",
        help="take the MoviePy run's result from an earlier run in --work (WORK/moviepy/junit.xml)",
    )
    ap.add_argument(
        "--no-xvfb",
        action="store_true",
        help="run both without a display (by default both run on a virtual X display when Xvfb is installed)",
    )
    ap.add_argument(
        "--flat-submodules",
        action="store_true",
        help="diagnostic, not the measure: MoviePy submodule paths framepipe.editor lacks stand for "
        "framepipe.editor itself, to see which behaviours fail past the missing paths",
    )
    ap.add_argument("--run-timeout", type=float, default=3600.0, help="seconds per whole run")
    args = ap.parse_args(argv)

    if args.media and not (args.media / "media").is_dir():
        sys.exit(f"--media {args.media}: no media/ folder there (give a MoviePy {TAG} checkout or unpacked release)")
    if args.moviepy_git and not args.moviepy_git.is_dir():
        sys.exit(f"--moviepy-git {args.moviepy_git}: no such directory")
    work = args.work or Path(tempfile.mkdtemp(prefix="moviepy-suite-"))
    src = work / "src"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    unpack_sdist(args.sdist or get_sdist(args.cache, args.python), src)
    missing: list[str] = []
    if args.media:
        media_from_dir(args.media, src)
    elif args.moviepy_git:
        missing = media_from_git(args.moviepy_git, src)
    else:
        media_from_github(args.cache, src)
    if missing:
        print(f"not in the git directory (left out; tests using them fail in both runs): {', '.join(missing)}")
    if not (src / "tests" / "conftest.py").exists():
        sys.exit("no tests/conftest.py (MoviePy's repository has it, its sdist not): give --moviepy-git or --media")

    with contextlib.ExitStack() as stack:
        display = None
        xvfb = _xvfb_module()
        if not args.no_xvfb and xvfb.available():
            display = stack.enter_context(xvfb.virtual_display())
            print(f"both runs on the virtual X display {display} (Xvfb)", flush=True)
        else:
            print("both runs without a display" + ("" if args.no_xvfb else " (Xvfb is not installed)"), flush=True)
        runs, imports = _run_both(args, work, src, display)
    report = compare(runs["moviepy"], runs["framepipe"])
    report["flat_submodules"] = bool(args.flat_submodules)
    report["missing_imports"] = imports
    report["media_missing"] = missing
    report["python"] = args.python
    report["framepipe_outcomes"] = {t: asdict(o) for t, o in sorted(runs["framepipe"].tests.items())}
    report["moviepy_outcomes"] = {t: asdict(o) for t, o in sorted(runs["moviepy"].tests.items())}
    page = markdown(report)
    print(page)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "results.json").write_text(json.dumps(report, indent=1) + "\n")
        (args.out / "results.md").write_text(page)
        print(f"written: {args.out / 'results.json'}, {args.out / 'results.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
