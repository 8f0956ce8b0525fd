"""Writing sound: WAV with Python's ``wave`` (PCM, quantized as MoviePy's writer), other formats
encoded in-process by libav (PyAV); and the ``<audio controls>`` element for notebooks."""

from __future__ import annotations

import base64
import html as _html
import io
import numbers
import os
import wave
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

from ..._pyav import import_av
from ..._render.output import atomic_output, check_output_path, refuse_own_source
from ..._render.pool import signals_deferred, signals_unwind
from ..._warn import warn
from ...errors import ParameterError
from ._samples import check_fps

if TYPE_CHECKING:
    from ._clip import AudioClip

# Codec names (MoviePy's, ffmpeg's) -> (libav encoder, container format, sample format).
_ENCODED = {
    "aac": ("aac", "mp4", "fltp"),
    "libfdk_aac": ("aac", "mp4", "fltp"),
    "libmp3lame": ("libmp3lame", "mp3", "fltp"),
    "mp3": ("libmp3lame", "mp3", "fltp"),
    "libopus": ("libopus", "ogg", "flt"),
    "opus": ("libopus", "ogg", "flt"),
    "flac": ("flac", "flac", "s32"),
}
_PCM = {"pcm_s16le": 2, "pcm_s32le": 4, "raw16": 2, "raw32": 4}
_BY_EXTENSION = {
    "wav": "pcm_s16le",
    "m4a": "aac",
    "mp4": "aac",
    "aac": "aac",
    "mp3": "libmp3lame",
    "ogg": "libopus",
    "opus": "libopus",
    "flac": "flac",
}
_CONTAINER_BY_EXTENSION = {"m4a": "mp4", "mp4": "mp4", "aac": "adts", "ogg": "ogg", "opus": "ogg", "mp3": "mp3"}
ALLOWED = "WAV (pcm_s16le, pcm_s32le), AAC (.m4a, .mp4, .aac), MP3 (libmp3lame), Opus (.opus, .ogg) or FLAC"


def _codec_for(filename: str, codec: Any) -> str:
    ext = os.path.splitext(filename)[1][1:].lower()
    if codec is None:
        if ext not in _BY_EXTENSION:
            raise ParameterError(
                f"write_audiofile: no codec for the extension {('.' + ext) if ext else '(none)'!r} of {filename!r}; "
                f"framepipe writes {ALLOWED}: use such an extension or pass codec="
            )
        return _BY_EXTENSION[ext]
    if codec not in _ENCODED and codec not in _PCM:
        raise ParameterError(
            f"write_audiofile: codec {codec!r} is not one framepipe writes; allowed: "
            f"{', '.join(sorted([*_ENCODED, *_PCM]))} ({ALLOWED})"
        )
    return str(codec)


def _kbits(bitrate: Any) -> int | None:
    """MoviePy's bitrate "128k" (or bit/s as a number, or "128000") in bit/s."""
    if bitrate is None:
        return None
    if isinstance(bitrate, numbers.Real) and not isinstance(bitrate, bool):
        value = float(bitrate)
    elif isinstance(bitrate, str):
        t = bitrate.strip().lower()
        scale = {"k": 1e3, "m": 1e6}.get(t[-1:], 1.0)
        try:
            value = float(t[:-1] if t[-1:] in "km" else t) * scale
        except ValueError:
            value = float("nan")
    else:
        value = float("nan")
    if not 1000 <= value < 1e10:  # NaN and infinity too
        raise ParameterError(
            f"write_audiofile: bitrate must be at least 1000 bit/s, e.g. '128k', got {bitrate!r}"
            + (f" (a number without 'k' is bit/s, as for ffmpeg; did you mean '{bitrate}k'?)" if value > 0 else "")
        )
    return int(value)


def _pcm(snd: np.ndarray, nbytes: int) -> np.ndarray:
    """Quantized as MoviePy's writer: clipped to +-0.99, scaled to 2**(8 nbytes - 1), truncated."""
    inttype = {2: np.int16, 4: np.int32}[nbytes]
    return (2 ** (8 * nbytes - 1) * np.clip(snd, -0.99, 0.99)).astype(inttype)


#: The most sound (float64 samples) made in memory at once to write or show a clip's sound.
MAX_SOUND_BYTES = 8 * 2**30


def sound_of(clip: AudioClip, rate: float, what: str) -> np.ndarray:
    """The whole clip at `rate`: int(rate * duration) samples (MoviePy's writer's count)."""
    duration = clip._need_duration(what)
    n = int(rate * duration)
    need = n * clip.nchannels * 8
    if need > MAX_SOUND_BYTES:
        raise ParameterError(
            f"{what}: {clip._name} is {duration:g} s at {rate:g} Hz: {n} samples of {clip.nchannels} channel(s), "
            f"{need / 2**30:.1f} GiB as float64, over the {MAX_SOUND_BYTES / 2**30:g} GiB held in memory here"
        )
    out = np.empty((n, clip.nchannels))
    step = 1 << 16
    for a in range(0, n, step):
        b = min(n, a + step)
        out[a:b] = clip._grid((1.0 / rate) * np.arange(a, b), a, rate)
    if not np.isfinite(out).all():
        bad = int(np.flatnonzero(~np.isfinite(out).all(axis=1))[0])
        raise ParameterError(f"{what}: {clip._name}'s sample {bad} (t={bad / rate:g} s) is not finite")
    return out


def write_wav(target: Any, snd: np.ndarray, rate: int, nbytes: int) -> None:
    with wave.open(target, "wb") as f:
        f.setnchannels(snd.shape[1])
        f.setsampwidth(nbytes)
        f.setframerate(rate)
        f.writeframes(np.ascontiguousarray(_pcm(snd, nbytes).astype(f"<i{nbytes}")).tobytes())


def write_audiofile(
    clip: AudioClip,
    filename: Any,
    fps: Any,
    nbytes: int,
    buffersize: int,
    codec: Any,
    bitrate: Any,
    ffmpeg_params: Any,
) -> None:
    filename = os.fsdecode(filename)
    rate_f = check_fps(fps if fps else (clip.fps or 44100), "write_audiofile")
    if not rate_f.is_integer():
        raise ParameterError(f"write_audiofile: fps must be a whole number of Hz, got {fps!r}")
    rate = int(rate_f)
    if not 1 <= rate <= 768000:
        raise ParameterError(f"write_audiofile: fps must be from 1 to 768000 Hz, got {fps!r}")
    codec = _codec_for(filename, codec)
    if ffmpeg_params:
        warn(f"write_audiofile: ffmpeg_params={ffmpeg_params!r} ignored: framepipe runs no ffmpeg")
    width = 0
    if codec in _PCM:
        width = _PCM[codec] if codec != "pcm_s16le" or nbytes == 2 else nbytes
        if width not in (2, 4):
            raise ParameterError(f"write_audiofile: nbytes must be 2 or 4 for WAV, got {nbytes!r}")
    kbits = None if codec in _PCM else _kbits(bitrate)
    check_output_path(filename)
    # Never over a file the sound is read from (whatever name points at it), and through a
    # temporary beside the output, renamed over it only when complete: a failed or interrupted
    # write leaves an existing file as it was.
    refuse_own_source(filename, "write_audiofile", clip)
    snd = sound_of(clip, rate, "write_audiofile")
    with signals_unwind(), atomic_output(filename, signals_deferred) as tmp:
        if codec in _PCM:
            write_wav(tmp.path, snd, rate, width)
        else:
            _encode(tmp.path, os.path.splitext(filename)[1], snd, rate, codec, kbits)


def _encode(filename: str, extension: str, snd: np.ndarray, rate: int, codec: str, bitrate: int | None) -> None:
    """Encode with libav (PyAV) into `filename`, in the container of `extension` (the output's:
    `filename` is its temporary)."""
    av = import_av("writing compressed sound")
    encoder, fmt, sample_fmt = _ENCODED[codec]
    ext = extension[1:].lower()
    fmt = _CONTAINER_BY_EXTENSION.get(ext, fmt)
    if snd.shape[1] > 2 and encoder != "flac":
        raise ParameterError(f"write_audiofile: {codec} is written in mono or stereo here; the clip has {snd.shape[1]}")
    layout = "mono" if snd.shape[1] == 1 else "stereo" if snd.shape[1] == 2 else f"{snd.shape[1]}c"
    out_rate = 48000 if encoder == "libopus" else rate
    # bitexact: no random stream serial (Ogg) or encoder version, so the same sound gives the
    # same bytes.
    with av.open(filename, mode="w", format=fmt, options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream(encoder, rate=out_rate, layout=layout)
        if bitrate is not None:
            stream.bit_rate = bitrate
        resampler = av.AudioResampler(format=sample_fmt, layout=layout, rate=out_rate)
        data = np.clip(snd, -1.0, 1.0).astype(np.float32)
        step = 4096
        for a in range(0, max(1, data.shape[0]), step):
            piece = np.ascontiguousarray(data[a : a + step]).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(piece, format="flt", layout=layout)
            frame.sample_rate = rate
            frame.pts = a
            for f in resampler.resample(frame):
                for packet in stream.encode(f):
                    container.mux(packet)
        for f in resampler.resample(None):
            for packet in stream.encode(f):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def wav_bytes(clip: AudioClip, fps: Any, maxduration: float | None) -> bytes:
    rate = int(check_fps(fps or clip.fps or 44100, "display_in_notebook"))
    duration = clip._need_duration("display_in_notebook")
    if maxduration is not None and duration > maxduration:
        raise ParameterError(
            f"the sound is {duration:g} s long, over maxduration={maxduration:g} s; write it to a file instead"
        )
    buf = io.BytesIO()
    write_wav(buf, sound_of(clip, rate, "display_in_notebook"), rate, 2)
    return buf.getvalue()


class AudioAttributes(TypedDict, total=False):
    """The ``<audio>`` element's attributes that ``display_in_notebook`` takes as keywords
    (MoviePy's ``html_kwargs``): written into the element, ``True`` as a bare attribute."""

    autoplay: bool
    loop: bool
    muted: bool
    preload: str
    style: str
    title: str
    id: str


def audio_html(data: bytes, attributes: dict[str, Any] | None = None) -> str:
    b64 = base64.b64encode(data).decode("ascii")
    extra = ""
    for name, value in (attributes or {}).items():
        if value is True:
            extra += f" {name}"
        elif value not in (False, None):
            extra += f' {name}="{_html.escape(str(value))}"'
    return f'<audio controls{extra} src="data:audio/wav;base64,{b64}"></audio>'


class AudioHTML:
    """An ``<audio controls>`` element that Jupyter shows (``_repr_html_``)."""

    def __init__(self, data: bytes, attributes: dict[str, Any] | None = None):
        self.data = data
        self.attributes = attributes

    def _repr_html_(self) -> str:
        return audio_html(self.data, self.attributes)


def display(clip: AudioClip, fps: Any, maxduration: float | None, attributes: dict[str, Any]) -> AudioHTML:
    return AudioHTML(wav_bytes(clip, fps, maxduration), attributes)


def html(clip: AudioClip) -> str:
    try:
        return audio_html(wav_bytes(clip, None, 60))
    except ParameterError as e:
        warn(f"cannot show the sound: {e}")
        return f"<pre>{clip!r}</pre>"
