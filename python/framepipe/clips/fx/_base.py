"""The effect base class, as MoviePy 2's ``Effect``: an effect holds its parameters and
``apply(clip)`` returns a new clip."""

from __future__ import annotations

import copy
from typing import Any


class Effect:
    """Base class of the effects in :mod:`framepipe.clips.fx`."""

    def copy(self) -> Effect:
        return copy.copy(self)

    def apply(self, clip: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"
