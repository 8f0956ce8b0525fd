"""Showing videos inline in Jupyter: :class:`Video`.

``framepipe.Video("out.mp4")`` (or the :class:`~framepipe.VideoResult` that writing a video
returns) displays in a notebook as the video itself: the MP4 is embedded as base64 in a
``<video controls loop autoplay muted playsinline>`` element (a GIF in an ``<img>``). Past
`embed_limit` megabytes of embedded text (default :data:`EMBED_LIMIT_MB`, 20, like matplotlib's
``animation.embed_limit``) the file is linked instead of embedded, and the output says so.
"""

from __future__ import annotations

import html
import os
from typing import Any

from ._keywords import KeywordsChecked

__all__ = ["Video", "EMBED_LIMIT_MB"]

#: Default limit, in MB (2**20 bytes) of base64 text, above which videos are linked, not embedded.
EMBED_LIMIT_MB = 20.0


def _kind(head: bytes, name: str | None) -> str:
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[4:8] == b"ftyp":
        return "mp4"
    if name and name.lower().endswith(".gif"):
        return "gif"
    return "mp4"


def _human(n: float) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 2**10:.0f} kB"


def cannot_show_html(path: Any, error: OSError) -> str:
    """What a notebook shows instead of a video whose file was moved or deleted since."""
    return f"<p>framepipe: cannot show {html.escape(str(path))}: {html.escape(error.strerror or str(error))}</p>"


class Video(KeywordsChecked):
    """A video file (or in-memory MP4/GIF bytes) that Jupyter displays inline.

    Args:
        source: a path, a :class:`framepipe.VideoResult`, or the bytes of an MP4 or GIF.
        embed_limit: MB of base64 text above which the file is linked instead (default
            :data:`EMBED_LIMIT_MB`).
        width, height: display size in CSS pixels (default: the video's own, when known).
        loop, autoplay, muted, controls: the ``<video>`` attributes (all on by default;
            ``playsinline`` is always set, and browsers only autoplay muted videos).
    """

    def __init__(
        self,
        source: Any,
        *,
        embed_limit: float | None = None,
        width: int | None = None,
        height: int | None = None,
        loop: bool = True,
        autoplay: bool = True,
        muted: bool = True,
        controls: bool = True,
    ) -> None:
        self.path: str | None = None
        self._data: bytes | None = None
        if isinstance(source, (bytes, bytearray, memoryview)):
            self._data = bytes(source)
        elif isinstance(source, (str, os.PathLike)):
            self.path = os.fspath(source)
        elif hasattr(source, "frames") and hasattr(source, "path"):  # a VideoResult
            self.path = source.path
            self._data = getattr(source, "data", None)
            width = width if width is not None else source.width
            height = height if height is not None else source.height
            if self.path is None and self._data is None:
                raise ValueError("this VideoResult has neither a path nor data to show")
        else:
            raise TypeError(f"Video needs a path, a VideoResult or bytes, got {type(source).__name__}")
        if self.path is not None and not os.path.isfile(self.path) and self._data is None:
            raise FileNotFoundError(f"no such video file: {self.path}")
        self.embed_limit = EMBED_LIMIT_MB if embed_limit is None else float(embed_limit)
        self.width, self.height = width, height
        self.loop, self.autoplay, self.muted, self.controls = loop, autoplay, muted, controls

    # -- facts -----------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Bytes of the video."""
        if self._data is not None:
            return len(self._data)
        return os.path.getsize(self._file())

    @property
    def embedded_size(self) -> int:
        """Bytes of base64 text that embedding would add to the page."""
        return 4 * ((self.size + 2) // 3)

    @property
    def embeddable(self) -> bool:
        """Whether the video is small enough (see `embed_limit`) to embed."""
        return self.embedded_size <= self.embed_limit * 2**20

    @property
    def kind(self) -> str:
        """``"mp4"`` or ``"gif"``."""
        if self._data is not None:
            head = self._data[:12]
        else:
            with open(self._file(), "rb") as f:
                head = f.read(12)
        return _kind(head, self.path)

    def _bytes(self) -> bytes:
        if self._data is not None:
            return self._data
        with open(self._file(), "rb") as f:
            return f.read()

    def _file(self) -> str:
        """The file, for a Video that holds no bytes (it has a path, unless one set ``path`` to None)."""
        if self.path is None:
            raise ValueError("this Video has neither a path nor data to show")
        return self.path

    def _link(self) -> str | None:
        """A URL for the file relative to the working directory (how Jupyter serves files)."""
        if self.path is None:
            return None
        path = os.path.abspath(self.path)
        try:
            rel = os.path.relpath(path)
        except ValueError:  # another drive on Windows
            rel = path
        target = path if rel.startswith("..") else rel
        from urllib.parse import quote

        return quote(target.replace(os.sep, "/"))

    # -- HTML --------------------------------------------------------------------------------

    def _size_attrs(self) -> str:
        attrs = ""
        if self.width:
            attrs += f' width="{int(self.width)}"'
        if self.height:
            attrs += f' height="{int(self.height)}"'
        return attrs

    def _element(self, src: str) -> str:
        src = html.escape(src, quote=True)
        if self.kind == "gif":
            return f'<img src="{src}"{self._size_attrs()} alt="animation">'
        flags = [
            name
            for name, on in (
                ("controls", self.controls),
                ("loop", self.loop),
                ("autoplay", self.autoplay),
                ("muted", self.muted),
            )
            if on
        ]
        flags.append("playsinline")
        return (
            f"<video {' '.join(flags)}{self._size_attrs()}>"
            f'<source src="{src}" type="video/mp4">'
            f"Your browser does not support the video tag.</video>"
        )

    def to_html(self) -> str:
        """The HTML: the video embedded, or linked when larger than `embed_limit` MB."""
        mime = "image/gif" if self.kind == "gif" else "video/mp4"
        if self.embeddable:
            import base64

            data = base64.b64encode(self._bytes()).decode("ascii")
            return self._element(f"data:{mime};base64,{data}")
        name = os.path.basename(self.path) if self.path else "the video"
        over = (
            f"{html.escape(name)} is {_human(self.size)}, over the {self.embed_limit:g} MB embed limit "
            f"(framepipe.Video(..., embed_limit=MB) raises it)"
        )
        link = self._link()
        if link is None:
            return (
                f"<p>framepipe: {over}, and it was written to memory, so there is no file to link: "
                f"write it to a file, or raise the limit.</p>"
            )
        return (
            f"{self._element(link)}"
            f'<p>framepipe: {over}, so it is linked, not embedded: <a href="{html.escape(link)}">'
            f"{html.escape(name)}</a></p>"
        )

    def _repr_html_(self) -> str:
        try:
            return self.to_html()
        except OSError as e:
            return cannot_show_html(self.path, e)

    def __repr__(self) -> str:
        what = self.path if self.path is not None else f"<{self.size} bytes>"
        return f"<framepipe.Video {what} {self.kind}, {_human(self.size)}>"
