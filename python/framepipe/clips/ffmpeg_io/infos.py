"""MoviePy's ``ffmpeg_parse_infos`` (``moviepy.video.io.ffmpeg_reader``), built from PyAV's probe of
the file (libavformat, in-process) instead of the text ``ffmpeg -i`` prints: the same dict, with
the values ffmpeg would print, as MoviePy's parser reads them:

* ``duration``: the container's, rounded to centiseconds (ffmpeg prints ``HH:MM:SS.cc``);
  ``start`` its start time (microseconds); ``bitrate`` its bit rate in kb/s (``None`` if unknown).
* ``inputs[0]["streams"]``: one dict a stream (``input_number``, ``stream_number``,
  ``stream_type``, ``language`` (``None`` for "und"), ``default``, and for video ``size`` (coded
  width, height), ``fps`` (avg_frame_rate, else the base rate "tbr", formatted and rounded as ffmpeg
  prints it, then 23.976-style rates made exact as MoviePy does), ``bitrate``, ``codec_name``,
  ``profile`` (``"(High)"``, with ffmpeg's parentheses); for audio ``fps`` (sample rate) and
  ``bitrate``; ``metadata`` where the stream has tags, except ``language``, as ffmpeg shows them).
* The first stream of each type flagged default is the default one; a type with none flagged has its
  first stream made default (as MoviePy). ``video_*`` / ``audio_*`` come from the default streams.
* ``video_n_frames`` is MoviePy's ``int(duration * video_fps)`` (not the exact count: see
  ``VideoFileClip``'s reader), ``video_duration`` the file's duration.
* ``video_rotation``: minus the display matrix's angle (as MoviePy reads ffmpeg 7's
  "displaymatrix: rotation of -90.00 degrees": 90), present only where the file has one; it is
  read from the first decoded frame. (ffmpeg 5.1 prints it as "Display Matrix" stream metadata,
  which MoviePy does not read: there MoviePy gives no video_rotation.)
* ``decode_file=True``: MoviePy decodes the whole file with ffmpeg to time its end; here every
  packet is read (demuxed, not decoded) and the duration is where the last one ends.
* ``chapters``: where the file has any, with ``start``, ``end`` and ``metadata``.
"""

from __future__ import annotations

import errno
import math
import os
from fractions import Fraction
from typing import Any

from ..._pyav import import_av, libav_reason
from ...errors import DecodeError, ParameterError

_AV_TIME_BASE = 1_000_000


def _printed_rate(rate: Fraction) -> float:
    """A frame rate as ffmpeg prints it ("29.97", "25", "90k") and MoviePy reads it back."""
    d = float(rate)
    v = round(d * 100)
    if v == 0:
        return round(d, 4)
    if v % 100:
        return round(d, 2)
    if v % (100 * 1000):
        return float(round(d))
    return float(round(d / 1000) * 1000)


def _moviepy_fps(fps: float) -> float:
    coef = 1000.0 / 1001.0
    for x in (23, 24, 25, 30, 50):
        if fps != x and abs(fps - x * coef) < 0.01:
            return x * coef
    return fps


def _video_fps(stream: Any, fps_source: str) -> float | None:
    avg = stream.average_rate if stream.average_rate else None
    tbr = stream.base_rate if stream.base_rate else None
    order = (avg, tbr) if fps_source == "fps" else (tbr, avg)
    for rate in order:
        if rate:
            return _moviepy_fps(_printed_rate(Fraction(rate)))
    return None


def _tags(metadata: Any) -> dict[str, str]:
    return {k: v for k, v in dict(metadata).items() if k != "language"}


def _stream_info(stream: Any, fps_source: str) -> dict[str, Any]:
    language = stream.metadata.get("language")
    info: dict[str, Any] = {
        "input_number": 0,
        "stream_number": stream.index,
        "stream_type": stream.type,
        "language": None if language in (None, "und") else language,
        "default": False,
    }
    ctx = stream.codec_context
    bitrate = (stream.bit_rate or (ctx.bit_rate if ctx is not None else 0) or 0) // 1000 or None
    if stream.type == "video":
        if ctx is not None and ctx.width and ctx.height:
            info["size"] = [ctx.width, ctx.height]
        info["bitrate"] = bitrate
        info["fps"] = _video_fps(stream, fps_source)
        info["codec_name"] = ctx.name if ctx is not None else None
        profile = ctx.profile if ctx is not None else None
        info["profile"] = f"({profile})" if profile else None
    elif stream.type == "audio":
        info["fps"] = stream.sample_rate if stream.sample_rate else "unknown"
        info["bitrate"] = bitrate
    tags = _tags(stream.metadata)
    if tags:
        info["metadata"] = tags
    return info


def _rotation(container: Any, stream: Any) -> float | None:
    """The first frame's display rotation (degrees counter-clockwise), None without one."""
    try:
        for frame in container.decode(stream):
            rotation = frame.rotation
            return float(rotation) if rotation else None
    except Exception:  # a file libav cannot decode still has its infos (as ffmpeg -i)
        return None
    return None


def _decoded_duration(container: Any) -> float | None:
    """Where the last packet of any stream ends, in seconds from the file's start."""
    start = (container.start_time or 0) / _AV_TIME_BASE
    end = None
    for packet in container.demux():
        if packet.pts is None or packet.time_base is None:
            continue
        t = float((packet.pts + (packet.duration or 0)) * packet.time_base)
        end = t if end is None else max(end, t)
    # ffmpeg's "time=" is truncated to centiseconds
    return None if end is None else math.floor(round((end - start) * 100, 6)) / 100


def ffmpeg_parse_infos(
    filename: Any,
    check_duration: bool = True,
    fps_source: str = "fps",
    decode_file: bool = False,
    print_infos: bool = False,
) -> dict[str, Any]:
    """MoviePy's dict of what `filename` holds (see the module's documentation)."""
    if fps_source not in ("fps", "tbr"):
        raise ParameterError(f"ffmpeg_parse_infos: fps_source must be 'fps' or 'tbr', got {fps_source!r}")
    path = os.fsdecode(os.fspath(filename))
    if not os.path.exists(path):
        raise FileNotFoundError(errno.ENOENT, f"'{path}' not found", path)
    av = import_av("reading media files' infos")
    try:
        container = av.open(path, metadata_errors="replace")
    except av.error.FFmpegError as e:
        raise DecodeError(f"{path!r} is not a media file libav can read: {libav_reason(e)}") from e
    try:
        result: dict[str, Any] = {"video_found": False, "audio_found": False, "metadata": _tags(container.metadata)}
        if check_duration and container.duration is not None:
            duration = container.duration + 5000  # ffmpeg prints it rounded to centiseconds
            result["duration"] = (duration - duration % 10_000) / _AV_TIME_BASE
        result["bitrate"] = container.bit_rate // 1000 if container.bit_rate else None
        result["start"] = round(abs(container.start_time or 0) / _AV_TIME_BASE, 6)
        streams = [_stream_info(s, fps_source) for s in container.streams]
        defaults: dict[str, dict[str, Any]] = {}
        for s, info in zip(container.streams, streams):
            if info["stream_type"] not in defaults and int(s.disposition) & 1:
                info["default"] = True
                defaults[info["stream_type"]] = info
        for info in streams:
            if info["stream_type"] not in defaults:
                info["default"] = True
                defaults[info["stream_type"]] = info
        inputs: dict[str, Any] = {"input_number": 0, "streams": streams}
        chapters = container.chapters() if hasattr(container, "chapters") else []
        if chapters:
            inputs["chapters"] = [
                {
                    "input_number": 0,
                    "chapter_number": i,
                    "start": float(c["start"] * c["time_base"]),
                    "end": float(c["end"] * c["time_base"]),
                    "metadata": _tags(c.get("metadata", {})),
                }
                for i, c in enumerate(chapters)
            ]
        result["inputs"] = [inputs]
        for kind, info in defaults.items():
            result[f"default_{kind}_input_number"] = 0
            result[f"default_{kind}_stream_number"] = info["stream_number"]
            if kind == "audio":
                result.update(audio_found=True, audio_fps=info["fps"], audio_bitrate=info["bitrate"])
            elif kind == "video":
                result.update(
                    video_found=True,
                    video_size=info.get("size"),
                    video_bitrate=info.get("bitrate"),
                    video_fps=info["fps"],
                    video_codec_name=info.get("codec_name"),
                    video_profile=info.get("profile"),
                )
        if result["video_found"]:
            rotation = _rotation(container, container.streams[defaults["video"]["stream_number"]])
            if rotation is not None:  # how the picture is turned: minus the matrix's angle
                result["video_rotation"] = -rotation
        if decode_file:
            container.seek(0)
            decoded = _decoded_duration(container)
            if decoded is not None:
                result["duration"] = decoded
        if result["video_found"] and check_duration and "duration" in result:
            result["video_duration"] = result["duration"]
            result["video_n_frames"] = int(result["duration"] * (result.get("video_fps") or 0))
        else:
            result["video_n_frames"] = 0
            result["video_duration"] = 0.0
        if result["audio_found"] and not result.get("audio_bitrate"):
            result["audio_bitrate"] = next(
                (s["bitrate"] for s in streams if s["stream_type"] == "audio" and s.get("bitrate")), None
            )
    finally:
        container.close()
    if print_infos:
        print(result)
    return result
