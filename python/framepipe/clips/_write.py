"""Writing clips: ``write_videofile`` and ``write_gif`` go through :func:`framepipe.render`
(a clip is a pure function of t, so its chunks render on every core, or on Dask), frame n at
t = n / fps from the integer n, round(duration * fps) frames exactly."""

from __future__ import annotations

import bisect
import contextlib
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from fractions import Fraction
from typing import Any, Unpack

import numpy as np

from .._keywords import checked
from .._options import EncodeOptions, check_option_names, fps_pair
from .._render import RENDER_KEYWORDS, check_frame_count, refuse_own_source, render
from .._warn import warn
from ..display import Video
from ..errors import NoFpsError, ParameterError, UnsupportedError
from ..writer import VideoResult, VideoWriter
from . import _write_pyav
from .audio._track import sound_options

# MoviePy parameters that concern logging or ffmpeg, accepted and ignored (framepipe runs no
# ffmpeg); and those about sound, for write_gif (a GIF has none; write_videofile reads them).
_IGNORED = {
    "audio",
    "audio_fps",
    "audio_nbytes",
    "audio_codec",
    "audio_bitrate",
    "audio_bufsize",
    "temp_audiofile",
    "temp_audiofile_path",
    "remove_temp",
    "write_logfile",
    "verbose",
    "program",
    "opt",
    "fuzz",
    "tempfiles",
}
_CODECS = (None, "libx264", "h264", "mpeg4-h264")


def clip_fps(clip: Any, fps: Any, what: str) -> Fraction:
    fps = fps if fps is not None else getattr(clip, "fps", None)
    if fps is None:
        raise NoFpsError(f"{what}: the clip has no fps; pass fps= (e.g. fps=24) or use clip.with_fps(24)")
    return Fraction(*fps_pair(fps))


def frame_count(clip: Any, rate: Fraction) -> int:
    """round(duration * fps), exactly: the frames a write of the clip at `rate` makes (at most
    render's MAX_FRAMES: an absurd duration or speed is refused, not rendered for ever)."""
    if clip.duration is None:
        raise ParameterError(f"{clip._name} has no duration; use with_duration() first")
    n = round(Fraction(clip.duration) * rate)
    check_frame_count(n, f"{clip._name}: its duration of {clip.duration:g} s at {rate} fps")
    return n


def frame_times(clip: Any, fps: Any) -> Iterator[tuple[int, float]]:
    """(n, t) for every frame: n in range(round(duration * fps)), t = n / fps."""
    rate = clip_fps(clip, fps, "iter_frames")
    for n in range(frame_count(clip, rate)):
        yield n, float(n / rate)


class _ClipFrames:
    """make_frame for render: the clip's uint8 frame at t (picklable with the clip)."""

    def __init__(self, clip: Any):
        self.clip = clip

    def __call__(self, t: float) -> np.ndarray:
        c = self.clip
        frame = c._get(min(t, c.duration))
        if c.is_mask:
            frame = np.repeat(frame[:, :, None], 3, axis=2)
        return frame


def _options(clip: Any, what: str, kwargs: dict) -> dict:
    codec = kwargs.pop("codec", None)
    if codec not in _CODECS:
        raise UnsupportedError(
            f"{what}: codec {codec!r} is not available; framepipe writes H.264 (libx264) MP4s and GIFs"
        )
    if isinstance(kwargs.get("bitrate"), str):
        kwargs["bitrate"] = _kbits(kwargs["bitrate"], what)
    params = kwargs.pop("ffmpeg_params", None)
    if params:
        warn(
            f"{what}: ffmpeg_params={params!r} ignored: framepipe runs no ffmpeg; x264's settings are "
            f"options here (crf=, preset=, tune=, keyint=, bitrate=)",
        )
    pixel_format = kwargs.pop("pixel_format", None)
    if pixel_format not in (None, "yuv420p"):
        warn(
            f"{what}: pixel_format={pixel_format!r} ignored: framepipe writes yuv420p H.264, which "
            f"every player plays (a mask is not written)",
        )
    threads = kwargs.pop("threads", None)
    logger = kwargs.pop("logger", "bar")
    if "progress" not in kwargs:
        kwargs["progress"] = None if logger == "bar" else False
    if threads is not None:
        kwargs["threads"] = threads
    for name in list(kwargs):
        if name in _IGNORED:
            kwargs.pop(name)
    check_option_names(what, kwargs, (k for k in RENDER_KEYWORDS if k not in ("n_frames", "fps", "duration")))
    if clip.duration is None:
        raise ParameterError(f"{what}: {clip._name} has no duration; use with_duration() first")
    return kwargs


def _kbits(text: str, what: str) -> int:
    """MoviePy's (ffmpeg's) bitrate strings, "5000k", "5M" or "800000" (bit/s), in kbit/s."""
    t = text.strip().lower()
    scale = {"k": 1.0, "m": 1000.0}.get(t[-1:], 0.001)
    try:
        value = float(t[:-1] if t[-1:] in "km" else t) * scale
    except ValueError:
        raise ParameterError(f"{what}: cannot read bitrate {text!r}; give kbit/s as a number, or '5000k'") from None
    if not value >= 1:
        raise ParameterError(f"{what}: bitrate {text!r} is under 1 kbit/s")
    return int(round(value))


class ClipWriteOptions(EncodeOptions, total=False):
    """The keywords of ``write_videofile`` and ``write_gif``: the encoding options
    (:class:`framepipe.EncodeOptions`), :func:`framepipe.render`'s, and MoviePy's, accepted
    (those about sound, logging or ffmpeg are ignored, with a warning where they ask for
    something framepipe does not do). A test checks that each key is accepted and that the
    encoding and render keys are the engine's and render's."""

    # framepipe.render's
    workers: int | None
    executor: Executor | None
    setup: Callable[[], Any] | None
    chunk_frames: int | None
    progress: bool | None
    progress_callback: Callable[[int, int], None] | None
    start_method: str | None
    resume: bool
    # MoviePy's
    codec: str | None
    audio: Any
    audio_fps: int
    audio_nbytes: int
    # audio_codec and audio_bitrate are EncodeOptions' (inherited); MoviePy's names and
    # strings ("aac", "128k") are read too.
    audio_bufsize: int
    temp_audiofile: str | None
    temp_audiofile_path: str
    remove_temp: bool
    write_logfile: bool
    ffmpeg_params: list[str] | None
    pixel_format: str | None
    logger: Any
    verbose: bool
    program: str
    opt: Any
    fuzz: int
    evaluate: bool
    tempfiles: bool
    colors_per_frame: bool
    dispose: bool


# MoviePy's positional parameters after (filename, fps): the same in 1.x and 2.x this far.
_VIDEO_POSITIONAL = ("codec", "bitrate", "audio", "audio_fps", "preset")
# write_gif's: MoviePy 2 has (loop, logger); 1.x had (program, opt, fuzz, verbose, loop, ...),
# told apart by the first one (1.x's program is a string).
_GIF_POSITIONAL_2 = ("loop", "logger")
_GIF_POSITIONAL_1 = ("program", "opt", "fuzz", "verbose", "loop", "dispose", "colors")


def _positional(what: str, names: tuple[str, ...], args: tuple, kwargs: dict) -> dict:
    """MoviePy-style positional arguments as keywords."""
    if len(args) > len(names):
        raise TypeError(
            f"{what}: at most {len(names) + 2} positional arguments (filename, fps, {', '.join(names)}); "
            f"got {len(args) + 2}: pass the rest by name"
        )
    for name, value in zip(names, args):
        if name in kwargs:
            raise TypeError(f"{what}: got {name!r} both by position and by name")
        kwargs[name] = value
    return kwargs


def write_videofile(
    clip: Any, filename: Any, fps: Any = None, *args: Any, **options: Unpack[ClipWriteOptions]
) -> VideoResult:
    """Write the clip to an H.264 MP4 (framepipe's VideoWriter options: crf, preset, bitrate,
    tune, keyint, ...; ``workers=None`` renders on every core, ``workers=1`` in this process,
    ``executor=`` on Dask; ``resume=True`` as for :func:`framepipe.render`). The clip's sound
    (``audio=True``, or a sound file's path) is mixed once at ``audio_fps`` and encoded once
    (AAC, or ``audio_codec="opus"``; ``audio_bitrate`` as "128k" or kbit/s); MoviePy's
    temp_audiofile, audio_nbytes and audio_bufsize are accepted and unused (no temporary
    file). ffmpeg's parameters are accepted where they ask for nothing framepipe does not do."""
    kwargs = _positional("write_videofile", _VIDEO_POSITIONAL, args, dict(options))
    rate = clip_fps(clip, fps, "write_videofile")
    if clip.duration is None:
        raise ParameterError(f"write_videofile: {clip._name} has no duration; use with_duration() first")
    if _write_pyav.wants(filename, kwargs):  # .webm, .mkv, .avi, .ogv, or a codec other than H.264
        return _write_pyav.write_videofile(clip, filename, rate, kwargs, _ClipFrames(clip.without_audio()))
    sound = sound_options(clip, kwargs, "write_videofile")
    kwargs = _options(clip, "write_videofile", kwargs)
    frame_count(clip, rate)
    refuse_own_source(os.fsdecode(filename), "write_videofile", clip)
    with _frames_of(clip, rate):
        frames = _ClipFrames(clip.without_audio() if sound else clip)
        return render(frames, filename, fps=rate, duration=Fraction(clip.duration), **kwargs, **sound)


def write_gif(
    clip: Any, filename: Any, fps: Any = None, *args: Any, **options: Unpack[ClipWriteOptions]
) -> VideoResult:
    """Write the clip to an animated GIF (framepipe's quantizer; ``colors=``, ``dither=``)."""
    names = _GIF_POSITIONAL_1 if args and isinstance(args[0], str) else _GIF_POSITIONAL_2
    kwargs = _positional("write_gif", names, args, dict(options))
    loop = kwargs.pop("loop", 0)
    rate = clip_fps(clip, fps, "write_gif")
    for name in ("program", "opt", "fuzz", "evaluate", "tempfiles", "colors_per_frame", "dispose", "pix_fmt"):
        kwargs.pop(name, None)
    if kwargs.get("colors", 0) is None:
        del kwargs["colors"]  # MoviePy 1.x's default
    kwargs = _options(clip, "write_gif", kwargs)
    frame_count(clip, rate)
    refuse_own_source(os.fsdecode(filename), "write_gif", clip)
    with _frames_of(clip, rate):
        frames = _ClipFrames(clip.without_audio())  # a GIF has no sound: the workers get none
        return render(frames, filename, fps=rate, duration=Fraction(clip.duration), format="gif", loop=loop, **kwargs)


@contextlib.contextmanager
def _frames_of(clip: Any, rate: Fraction) -> Iterator[None]:
    """A frame refused by the writer (frame N's size differs from frame 0's) named also as the
    clip and time it comes from (and, in a concatenation, which of its clips)."""
    try:
        yield
    except ParameterError as e:
        if e.frame is None or e.argument != "shape":
            raise
        n = e.frame
        t = float(Fraction(n) / rate)
        where = f"frame {n} is {clip._name} at t={t:g} s"
        starts, parts = getattr(clip, "start_times", None), getattr(clip, "clips", None)
        if starts and parts and len(starts) == len(parts):
            i = max(0, bisect.bisect_right(starts, t + 1e-9) - 1)
            where += f" (its clip {i}, {parts[i]._name}, at t={t - starts[i]:g} s)"
            if getattr(clip, "method", None) == "chain":
                where += (
                    '; concatenate_videoclips(..., method="compose") centres clips of different sizes on the largest'
                )
        raise ParameterError(f"{e}; {where}") from None


def _pil():
    try:
        from PIL import Image
    except ImportError:
        raise UnsupportedError("writing image files needs Pillow (pip install pillow)") from None
    return Image


def _image(clip: Any, t: float, with_mask: bool) -> Any:
    Image = _pil()
    frame = clip._get(t)
    if clip.is_mask:
        return Image.fromarray(frame)  # uint8 (h, w): mode L
    alpha = clip._alpha(t) if with_mask else None
    if alpha is not None:
        return Image.fromarray(np.dstack([frame, alpha]))  # RGBA
    return Image.fromarray(frame)  # RGB (Pillow infers the mode from the uint8 shape)


def save_frame(clip: Any, filename: Any, t: float, with_mask: bool) -> None:
    _image(clip, clip._check_t(t), with_mask).save(os.fsdecode(filename))


def write_images_sequence(clip: Any, name_format: str, fps: Any, with_mask: bool) -> list[str]:
    """One image per frame, named ``name_format % n`` (e.g. "frame%04d.png")."""
    name_format = os.fsdecode(name_format)
    try:
        distinct = name_format % 0 != name_format % 1
    except (TypeError, ValueError, OverflowError):
        distinct = False
    if not distinct:
        raise ParameterError(
            f"write_images_sequence: name_format must hold one %-format for the frame number, such as "
            f"'frame%04d.png' (frame 0 is frame0000.png), got {name_format!r}"
        )
    names = []
    for n, t in frame_times(clip, fps):
        name = name_format % n
        _image(clip, t, with_mask).save(name)
        names.append(name)
    return names


def _in_memory(clip: Any, fps: Any, max_duration: float | None) -> VideoResult:
    rate = clip_fps(clip, fps if fps is not None else (clip.fps or 24), "display")
    if clip.duration is None:
        raise ParameterError(f"{clip._name} has no duration; use with_duration() first")
    if max_duration is not None and clip.duration > max_duration:
        raise ParameterError(
            f"the clip is {clip.duration:g} s long, over max_duration={max_duration:g} s; write it to a file instead"
        )
    frames = _ClipFrames(clip)
    sound = sound_options(clip, {}, "display") if getattr(clip, "audio", None) is not None else {}
    with VideoWriter(None, rate, **sound) as w:  # the clip's sound too (44100 Hz, AAC)
        for _, t in frame_times(clip, rate):
            w.write(frames(t))
    return w.close()


@checked(also=[Video])
def display(clip: Any, fps: Any = None, maxduration: float | None = 60, **video_options: Any) -> Any:
    """The clip rendered to an in-memory MP4, as a :class:`framepipe.Video` for Jupyter."""
    return Video(_in_memory(clip, fps, maxduration).data, **video_options)


def html(clip: Any) -> str:
    try:
        return display(clip)._repr_html_()
    except ParameterError as e:
        warn(f"cannot show the clip: {e}")
        return f"<pre>{clip!r}</pre>"
