"""Showing videos inline in Jupyter: :class:`Video`.

``framepipe.Video("out.mp4")`` (or the :class:`~framepipe.VideoResult` that writing a video
returns) displays in a notebook as the video itself: the MP4 is embedded as base64 in a
``<video controls loop autoplay muted playsinline>`` element (a GIF in an ``<img>``). A video
with a sound track is shown ``<video controls loop playsinline>``: not muted, so that it plays
its sound, and therefore not autoplaying (browsers start only muted videos on their own): press
play. ``muted=True`` (or ``autoplay=True``) asks for the silent autoplaying element anyway. Past
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


class _ByteReader:
    """seek/read over bytes (for :func:`_moov`)."""

    def __init__(self, data: bytes) -> None:
        self._data, self._at = data, 0

    def seek(self, at: int) -> None:
        self._at = at

    def read(self, n: int) -> bytes:
        out = self._data[self._at : self._at + n]
        self._at += len(out)
        return out


#: The largest moov read to look for a sound track (a moov lists every sample: 64 MB is hours).
_MOOV_LIMIT = 64 << 20


def _moov(f: Any) -> bytes | None:
    """The body of an MP4's top-level ``moov`` box (None when there is none, it is too large, or
    the boxes before it are damaged)."""
    at = 0
    while True:
        f.seek(at)
        head = f.read(16)
        if len(head) < 8:
            return None
        size, kind, header = int.from_bytes(head[:4], "big"), head[4:8], 8
        if size == 1 and len(head) == 16:
            size, header = int.from_bytes(head[8:16], "big"), 16
        if kind == b"moov":
            if size < header or size > _MOOV_LIMIT:
                return None
            f.seek(at + header)
            return f.read(size - header)
        if size < header:  # 0 (to the end) or damaged: no moov after it
            return None
        at += size


def _has_sound_handler(moov: bytes) -> bool:
    """Whether a moov has an ``hdlr`` box of handler type ``soun`` (an audio track)."""
    i = moov.find(b"hdlr")
    while i >= 4:
        if moov[i + 12 : i + 16] == b"soun":
            return True
        i = moov.find(b"hdlr", i + 4)
    return False


class Video(KeywordsChecked):
    """A video file (or in-memory MP4/GIF bytes) that Jupyter displays inline.

    Args:
        source: a path, a :class:`framepipe.VideoResult`, or the bytes of an MP4 or GIF.
        embed_limit: MB of base64 text above which the file is linked instead (default
            :data:`EMBED_LIMIT_MB`).
        width, height: display size in CSS pixels (default: the video's own, when known).
        loop, controls: the ``<video>`` attributes (on by default; ``playsinline`` is always
            set).
        muted: None (the default): muted when the MP4 has no sound track, else not, so that a
            video with sound plays its sound. True or False: as given.
        autoplay: None (the default): autoplay when the video is muted (browsers autoplay only
            muted videos: a video with sound would not start, or start silent). True with a
            sound track and ``muted=None`` mutes it, so that it can start; False: never.
    """

    def __init__(
        self,
        source: Any,
        *,
        embed_limit: float | None = None,
        width: int | None = None,
        height: int | None = None,
        loop: bool = True,
        autoplay: bool | None = None,
        muted: bool | None = None,
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
    def has_sound(self) -> bool:
        """Whether the video is an MP4 with a sound track (a ``soun`` track in its ``moov``)."""
        if self.kind != "mp4":
            return False
        if self._data is not None:
            moov = _moov(_ByteReader(self._data))
        else:
            with open(self._file(), "rb") as f:
                moov = _moov(f)
        return moov is not None and _has_sound_handler(moov)

    def _flags(self) -> tuple[bool, bool]:
        """(autoplay, muted) as the element gets them (see the class docstring)."""
        muted, autoplay = self.muted, self.autoplay
        if muted is None:
            muted = bool(autoplay) or not self.has_sound
        if autoplay is None:
            autoplay = muted
        return bool(autoplay), bool(muted)

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
        autoplay, muted = self._flags()
        flags = [
            name
            for name, on in (
                ("controls", self.controls),
                ("loop", self.loop),
                ("autoplay", autoplay),
                ("muted", muted),
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
