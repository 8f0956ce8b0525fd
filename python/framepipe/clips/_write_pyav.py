"""``write_videofile`` into the containers and codecs framepipe's engine does not write (.webm,
.mkv, .avi, .ogv, .mov/.mp4 with another codec than H.264), through PyAV's bundled FFmpeg, in
this process. Frames are rendered as for an MP4 (on the workers, or in this process with
``workers=1``) as raw frames, and encoded here in order as they arrive (at most ``workers + 1``
chunks held at a time); the sound is mixed once and encoded beside them. The file is written to a
locked temporary beside the output and renamed over it only when complete, as the engine's."""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Any

import numpy as np

from .._audio import open_source
from .._frames import as_array
from .._pyav import import_av, libav_reason
from .._render.output import atomic_output, check_output_path, refuse_own_source
from .._render.pool import signals_deferred, signals_unwind
from .._render.schedule import Progress
from .._warn import warn
from ..errors import CodecError, EncoderError, ParameterError, UnsupportedError
from ..writer import VideoResult
from .audio._track import CODECS as ENGINE_AUDIO
from .audio._track import audio_kbits, sound_options

# The container PyAV writes for each file name extension; the video and audio codec used when
# none is given (MoviePy's defaults where PyAV has them: .webm is VP8 as MoviePy's "libvpx", its
# sound Opus, since this FFmpeg has no Vorbis encoder; .avi has none in MoviePy either).
CONTAINERS = {
    ".webm": ("webm", "libvpx", "libopus"),
    ".mkv": ("matroska", "libx264", "libopus"),
    ".avi": ("avi", None, "libmp3lame"),
    ".mov": ("mov", "libx264", "aac"),
    ".mp4": ("mp4", "libx264", "aac"),
    ".m4v": ("mp4", "libx264", "aac"),
    ".ogv": ("ogg", "libtheora", "libopus"),
}
# Which codecs each container takes (FFmpeg's muxers refuse the others late, or write files
# players do not read).
_ALLOWED = {
    "webm": ("libvpx", "libvpx-vp9"),
    "ogg": ("libtheora",),
}
_AUDIO_ALLOWED = {"webm": ("libopus",), "ogg": ("libopus", "flac")}
# MoviePy's and ffmpeg's names -> the encoder here.
VIDEO_NAMES = {
    "vp8": "libvpx",
    "vp9": "libvpx-vp9",
    "libmpeg4": "mpeg4",
    "libxvid": "mpeg4",
    "h264": "libx264",
    "prores": "prores_ks",
    "theora": "libtheora",
}
AUDIO_NAMES = {
    "opus": "libopus",
    "mp3": "libmp3lame",
    "libfdk_aac": "aac",
    "libvo_aacenc": "aac",
    "raw16": "pcm_s16le",
    "raw32": "pcm_s32le",
    "vorbis": "libvorbis",
}
# The engine's (H.264 MP4) codec names: with .mp4/.m4v/.mov these stay on the engine.
ENGINE_CODECS = (None, "libx264", "h264", "mpeg4-h264")
# Encoders this FFmpeg has, offered in errors (checked against it when an error is raised).
OFFERED_VIDEO = ("libx264", "libvpx", "libvpx-vp9", "mpeg4", "png", "prores_ks", "mjpeg", "ffv1", "rawvideo")
OFFERED_AUDIO = ("libopus", "aac", "libmp3lame", "flac", "pcm_s16le", "pcm_s32le")
# Lossless RGB codecs: written as rgb24, not converted to YUV.
_RGB = ("png", "rawvideo", "qtrle", "huffyuv")
MOVIEPY_CODEC_TEXT = "The video export failed because FFMPEG didn't find the specified codec for video or audio"
# Keywords read here (besides the sound's, which sound_options takes).
_KEYWORDS = (
    "codec",
    "bitrate",
    "threads",
    "preset",
    "crf",
    "pixel_format",
    "ffmpeg_params",
    "logger",
    "write_logfile",
    "verbose",
    "workers",
    "executor",
    "chunk_frames",
    "progress",
    "progress_callback",
    "start_method",
)


def wants(filename: Any, kwargs: dict) -> bool:
    """True when this writer (not the engine) writes the file: a container the engine does not
    write, or a codec other than H.264 (a codec that exists nowhere is refused here too)."""
    if kwargs.get("format") is not None:
        return False
    ext = os.path.splitext(os.fsdecode(filename))[1].lower()
    codec = kwargs.get("codec")
    if ext in (".mp4", ".m4v", ".mov", ""):
        # a sound codec the engine does not write (MP3, FLAC, or one that exists nowhere) too
        audio_codec = kwargs.get("audio_codec")
        return codec not in ENGINE_CODECS or (isinstance(audio_codec, str) and audio_codec not in ENGINE_AUDIO)
    return ext in CONTAINERS or (ext != ".gif" and codec not in ENGINE_CODECS)


def _available(av: Any, name: str, kind: str) -> bool:
    try:
        return av.codec.Codec(name, "w").type == kind
    except Exception:  # noqa: BLE001 - PyAV's UnknownCodecError and kin: not here
        return False


def _codec_error(av: Any, what: str, given: str, kind: str, container: str) -> CodecError:
    offered = [c for c in (OFFERED_VIDEO if kind == "video" else OFFERED_AUDIO) if _available(av, c, kind)]
    allowed = (_ALLOWED if kind == "video" else _AUDIO_ALLOWED).get(container)
    if allowed is not None:
        offered = [c for c in offered if c in allowed]
    e = CodecError(
        f"{what}: {kind} codec {given!r} is not available for a {container} file. {MOVIEPY_CODEC_TEXT}: "
        f"framepipe's FFmpeg (PyAV) has no {given!r} encoder"
        + (f" for {container}" if allowed else "")
        + (f"; available: {', '.join(offered)}" if offered else "; none of framepipe's encoders writes it")
    )
    e.add_note(f"given: codec={given!r} ({kind}); allowed for {container}: {', '.join(offered) or 'none'}")
    return e


def _video_codec(av: Any, what: str, codec: Any, ext: str, container: str) -> str:
    if codec is None:
        codec = CONTAINERS[ext][1]
        if codec is None:
            e = ParameterError(
                "MoviePy couldn't find the codec associated with the filename. Provide the 'codec' "
                "parameter in write_videofile."
            )
            e.add_note(f"{what}: a {ext} file has no default codec; pass codec= (e.g. codec='mpeg4' or 'png')")
            raise e
    if not isinstance(codec, str):
        raise ParameterError(f"{what}: codec must be a codec name (a string), got {codec!r}")
    name = VIDEO_NAMES.get(codec, codec)
    if not _available(av, name, "video") or name not in _ALLOWED.get(container, (name,)):
        raise _codec_error(av, what, codec, "video", container)
    return name


def _audio_codec(av: Any, what: str, codec: Any, ext: str, container: str) -> str:
    if codec is None:
        return CONTAINERS[ext][2]
    if not isinstance(codec, str):
        raise ParameterError(f"{what}: audio_codec must be a codec name (a string), got {codec!r}")
    name = AUDIO_NAMES.get(codec, codec)
    allowed = _AUDIO_ALLOWED.get(container, (name,))
    if not _available(av, name, "audio") or name not in allowed:
        raise _codec_error(av, what, codec, "audio", container)
    return name


def write_videofile(clip: Any, filename: Any, rate: Fraction, kwargs: dict, frames: Any) -> VideoResult:
    """Write `clip` (its frames from `frames(t)`) at `rate` into the container its extension
    names; `kwargs` are write_videofile's other keywords."""
    what = "write_videofile"
    av = import_av(f"{what} into .webm, .mkv, .avi, .ogv (or with codec=)")
    path = os.fsdecode(filename)
    ext = os.path.splitext(path)[1].lower()
    codec = kwargs.pop("codec", None)
    if ext not in CONTAINERS:
        e = UnsupportedError(
            f"{what}: framepipe does not write {ext or 'extension-less'} files with codec={codec!r}; "
            f"name the file {', '.join(CONTAINERS)} (or .mp4/.gif for the engine)"
        )
        e.add_note(f"given: {path!r}, codec={codec!r}")
        raise e
    container = CONTAINERS[ext][0]
    vcodec = _video_codec(av, what, codec, ext, container)
    acodec_given = kwargs.pop("audio_codec", None)
    abitrate = audio_kbits(kwargs.pop("audio_bitrate", None), what)
    sound = sound_options(clip, kwargs, what)
    acodec = _audio_codec(av, what, acodec_given, ext, container) if sound else None
    opts = _encoder_options(what, kwargs, vcodec)
    unknown = [k for k in kwargs if k not in _KEYWORDS]
    if unknown:
        raise ParameterError(
            f"{what}: unknown keyword {unknown[0]!r} for a {ext} file; allowed: {', '.join(_KEYWORDS)}"
        )
    n = round(Fraction(clip.duration) * rate)
    if n < 1:
        raise ParameterError(f"{what}: {clip._name} is {clip.duration:g} s long: less than one frame at {rate} fps")
    check_output_path(path)
    refuse_own_source(path, what, clip)
    with signals_unwind(), atomic_output(path, signals_deferred) as tmp:
        out = _Encoder(av, tmp.path, container, vcodec, rate, opts, path)
        try:
            if sound and acodec is not None:
                out.add_sound(sound, acodec, abitrate, n)
            _frames_in_order(frames, n, rate, kwargs, out.write)
            out.close()
        except BaseException:
            out.abort()
            raise
    return VideoResult(
        path=path,
        frames=n,
        bytes=os.path.getsize(path),
        width=out.size[0],
        height=out.size[1],
        fps=rate,
        format=container,
        audio_samples=out.samples,
        audio_fps=out.audio_rate if sound else None,
    )


def _encoder_options(what: str, kwargs: dict, vcodec: str) -> dict:
    """The stream's settings: bit rate, threads, quality and pixel format."""
    bitrate = kwargs.pop("bitrate", None)
    threads = kwargs.pop("threads", None)
    crf = kwargs.pop("crf", None)
    pix = kwargs.pop("pixel_format", None)
    for name in ("preset", "logger", "write_logfile", "verbose"):
        kwargs.pop(name, None)
    params = kwargs.pop("ffmpeg_params", None)
    if params:
        warn(f"{what}: ffmpeg_params={params!r} ignored: framepipe runs no ffmpeg (use bitrate=, crf=, threads=)")
    if bitrate is not None:
        try:
            bitrate = audio_kbits(bitrate, what)
        except ParameterError:
            raise ParameterError(
                f"{what}: cannot read bitrate={bitrate!r}; give kbit/s as a number (5000) or a string such as '5000k'"
            ) from None
    if threads is None:
        threads = 1  # deterministic: libvpx's output depends on its thread count
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ParameterError(f"{what}: threads must be a positive integer, got {threads!r}")
    options: dict[str, str] = {}
    if vcodec in ("libvpx", "libvpx-vp9", "libx264"):
        if crf is None:
            crf = 10 if vcodec != "libx264" else 18
        options["crf"] = str(crf)
        if vcodec == "libvpx" and bitrate is None:
            bitrate = 8000  # VP8's crf is capped by its bit rate (FFmpeg's default: 256 kbit/s)
        if vcodec == "libvpx-vp9" and bitrate is None:
            bitrate = 0  # constant quality
    elif crf is not None:
        raise ParameterError(f"{what}: crf= applies to libx264, libvpx and libvpx-vp9, not {vcodec!r}")
    if vcodec == "mpeg4" and bitrate is None:
        bitrate = 8000  # mpeg4's default 200 kbit/s blurs
    if vcodec == "libx264":
        options["preset"] = "medium"
    return {"bitrate": bitrate, "threads": threads, "pix": pix, "options": options}


class _Encoder:
    """One PyAV output: the video stream (made at the first frame, whose size it takes) and the
    sound stream."""

    def __init__(self, av: Any, tmp: str, container: str, vcodec: str, rate: Fraction, opts: dict, path: str):
        self.av, self.rate, self.opts, self.vcodec, self.path = av, rate, opts, vcodec, path
        try:
            self.out = av.open(tmp, "w", format=container, options={"fflags": "+bitexact"})
        except Exception as e:  # noqa: BLE001
            raise EncoderError(f"write_videofile: cannot write {path!r} as {container}: {libav_reason(e)}") from e
        self.video: Any = None
        self.audio: Any = None
        self.size = (0, 0)
        self.count = 0
        self.samples = 0
        self.audio_rate = 0
        self._sound: Any = None
        self._fed = 0
        self._ended = False

    def add_sound(self, sound: dict, acodec: str, kbits: int | None, n: int) -> None:
        src = open_source(sound["audio"], sound.get("audio_fps"))
        rate, channels = src.rate, src.channels
        if acodec == "libopus" and rate not in (8000, 12000, 16000, 24000, 48000):
            out_rate = 48000  # Opus's rates: the samples are resampled to 48 kHz
        else:
            out_rate = rate
        self.audio = self.out.add_stream(acodec, rate=out_rate, layout="mono" if channels == 1 else "stereo")
        if channels > 2:
            src.close()
            raise ParameterError(f"write_videofile: the sound has {channels} channels; at most 2 are written here")
        if kbits is not None:
            self.audio.bit_rate = kbits * 1000
        self.audio_rate = rate
        self.samples = int(Fraction(n) / self.rate * rate)
        self._sound = src

    def _start_video(self, shape: tuple) -> None:
        h, w = shape[:2]
        try:
            s = self.out.add_stream(self.vcodec, rate=self.rate, options=self.opts["options"])
        except ValueError as e:  # the muxer does not take the codec ("'matroska' does not support 'png'")
            err = CodecError(f"write_videofile: {MOVIEPY_CODEC_TEXT}: {libav_reason(e)}")
            err.add_note(f"given: codec={self.vcodec!r} for {self.path!r}; pick another codec or container")
            raise err from None
        s.width, s.height = w, h
        formats = [f.name for f in (s.codec.video_formats or ())]
        pix = self.opts["pix"]
        if pix is not None and formats and pix not in formats:
            raise ParameterError(
                f"write_videofile: pixel_format={pix!r} is not one {self.vcodec} writes; allowed: {', '.join(formats)}"
            )
        if pix is None:
            if self.vcodec in _RGB and (not formats or "rgb24" in formats):
                pix = "rgb24"
            elif not formats or "yuv420p" in formats:
                pix = "yuv420p"
            else:
                pix = formats[0]
        s.pix_fmt = pix
        s.codec_context.time_base = Fraction(1) / self.rate
        s.thread_count = self.opts["threads"]
        s.thread_type = "SLICE" if self.opts["threads"] > 1 else "NONE"
        if self.opts["bitrate"] is not None:
            s.bit_rate = int(self.opts["bitrate"] * 1000)
        self.video, self.size, self._shape = s, (w, h), shape

    def write(self, frame: np.ndarray) -> None:
        av = self.av
        arr = np.asarray(frame)
        if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
            arr = _rgb8(as_array(arr)[0])
        if self.video is None:
            self._start_video(arr.shape)
        elif arr.shape != self._shape:
            raise ParameterError(
                f"frame {self.count} has shape {arr.shape}, but frame 0 had shape {self._shape}; "
                f"every frame must have the first frame's size"
            )
        # Converted here, not by encode(): with encode()'s own conversion libx264 made another
        # picture from the same frames about one run in eight (same bytes in, not out).
        rgb = av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")
        vf = rgb.reformat(format=self.video.pix_fmt)
        vf.pts = self.count
        vf.time_base = Fraction(1) / self.rate
        self._mux(self.video.encode(vf))
        self.count += 1
        self._feed_sound(min(self.samples, int(Fraction(self.count) / self.rate * self.audio_rate)))

    def _feed_sound(self, until: int) -> None:
        """The sound up to sample `until` (the video's time so far: the muxer interleaves the
        two as they come, so neither is held whole); at the end, the encoder flushed."""
        src, av = self._sound, self.av
        if src is None:
            return
        layout = "mono" if src.channels == 1 else "stereo"
        while self._fed < until:
            want = min(1 << 14, until - self._fed)
            chunk = None if self._ended else src.read(want)
            if chunk is None:  # shorter than the video: silence
                self._ended = True
                chunk = np.zeros((want, src.channels), np.float32)
            data = np.ascontiguousarray(chunk, np.float32).reshape(1, -1)
            af = av.AudioFrame.from_ndarray(data, format="flt", layout=layout)
            af.sample_rate = src.rate
            af.pts = self._fed
            af.time_base = Fraction(1, src.rate)
            self._mux(self.audio.encode(af))
            self._fed += chunk.shape[0]
        if self._fed >= self.samples:
            self._mux(self.audio.encode(None))
            src.close()
            self._sound = None

    def _mux(self, packets: Any) -> None:
        for p in packets:
            self.out.mux(p)

    def close(self) -> None:
        if self.video is None:
            raise ParameterError(f"write_videofile: no frame was written to {self.path!r}")
        self._feed_sound(self.samples)
        self._mux(self.video.encode(None))
        self.out.close()

    def abort(self) -> None:
        if self._sound is not None:
            self._sound.close()
        try:
            self.out.close()
        except Exception:  # noqa: BLE001 - the original error is the one worth raising
            pass


def _rgb8(arr: np.ndarray) -> np.ndarray:
    """Gray, RGBA, bool or float frames as uint8 RGB (as the engine converts them)."""
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    elif arr.dtype != np.uint8:
        arr = np.clip(np.rint(np.asarray(arr, np.float64) * 255), 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    return arr[:, :, :3]


def _frames_in_order(frames: Any, n: int, rate: Fraction, kwargs: dict, write: Any) -> None:
    """Give `write` frames 0..n-1 in order, rendered in this process.

    Not on worker processes: with frames rendered there, the same frames reached libx264
    (checked: every plane byte, pts and time base) and an .mkv still came out different in
    about one run of eight; rendered here it did not in any run. The cause is not found yet;
    until it is, these containers are rendered serially so that same inputs give same bytes."""
    workers = kwargs.get("workers")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ParameterError(f"write_videofile: workers must be a positive integer, got {workers!r}")
    if (workers is not None and workers > 1) or kwargs.get("executor") is not None:
        warn(
            "write_videofile: frames for this container are rendered in this process; "
            "workers= and executor= apply to MP4 and GIF"
        )
    prog = Progress(n, kwargs.get("progress"), kwargs.get("progress_callback"))
    try:
        for i in range(n):
            write(frames(float(Fraction(i) / rate)))
            prog.update(0, i + 1)
    finally:
        prog.close()
