"""Clips that make frames: images, colours, text, image sequences and video files."""

from __future__ import annotations

import bisect
import os
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, Self

import numpy as np

from .. import _frames, _native
from .._alpha import without_alpha
from .._options import fps_pair
from .._warn import warn
from ..errors import ParameterError, UnsupportedError, noted
from . import _pixels
from ._clip import VideoClip
from ._geometry import size_pair
from ._time import seconds
from .audio._sources import video_sound


def _const(frame: np.ndarray):
    frame.flags.writeable = False
    return lambda t: frame


def _read_image(path: str, what: str) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError:
        raise UnsupportedError(f"{what}: reading image files needs Pillow (pip install pillow)") from None
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what}: no such file: {path!r}")
    try:
        with Image.open(path) as img:
            return _frames.pil_array(img).copy()
    except OSError as e:
        raise ParameterError(f"{what}: cannot read {path!r} as an image: {e}") from None


def _split_rgba(arr: Any, what: str, transparent: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """An image (array, PIL image, path) as uint8 RGB and, for RGBA input, its alpha."""
    if isinstance(arr, (str, os.PathLike)):
        arr = _read_image(os.fsdecode(arr), what)
    mod = type(arr).__module__
    if mod.startswith(("PIL.", "matplotlib")):
        arr = _frames.as_array(arr)[0]
    a = _pixels.integers_to_u8(np.asarray(arr))
    alpha = None
    if a.ndim == 3 and a.shape[2] == 4 and transparent:
        alpha = _pixels.to_alpha(
            a[:, :, 3]
            if a.dtype == np.uint8
            else a[:, :, 3] / (255.0 if a.dtype.kind == "f" and a[:, :, 3].max() > 1 else 1.0),
            what,
        )
    return _pixels.to_rgb(a, what), alpha


class ImageClip(VideoClip):
    """A still image (array, PIL image or path) shown for `duration` seconds. An RGBA image
    gets its alpha as mask (``transparent=True``); ``is_mask=True`` makes a mask clip."""

    def __init__(
        self,
        img: Any,
        is_mask: bool = False,
        transparent: bool = True,
        fromalpha: bool = False,
        duration: float | None = None,
        *,
        ismask: bool | None = None,
    ):
        super().__init__(is_mask=is_mask if ismask is None else ismask, duration=duration)
        what = "ImageClip"
        if self.is_mask:
            a = np.asarray(_read_image(os.fsdecode(img), what) if isinstance(img, (str, os.PathLike)) else img)
            if a.ndim == 3:
                a = a[:, :, 3] if (fromalpha and a.shape[2] == 4) else a[:, :, 0]
                a = a / 255.0 if a.dtype == np.uint8 else a
            frame = _pixels.to_alpha(a, what)
            if isinstance(img, np.ndarray) and np.shares_memory(frame, img):
                frame = frame.copy()
        else:
            frame, alpha = _split_rgba(img, what, transparent)
            if isinstance(img, np.ndarray) and np.shares_memory(frame, img):
                frame = frame.copy()  # the caller's array stays theirs (and writable)
            if alpha is not None:
                self._mask = ImageClip(alpha, is_mask=True, duration=duration)
        self._fn = _const(frame)
        self._static = True
        self._size = (frame.shape[1], frame.shape[0])
        self.img = frame
        if isinstance(img, (str, os.PathLike)):
            self._source_files = (os.fsdecode(img),)  # a write onto it is refused (_render.output)

    def image_transform(self, image_func: Any, apply_to: Any = None) -> Self:
        new = super().image_transform(image_func, apply_to)
        return new


class ColorClip(ImageClip):
    """A clip of one colour: (r, g, b) 0-255, a name or '#rrggbb'; for a mask, a number in [0, 1]."""

    def __init__(
        self,
        size: Sequence[int],
        color: Any = None,
        is_mask: bool = False,
        duration: float | None = None,
        *,
        ismask: bool | None = None,
        col: Any = None,
    ):
        is_mask = is_mask if ismask is None else ismask
        color = col if color is None else color
        w, h = size_pair(size, "ColorClip")
        if is_mask:
            if color is not None and (isinstance(color, str) or np.size(color) != 1):
                # MoviePy raises too: a mask's colour is one level, not an RGB colour.
                raise ParameterError(
                    f"ColorClip(is_mask=True): color must be one number in [0, 1] (the mask's level), got {color!r}"
                )
            frame = np.full((h, w), _pixels.mask_level(0.0 if color is None else color, "ColorClip color"), np.uint8)
        else:
            frame = np.empty((h, w, 3), np.uint8)
            frame[:] = _pixels.rgb(color, "ColorClip color")
        super().__init__(frame, is_mask=is_mask, duration=duration)
        if not is_mask and _has_alpha(color):
            # An (r, g, b, a) colour (a 0-255): a mask of a / 255 (to 8 bits), as MoviePy's
            # ColorClip (an RGBA ImageClip) has.
            _pixels.rgba(color, "ColorClip color")  # checked: 0-255
            level = float(np.asarray(color, dtype=np.float64).ravel()[3]) / 255.0
            self._mask = ImageClip(np.full((h, w), level), is_mask=True, duration=duration)
        self.color = color
        self._name = "ColorClip"


def _has_alpha(color: Any) -> bool:
    """Whether `color` is an (r, g, b, a) sequence of numbers."""
    if color is None or isinstance(color, str):
        return False
    try:
        return np.asarray(color, dtype=np.float64).size == 4
    except (TypeError, ValueError):
        return False


_FONT_EXTS = (".ttf", ".otf", ".ttc", ".otc")

# TextClip's positional parameters: framepipe's (MoviePy 1.x-like: the text first) and MoviePy 2's
# (the font first), told apart by the first argument (see _is_font).
_TEXTCLIP_ORDER = (
    "text", "font", "font_size", "size", "margin", "color", "bg_color", "stroke_color", "stroke_width", "method",
    "text_align", "horizontal_align", "vertical_align", "interline", "transparent", "duration", "filename",
)  # fmt: skip
_TEXTCLIP_MOVIEPY2 = (
    "font", "text", "filename", "font_size", "size", "margin", "color", "bg_color", "stroke_color", "stroke_width",
    "method", "text_align", "horizontal_align", "vertical_align", "interline", "transparent", "duration",
)  # fmt: skip


def _is_font(value: Any) -> bool:
    """Whether TextClip's first positional argument is a font (MoviePy 2's order): a path
    object, a font file's name (.ttf, .otf, .ttc, .otc) or the bundled font's name."""
    if isinstance(value, os.PathLike):
        return True
    return isinstance(value, str) and (
        value.lower().endswith(_FONT_EXTS)
        or value.replace(" ", "").lower() == _native.DEFAULT_FONT_NAME.replace(" ", "").lower()
    )


class TextClip(ImageClip):
    """Text rendered by framepipe from its bundled font (DejaVu Sans) or any TTF/OTF file: no
    ImageMagick, no system fonts. MoviePy 2's parameters (MoviePy 1.x's ``txt`` and ``fontsize``
    too). Positional arguments are ``(text, font, font_size, ...)``, or MoviePy 2's ``(font,
    text, filename, font_size, ...)`` when the first is a font (a path object, a .ttf/.otf/.ttc/
    .otc name or the bundled font's name) or text= / filename= is given. The text's coverage
    becomes the mask unless a ``bg_color`` is given or ``transparent=False``."""

    def __init__(
        self,
        *args: Any,
        text: str | None = None,
        font: str | os.PathLike[str] | None = None,
        font_size: float | None = None,
        size: Sequence[int | None] = (None, None),
        margin: Sequence[int | None] = (None, None),
        color: Any = "black",
        bg_color: Any = None,
        stroke_color: Any = None,
        stroke_width: int = 0,
        method: str = "label",
        text_align: str = "left",
        horizontal_align: str = "center",
        vertical_align: str = "center",
        interline: int = 4,
        transparent: bool = True,
        duration: float | None = None,
        filename: str | os.PathLike[str] | None = None,
        txt: str | None = None,
        fontsize: float | None = None,
        align: str | None = None,
    ):
        given = dict(
            text=text, font=font, font_size=font_size, size=size, margin=margin, color=color, bg_color=bg_color,
            stroke_color=stroke_color, stroke_width=stroke_width, method=method, text_align=text_align,
            horizontal_align=horizontal_align, vertical_align=vertical_align, interline=interline,
            transparent=transparent, duration=duration, filename=filename,
        )  # fmt: skip
        if args:
            text_by_keyword = text is not None or txt is not None or filename is not None
            order = _TEXTCLIP_MOVIEPY2 if text_by_keyword or _is_font(args[0]) else _TEXTCLIP_ORDER
            if len(args) > len(order):
                raise ParameterError(
                    f"TextClip takes at most {len(order)} positional arguments ({', '.join(order)}), got {len(args)}"
                )
            for name, value in zip(order, args):
                if name in ("text", "font", "filename") and given[name] is not None:
                    raise TypeError(f"TextClip() got multiple values for argument {name!r}")
                given[name] = value
        text, font, filename = given["text"], given["font"], given["filename"]
        font_size, size, margin = given["font_size"], given["size"], given["margin"]
        color, bg_color, stroke_color = given["color"], given["bg_color"], given["stroke_color"]
        stroke_width, method, text_align = given["stroke_width"], given["method"], given["text_align"]
        horizontal_align, vertical_align = given["horizontal_align"], given["vertical_align"]
        interline, transparent, duration = given["interline"], given["transparent"], given["duration"]
        if txt is not None:
            text = txt
        if fontsize is not None:
            font_size = fontsize
        if filename is not None:
            with open(filename, encoding="utf-8") as f:
                text = f.read().rstrip()  # as MoviePy: trailing whitespace removed
        if text is None:
            # MoviePy's ValueError, with its words.
            raise noted(
                ParameterError("No text nor filename provided"),
                f"TextClip(method={method!r}): give text= (the words to draw) or filename= (a UTF-8 text file)",
                as_cause=True,  # MoviePy's test matches "^No text nor filename provided$"
            )
        if not isinstance(text, str):
            raise ParameterError(f"TextClip: text must be a string, got {text!r}")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ParameterError(
                f"TextClip: text has a lone surrogate {text[e.start]!r} (U+{ord(text[e.start]):04X}) at index "
                f"{e.start}, which is not a character; give text that is valid Unicode"
            ) from None
        if font_size is None:
            font_size = 24 if size[1] is None else None
        if method not in ("label", "caption"):
            raise ParameterError(f"TextClip: method must be 'label' or 'caption', got {method!r}")
        if method == "caption" and size[0] is None:
            raise ParameterError("TextClip: method='caption' needs size=(width, height or None)")
        font_path = None if font is None else os.fsdecode(font)
        if font_path is not None and not os.path.exists(font_path):
            if os.sep in font_path or font_path.lower().endswith(_FONT_EXTS):
                raise FileNotFoundError(
                    f"TextClip: font file not found: {font_path!r} (font=None uses the bundled DejaVu Sans)"
                )
            # An ImageMagick font name from a MoviePy 1.x script ("Purisa-Bold"): not a file.
            warn(
                f"TextClip: font {font_path!r} is a name, not a font file; using the bundled DejaVu Sans "
                f"(give the path of a .ttf/.otf file for another font)",
            )
            font_path = None
        if font_size is None:
            font_size = _fit_font_size(text, font_path, size, method, interline)
        if align is not None:
            text_align = {"West": "left", "East": "right", "center": "center"}.get(align, align)
        m = [0 if v is None else int(v) for v in margin]
        if len(m) == 2:
            m = [m[0], m[1], m[0], m[1]]
        elif len(m) != 4:
            raise ParameterError(f"TextClip: margin is (x, y) or (left, top, right, bottom), got {margin!r}")
        left, top, right, bottom = m
        fg = _pixels.rgba(color, "TextClip color") or (0, 0, 0, 0)
        bg = _pixels.rgba(bg_color, "TextClip bg_color")
        data, w, h = _native.render_text(
            text,
            font=font_path,
            font_size=float(font_size),
            color=fg,
            bg_color=bg,
            stroke_color=_pixels.rgba(stroke_color, "TextClip stroke_color"),
            stroke_width=int(stroke_width or 0),
            size=(None if size[0] is None else int(size[0]), None if size[1] is None else int(size[1])),
            margin=(left, top, right, bottom),
            method=method,
            text_align=text_align,
            horizontal_align=horizontal_align,
            vertical_align=vertical_align,
            interline=int(interline),
        )
        missing = _native.missing_glyphs(text, font=font_path)
        if missing:
            shown = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in missing[:8]) + (", ..." if len(missing) > 8 else "")
            warn(
                f"TextClip: the font {font_path or _native.DEFAULT_FONT_NAME!r} has no glyph for {shown}; "
                f"they are drawn as boxes (pass font= the path of a .ttf/.otf file that has them)",
            )
        rgba = np.frombuffer(data, np.uint8).reshape(h, w, 4)
        super().__init__(
            rgba if (transparent and bg is None) or (bg is not None and bg[3] < 255) else rgba[:, :, :3],
            duration=duration,
            transparent=transparent,
        )
        self.text, self.font, self.font_size = text, font_path, font_size
        self.color, self.bg_color, self.method = color, bg_color, method
        self._name = f"TextClip({text[:20]!r})"


def _fit_font_size(text: str, font: str | None, size: Sequence[int | None], method: str, interline: int) -> float:
    """The largest font size whose text fits `size` (MoviePy: when font_size is None)."""
    w_max, h_max = size
    lo, hi = 1.0, 1000.0
    for _ in range(20):
        mid = (lo + hi) / 2
        try:
            _, w, h = _native.render_text(
                text,
                font=font,
                font_size=mid,
                size=(w_max if method == "caption" else None, None),
                method=method,
                interline=interline,
            )
        except ParameterError:
            # Too big to draw at all (a caption wrapped into a column taller than the largest
            # frame): it does not fit. If even size 1 cannot be drawn, the caller's render
            # at that size raises the real error.
            hi = mid
            continue
        if (w_max is None or w <= w_max) and (h_max is None or h <= h_max):
            lo = mid
        else:
            hi = mid
    return lo


def _image_size(item: Any) -> tuple[int, int] | None:
    """(width, height) of an image of a sequence without decoding it (a file's header), or None
    when it cannot be told so (the image is then checked when it is read)."""
    if isinstance(item, (str, os.PathLike)):
        try:
            from PIL import Image

            with Image.open(os.fsdecode(item)) as img:
                return (int(img.size[0]), int(img.size[1]))
        except (ImportError, OSError):
            return None
    if isinstance(item, np.ndarray) and item.ndim >= 2:
        return (int(item.shape[1]), int(item.shape[0]))
    return None


def _check_sizes(items: Sequence[Any], size: tuple[int, int]) -> None:
    """All images of a sequence have one size, checked when the clip is made (as MoviePy does)."""
    for i, item in enumerate(items[1:], 1):
        other = _image_size(item)
        if other is not None and other != size:
            raise ParameterError(
                f"ImageSequenceClip: image {i} is {other[0]}x{other[1]}, image 0 is {size[0]}x{size[1]}; "
                f"all must have one size"
            )


class ImageSequenceClip(VideoClip):
    """Frames from a list of arrays or image paths (or a folder of images, in name order),
    each shown for 1/fps seconds or for its own entry of `durations`."""

    def __init__(
        self,
        sequence: Any,
        fps: float | None = None,
        durations: Sequence[float] | None = None,
        with_mask: bool = True,
        is_mask: bool = False,
        load_images: bool = False,
    ):
        super().__init__(is_mask=is_mask)
        if isinstance(sequence, (str, os.PathLike)):
            folder = os.fsdecode(sequence)
            if not os.path.isdir(folder):
                raise FileNotFoundError(f"ImageSequenceClip: no such folder: {folder!r}")
            sequence = [os.path.join(folder, f) for f in sorted(os.listdir(folder))]
        items = list(sequence)
        if not items:
            raise ParameterError("ImageSequenceClip: the sequence is empty")
        if fps is not None and durations is None:
            if not fps > 0:
                raise ParameterError(f"ImageSequenceClip: fps must be positive, got {fps!r}")
            # Image i starts at exactly i / fps, from the same rational rate that a write's frame
            # times come from (29.97 -> 30000/1001), so that frame n shows image n.
            rate = Fraction(*fps_pair(fps))
            starts = [float(Fraction(i) / rate) for i in range(len(items) + 1)]
            durations = [b - a for a, b in zip(starts, starts[1:])]
            self.fps = fps
        elif durations is not None and fps is None:
            durations = [seconds(d, "ImageSequenceClip durations") for d in durations]
            if len(durations) != len(items) or min(durations) < 0 or sum(durations) <= 0:
                raise ParameterError(
                    f"ImageSequenceClip: {len(items)} durations >= 0 are needed, one per image, not all 0; "
                    f"got {len(durations)}: {durations[:8]}{'...' if len(durations) > 8 else ''}"
                )
            # An image of duration 0 is skipped, as in MoviePy.
            self.fps = 1.0 / min(d for d in durations if d > 0)
        else:
            raise ParameterError("ImageSequenceClip: give exactly one of fps and durations")
        if fps is None:
            starts = [float(x) for x in np.cumsum([0.0, *durations])]
        self.images_starts = starts[:-1]
        self.durations = durations
        self.duration = self.end = starts[-1]
        first_rgb, first_alpha = _split_rgba(items[0], "ImageSequenceClip image 0", with_mask)
        self._size = (first_rgb.shape[1], first_rgb.shape[0])
        _check_sizes(items, self._size)
        loaded = [(first_rgb, first_alpha)] if load_images or not isinstance(items[0], (str, os.PathLike)) else None
        store = items
        starts = self.images_starts
        size = self._size

        def load(i: int) -> tuple[np.ndarray, np.ndarray | None]:
            rgb, alpha = _split_rgba(store[i], f"ImageSequenceClip image {i}", with_mask)
            if (rgb.shape[1], rgb.shape[0]) != size:
                raise ParameterError(
                    f"ImageSequenceClip: image {i} is {rgb.shape[1]}x{rgb.shape[0]}, image 0 is "
                    f"{size[0]}x{size[1]}; all must have one size"
                )
            if alpha is None and first_alpha is not None:
                # The sequence has a mask (image 0 is RGBA); an image without alpha is opaque.
                alpha = np.full((size[1], size[0]), 255, np.uint8)
            return rgb, alpha

        if loaded is not None:
            loaded = [load(i) for i in range(len(items))]
        self._source_files = tuple(os.fsdecode(x) for x in items if isinstance(x, (str, os.PathLike)))

        def index(t: float) -> int:
            return max(0, bisect.bisect_right(starts, t + 1e-9) - 1)

        def frame(t: float) -> np.ndarray:
            i = index(t)
            return loaded[i][0] if loaded is not None else load(i)[0]

        self._fn = frame
        if with_mask and (first_alpha is not None):
            mask = VideoClip(is_mask=True, duration=self.duration)

            def mask_frame(t: float) -> np.ndarray:
                alpha = loaded[index(t)][1] if loaded is not None else load(index(t))[1]
                # load() gives every image an alpha when image 0 has one (opaque if it has none).
                return alpha if alpha is not None else np.full((size[1], size[0]), 255, np.uint8)

            mask._fn = mask_frame
            mask._size = size
            self._mask = mask
        self._name = f"ImageSequenceClip({len(items)} images)"


class VideoFileClip(VideoClip):
    """A video or animated image file read in-process by PyAV (any format libav reads: H.264,
    HEVC, VP9, AV1, GIF, ...). Frame-accurate: the frame at t is the last one shown at or
    before t. ``target_resolution=(w, h)`` (either None keeps the aspect ratio) resizes;
    ``has_mask=True`` reads the alpha (GIF, PNG, VP9 with alpha) as the mask."""

    def __init__(
        self,
        filename: str | os.PathLike[str],
        decode_file: bool = False,
        has_mask: bool = False,
        audio: bool = True,
        target_resolution: Sequence[int | None] | None = None,
        resize_algorithm: str = "bicubic",
        fps_source: str = "fps",
        pixel_format: str | None = None,
        is_mask: bool = False,
        # The sound track is read (audio=True) at audio_fps; audio_buffersize and audio_nbytes are
        # MoviePy's, accepted. 1.x's verbose too. Any other keyword is a TypeError, not ignored.
        audio_buffersize: int = 200000,
        audio_fps: int = 44100,
        audio_nbytes: int = 2,
        verbose: bool = False,
    ):
        super().__init__(is_mask=is_mask)
        from ._video_file import VideoFileReader

        self.filename = os.fsdecode(filename)
        self._source_files = (self.filename,)
        reader = VideoFileReader(self.filename, target_resolution=target_resolution, has_mask=has_mask)
        self.reader = reader
        if fps_source not in ("fps", "tbr"):
            raise noted(
                ParameterError(f"fps source '{fps_source}' not supported parsing the video '{self.filename}'"),
                "VideoFileClip: fps_source must be 'fps' (the stream's average frame rate) or 'tbr' "
                "(libav's base rate, r_frame_rate)",
            )
        # "fps": the exact average rate (MoviePy: ffmpeg's display of it, to 0.01); "tbr": the base rate.
        self.fps = reader.fps if fps_source == "fps" else reader.tbr
        self.duration = self.end = float(reader.duration)
        # A list, as MoviePy's VideoFileClip.size (its tests compare it with [w, h]).
        self._size = [int(reader.size[0]), int(reader.size[1])]  # type: ignore[assignment]
        self._name = f"VideoFileClip({os.path.basename(self.filename)!r})"
        if audio:
            self.audio = video_sound(self.filename, audio_fps, audio_buffersize, audio_nbytes)
        # Past the file's end (with_end, with_duration longer than the file) the last frame
        # shows, as in MoviePy.
        end = self.duration
        if has_mask:
            self._fn = lambda t: without_alpha(reader.get_frame(min(t, end)))
            mask = VideoClip(is_mask=True, duration=self.duration)
            mask._fn = lambda t: np.ascontiguousarray(reader.get_frame(min(t, end))[:, :, 3])
            mask._size = self._size
            self._mask = mask
        else:
            self._fn = lambda t: reader.get_frame(min(t, end))

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        """As MoviePy: ``copy.deepcopy`` of a file clip is its (shallow) ``__copy__``, sharing the
        reader (an open decoder and its lock are not copied)."""
        return self.__copy__()

    @property
    def n_frames(self) -> int:
        """The file's exact frame count while the clip spans the whole file at its rate; for a
        clip derived with another duration or fps (``subclipped``, ``with_end``, ``with_fps``),
        the frames a write of it makes: round(duration x fps)."""
        if self.duration == self.reader.duration and self.fps == self.reader.fps:
            return self.reader.n_frames
        return super().n_frames

    def close(self) -> None:
        self.reader.close()
