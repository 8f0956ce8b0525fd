"""A matplotlib Figure as an RGB array (MoviePy's ``mplfig_to_npimage``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._frames import figure_array


def figure_to_array(fig: Any) -> np.ndarray:
    """Draw `fig` (with its Agg canvas) and return its pixels as a new (h, w, 3) uint8 array
    (the alpha is dropped, as MoviePy's ``mplfig_to_npimage`` does)."""
    return np.ascontiguousarray(figure_array(fig)[:, :, :3])


#: The name MoviePy 1.x users search for (``moviepy.video.io.bindings.mplfig_to_npimage``).
mplfig_to_npimage = figure_to_array
