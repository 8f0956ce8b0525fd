"""MoviePy's ``moviepy.video.io.ffmpeg_writer`` and ``gif_writers`` (paths under
``framepipe.editor.video.io``), on framepipe's writers: ``ffmpeg_write_video`` is the clip's
``write_videofile`` (so every codec and container it writes, it writes), ``FFMPEG_VideoWriter``
is :class:`framepipe.VideoWriter`, ``write_gif_with_imageio`` is ``write_gif``, and
``ffmpeg_write_image`` saves with Pillow. No ffmpeg program runs.

Differences from MoviePy, on purpose: a codec framepipe cannot write raises
:class:`~framepipe.errors.UnsupportedError` naming those it can (MoviePy's ffmpeg fails and
MoviePy writes nothing, silently, for an unknown codec); ``write_logfile=True`` writes
``filename + ".log"`` with what framepipe did (its options, frames, size and bytes), not ffmpeg's
console output."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..._warn import warn
from ...errors import OutputError, ParameterError, UnsupportedError
from ...writer import VideoResult, VideoWriter
from .._write import _CODECS, _kbits, _pil, write_gif, write_videofile

# ffmpeg's pixel formats of an image array: its channels, and Pillow's mode.
_IMAGE_LAYOUTS = {"rgb24": (3, "RGB"), "rgba": (4, "RGBA"), "gray": (1, "L"), "ya8": (2, "LA")}


def _log(filename: str, what: str, options: dict, result: VideoResult | None, error: BaseException | None) -> None:
    lines = [f"framepipe {what}"]
    lines.append(f"output: {filename}")
    lines += [f"option {name}: {value!r}" for name, value in options.items()]
    if result is not None:
        lines.append(
            f"wrote {result.frames} frames of {result.width}x{result.height} at {result.fps} fps "
            f"({result.format}, {result.bytes} bytes, {result.duration:g} s)"
        )
    if error is not None:
        lines.append(f"failed: {type(error).__name__}: {error}")
    with open(filename + ".log", "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def ffmpeg_write_video(
    clip: Any,
    filename: Any,
    fps: Any,
    codec: str = "libx264",
    bitrate: Any = None,
    preset: str = "medium",
    write_logfile: bool = False,
    audiofile: Any = None,
    threads: int | None = None,
    ffmpeg_params: list[str] | None = None,
    logger: Any = "bar",
    pixel_format: str | None = None,
) -> VideoResult:
    """Write `clip` to `filename` at `fps` (MoviePy's signature): the clip's ``write_videofile``
    with these options and the sound of `audiofile` (none without it, as MoviePy). A clip's mask
    is not written (H.264 has no alpha): its colours are, as MoviePy's ffmpeg drops the alpha of
    the RGBA frames it is given."""
    filename = os.fsdecode(filename)
    options: dict[str, Any] = {
        "codec": codec,
        "bitrate": bitrate,
        "preset": preset,
        "threads": threads,
        "ffmpeg_params": ffmpeg_params,
        "logger": logger,
        "pixel_format": pixel_format,
        "audio": audiofile if audiofile is not None else False,
    }
    options = {k: v for k, v in options.items() if v is not None}
    result = error = None
    try:
        result = write_videofile(clip, filename, fps, **options)
        return result
    except BaseException as e:
        error = e
        raise
    finally:
        if write_logfile:
            _log(filename, "ffmpeg_write_video", {"fps": fps, **options}, result, error)


def write_gif_with_imageio(
    clip: Any, filename: Any, fps: Any = None, loop: int = 0, logger: Any = "bar"
) -> VideoResult:
    """Write `clip` to an animated GIF: the clip's ``write_gif`` (framepipe's quantizer; imageio
    is not used). `loop`: 0 loops for ever, n plays n times (the file's NETSCAPE repeat count is
    n - 1; MoviePy's imageio writes n there, which players play n + 1 times)."""
    return write_gif(clip, filename, fps, loop=loop, logger=logger)


def ffmpeg_write_image(filename: Any, image: Any, logfile: bool = False, pixel_format: str | None = None) -> None:
    """Save `image` to `filename`, in the format its extension names (Pillow). `pixel_format`
    is ffmpeg's name of the array's layout, as in MoviePy: rgb24 (h, w, 3), rgba (h, w, 4), gray
    (h, w) or ya8 (h, w, 2); default rgba for 4 channels, else rgb24. Floats are cast to uint8
    (truncated, as MoviePy's ``astype``)."""
    filename = os.fsdecode(filename)
    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = array.astype("uint8")
    if pixel_format is None:
        pixel_format = "rgba" if array.ndim == 3 and array.shape[2] == 4 else "rgb24"
    layout = _IMAGE_LAYOUTS.get(pixel_format)
    if layout is None:
        # MoviePy's message (its test reads it), though framepipe writes with Pillow, not ffmpeg.
        e = OutputError(
            f"MoviePy error: FFMPEG encountered the following error while writing file {filename}: "
            f"pixel_format={pixel_format!r} is not a pixel format framepipe writes images from"
        )
        e.add_note(f"given pixel_format={pixel_format!r}; allowed: {', '.join(_IMAGE_LAYOUTS)} (or None)")
        raise e
    channels = layout[0]
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    have = 1 if array.ndim == 2 else (array.shape[2] if array.ndim == 3 else 0)
    if have != channels:
        raise ParameterError(
            f"ffmpeg_write_image: pixel_format={pixel_format!r} is an image of {channels} channel(s), "
            f"but the image has shape {np.shape(image)}"
        )
    Image = _pil()
    try:
        Image.fromarray(array).save(filename)  # uint8 (h, w[, c]): Pillow infers `mode`
    except (OSError, ValueError, KeyError) as err:
        if logfile:
            _write_image_log(filename, array.shape, pixel_format, err)
        raise OutputError(f"ffmpeg_write_image: cannot write {filename!r}: {err}") from err
    if logfile:
        _write_image_log(filename, array.shape, pixel_format, None)


def _write_image_log(filename: str, shape: tuple, pixel_format: str, error: BaseException | None) -> None:
    lines = [
        "framepipe ffmpeg_write_image",
        f"output: {filename}",
        f"image: {shape[1]}x{shape[0]}, pixel_format {pixel_format} (Pillow)",
    ]
    if error is None:
        lines.append(f"wrote {os.path.getsize(filename)} bytes")
    else:
        lines.append(f"failed: {type(error).__name__}: {error}")
    with open(filename + ".log", "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


class FFMPEG_VideoWriter:
    """MoviePy's frame-by-frame writer, on :class:`framepipe.VideoWriter`: ``write_frame(img)``
    each (h, w, 3) uint8 frame of `size` (width, height), then ``close()`` (or use ``with``)."""

    def __init__(
        self,
        filename: Any,
        size: Any,
        fps: Any,
        codec: str = "libx264",
        audiofile: Any = None,
        audio_codec: str | None = None,
        preset: str = "medium",
        bitrate: Any = None,
        with_mask: bool = False,
        logfile: Any = None,
        threads: int | None = None,
        ffmpeg_params: list[str] | None = None,
        pixel_format: str | None = None,
    ) -> None:
        self.filename = os.fsdecode(filename)
        self.size = tuple(size)
        self.fps = fps
        self.codec = codec
        self.ext = self.filename.split(".")[-1]
        if codec not in _CODECS:
            raise UnsupportedError(
                f"FFMPEG_VideoWriter: codec {codec!r} is not available; it writes "
                f"{', '.join(repr(c) for c in _CODECS if c)} (H.264 MP4) and GIFs (by the file's extension)"
            )
        if ffmpeg_params:
            warn(
                f"FFMPEG_VideoWriter: ffmpeg_params={ffmpeg_params!r} ignored: framepipe runs no ffmpeg; "
                "x264's settings are options of framepipe.VideoWriter (crf=, preset=, tune=, keyint=, bitrate=)"
            )
        options: dict[str, Any] = {"preset": preset}
        if bitrate is not None:
            options["bitrate"] = _kbits(bitrate, "FFMPEG_VideoWriter") if isinstance(bitrate, str) else bitrate
        if threads is not None:
            options["threads"] = threads
        if audio_codec is not None:
            options["audio_codec"] = audio_codec
        self._writer = VideoWriter(self.filename, fps, audio=audiofile, **options)
        self.result: VideoResult | None = None

    def write_frame(self, img_array: Any) -> None:
        """Write one frame: an (h, w, 3) uint8 array of this writer's size."""
        frame = np.asarray(img_array)
        if frame.shape[:2] != (self.size[1], self.size[0]):
            raise ParameterError(
                f"FFMPEG_VideoWriter({self.filename!r}): frame of shape {frame.shape}, but size={self.size} "
                f"(width, height) was given: frames must be ({self.size[1]}, {self.size[0]}, 3)"
            )
        self._writer.write(frame)

    def close(self) -> None:
        """Finish the file (idempotent)."""
        if self.result is None:
            self.result = self._writer.close()

    def __enter__(self) -> FFMPEG_VideoWriter:
        return self

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        self.close()
