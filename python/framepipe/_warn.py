"""Warnings attributed to the caller's code: the first frame outside the framepipe package (what
Python 3.12's ``warnings.warn(skip_file_prefixes=...)`` does), so a warning points at the user's
line however many of framepipe's own calls (and keyword-checking wrappers, ``_keywords``) lie
between, and Python's once-per-location filter counts the user's locations."""

from __future__ import annotations

import os
import sys
import warnings
from types import FrameType

from .errors import FramepipeWarning

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn(message: str, category: type[Warning] = FramepipeWarning) -> None:
    """``warnings.warn(message, category)`` at the first frame outside framepipe."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
    if frame is None:  # called from framepipe alone (e.g. a worker process's own loop)
        warnings.warn(message, category, stacklevel=2)
        return
    g = frame.f_globals
    registry = g.setdefault("__warningregistry__", {})
    # Without module_globals, as warnings.warn itself: with them, Python asks the module's loader
    # for the source line, and the loader of a `python -c` script raises ImportError.
    warnings.warn_explicit(message, category, frame.f_code.co_filename, frame.f_lineno, g.get("__name__"), registry)
