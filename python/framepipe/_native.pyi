"""Type stubs for the compiled module ``framepipe._native`` (crates/framepipe-py)."""

from collections.abc import Mapping, Sequence
from os import PathLike
from typing import Any, Self, final

__all__ = [
    "Writer",
    "Concat",
    "SoundTrack",
    "rational_fps",
    "probe",
    "output_format",
    "check_options",
    "option_table",
    "repair",
    "cli_main",
    "build_info",
    "__version__",
    "MAX_DIMENSION",
    "render_text",
    "missing_glyphs",
    "DEFAULT_FONT_NAME",
    "resize",
    "composite",
    "composite_alpha",
    "lut",
    "grayscale",
    "drop_alpha",
    "mask_color",
    "rotated_size",
    "rotate",
]

__version__: str
MAX_DIMENSION: int  # largest frame width or height
DEFAULT_FONT_NAME: str  # the font render_text uses when font is None ("DejaVu Sans", bundled)

@final
class Writer:
    """The engine's video writer; use :class:`framepipe.VideoWriter`, which wraps it."""

    def __new__(
        cls,
        path: str | PathLike[str] | None,
        fps_num: int,
        fps_den: int,
        options: Mapping[str, Any],
        *,
        audio: tuple[int, int] | None = None,
    ) -> Self:
        """Open a writer (``path=None``: in memory); ``options`` maps the option table's names to
        values (None = not given), checked by the engine; ``audio=(sample_rate, channels)``
        declares a sound track."""
    def write(self, frame: Any, *, pix_fmt: str | None = None, kind: str | None = None) -> None:
        """Encode one frame from a buffer (HxW or HxWxC; uint8, uint16, float32, float64)."""
    def write_audio(self, samples: Any) -> None:
        """Add interleaved samples (a C-contiguous float32 buffer) to the sound track."""
    def close(self, *, hold_lock: bool = False) -> dict[str, Any] | None:
        """Finish the file; returns a summary dict (with "data" for in-memory writers)."""
    def take_warnings(self) -> list[str]: ...
    @property
    def frames_written(self) -> int: ...
    @property
    def bytes_written(self) -> int: ...
    @property
    def frames_on_disk(self) -> int: ...
    @property
    def frames_encoded(self) -> int: ...
    @property
    def format(self) -> str:
        """ "mp4" or "gif"."""
    @property
    def first_index(self) -> int:
        """The index errors give the first frame (default 0)."""
    @first_index.setter
    def first_index(self, index: int) -> None: ...
    @property
    def closed(self) -> bool: ...

def rational_fps(fps: float) -> tuple[int, int]:
    """The exact rational framepipe uses for a float frame rate (29.97 -> (30000, 1001))."""

def check_options(
    path: str | PathLike[str] | None, fps_num: int, fps_den: int, options: Mapping[str, Any]
) -> dict[str, Any]:
    """Check a writer's options by the engine's option table; returns {"format", "pix_fmt"}."""

def option_table() -> list[dict[str, Any]]:
    """The engine's option table: name, type, min, max, min_exclusive, choices (name -> aliases),
    allowed, default, formats, cli, doc."""

def output_format(path: str | PathLike[str]) -> str:
    """ "mp4" or "gif" for an output path; UnsupportedError for other formats' names (.webm, .png)."""

def repair(path: str | PathLike[str], output: str | PathLike[str] | None = None) -> dict[str, Any]:
    """Repair an unfinished or cut-short MP4: output, frames, frames_found, frames_listed,
    torn_bytes, was_finished, truncated, in_place."""

def probe(path: str | PathLike[str]) -> dict[str, Any]:
    """Describe an MP4 or GIF file (``format`` says which): size, frame_count, duration, codec;
    MP4: fps, profile, level, colour, tags, frames_present, truncated, fragmented; GIF: loop."""

def cli_main(argv: list[str]) -> int:
    """Run the ``framepipe`` command (the binary's code) with ``argv`` (argv[0] is the program's
    name) on file descriptors 0, 1 and 2; returns its exit status. An ``encode`` leaves its
    SIGINT/SIGTERM/SIGHUP handlers installed: this is for the console script (framepipe._cli)."""

def build_info() -> dict[str, Any]:
    """framepipe's version, the x264 that encodes and the AAC encoder's libavcodec (see framepipe.build_info)."""
@final
class Concat:
    """Joins MP4 chunks (complete MP4s as bytes, each starting with an IDR frame, encoded with
    identical settings) into one MP4 at `path` without re-encoding."""

    def __new__(
        cls, path: str | PathLike[str], *, metadata: list[tuple[str, str]] = ..., audio: SoundTrack | None = None
    ) -> Self: ...
    def append(self, chunk: bytes) -> int:
        """Append every frame of one chunk; returns the number of frames appended."""
    @property
    def frames(self) -> int: ...
    def close(self) -> int:
        """Write the index and close the file; returns the number of frames."""

@final
class SoundTrack:
    """A whole sound track encoded once (as a Writer's: the same checks, resampler, encoder
    and length rule), for a Concat to mux beside the joined chunks (``audio=``)."""

    def __new__(
        cls,
        path: str | PathLike[str] | None,
        fps_num: int,
        fps_den: int,
        options: dict[str, Any],
        *,
        audio: tuple[int, int],
    ) -> Self: ...
    def write(self, samples: Any) -> None:
        """Add samples: a C-contiguous float32 buffer, interleaved (as Writer.write_audio)."""
    def take_warnings(self) -> list[str]: ...
    def finish(self, frames: int, fps_num: int, fps_den: int) -> tuple[int, int]:
        """End the track at the video's end; returns (sample frames given, values clipped)."""

def render_text(
    text: str,
    *,
    font: str | None = None,
    font_size: float = 20.0,
    color: tuple[int, int, int, int] = (0, 0, 0, 255),
    bg_color: tuple[int, int, int, int] | None = None,
    stroke_color: tuple[int, int, int, int] | None = None,
    stroke_width: int = 0,
    size: tuple[int | None, int | None] = (None, None),
    margin: tuple[int, int, int, int] = (0, 0, 0, 0),
    method: str = "label",
    text_align: str = "left",
    horizontal_align: str = "center",
    vertical_align: str = "center",
    interline: int = 4,
) -> tuple[bytes, int, int]:
    """Rasterise text as MoviePy 2.2.1's TextClip sizes and places it: (RGBA bytes row-major,
    straight alpha; width; height). ``font=None`` is the bundled DejaVu Sans; ``margin`` is
    (left, top, right, bottom); ``method`` "label" or "caption" (words wrapped to ``size[0]``)."""

def missing_glyphs(text: str, *, font: str | None = None) -> str:
    """The characters of ``text`` the font (``font=None``: the bundled DejaVu Sans) has no glyph
    for, each once, in order (control characters excluded); ``render_text`` draws them as boxes."""

# Pixel kernels (crates/framepipe/src/kernels). Arrays are numpy uint8, C-contiguous, (h, w) or
# (h, w, c); anything else raises framepipe.ParameterError naming what was given. The work runs
# with the GIL released.

def resize(src: Any, dst: Any, filter: str = "lanczos3") -> None:
    """Fill ``dst`` (H, W[, C]) with ``src`` (h, w[, C]) resized to its size; C in {1, 3, 4}, the
    same for both. ``filter``: "nearest", "box" (area average; exact block means for
    whole-number factors), "bilinear", "bicubic" (Catmull-Rom) or "lanczos3"
    (Pillow's LANCZOS). Channels are filtered independently: RGBA is not premultiplied."""

def composite(dst: Any, src: Any, x: int, y: int, alpha: Any | None = None, opacity: float = 1.0) -> None:
    """Paint ``src`` (h, w, 3) over ``dst`` (H, W, 3) with its top-left corner at column ``x``,
    row ``y`` (any ints; only the overlap is touched). op = round(opacity * 255);
    a = alpha (255 if None), scaled (a * op + 127) // 255 unless op == 255;
    dst = (src * a + dst * (255 - a) + 127) // 255."""

def composite_alpha(dst: Any, src_alpha: Any, x: int, y: int, opacity: float = 1.0) -> None:
    """ "``src_alpha`` (h, w) over ``dst`` (H, W)" for masks: dst = (a * 255 + dst * (255 - a) + 127) // 255
    with a as in :func:`composite`; only the overlap is touched."""

def lut(src: Any, dst: Any, table: Any) -> None:
    """``dst = table[src]``: ``table`` is bytes-like, 256 bytes (every channel) or 256 * C (one
    table per channel, channel-major). ``dst`` may be ``src`` itself."""

def grayscale(src: Any, dst: Any, weights: Sequence[float] = (0.299, 0.587, 0.114)) -> None:
    """``dst`` (h, w) or (h, w, 3) = round(r * wr + g * wg + b * wb) clamped to 0..255 for ``src``
    (h, w, 3); 16-bit fixed point (may differ by one from float rounding near halves)."""

def drop_alpha(src: Any, dst: Any) -> None:
    """``dst`` (h, w, 3) = ``src`` (h, w, 4) without its alpha channel."""

def mask_color(
    src: Any, dst: Any, color: Sequence[int] = (0, 0, 0), threshold: float = 0.0, stiffness: float = 1.0
) -> None:
    """MoviePy's MaskColor: ``dst`` (h, w) = round(255 * m), d the distance of the pixel of ``src``
    (h, w, 3) from ``color``; m = (d != 0) if threshold == 0 else d**s / (threshold**s + d**s)."""

def rotated_size(width: int, height: int, angle: float) -> tuple[int, int]:
    """(width, height) of an image rotated by ``angle`` degrees with Pillow's ``expand=True``."""

def rotate(src: Any, dst: Any, angle: float, filter: str = "bicubic", bg: Sequence[int] | None = None) -> None:
    """Rotate ``src`` (h, w, C) counter-clockwise by ``angle`` degrees about its centre into
    ``dst`` of :func:`rotated_size` (Pillow's ``rotate(angle, resample, expand=True)``); ``bg``
    (C ints, default zeros) fills what lies outside the source. ``filter``: "nearest",
    "bilinear" or "bicubic"."""
