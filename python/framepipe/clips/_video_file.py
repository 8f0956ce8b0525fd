"""The reader under ``VideoFileClip``: frames of a video file by time or by index, decoded in-process
with PyAV (libavformat/libavcodec), frame-accurate.

How it works:

* **Opening** reads every packet of the video stream once (demuxing only, no decoding: the I/O of one
  pass over the file) to list the frames' presentation times and which of them are keyframes, then
  decodes the first frame (for the display rotation, and so that a file libav cannot decode fails
  here with :class:`~framepipe.DecodeError`). That pass costs about 25 µs a frame (0.15 s for
  6,000 frames; an hour at 30 fps: about 3 s, plus reading the file). ``n_frames`` is the exact
  count of frames the file lists, not MoviePy's ``int(duration * fps)``; a frame whose data is
  damaged and does not decode shows the frame before it (ffmpeg drops it). A file whose packets
  carry no timestamps (a raw ``.h264`` stream) is decoded once whole to count its frames, which are
  then taken as ``1 / fps`` apart (the rate from the bitstream where it has one).
* **Time to frame**: ``get_frame(t)`` returns the last frame whose presentation time, relative to
  the stream's first frame, is at most ``t + eps``. For a constant-rate file that is frame
  ``floor(t * fps)``, as in MoviePy (``FFMPEG_VideoReader.get_frame_number``:
  ``int(fps * t + 0.00001)``); variable-rate files (GIFs with varied delays) use the real times.
  ``eps`` is half a tick of the stream's time base plus 1 µs (at most a quarter of the shortest
  frame interval, at least 1 µs), so ``t = k / fps`` gives frame ``k`` also where the container
  rounds times to the nearest tick of its clock (WebM/Matroska: milliseconds). Valid times are
  ``0 <= t <= duration``; ``t == duration`` gives the last frame; any other ``t`` raises
  :class:`~framepipe.ParameterError` naming the file, the time and the range.
* **Random access** seeks to the keyframe at or before the wanted frame (``container.seek`` with
  ``backward=True, any_frame=False``) and decodes forward to it, so B-frames (decode order differs
  from presentation order), open GOPs and GIF frame disposal (the GIF decoder composes each frame on
  the previous ones; a GIF's only keyframe is its first frame) give the exact frame. Reading forward
  decodes each frame once and never seeks: the decoder stays where it is, and the last frame is
  kept, so asking for it again costs nothing; a jump forward seeks only when a keyframe lies between
  the current position and the wanted frame, a jump backward always seeks. Where the demuxer lands
  after a keyframe that is too late (or cannot seek), an earlier keyframe is tried, and finally the
  file is reopened and decoded from its start.
* **Size**: the display rotation (the stream's display matrix, as ffmpeg's autorotate applies it)
  is applied with :func:`numpy.rot90` (multiples of 90°; other angles are rounded to the nearest
  quarter turn; mirroring is not applied); ``size`` is the displayed ``(width, height)``.
  ``target_resolution=(width, height)`` resizes (bicubic, libswscale, as MoviePy's default
  ``resize_algorithm``) to the displayed size given; with one of them ``None`` the other follows
  from the aspect ratio, rounded down (MoviePy 2.2.1: ``int(size * target / size[idx])``). The
  sample aspect ratio of anamorphic files is not applied (nor does MoviePy or ``ffmpeg -f rawvideo``).
* **Colour**: YUV is converted with the matrix and range the frames are tagged with (untagged:
  BT.601 limited range), as the ffmpeg command line does. For 8-bit video the result is
  bit-identical to ``ffmpeg -i f -f rawvideo -pix_fmt rgb24 -`` where nothing is resized
  (tests/test_video_file.py: Debian's ffmpeg 5.1 against the libav 8.1 in PyAV's wheel). Where
  frames are resized, PyAV's newer libswscale places chroma at the sample location the frames are
  tagged with (H.264/HEVC: "left") and ffmpeg 5.1's does not; 10-bit video also takes other
  rounding to 8 bits: close (34-49 dB PSNR in the tests), not identical.
* **Image sequences**: a path whose file name holds a ``%`` pattern (``frames/%04d.png``) and is
  not itself a file is opened with libav's image2 demuxer, at its default 25 fps; single PNGs and
  animated PNGs are files like any other.
* ``has_mask=True`` returns RGBA: the alpha of GIFs, PNGs and VP8/VP9 WebM with alpha (decoded
  with libvpx, since libavcodec's own VP8/VP9 decoders ignore the alpha layer, as MoviePy does);
  255 where the file has none.

Frames are read-only ``uint8`` arrays (as MoviePy's, which come from ``np.frombuffer``): asking for
the same frame twice returns the same array; copy it to change it.

A reader (and so a ``VideoFileClip``) may be used from several threads at once: they take turns
at its one decoder (a lock), and each gets the frame it asked for. Files whose tags are not
UTF-8 open (the tags are read with U+FFFD for what is not).
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import numbers
import os
import threading
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _native
from .._pyav import import_av, libav_reason
from .._warn import warn
from ..errors import DecodeError, ParameterError

# The scaler for target_resolution: MoviePy's default resize_algorithm ("bicubic").
_RESIZE_INTERPOLATION = "BICUBIC"


def _check_target_resolution(target_resolution):
    if target_resolution is None:
        return None
    try:
        pair = tuple(target_resolution)
    except TypeError:
        pair = ()
    if len(pair) != 2:
        raise ParameterError(
            f"target_resolution must be (width, height) with None for a side that follows the aspect "
            f"ratio, got {target_resolution!r}"
        )
    out: list[int | None] = []
    for name, v in zip(("width", "height"), pair):
        if v is None:
            out.append(None)
        elif isinstance(v, numbers.Integral) and not isinstance(v, bool) and 0 < int(v) <= _native.MAX_DIMENSION:
            out.append(int(v))
        else:
            raise ParameterError(
                f"target_resolution {name} must be an int from 1 to {_native.MAX_DIMENSION} (pixels) or None, "
                f"got {v!r} in {target_resolution!r}"
            )
    return tuple(out)


def _display_size(size: tuple[int, int], target) -> tuple[int, int]:
    """MoviePy 2.2.1's FFMPEG_VideoReader: ``target_resolution`` is (width, height); with one side
    None, ``ratio = target / size[idx]`` and both sides are ``int(side * ratio)`` (here in exact
    integer arithmetic, so never one pixel short through float rounding)."""
    if target is None:
        return size
    w, h = size
    tw, th = target
    if tw is not None and th is not None:
        return (tw, th)
    if tw is not None:
        return (tw, max(1, h * tw // w))
    if th is not None:
        return (max(1, w * th // h), th)
    return size


@dataclass(frozen=True)
class _Meta:
    """What opening found: the frames' times and keyframes, and the geometry."""

    times: tuple[float, ...]  # presentation time of frame k, seconds from the first frame
    pts: tuple[int, ...] | None  # stream pts of frame k; None: the file has none (frames are counted)
    keyframes: tuple[int, ...]  # indices (presentation order) of the keyframes, ascending, starting with 0
    fps: float
    duration: float
    eps: float
    decoded_size: tuple[int, int]  # (w, h) of the decoded pictures
    quarter_turns: int  # counter-clockwise quarter turns that make a picture upright
    scale_to: tuple[int, int] | None  # (w, h) to scale the decoded picture to before turning it
    size: tuple[int, int]  # displayed (w, h)
    alpha_decoder: str | None  # libvpx decoder used for VP8/VP9 alpha
    bitrate: int | None  # the video stream's bit rate in kb/s (MoviePy's reader.bitrate), or None
    tbr: float | None  # libav's r_frame_rate ("tbr" in ffmpeg -i), or None

    def keyframe_before(self, k: int) -> int:
        i = bisect.bisect_right(self.keyframes, k) - 1
        return self.keyframes[i] if i >= 0 else 0


def _stream_duration(last_time, last_duration, fps, declared, container_duration) -> float:
    """The video's duration: the stream's declared one; else the container's, where it ends
    within two frames of the last frame's start (a WebM's Segment Duration; a longer sound track
    makes it longer, and then the video's own end is used); else the last frame's time plus its
    duration. Matroska stores times in whole milliseconds and no duration for the last frame, so
    that sum falls short (24 frames at 24 fps: 0.958 + 0.041 = 0.999 s where ffprobe and
    MoviePy say 1.0 s)."""
    if declared is not None and float(declared) >= last_time:
        return float(declared)
    frame = max(last_duration, 1 / fps)
    if container_duration is not None and last_time < container_duration <= last_time + 2 * frame:
        return float(container_duration)
    return last_time + last_duration


def _decoded_frames(container, stream, ctx, av):
    """Every frame the decoder gives from where the container is, to the end (flushing it there).

    A damaged packet is skipped, as the ffmpeg command line does."""
    for packet in container.demux(stream):
        try:
            frames = ctx.decode(packet)
        except av.error.InvalidDataError:
            continue
        yield from frames


class _Decoder:
    """One open container with its decoder and where it stands: frames come out with their index."""

    def __init__(self, path: str, alpha_decoder: str | None, av):
        self.av = av
        self.path = path
        self.container, self.stream, self.ctx, self.own_ctx = _open_stream(path, alpha_decoder, av)
        self.pts: tuple[int, ...] | None = None  # the frames' pts once known; None: count them
        self.gen: Generator[Any, None, None] | None = None  # the frames out of the decoder (see restart)
        self.pending = None  # (frame, index) taken from the decoder but not yet consumed
        self.last = None  # the last frame consumed ...
        self.last_index: int | None = None  # ... and its index
        self.count = 0  # frames taken from the decoder since the start (when counting)
        self.ended = False  # the decoder gave its last frame (it is drained: only a seek restarts it)

    def close(self):
        gen, self.gen = self.gen, None
        if gen is not None:
            gen.close()
        self.pending = self.last = None
        self.last_index = None
        container, self.container = self.container, None
        if container is not None:
            container.close()

    def restart(self) -> Generator[Any, None, None]:
        """Decode from where the container now is (after opening or seeking); returns the
        frames to come (``self.gen``)."""
        if self.gen is not None:
            self.gen.close()
        if self.own_ctx:
            self.ctx.flush_buffers()
        gen = self.gen = _decoded_frames(self.container, self.stream, self.ctx, self.av)
        self.pending = self.last = None
        self.last_index = None
        self.count = 0
        self.ended = False
        return gen

    def _index_of(self, f) -> int:
        if self.pts is None:
            return self.count - 1
        if f.pts is None:
            return (self.last_index + 1) if self.last_index is not None else 0
        return max(bisect.bisect_right(self.pts, f.pts) - 1, 0)

    def next_frame(self):
        """The next (frame, index) out of the decoder, or None at the end of the file."""
        if self.pending is not None:
            item, self.pending = self.pending, None
            return item
        if self.ended:
            return None
        gen = self.gen if self.gen is not None else self.restart()
        try:
            f = next(gen)
        except StopIteration:
            self.gen = None
            self.ended = True
            return None
        except self.av.error.FFmpegError as e:
            self.gen = None
            self.ended = True
            raise DecodeError(f"{self.path!r}: decoding failed: libav says {libav_reason(e)}") from e
        self.count += 1
        return f, self._index_of(f)


def _open_stream(path: str, alpha_decoder: str | None, av):
    """Open ``path`` and its first video stream with a decoder; clear errors for what cannot be."""
    # "frames/%04d.png": an image sequence, read by libav's image2 demuxer (25 fps).
    is_sequence = "%" in os.path.basename(path) and not os.path.exists(path)
    if not is_sequence and not os.path.exists(path):
        raise FileNotFoundError(errno.ENOENT, "No such video file", path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "Is a directory, not a video file", path)
    try:
        # A tag that is not UTF-8 (a Latin-1 title) is read with U+FFFD, not refused.
        container = av.open(path, mode="r", metadata_errors="replace")
    except PermissionError as e:
        raise PermissionError(errno.EACCES, "Permission denied reading the video file", path) from e
    except FileNotFoundError as e:
        what = "No image file matches this sequence pattern" if is_sequence else "No such video file"
        raise FileNotFoundError(errno.ENOENT, what, path) from e
    except av.error.FFmpegError as e:
        raise DecodeError(f"{path!r} is not a video file libav can read: {libav_reason(e)}") from e
    try:
        if not container.streams.video:
            kinds = sorted({s.type for s in container.streams}) or ["nothing"]
            raise DecodeError(f"{path!r} has no video stream (it holds: {', '.join(kinds)})")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        own = False
        if alpha_decoder is not None:
            ctx = av.CodecContext.create(alpha_decoder, "r")
            own = True
        if ctx is None:
            raise DecodeError(f"{path!r}: libav has no decoder for its video codec")
        # Slice threads only (PyAV's default): with frame threads, an error in a damaged packet
        # surfaces in a later decode call, and the frames after it in the decoder are lost.
        return container, stream, ctx, own
    except BaseException:
        container.close()
        raise


class VideoFileReader:
    """Frames of a video file (MP4, MOV, MKV, WebM, GIF, ... whatever PyAV's libav decodes), by time or
    by index, frame-accurate. See the module's documentation for the details.

    ``size`` is the displayed (width, height), ``fps`` the stream's average frame rate (libav's
    ``avg_frame_rate``, which MoviePy reads from ``ffmpeg -i``), ``duration`` in seconds (the
    stream's, or where it has none, the last frame's time plus its duration), ``n_frames`` the exact
    number of frames. ``get_frame(t)`` and ``frame(index)`` return read-only ``uint8`` arrays,
    ``(h, w, 3)`` RGB or ``(h, w, 4)`` RGBA with ``has_mask=True``.

    A closed reader (``close()``, the end of a ``with`` block) reopens the file when used again, as
    MoviePy's does; pickling keeps only the path and the options, and the copy reopens the file on
    first use.
    """

    def __init__(self, path, *, target_resolution=None, has_mask=False):
        self.path = os.fsdecode(os.fspath(path))
        self.target_resolution = _check_target_resolution(target_resolution)
        self.has_mask = bool(has_mask)
        self._source_files = (self.path,)  # a write onto it is refused (framepipe._render.output)
        # One decoder, used by one thread at a time: threads asking for frames take turns.
        self._lock = threading.RLock()
        self._meta: _Meta | None = None
        self._dec: _Decoder | None = None
        self._cache_index: int | None = None
        self._cache_array: np.ndarray | None = None
        self._stats = {"seeks": 0, "reopens": 0, "decoded": 0}
        self._load()

    # --- the contract's attributes --------------------------------------------------------------

    @property
    def size(self) -> tuple[int, int]:
        return self._loaded().size

    @property
    def fps(self) -> float:
        return self._loaded().fps

    @property
    def duration(self) -> float:
        return self._loaded().duration

    @property
    def tbr(self) -> float:
        """libav's guess of the stream's base frame rate (``r_frame_rate``, what ``ffmpeg -i``
        prints as "tbr"; for a variable-rate MP4 often its clock, e.g. 90000), or ``fps`` where
        the file has none. MoviePy's ``fps_source="tbr"``."""
        meta = self._loaded()
        return meta.tbr if meta.tbr else meta.fps

    @property
    def bitrate(self) -> int | None:
        """The video stream's bit rate in kb/s, rounded down (what ``ffmpeg -i`` prints and
        MoviePy's ``reader.bitrate`` reads), or None where the file states none (WebM, GIF)."""
        return self._loaded().bitrate

    @property
    def n_frames(self) -> int:
        return len(self._loaded().times)

    def get_frame(self, t) -> np.ndarray:
        """The frame shown at ``t`` seconds: the last one whose time is at most ``t`` (plus ``eps``)."""
        meta = self._loaded()
        try:
            tf = float(t)
        except (TypeError, ValueError):
            raise ParameterError(f"{self.path!r}: t must be a number of seconds, got {t!r}") from None
        if not (0.0 <= tf <= meta.duration):
            raise ParameterError(
                f"{self.path!r}: t={t!r} s is outside the valid range 0 <= t <= {meta.duration!r} s "
                "(the video's duration)"
            )
        k = bisect.bisect_right(meta.times, tf + meta.eps) - 1
        return self._frame(max(k, 0))

    def frame(self, index) -> np.ndarray:
        """Frame number ``index`` (presentation order), ``0 <= index < n_frames``."""
        meta = self._loaded()
        n = len(meta.times)
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise ParameterError(f"{self.path!r}: a frame index must be an int, got {index!r}")
        index = int(index)
        if not 0 <= index < n:
            raise ParameterError(f"{self.path!r}: frame index {index} is outside 0 <= index < {n} (n_frames)")
        return self._frame(int(index))

    def close(self) -> None:
        """Close the file (idempotent). The reader reopens it if used again."""
        lock = self.__dict__.get("_lock")
        with lock if lock is not None else contextlib.nullcontext():
            dec, self._dec = self.__dict__.get("_dec"), None
            self._cache_index = self._cache_array = None
            if dec is not None:
                dec.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __getstate__(self):
        return {"path": self.path, "target_resolution": self.target_resolution, "has_mask": self.has_mask}

    def __setstate__(self, state):
        self.path = state["path"]
        self.target_resolution = state["target_resolution"]
        self.has_mask = state["has_mask"]
        self._source_files = (self.path,)
        self._lock = threading.RLock()
        self._meta = None
        self._dec = None
        self._cache_index = self._cache_array = None
        self._stats = {"seeks": 0, "reopens": 0, "decoded": 0}

    def __repr__(self):
        state = "closed" if self._dec is None else "open"
        if self._meta is None:
            return f"VideoFileReader({self.path!r}, not yet opened)"
        m = self._meta
        return (
            f"VideoFileReader({self.path!r}, size={m.size}, fps={m.fps:g}, duration={m.duration:g}, "
            f"n_frames={len(m.times)}, {state})"
        )

    # --- opening ----------------------------------------------------------------------------------

    def _loaded(self) -> _Meta:
        meta = self._meta
        if meta is None:
            with self._lock:
                meta = self._meta if self._meta is not None else self._load()
        return meta

    def _load(self) -> _Meta:
        """Read the file's frame times and geometry (see _Meta); sets and returns ``_meta``."""
        av = import_av("reading video files")
        path = self.path
        # Pass 1: the packets' times and keyframe flags (demuxing only).
        container, stream, _, _ = _open_stream(path, None, av)
        try:
            codec_name = stream.codec_context.name if stream.codec_context is not None else None
            alpha_decoder = None
            if self.has_mask and codec_name in ("vp8", "vp9") and stream.metadata.get("alpha_mode") == "1":
                alpha_decoder = {"vp8": "libvpx", "vp9": "libvpx-vp9"}[codec_name]
                if alpha_decoder not in av.codecs_available:
                    warn(
                        f"{path!r}: its {codec_name} alpha layer needs the {alpha_decoder} decoder, which this "
                        "PyAV lacks; alpha will read as opaque",
                    )
                    alpha_decoder = None
            tb = stream.time_base
            rate = stream.average_rate or stream.guessed_rate
            ctx_rate = stream.codec_context.framerate if stream.codec_context is not None else None
            declared = stream.duration * tb if stream.duration and tb else None
            # The container's (WebM/Matroska: the Segment's Duration; what ffprobe's format and
            # MoviePy's "Duration:" line say), for streams that declare none.
            container_duration = container.duration / 1_000_000 if container.duration else None
            bitrate = stream.bit_rate // 1000 if stream.bit_rate else None
            tbr = float(stream.base_rate) if stream.base_rate else None
            entries = []  # (pts, keyframe, duration)
            counted = False
            try:
                for p in container.demux(stream):
                    if p.size == 0 and p.pts is None:
                        continue  # the flush packet PyAV adds at the end
                    if p.is_discard:
                        continue  # dropped by the decoder (e.g. before an MP4 edit list's start)
                    if p.pts is None:
                        counted = True
                        break
                    entries.append((p.pts, p.is_keyframe, p.duration or 0))
            except av.error.FFmpegError as e:
                raise DecodeError(f"{path!r}: reading its packets failed: libav says {libav_reason(e)}") from e
        finally:
            container.close()
        if not counted and len({e[0] for e in entries}) != len(entries):
            counted = True  # repeated timestamps: frames cannot be told apart by time
        if not counted and not entries:
            raise DecodeError(f"{path!r}: its video stream holds no frames")

        # Pass 2: decode the first frame (geometry; fails here if libav cannot decode the codec).
        opened = _Decoder(path, alpha_decoder, av)
        dec: _Decoder | None = opened  # kept, at frame 0, unless the frames had to be counted
        try:
            if not counted:
                opened.pts = tuple(sorted(e[0] for e in entries))
            item = opened.next_frame()
            if item is None:
                raise DecodeError(f"{path!r}: libav decoded no frame from its video stream")
            first, first_index = item
            n_counted = 0
            if counted:  # no timestamps: count the frames by decoding them all, then start over
                while opened.next_frame() is not None:
                    pass
                n_counted = opened.count
                opened.close()
                dec = None
        except BaseException:
            opened.close()  # closing twice is harmless
            raise

        if counted:
            # the demuxer's rate is made up (25); the decoder's is the bitstream's (H.264 VUI timing)
            rate = ctx_rate or stream.guessed_rate or rate
            fps = float(rate) if rate else 25.0
            times = tuple(k / fps for k in range(n_counted))
            pts: tuple[int, ...] | None = None
            keyframes: tuple[int, ...] = (0,)
            duration = n_counted / fps
            tick = 0.0
        else:
            entries.sort()
            p0 = entries[0][0]
            pts = tuple(e[0] for e in entries)
            times = tuple(float((p - p0) * tb) for p in pts)
            keyframes = tuple(sorted({0, *(k for k, e in enumerate(entries) if e[1])}))
            n = len(entries)
            if rate:
                fps = float(rate)
            elif n > 1 and times[-1] > 0:
                fps = (n - 1) / times[-1]
            else:
                fps = 25.0
            last_duration = float(entries[-1][2] * tb) if entries[-1][2] else 1 / fps
            duration = _stream_duration(times[-1], last_duration, fps, declared, container_duration)
            tick = float(tb)
        gaps = [b - a for a, b in zip(times, times[1:]) if b > a]
        # Half a tick: containers round times to their clock at most that much (Matroska: to the
        # nearest millisecond, so 30 fps frame 2 is at 0.067 s, not 0.0667 s).
        eps = tick / 2 + 1e-6
        if gaps:
            eps = min(eps, min(gaps) / 4)
        eps = max(eps, 1e-6)

        decoded_size = (first.width, first.height)
        quarter_turns = round((first.rotation or 0) / 90) % 4
        upright = decoded_size[::-1] if quarter_turns % 2 else decoded_size
        size = _display_size(upright, self.target_resolution)
        if max(size) > _native.MAX_DIMENSION:
            if dec is not None:
                dec.close()
            raise ParameterError(
                f"{path!r}: target_resolution={self.target_resolution!r} makes its {upright[0]}x{upright[1]} "
                f"frames {size[0]}x{size[1]}; frames are at most {_native.MAX_DIMENSION} pixels a side"
            )
        scale_to = size[::-1] if quarter_turns % 2 else size
        meta = self._meta = _Meta(
            times=times,
            pts=pts,
            keyframes=keyframes,
            fps=fps,
            duration=duration,
            eps=eps,
            decoded_size=decoded_size,
            quarter_turns=quarter_turns,
            scale_to=None if scale_to == decoded_size else scale_to,
            size=size,
            alpha_decoder=alpha_decoder,
            bitrate=bitrate,
            tbr=tbr,
        )
        if dec is not None:  # keep the decoder where it is: frame 0 is at hand
            self._dec = dec
            dec.last, dec.last_index = first, first_index
        return meta

    # --- decoding ---------------------------------------------------------------------------------

    def _decoder(self) -> _Decoder:
        dec = self._dec
        if dec is None:
            meta = self._loaded()
            dec = self._dec = _Decoder(self.path, meta.alpha_decoder, import_av("reading video files"))
            dec.pts = meta.pts
            self._stats["reopens"] += 1
        return dec

    def _frame(self, k: int) -> np.ndarray:
        with self._lock:
            if self._cache_index == k and self._cache_array is not None:
                return self._cache_array
            arr = self._convert(self._decode(k))
            self._cache_index, self._cache_array = k, arr
            return arr

    def _decode(self, k: int):
        """The decoded (libav) frame shown as frame ``k``."""
        meta = self._loaded()
        dec = self._decoder()
        if dec.last_index == k and dec.last is not None:
            return dec.last
        forward = (
            dec.last_index is not None
            and dec.last_index < k
            and (meta.pts is None or meta.keyframe_before(k) <= dec.last_index + 1)
        )
        if not forward:
            dec = self._seek(dec, k)
        while True:
            item = dec.next_frame()
            if item is None:  # the end, without frame k: the last frame stays on screen
                if dec.last is not None:
                    return dec.last
                raise DecodeError(f"{self.path!r}: libav decoded no frame at or after frame {k}")
            f, i = item
            self._stats["decoded"] += 1
            if i > k and dec.last is not None:
                # frame k did not come out of the decoder (undecodable): the one before stays shown
                dec.pending = item
                return dec.last
            dec.last, dec.last_index = f, i
            if i >= k:
                return f

    def _seek(self, dec: _Decoder, k: int) -> _Decoder:
        """Put a decoder at a keyframe at or before frame ``k`` (and at no frame after it); return it."""
        meta = self._loaded()
        av = dec.av
        if meta.pts is not None:
            kf = meta.keyframe_before(k)
            candidates = [kf, *reversed([j for j in meta.keyframes if j < kf][-3:])]
            for j in candidates:
                self._stats["seeks"] += 1
                try:
                    dec.container.seek(meta.pts[j], stream=dec.stream, backward=True, any_frame=False)
                except av.error.FFmpegError:
                    break  # this demuxer cannot seek there: start over from the beginning
                dec.restart()
                item = dec.next_frame()
                if item is None:
                    continue
                if item[1] <= kf:
                    dec.pending = item
                    return dec
                # landed after the keyframe needed (demuxers seek by decode time): try an earlier one
        if dec.count == 0 and dec.pending is None and dec.last is None:
            dec.restart()  # freshly opened: already at the start
            return dec
        # From the very start: reopen the file (always possible, whatever the demuxer supports).
        dec.close()
        self._dec = None
        dec = self._decoder()
        dec.restart()
        return dec

    def _convert(self, f) -> np.ndarray:
        meta = self._loaded()
        kwargs = {}
        target = meta.scale_to or meta.decoded_size
        if meta.scale_to is not None or (f.width, f.height) != meta.decoded_size:
            kwargs = {"width": target[0], "height": target[1], "interpolation": _RESIZE_INTERPOLATION}
        arr = f.to_ndarray(format="rgba" if self.has_mask else "rgb24", src_color_range=f.color_range, **kwargs)
        if meta.quarter_turns:
            arr = np.rot90(arr, meta.quarter_turns)
        arr = np.ascontiguousarray(arr)
        arr.flags.writeable = False
        return arr
