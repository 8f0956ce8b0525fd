"""Times in seconds, as clips take them: numbers, (min, s) or (h, min, s) tuples, and time
codes "hh:mm:ss.ss". A leaf module: the clip classes, composition and effects all use it."""

from __future__ import annotations

import math
import numbers
from typing import Any

from ..errors import ParameterError

# A time may be this much past a clip's end (float sums of durations) and still be inside.
T_SLACK = 1e-9


def seconds(value: Any, what: str) -> float:
    """`value` as seconds (a number, a (min, s) or (h, min, s) tuple, or "hh:mm:ss.ss", or with a comma as MoviePy reads
    "01:01:33,5"), or a
    ParameterError naming `what` and the value."""
    if isinstance(value, str):
        value = parse_timecode(value, what)
    elif isinstance(value, (tuple, list)):
        value = sum(float(v) * 60**i for i, v in enumerate(reversed(value)))
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ParameterError(f"{what} must be a finite number of seconds, got {value!r}")
    return float(value)


def seconds_or_none(value: Any, what: str) -> float | None:
    """As :func:`seconds`, with None kept (no duration, no end)."""
    return None if value is None else seconds(value, what)


def parse_timecode(text: str, what: str) -> float:
    try:
        return sum(float(part) * 60**i for i, part in enumerate(reversed(text.strip().replace(",", ".").split(":"))))
    except ValueError:
        raise ParameterError(f"{what}: cannot read {text!r} as seconds or 'hh:mm:ss.ss'") from None
