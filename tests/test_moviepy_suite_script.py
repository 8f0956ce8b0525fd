"""scripts/moviepy_suite.py without the network: its import rewriting (on sample text and on
every module of the installed MoviePy 2.2.1, checked with ast), its pytest plugin (moviepy
blocked, per-test time limit) in a real pytest run, and its junit parsing and comparison."""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import moviepy
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("moviepy_suite", ROOT / "scripts" / "moviepy_suite.py")
assert _spec and _spec.loader
suite = importlib.util.module_from_spec(_spec)
sys.modules["moviepy_suite"] = suite  # dataclasses look their module up
_spec.loader.exec_module(suite)


def moviepy_imports(source: str) -> list[str]:
    """The modules named by import statements in source that are moviepy or under it."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "moviepy"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == "moviepy":
                found.append(node.module)
    return found


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("from moviepy import *\n", "from framepipe.editor import *\n"),
        ("from moviepy import VideoFileClip, vfx\n", "from framepipe.editor import VideoFileClip, vfx\n"),
        ("from moviepy.video.fx import Crop  # x\n", "from framepipe.editor.video.fx import Crop  # x\n"),
        ("    from moviepy.audio.AudioClip import (\n", "    from framepipe.editor.audio.AudioClip import (\n"),
        ("import moviepy.tools as tools\n", "import framepipe.editor.tools as tools\n"),
        ("import moviepy\n", "import framepipe.editor as moviepy\n"),
        ("import moviepy.video.fx\n", "import framepipe.editor.video.fx; import framepipe.editor as moviepy\n"),
        ('m = importlib.import_module("moviepy.config")\n', 'm = importlib.import_module("framepipe.editor.config")\n'),
        ("del sys.modules['moviepy']\n", "del sys.modules['framepipe.editor']\n"),
        # Left alone: names that only start like moviepy, file names, text, attribute uses.
        ("import moviepy_extra\n", "import moviepy_extra\n"),
        ("from moviepyx import a\n", "from moviepyx import a\n"),
        ('f = "moviepy_issue_470.wav"\n', 'f = "moviepy_issue_470.wav"\n'),
        ('s = "moviepy.tools is here"\n', 's = "moviepy.tools is here"\n'),
        ("x = moviepy.video.fx.Crop\n", "x = moviepy.video.fx.Crop\n"),
        ("# from moviepy import x\n", "# from moviepy import x\n"),
    ],
)
def test_rewrite_rules(before: str, after: str) -> None:
    assert suite.rewrite_source(before) == after


def test_rewritten_imports_bind_framepipe_editor() -> None:
    source = "import moviepy\nfrom moviepy import ColorClip\nname = moviepy.__name__\n"
    namespace: dict[str, object] = {}
    exec(compile(suite.rewrite_source(source), "<sample>", "exec"), namespace)
    import framepipe.editor

    assert namespace["name"] == "framepipe.editor"
    assert namespace["moviepy"] is framepipe.editor
    assert namespace["ColorClip"] is framepipe.editor.ColorClip


def test_rewrite_leaves_no_moviepy_import_in_moviepys_own_modules() -> None:
    """Every .py file of the installed MoviePy (absolute `from moviepy...` imports in many
    forms): after the rewrite ast finds no import of moviepy, and lines keep their numbers."""
    files = sorted(Path(moviepy.__file__).parent.rglob("*.py"))
    assert len(files) > 50
    before_total = 0
    for path in files:
        text = path.read_text()
        before_total += len(moviepy_imports(text))
        new = suite.rewrite_source(text)
        assert moviepy_imports(new) == [], path
        assert new.count("\n") == text.count("\n"), path
    assert before_total > 100  # the check above saw many imports to rewrite


def test_missing_imports_lists_each_missing_module_and_name(tmp_path: Path) -> None:
    """The import check on rewritten files: a missing submodule, a name missing from a module,
    a name a star import of MoviePy would give and framepipe's does not, an attribute of vfx."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text(
        "from framepipe.editor import *\n"
        "from framepipe.editor import ColorClip, NoSuchName\n"
        "from framepipe.editor.no_such_module import x\n"
        "import framepipe.editor.another_missing as t\n"
        "def test_x():\n    ImageClip, VideoFileClip, vfx.Crop, vfx.NoSuchEffect, SomeLocalName\n"
    )
    (tmp_path / "docs" / "example.py").write_text("from framepipe.editor.no_such_module import y\n")
    env = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "python"), env])
    try:
        found = suite.missing_imports(sys.executable, tmp_path)
    finally:
        os.environ["PYTHONPATH"] = env
    assert found == {
        "module framepipe.editor.no_such_module": ["docs/example.py", "tests/test_a.py"],
        "module framepipe.editor.another_missing": ["tests/test_a.py"],
        "name framepipe.editor.NoSuchName": ["tests/test_a.py"],
        "name framepipe.editor.vfx.NoSuchEffect": ["tests/test_a.py"],
    }


JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="" name="tests.test_gone" file="tests/test_gone.py"><error message="collection failure">
ImportError while importing test module '/w/framepipe/tests/test_gone.py'.
E   ImportError: cannot import name 'BitmapClip' from 'framepipe.editor' (/x/editor.py)</error></testcase>
<testcase classname="tests.test_a" name="test_ok"/>
<testcase classname="tests.test_a" name="test_assert"><failure message="assert 1 == 2">
&gt;  assert 1 == 2
E       assert 1 == 2</failure></testcase>
<testcase classname="tests.test_a.TestK" name="test_attr"><failure message="AttributeError: x">
E   AttributeError: 'VideoClip' object has no attribute 'with_effects_on_subclip'</failure></testcase>
<testcase classname="tests.test_a" name="test_skip">
<skipped type="pytest.skip" message="no display">s</skipped></testcase>
<testcase classname="tests.test_a" name="test_doc[/w/framepipe/docs/x.py]"/>
</testsuite></testsuites>"""


def test_parse_junit() -> None:
    r = suite.parse_junit(JUNIT, "/w/framepipe")
    gone = "ImportError: cannot import name 'BitmapClip' from 'framepipe.editor' (/x/editor.py)"
    assert r.collection_errors == {"tests.test_gone": gone}
    assert {t: o.outcome for t, o in r.tests.items()} == {
        "tests.test_a::test_ok": "passed",
        "tests.test_a::test_assert": "failed",
        "tests.test_a.TestK::test_attr": "failed",
        "tests.test_a::test_skip": "skipped",
        "tests.test_a::test_doc[docs/x.py]": "passed",
    }
    assert r.tests["tests.test_a::test_assert"].message == "assert 1 == 2"
    assert r.tests["tests.test_a::test_skip"].message == "no display"


def test_compare_counts_and_groups() -> None:
    O = suite.Outcome  # noqa: N806
    base = suite.RunResult(
        tests={
            "tests.test_a::test_ok": O("passed"),
            "tests.test_a::test_assert": O("passed"),
            "tests.test_a.TestK::test_attr": O("passed"),
            "tests.test_gone::test_1": O("passed"),
            "tests.test_gone::test_2": O("passed"),
            "tests.test_a::test_broken_upstream": O("failed", "OSError: Broken pipe"),
            "tests.test_a::test_doc[docs/x.py]": O("passed"),
        }
    )
    fp = suite.parse_junit(JUNIT, "/w/framepipe")
    fp.tests["tests.test_a::test_broken_upstream"] = O("passed")
    report = suite.compare(base, fp)
    assert report["total"] == 7
    assert report["moviepy_passed"] == 6
    assert report["framepipe_passed_of_those"] == 2  # test_ok, test_doc
    assert report["percent"] == pytest.approx(33.3)
    assert report["framepipe_passes_moviepy_does_not"] == ["tests.test_a::test_broken_upstream"]
    assert report["groups"] == {
        "ImportError: no name BitmapClip in framepipe.editor": ["tests.test_gone::test_1", "tests.test_gone::test_2"],
        "AssertionError (a different result)": ["tests.test_a::test_assert"],
        "AttributeError: VideoClip.with_effects_on_subclip": ["tests.test_a.TestK::test_attr"],
    }
    page = suite.markdown(report)
    assert "| MoviePy passes | 6 |" in page
    assert "| framepipe passes, of those | 2 (33.3 %) |" in page


def test_plugin_blocks_moviepy_and_limits_time(tmp_path: Path) -> None:
    """A real pytest run with the script's plugin: an import of moviepy the rewrite missed
    fails (rather than testing MoviePy itself), and a test over the time limit is stopped."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(
        "import time\n"
        "def test_missed_import():\n    import moviepy.tools\n"
        "def test_slow():\n    time.sleep(30)\n"
        "def test_fine():\n    import framepipe.editor\n"
    )
    (tmp_path / "moviepy_suite_plugin.py").write_text(suite.PLUGIN)
    env = dict(os.environ, MOVIEPY_SUITE_BLOCK_MOVIEPY="1", MOVIEPY_SUITE_TEST_TIMEOUT="1")
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT / "python"), env.get("PYTHONPATH", "")])
    report = tmp_path / "j.xml"
    cmd = [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", "-p", "moviepy_suite_plugin"]
    subprocess.run([*cmd, f"--junitxml={report}"], cwd=tmp_path, env=env, capture_output=True, timeout=60)
    r = suite.parse_junit(report.read_text(), str(tmp_path))
    assert r.tests["tests.test_x::test_fine"].outcome == "passed"
    missed = r.tests["tests.test_x::test_missed_import"]
    assert missed.outcome == "failed" and "moviepy is blocked" in missed.message, missed
    slow = r.tests["tests.test_x::test_slow"]
    assert slow.outcome == "failed" and "Timeout" in slow.message, slow
    assert suite.cause(slow.message) == "Timeout"


def test_flat_submodules_stand_in_only_for_moviepys_module_paths(tmp_path: Path) -> None:
    """The --flat-submodules diagnostic: a MoviePy module path framepipe.editor lacks gives
    framepipe's objects; a path that is no MoviePy module still fails to import."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_y.py").write_text(
        "import pytest\n"
        "def test_path():\n"
        "    from framepipe.editor.video.VideoClip import ColorClip\n"
        "    import framepipe.editor\n"
        "    assert ColorClip is framepipe.editor.ColorClip\n"
        "def test_not_a_moviepy_module():\n"
        "    with pytest.raises(ImportError):\n"
        "        import framepipe.editor.video.no_such_module  # noqa: F401\n"
    )
    (tmp_path / "moviepy_suite_plugin.py").write_text(suite.PLUGIN)
    env = dict(os.environ, MOVIEPY_SUITE_BLOCK_MOVIEPY="1", MOVIEPY_SUITE_FLAT="1")
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT / "python"), env.get("PYTHONPATH", "")])
    report = tmp_path / "j.xml"
    cmd = [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", "-p", "moviepy_suite_plugin"]
    subprocess.run([*cmd, f"--junitxml={report}"], cwd=tmp_path, env=env, capture_output=True, timeout=60)
    r = suite.parse_junit(report.read_text(), str(tmp_path))
    assert {t: o.outcome for t, o in r.tests.items()} == {
        "tests.test_y::test_path": "passed",
        "tests.test_y::test_not_a_moviepy_module": "passed",
    }, r
