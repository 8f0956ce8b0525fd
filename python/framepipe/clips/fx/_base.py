"""The effect base class, as MoviePy 2's ``Effect``: an effect holds its parameters and
``apply(clip)`` returns a new clip."""

from __future__ import annotations

import copy
import math
import numbers
from typing import Any

from ..._keywords import KeywordsChecked
from ...errors import ParameterError


def number(value: Any, what: str, minimum: float | None = 0.0, allowed: str = "a finite number >= 0") -> float:
    """`value` as a float if it is a finite real number (at least `minimum`), else a
    ParameterError naming `what`, the value and what is `allowed`."""
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)
    if not ok or (minimum is not None and value < minimum):
        raise ParameterError(f"{what} must be {allowed}, got {value!r}")
    return float(value)


class Effect(KeywordsChecked):
    """Base class of the effects in :mod:`framepipe.clips.fx`. A misspelt keyword to an effect's
    constructor names the nearest one (``_keywords``)."""

    def copy(self) -> Effect:
        return copy.copy(self)

    def apply(self, clip: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"
