"""Type stubs for the compiled module ``framepipe._native`` (crates/framepipe-py)."""

from os import PathLike
from typing import Any, Self, final

from framepipe._options import WriterOptions

__all__ = [
    "Writer",
    "Concat",
    "rational_fps",
    "probe",
    "output_format",
    "repair",
    "cli_main",
    "build_info",
    "__version__",
    "MAX_DIMENSION",
    "render_text",
    "DEFAULT_FONT_NAME",
]

__version__: str
MAX_DIMENSION: int  # largest frame width or height
DEFAULT_FONT_NAME: str  # the font render_text uses when font is None ("DejaVu Sans", bundled)

@final
class Writer:
    """The engine's video writer; use :class:`framepipe.VideoWriter`, which wraps it."""

    def __new__(cls, path: str | PathLike[str] | None, options: WriterOptions) -> Self:
        """Open a writer (``path=None``: in memory) with options checked by framepipe._options."""
    def write(self, frame: Any, *, pix_fmt: str | None = None, kind: str | None = None) -> None:
        """Encode one frame from a buffer (HxW or HxWxC; uint8, uint16, float32, float64)."""
    def close(self) -> dict[str, Any] | None:
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
    def closed(self) -> bool: ...

def rational_fps(fps: float) -> tuple[int, int]:
    """The exact rational framepipe uses for a float frame rate (29.97 -> (30000, 1001))."""

def output_format(path: str | PathLike[str]) -> str:
    """ "mp4" or "gif" for an output path; UnsupportedError for other formats' names (.webm, .png)."""

def repair(path: str | PathLike[str], output: str | PathLike[str] | None = None) -> dict[str, Any]:
    """Finish an MP4 whose writer was stopped: output, frames, frames_found, torn_bytes,
    was_finished."""

def probe(path: str | PathLike[str]) -> dict[str, Any]:
    """Describe an MP4 or GIF file (``format`` says which): size, frame_count, duration, codec;
    MP4: fps, profile, level, colour, tags, frames_present, truncated, fragmented; GIF: loop."""

def cli_main(argv: list[str]) -> int:
    """Run the ``framepipe`` command (the binary's code) with ``argv`` (argv[0] is the program's
    name) on file descriptors 0, 1 and 2; returns its exit status. An ``encode`` leaves its
    SIGINT/SIGTERM/SIGHUP handlers installed: this is for the console script (framepipe._cli)."""

def build_info() -> dict[str, Any]:
    """framepipe's version and the x264 that encodes (core number, version; see framepipe.build_info)."""
@final
class Concat:
    """Joins MP4 chunks (complete MP4s as bytes, each starting with an IDR frame, encoded with
    identical settings) into one MP4 at `path` without re-encoding."""

    def __new__(cls, path: str | PathLike[str], *, metadata: list[tuple[str, str]] = ...) -> Self: ...
    def append(self, chunk: bytes) -> int:
        """Append every frame of one chunk; returns the number of frames appended."""
    @property
    def frames(self) -> int: ...
    def close(self) -> int:
        """Write the index and close the file; returns the number of frames."""

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
