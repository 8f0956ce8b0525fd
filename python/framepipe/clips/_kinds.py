"""MoviePy 2's other clip classes built on a frame function: `BitmapClip` (frames drawn with
letters, as MoviePy's tests use), `DataVideoClip` (one frame per data item) and
`UpdatedVideoClip` (frames from a simulated world that is stepped forward)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import ParameterError
from ._clip import VideoClip
from ._time import seconds_or_none


def _index(t: float, fps: float, n: int) -> int:
    """The item shown at t: int(t * fps) as in MoviePy (t = k / fps gives item k even where
    the float product falls a hair short), the last one at the very end."""
    return min(max(int(t * fps + 1e-9), 0), n - 1)


class BitmapClip(VideoClip):
    """Frames drawn with letters, one per pixel (MoviePy's ``BitmapClip``, made for tests)::

        BitmapClip([["RRB", "RRB"], ["GGG", "GGG"]], fps=1)   # two 3x2 frames, 1 s each

    Each letter is a colour of `color_dict` (default :attr:`DEFAULT_COLOR_DICT`). Give `fps`
    (the duration is the frame count / fps) or `duration` (the fps is frame count / duration);
    with both, `duration` is ignored. :meth:`to_bitmap` gives the letters back. With
    ``is_mask=True`` each colour's red level is the opacity (W: opaque, O: transparent)."""

    DEFAULT_COLOR_DICT: dict[str, tuple[int, int, int]] = {
        "R": (255, 0, 0),
        "G": (0, 255, 0),
        "B": (0, 0, 255),
        "O": (0, 0, 0),
        "W": (255, 255, 255),
        "A": (89, 225, 62),
        "C": (113, 157, 108),
        "D": (215, 182, 143),
        "E": (57, 26, 252),
        "F": (225, 135, 33),
    }

    def __init__(
        self,
        bitmap_frames: Sequence[Sequence[str]],
        *,
        fps: float | None = None,
        duration: Any = None,
        color_dict: Mapping[str, Any] | None = None,
        is_mask: bool = False,
    ):
        duration = seconds_or_none(duration, "BitmapClip duration")
        if fps is None and duration is None:
            raise ParameterError("BitmapClip: give fps or duration")
        self.color_dict = dict(color_dict) if color_dict else dict(self.DEFAULT_COLOR_DICT)
        frames = []
        for k, rows in enumerate(bitmap_frames):
            try:
                frame = np.array([[self.color_dict[c] for c in row] for row in rows], dtype=np.int64)
            except KeyError as e:
                raise ParameterError(
                    f"BitmapClip: frame {k} has the letter {e.args[0]!r}, which color_dict does not have "
                    f"(its letters: {''.join(self.color_dict)})"
                ) from None
            except ValueError:
                raise ParameterError(f"BitmapClip: the rows of frame {k} are not all of one length") from None
            if frame.ndim != 3 or frame.shape[2] != 3 or frame.min() < 0 or frame.max() > 255:
                raise ParameterError(f"BitmapClip: frame {k} is not rows of (r, g, b) colours 0-255")
            frames.append(frame.astype(np.uint8))
        if not frames:
            raise ParameterError("BitmapClip: bitmap_frames is empty")
        if len({f.shape for f in frames}) != 1:
            raise ParameterError(
                f"BitmapClip: the frames have different sizes: {sorted({f.shape[:2] for f in frames})}"
            )
        if is_mask:
            # A mask: the red channel's level is the opacity (W opaque, O transparent); MoviePy
            # keeps the (h, w, 3) integers, which are no mask values.
            frames = [np.ascontiguousarray(f[:, :, 0]) for f in frames]
        for f in frames:
            f.flags.writeable = False
        self.total_frames = len(frames)
        if fps is None:
            assert duration is not None
            if duration <= 0:
                raise ParameterError(f"BitmapClip: duration must be positive, got {duration!r}")
            fps = self.total_frames / duration
        elif not fps > 0:
            raise ParameterError(f"BitmapClip: fps must be positive, got {fps!r}")
        else:
            duration = self.total_frames / fps
        rate, n = fps, self.total_frames
        super().__init__(is_mask=is_mask, duration=duration)
        self._fn = lambda t: frames[_index(t, rate, n)]
        self._size = (frames[0].shape[1], frames[0].shape[0])
        self.fps = fps
        self._name = f"BitmapClip({n} frames)"

    def to_bitmap(self, color_dict: Mapping[str, Any] | None = None) -> list[list[str]]:
        """Each frame (at the clip's fps) as rows of letters of `color_dict` (default: the
        clip's own); a colour that has no letter is a ParameterError."""
        colors = {tuple(int(x) for x in v): k for k, v in reversed(list((color_dict or self.color_dict).items()))}
        bitmap = []
        for k, frame in enumerate(self.iter_frames()):
            if self.is_mask:  # levels in [0, 1] back to grey colours
                frame = np.repeat(np.rint(np.asarray(frame) * 255)[:, :, None], 3, axis=2)
            rows = []
            for row in np.asarray(frame):
                try:
                    rows.append("".join(colors[tuple(int(x) for x in px)] for px in row))
                except KeyError as e:
                    raise ParameterError(
                        f"BitmapClip.to_bitmap: frame {k} has the colour {e.args[0]}, not in color_dict"
                    ) from None
            bitmap.append(rows)
        return bitmap


class DataVideoClip(VideoClip):
    """One frame per item of `data`: the frame at t is ``data_to_frame(data[int(fps * t)])``;
    the duration is ``len(data) / fps`` (MoviePy's ``DataVideoClip``)."""

    def __init__(
        self,
        data: Sequence[Any],
        data_to_frame: Callable[[Any], Any],
        fps: float,
        is_mask: bool = False,
        has_constant_size: bool = True,
    ):
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not fps > 0:
            raise ParameterError(f"DataVideoClip: fps must be a positive number, got {fps!r}")
        if not callable(data_to_frame):
            raise ParameterError(f"DataVideoClip: data_to_frame must be a function, got {type(data_to_frame).__name__}")
        n = len(data)
        if n == 0:
            raise ParameterError("DataVideoClip: data is empty")
        self.data, self.data_to_frame = data, data_to_frame

        def frame_function(t: float) -> Any:
            return self.data_to_frame(self.data[_index(t, fps, n)])

        super().__init__(frame_function, is_mask=is_mask, duration=n / fps, has_constant_size=has_constant_size)
        self.fps = fps
        self._name = f"DataVideoClip({n} items)"


class UpdatedVideoClip(VideoClip):
    """Frames from a `world` stepped forward in time (MoviePy's ``UpdatedVideoClip``): the frame
    at t is ``world.to_frame()`` after ``world.update()`` has been called until ``world.clip_t
    >= t``. Asked for an earlier t than the last one (a render's chunks, a preview), the clip
    starts again from a copy of the world as it was given, so each frame is the one a forward
    run gives (MoviePy would show the later state)."""

    def __init__(self, world: Any, is_mask: bool = False, duration: float | None = None):
        for attr in ("clip_t", "update", "to_frame"):
            if not hasattr(world, attr):
                raise ParameterError(
                    f"UpdatedVideoClip: the world must have clip_t, update() and to_frame(); it has no {attr}"
                )
        self.world = world
        self._last_t = 0.0
        try:
            initial: Any = copy.deepcopy(world)
        except Exception:  # a world that cannot be copied goes forward only, as in MoviePy
            initial = None

        def frame_function(t: float) -> Any:
            if initial is not None and t < self._last_t:
                self.world = copy.deepcopy(initial)
            self._last_t = t
            while self.world.clip_t < t:
                self.world.update()
            return self.world.to_frame()

        super().__init__(frame_function, is_mask=is_mask, duration=duration)
        self._name = f"UpdatedVideoClip({type(world).__name__})"
