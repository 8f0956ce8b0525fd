"""MoviePy's ``moviepy.video.io.ffmpeg_reader`` (``framepipe.editor.video.io.ffmpeg_reader``):
``FFMPEG_VideoReader`` on framepipe's in-process reader (:class:`framepipe.clips._video_file.VideoFileReader`,
PyAV), with MoviePy's frame bookkeeping (``pos``, ``last_read``, ``get_frame``'s rule of frame
``int(fps * t + 0.00001)``), ``ffmpeg_parse_infos`` (:mod:`.infos`) and ``ffmpeg_read_image``.
No ffmpeg program runs.

MoviePy's ``FFmpegInfosParser`` parses the text ``ffmpeg -i`` prints; framepipe reads files itself
and never has that text: the name exists (so MoviePy code importing it loads) and using it raises
:class:`~framepipe.errors.UnsupportedError` pointing to ``ffmpeg_parse_infos``."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..._warn import warn
from ...errors import ParameterError, UnsupportedError
from .._video_file import VideoFileReader
from .infos import ffmpeg_parse_infos

_PIXEL_FORMATS = ("rgb24", "rgba")


class FFMPEG_VideoReader:
    """Frames of a video file, MoviePy's way: ``pos`` is the index of the frame ``read_frame()``
    gives next (1 after opening, which reads frame 0 into ``last_read``); ``get_frame(t)`` gives
    frame ``int(fps * t + 0.00001)``; past the last frame, the last frame read is given again with
    a warning ("Using the last valid frame instead"), as MoviePy does. Frames are decoded by
    framepipe's reader (exact, seeking to keyframes); ``pixel_format`` is "rgb24" or "rgba"."""

    def __init__(
        self,
        filename: Any,
        decode_file: bool = True,
        print_infos: bool = False,
        bufsize: int | None = None,
        pixel_format: str = "rgb24",
        check_duration: bool = True,
        target_resolution: Any = None,
        resize_algo: str = "bicubic",
        fps_source: str = "fps",
    ) -> None:
        if pixel_format not in _PIXEL_FORMATS:
            raise ParameterError(
                f"FFMPEG_VideoReader: pixel_format {pixel_format!r} is not read; allowed: {', '.join(_PIXEL_FORMATS)}"
            )
        if resize_algo != "bicubic":
            warn(f"FFMPEG_VideoReader: resize_algo={resize_algo!r} ignored: framepipe resizes bicubic")
        self.filename = os.fsdecode(os.fspath(filename))
        self.infos = ffmpeg_parse_infos(
            self.filename,
            check_duration=check_duration,
            fps_source=fps_source,
            decode_file=decode_file,
            print_infos=print_infos,
        )
        self.pixel_format = pixel_format
        self.depth = 4 if pixel_format == "rgba" else 3
        self._reader = VideoFileReader(
            self.filename, target_resolution=target_resolution, has_mask=pixel_format == "rgba"
        )
        self.fps = self.infos.get("video_fps") or self._reader.fps
        self.size = list(self._reader.size)
        self.rotation = abs(self.infos.get("video_rotation", 0))
        self.resize_algo = resize_algo
        self.duration = self.infos.get("video_duration", 0.0)
        self.ffmpeg_duration = self.infos.get("duration", 0.0)
        self.n_frames = self.infos.get("video_n_frames", 0)
        self.bitrate = self.infos.get("video_bitrate", 0)
        self.bufsize = bufsize if bufsize is not None else self.depth * self.size[0] * self.size[1] + 100
        self.proc: bool | None = None  # MoviePy's ffmpeg process; here: whether the reader is open
        self.pos = 0
        self.initialize()

    def get_frame_number(self, t: float) -> int:
        """The frame shown at `t` (MoviePy's rule)."""
        return int(self.fps * t + 0.00001)

    def initialize(self, start_time: float = 0) -> None:
        """(Re)start at `start_time`: ``last_read`` is the frame there, ``pos`` the one after it."""
        self.close(delete_lastread=False)
        self.proc = True
        self.pos = self.get_frame_number(start_time)
        self.last_read = self.read_frame()

    def skip_frames(self, n: int = 1) -> None:
        """Move `n` frames on without reading them."""
        self.pos += n

    def read_frame(self) -> np.ndarray:
        """The frame at ``pos`` (then ``pos`` moves on by one)."""
        if self.pos < self._reader.n_frames:
            result = self._reader.frame(self.pos)
            self.last_read = result
        else:
            warn(
                f"In file {self.filename}, frame index {self.pos} is past the last frame (the file has "
                f"{self._reader.n_frames} frames), at time {self.pos / self.fps:.02f}/{self.duration:.02f} sec. "
                "Using the last valid frame instead."
            )
            if not hasattr(self, "last_read"):
                raise OSError(f"MoviePy error: failed to read the first frame of video file {self.filename}")
            result = self.last_read
        self.pos += 1
        return result

    def get_frame(self, t: float) -> np.ndarray:
        """The frame shown at `t` seconds."""
        pos = self.get_frame_number(t) + 1
        if not self.proc:
            self.initialize(t)
            return self.last_read
        if pos == self.pos:
            return self.last_read
        if pos < self.pos or pos > self.pos + 100:
            self.initialize(t)
            return self.last_read
        self.skip_frames(pos - self.pos - 1)
        return self.read_frame()

    @property
    def lastread(self) -> np.ndarray:
        """Alias of ``last_read`` (MoviePy 1.x)."""
        return self.last_read

    def close(self, delete_lastread: bool = True) -> None:
        """Close the file (the reader reopens it if used again)."""
        reader = self.__dict__.get("_reader")
        if reader is not None:
            reader.close()
        self.proc = None
        if delete_lastread and "last_read" in self.__dict__:
            del self.last_read

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def ffmpeg_read_image(filename: Any, with_mask: bool = True, pixel_format: str | None = None) -> np.ndarray:
    """The picture of an image file (PNG, BMP, JPEG, ...), as an (h, w, 3) array, or (h, w, 4)
    with its alpha (``with_mask=True`` or ``pixel_format="rgba"``; 255 where it has none)."""
    if not pixel_format:
        pixel_format = "rgba" if with_mask else "rgb24"
    reader = FFMPEG_VideoReader(filename, pixel_format=pixel_format, check_duration=False)
    image = reader.last_read
    reader.close()
    return image


class FFmpegInfosParser:
    """MoviePy's parser of ``ffmpeg -i``'s text: not in framepipe, which runs no ffmpeg (see the
    module's documentation); constructing one raises UnsupportedError."""

    def __init__(self, infos: str, filename: Any, *args: Any, **kwargs: Any) -> None:
        raise UnsupportedError(
            f"FFmpegInfosParser parses the text ffmpeg prints, which framepipe never has (it runs no ffmpeg); "
            f"use ffmpeg_parse_infos({os.fsdecode(filename)!r}), which probes the file itself with PyAV"
        )
