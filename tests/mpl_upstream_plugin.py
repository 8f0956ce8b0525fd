"""pytest plugin: run matplotlib's own animation tests with "framepipe" among the writers.

    python -m pytest -p mpl_upstream_plugin .../site-packages/matplotlib/tests/test_animation.py

(with this directory on PYTHONPATH). Nothing is copied from matplotlib: the plugin adds framepipe's
writer to the parameter lists of their writer tests while pytest collects them, and makes
"framepipe" the default writer (rcParams["animation.writer"]) for their tests that use the
default writer:
  test_save_animation_smoketest, test_grabframe  + ("framepipe", "rgba", "movie.mp4" / Path / "movie.gif")
  test_animation_repr_html                       + "framepipe"
  test_embed_limit                               runs with animation.writer = "framepipe"
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import framepipe  # noqa: F401  (registers the writer)
import matplotlib
import pytest

# matplotlib's wheels ship its tests but not their baseline images, and the package's
# __init__.py refuses to import without them. The animation tests use no baseline image, so
# stand in for that __init__ (a package whose path is the installed tests directory).
TESTS_DIR = Path(matplotlib.__file__).parent / "tests"
if "matplotlib.tests" not in sys.modules and not (TESTS_DIR / "baseline_images").exists():
    _pkg = types.ModuleType("matplotlib.tests")
    _pkg.__path__ = [str(TESTS_DIR)]
    _pkg.__file__ = str(TESTS_DIR / "__init__.py")
    sys.modules["matplotlib.tests"] = _pkg
    matplotlib.tests = _pkg

_WRITER_TESTS = {"test_save_animation_smoketest", "test_grabframe"}


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc):
    if metafunc.module.__name__ != "matplotlib.tests.test_animation":
        return
    name = metafunc.function.__name__
    for mark in metafunc.definition.iter_markers(name="parametrize"):
        argnames, values = mark.args[0], mark.args[1]
        if not isinstance(values, list):
            continue
        if name in _WRITER_TESTS and argnames.replace(" ", "") == "writer,frame_format,output":
            if not any(v == ("framepipe", "rgba", "movie.mp4") for v in values):
                values.append(("framepipe", "rgba", "movie.mp4"))
                values.append(("framepipe", "rgba", Path("movie.mp4")))
                # GIF through the same writer: these tests pass bitrate=500, which a GIF ignores.
                values.append(("framepipe", "rgba", "movie.gif"))
        elif name == "test_animation_repr_html" and argnames == "writer":
            if "framepipe" not in values:
                values.append("framepipe")


@pytest.fixture(autouse=True)
def _framepipe_default_writer(request):
    if request.node.originalname == "test_embed_limit":
        # After matplotlib's own autouse settings fixture has reset rcParams.
        request.getfixturevalue("mpl_test_settings")
        import matplotlib as mpl

        mpl.rcParams["animation.writer"] = "framepipe"
    yield
