"""Sound from arrays and files, and mixes: `AudioArrayClip`, `AudioFileClip`,
`CompositeAudioClip`, `concatenate_audioclips` (MoviePy 2's). Samples are looked up and mixed
with numpy over whole arrays of times."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..._audio import FileSource, as_samples
from ..._keywords import checked
from ..._pyav import import_av
from ...errors import ParameterError
from ._clip import AudioClip
from ._samples import LazyTimes, check_fps, times


def _lookup(array: np.ndarray, fps: float) -> Any:
    """The samples of `array` at times tt: sample round(fps * t), silence outside (MoviePy's)."""
    n, nch = array.shape

    def samples(tt: np.ndarray) -> np.ndarray:
        idx = np.round(fps * tt).astype(np.int64)
        inside = (idx >= 0) & (idx < n)
        if inside.all():
            return array[idx].astype(np.float64, copy=False)
        out = np.zeros((tt.shape[0], nch))
        out[inside] = array[idx[inside]]
        return out

    return samples


def _array_grid(clip: Any, tt: np.ndarray, i0: int, rate: float) -> np.ndarray:
    """An array clip's samples on a grid at its own rate: sample i0 + k at time k, a slice
    (silence outside the array); other rates go through the times."""
    array = clip.array
    if array is None:  # an AudioFileClip unpickled
        array = clip.array = clip._decode()
    if rate != clip.fps:
        return _lookup(array, clip.fps)(times(tt))
    n, size = tt.shape[0], array.shape[0]
    if 0 <= i0 and i0 + n <= size:
        return array[i0 : i0 + n]
    out = np.zeros((n, array.shape[1]), np.result_type(array.dtype, np.float64))
    a, b = max(i0, 0), min(i0 + n, size)
    if a < b:
        out[a - i0 : b - i0] = array[a:b]
    return out


def _array_add(clip: Any, dst: np.ndarray, tt: Any, i0: int, rate: float, scratch: np.ndarray) -> None:
    """``dst += _array_grid(...)``: the array's slice added as it is."""
    dst += _array_grid(clip, tt, i0, rate)


class AudioArrayClip(AudioClip):
    """A sound from an array: ``(n,)`` (mono) or ``(n, channels)`` of floats in [-1, 1], played
    at `fps` samples a second."""

    def __init__(self, array: Any, fps: float):
        super().__init__()
        arr = np.asarray(array)
        if arr.dtype.kind not in "fiu" or arr.ndim not in (1, 2) or arr.shape[0] == 0:
            raise ParameterError(
                f"AudioArrayClip: array must be a non-empty (n,) or (n, channels) array of numbers, got "
                f"{type(array).__name__} of shape {np.shape(array)}"
            )
        # (a finite sum: every sample finite, one pass without a temporary array)
        if arr.dtype.kind == "f" and not np.isfinite(arr.sum()) and not np.isfinite(arr).all():
            bad = int(np.flatnonzero(~np.isfinite(arr).reshape(arr.shape[0], -1).all(axis=1))[0])
            raise ParameterError(f"AudioArrayClip: sample {bad} is not finite ({arr[bad]!r})")
        self.array = arr if arr.ndim == 2 else arr.reshape(-1, 1)
        self.fps = check_fps(fps, "AudioArrayClip")
        self.nchannels = int(self.array.shape[1])
        self.duration = self.end = self.array.shape[0] / self.fps
        self._name = f"AudioArrayClip({self.array.shape[0]} samples)"
        self._fn = _lookup(self.array, self.fps)
        self._gridfn = _array_grid
        self._addfn = _array_add


class AudioFileClip(AudioClip):
    """The sound of a file (WAV, MP3, FLAC, M4A, OGG, a video's sound track: any PyAV reads),
    decoded in-process and resampled to `fps`. ``buffersize`` and ``nbytes`` are MoviePy's and
    have no effect: the samples are decoded once, as floats."""

    def __init__(
        self,
        filename: str | os.PathLike[str],
        decode_file: bool = False,
        buffersize: int = 200000,
        nbytes: int = 2,
        fps: int = 44100,
    ):
        super().__init__()
        self.filename = os.fsdecode(filename)
        self._source_files = (self.filename,)  # a write onto it is refused (_render.output)
        self.fps = rate = check_fps(fps, "AudioFileClip")
        if not rate.is_integer():
            raise ParameterError(f"AudioFileClip: fps must be a whole number of Hz, got {fps!r}")
        self.buffersize, self.nbytes = buffersize, nbytes
        self._file_fps = rate
        src = FileSource(self.filename, rate=int(rate))  # opened: the format, not the samples
        try:
            self.nchannels = int(src.channels)
            self._declared = _declared_duration(src)
        finally:
            src.close()
        self.array: np.ndarray | None = None
        if self._declared is None:
            self.array = self._decode()
            n = self.array.shape[0]
        else:  # decoded when first used: a VideoFileClip read for its frames only never is
            n = max(1, round(self._declared * rate))
        self.duration = self.end = n / rate
        self._name = f"AudioFileClip({os.path.basename(self.filename)!r})"
        self._gridfn = _array_grid
        self._addfn = _array_add

    def _decode(self) -> np.ndarray:
        src = FileSource(self.filename, rate=int(self._file_fps))
        try:
            parts = []
            while (chunk := src.read(1 << 20)) is not None:
                parts.append(chunk)
        finally:
            src.close()
        data = np.concatenate(parts) if parts else np.zeros((0, src.channels), np.float32)
        if self._declared is not None:
            # The decoders give the last packet whole, past the track's end (its edit list's):
            # the sound is the track's duration long, as ffprobe reports it.
            data = data[: max(1, round(self._declared * self._file_fps))]
        return as_samples(data, src.channels, self.filename)

    def _samples(self, tt: np.ndarray) -> np.ndarray:
        if self._fn is not None:  # a clip derived from the file's (its function reads that one)
            return super()._samples(tt)
        if self.array is None:  # unpickled: decoded again where it is used
            self.array = self._decode()
        return _lookup(self.array, self._file_fps)(tt)

    def __getstate__(self) -> dict:
        """Pickled without the samples (a render's workers, which draw frames only, get the
        file's name): decoded again where they are used."""
        state = self.__dict__.copy()
        state["array"] = None
        return state

    def close(self) -> None:
        """Nothing to release: the file is read whole when the clip is made."""


class CompositeAudioClip(AudioClip):
    """Clips played together, each from its ``start`` (``with_start``), summed (not clipped:
    values over 1 are clipped when written). Its duration is the latest end (none if a clip has
    none); a mono clip in a stereo mix plays on both channels."""

    def __init__(self, clips: Sequence[AudioClip]):
        super().__init__()
        clips = list(clips) if isinstance(clips, (list, tuple)) else clips
        if not isinstance(clips, list) or not clips or not all(isinstance(c, AudioClip) for c in clips):
            raise ParameterError(f"CompositeAudioClip: clips must be a non-empty list of audio clips, got {clips!r}")
        self.clips = clips
        self.nchannels = max(c.nchannels for c in clips)
        for i, c in enumerate(clips):
            if c.nchannels not in (1, self.nchannels):
                raise ParameterError(
                    f"CompositeAudioClip: clip {i} ({c._name}) has {c.nchannels} channels and another "
                    f"{self.nchannels}; mix mono clips with clips of one channel count"
                )
        ends = [c.end for c in clips]
        self.duration = self.end = None if any(e is None for e in ends) else max(e for e in ends if e is not None)
        fpss = [c.fps for c in clips if c.fps is not None]
        self.fps = max(fpss) if fpss else None
        self._name = f"CompositeAudioClip({len(clips)} clips)"
        nch = self.nchannels
        layers = [(c, c.start, c.end) for c in clips]

        def samples(tt: np.ndarray) -> np.ndarray:
            out = np.zeros((tt.shape[0], nch))
            if not tt.shape[0]:
                return out
            lo, hi = tt.min(), tt.max()
            ordered = tt.shape[0] < 2 or bool((tt[1:] >= tt[:-1]).all())
            for clip, start, end in layers:
                if (end is not None and lo > end) or hi < start:
                    continue
                if ordered:  # a slice of the times: the usual case, and the cheapest
                    a = int(np.searchsorted(tt, start, "left"))
                    b = tt.shape[0] if end is None else int(np.searchsorted(tt, end, "right"))
                    if a < b:
                        out[a:b] += clip._samples(tt[a:b] - start)
                else:
                    sel = np.flatnonzero((tt >= start) & ((tt <= end) if end is not None else True))
                    if sel.size:
                        out[sel] += clip._samples(tt[sel] - start)
            return out

        self._fn = samples
        self._gridfn = mix = _MixGrid(layers, nch)
        self._addfn = mix.add

    @property
    def starts(self) -> list[float]:
        return [c.start for c in self.clips]

    @property
    def ends(self) -> list[float | None]:
        return [c.end for c in self.clips]

    def close(self) -> None:
        for c in self.clips:
            c.close()


class _MixGrid:
    """A CompositeAudioClip's samples on a grid: as its `samples`, each clip asked for its part
    of the grid (a clip that starts on a sample of it is on the grid too: its local times are
    (i0 + k - start * rate) / rate, computed only if that clip needs them). `add` adds the mix
    into a given array, each clip's part in place (no array per clip where it can)."""

    def __init__(self, layers: list[tuple[AudioClip, float, float | None]], nchannels: int):
        self.layers, self.nchannels = layers, nchannels

    def __call__(self, clip: Any, tt: Any, i0: int, rate: float) -> np.ndarray:
        tt = times(tt)
        out = np.zeros((tt.shape[0], self.nchannels))
        self.add(clip, out, tt, i0, rate, np.empty_like(out))
        return out

    def add(self, clip: Any, dst: np.ndarray, tt: Any, i0: int, rate: float, scratch: np.ndarray) -> None:
        tt = times(tt)
        for layer, start, end in self.layers:
            a = int(np.searchsorted(tt, start, "left"))
            b = tt.shape[0] if end is None else int(np.searchsorted(tt, end, "right"))
            if a >= b:
                continue
            s = start * rate
            if abs(s - round(s)) < 1e-6:
                layer._add_grid(dst[a:b], LazyTimes(tt, a, b, start), i0 + a - round(s), rate, scratch)
            else:
                dst[a:b] += layer._samples(tt[a:b] - start)


@checked
def concatenate_audioclips(clips: Sequence[AudioClip]) -> CompositeAudioClip:
    """The clips one after the other."""
    clips = list(clips) if isinstance(clips, (list, tuple)) else clips
    if not isinstance(clips, list) or not clips or not all(isinstance(c, AudioClip) for c in clips):
        raise ParameterError(f"concatenate_audioclips: give a non-empty list of audio clips, got {clips!r}")
    for i, c in enumerate(clips):
        if c.duration is None:
            raise ParameterError(f"concatenate_audioclips: clip {i} ({c._name}) has no duration")
    starts = np.cumsum([0.0, *[c.duration for c in clips]])
    mix = CompositeAudioClip([c.with_start(float(t)) for c, t in zip(clips, starts[:-1])])
    return mix.with_duration(float(starts[-1]))


# Containers whose audio stream states its exact duration (MP4's edit list, WAV's and FLAC's
# sample counts, Ogg's granule positions, Matroska's): elsewhere (MP3, ADTS) it is an estimate.
_EXACT_DURATION = ("mov", "mp4", "m4a", "wav", "flac", "ogg", "matroska", "webm")


def _declared_duration(src: FileSource) -> float | None:
    """The duration an opened file's audio stream states, where it is exact (else None)."""
    stream = src._stream
    names = set(str(src._container.format.name).split(","))
    if not stream.duration or not stream.time_base or not names & set(_EXACT_DURATION):
        return None
    return float(stream.duration * stream.time_base)


def video_sound(filename: str, fps: Any, buffersize: int, nbytes: int) -> AudioClip | None:
    """The sound track of a video file as a clip on the video's timeline (None if it has
    none): its first sample plays at its stream's start time, counted from the video stream's
    (as the frames are, from the first frame's)."""
    av = import_av("reading a video's sound")
    with av.open(filename, mode="r", metadata_errors="replace") as container:
        if not container.streams.audio:
            return None
        offset = _start(container.streams.audio[0])
        if container.streams.video:
            offset -= _start(container.streams.video[0])
    sound: AudioClip = AudioFileClip(filename, buffersize=buffersize, nbytes=nbytes, fps=fps)
    if abs(offset) * sound.fps >= 0.5:  # type: ignore[operator]
        d = sound.duration
        sound = sound.time_transform(lambda t: t - offset).with_duration(d)
    return sound


def _start(stream: Any) -> float:
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)
