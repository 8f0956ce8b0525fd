"""`AudioClip`: sound as a function of time (MoviePy 2's model).

A clip's samples come from a function of an array of times: ``get_frame(tt)`` with ``tt`` an
array of n times gives an ``(n, nchannels)`` array of floats in [-1, 1] (a scalar t gives
``(nchannels,)``). Every transformation (volume, fades, time changes, mixing) works on whole
arrays of times at once, never sample by sample in Python. Every ``with_*`` method returns a
new clip."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Self, Unpack

import numpy as np

from ..._keywords import KeywordsChecked
from ...errors import ParameterError
from .. import _player
from .._time import T_SLACK, seconds, seconds_or_none
from . import _write
from ._samples import check_fps, shaped, times

SampleFunction = Callable[[np.ndarray], np.ndarray]
GridFunction = Callable[[Any, Any, int, float], np.ndarray]
# Samples computed per chunk of this many (to_soundarray): few Python steps, a chunk in cache.
CHUNK = 1 << 14


class AudioClip(KeywordsChecked):
    """A sound: ``AudioClip(frame_function, duration=2, fps=44100)`` where ``frame_function(t)``
    takes a time or an array of times and gives a value per time (mono) or a row of values per
    time (``np.array([left(t), right(t)]).T``), floats in [-1, 1]. As in MoviePy, it may instead
    give one row per channel (``[np.sin(t)]``, ``[left(t), right(t)]``: shape (channels, n) for
    n times); such a clip's ``get_frame(tt)`` and ``to_soundarray()`` then give that layout back,
    as MoviePy's do, while everything it is mixed into or written to reads it as those channels."""

    # [True] once the sound function has given (channels, n) arrays (shared by derived clips);
    # None for clips without a user's sound function.
    _layout: list[bool] | None = None
    # dst += the samples on a grid, `scratch` free to use (see `_add_grid`), or None: by `_grid`.
    _addfn: Callable[..., None] | None = None

    def __init__(
        self,
        frame_function: Callable[[Any], Any] | None = None,
        duration: float | None = None,
        fps: float | None = None,
        *,
        make_frame: Callable[[Any], Any] | None = None,
    ):
        fn = frame_function if frame_function is not None else make_frame
        self.start: float = 0.0
        self.duration: float | None = seconds_or_none(duration, "duration")
        if self.duration is not None and self.duration < 0:
            raise ParameterError(f"AudioClip: duration must not be negative, got {duration!r}")
        self.end: float | None = self.duration
        self.fps: float | None = None if fps is None else check_fps(fps, "AudioClip")
        self.nchannels = 1
        self._name = type(self).__name__
        self._fn: SampleFunction | None = None
        # Samples on a grid of times (`_grid`): None, or a faster way than `_fn` to the same values.
        self._gridfn: GridFunction | None = None
        if fn is not None:
            if not callable(fn):
                raise ParameterError(f"AudioClip: frame_function must be a function of t, got {type(fn).__name__}")
            self._name = f"AudioClip({getattr(fn, '__name__', 'frame_function')})"
            self._layout = [False]
            frame0 = np.asarray(fn(0.0))
            self.nchannels = int(frame0.reshape(-1).shape[0]) if frame0.ndim else 1
            self._fn = self._user_function(fn)

    def _user_function(self, fn: Callable[[Any], Any]) -> SampleFunction:
        name, nch, layout = self._name, self.nchannels, self._layout

        def samples(tt: np.ndarray) -> np.ndarray:
            try:
                out = fn(tt)
            except Exception as e:
                e.add_note(f"framepipe: raised by the sound function of {name} for t in [{_span(tt)}] s")
                raise
            return shaped(out, tt.shape[0], nch, name, layout)

        return samples

    # ---- samples ----------------------------------------------------------------------------

    def _samples(self, tt: np.ndarray) -> np.ndarray:
        """(n, nchannels) float64 samples at the local times tt (a 1-d float array)."""
        if self._fn is None:
            raise ParameterError(f"{self._name} has no sound function")
        if tt.shape[0] == 0:
            return np.zeros((0, self.nchannels))
        return self._fn(tt)

    def _grid(self, tt: np.ndarray, i0: int, rate: float) -> np.ndarray:
        """The samples at the times tt, which are (i0 + k) / rate up to float rounding (far less
        than a sample): the same values as ``_samples(tt)``, faster where the clip knows how
        (an array at its own rate is sliced, not indexed). Read-only: it may be a view."""
        if self._gridfn is None:
            return self._samples(times(tt))
        return self._gridfn(self, tt, i0, rate)

    def _add_grid(self, dst: np.ndarray, tt: Any, i0: int, rate: float, scratch: np.ndarray) -> None:
        """``dst += _grid(tt, i0, rate)`` (the same values), without a new array where the clip
        knows how; `scratch` is an array at least as large as `dst`, free to overwrite."""
        if self._addfn is None:
            dst += self._grid(tt, i0, rate)
        else:
            self._addfn(self, dst, tt, i0, rate, scratch)

    def get_frame(self, t: Any) -> np.ndarray:
        """The samples at time t (seconds from the clip's start): ``(nchannels,)`` for a number,
        ``(n, nchannels)`` for an array of n times."""
        if isinstance(t, np.ndarray) or isinstance(t, (list, tuple)) and not isinstance(t, str):
            tt = np.asarray(t, dtype=np.float64).reshape(-1)
            return self._as_given(self._samples(tt))
        if isinstance(t, str):
            t = seconds(t, "t")
        if isinstance(t, bool) or not isinstance(t, numbers.Real) or not math.isfinite(t):
            raise ParameterError(f"{self._name}: t must be a finite number of seconds, got {t!r}")
        return self._samples(np.array([float(t)]))[0]

    def _as_given(self, snd: np.ndarray) -> np.ndarray:
        """(n, channels) samples in the layout the sound function gives: (channels, n) for a
        function giving one row per channel (MoviePy returns those as they are)."""
        return snd.T if self._layout is not None and self._layout[0] else snd

    @property
    def frame_function(self) -> Callable[[Any], np.ndarray]:
        return self.get_frame

    def _rate(self, fps: Any, what: str) -> float:
        fps = self.fps if fps is None else fps
        if fps is None:
            raise ParameterError(f"{what}: {self._name} has no fps; pass fps= (e.g. fps=44100)")
        return check_fps(fps, what)

    def _need_duration(self, what: str) -> float:
        if self.duration is None:
            raise ParameterError(f"{what}: {self._name} has no duration; use with_duration() first")
        return self.duration

    def iter_chunks(
        self,
        chunksize: int | None = None,
        chunk_duration: float | None = None,
        fps: float | None = None,
        quantize: bool = False,
        nbytes: int = 2,
        logger: Any = None,
    ) -> Iterator[np.ndarray]:
        """The samples at `fps`, int(fps * duration) of them, in chunks (MoviePy's)."""
        rate = self._rate(fps, "iter_chunks")
        duration = self._need_duration("iter_chunks")
        if chunk_duration is not None:
            chunksize = int(chunk_duration * rate)
        if chunksize is None or isinstance(chunksize, bool) or not isinstance(chunksize, numbers.Real):
            raise ParameterError(f"iter_chunks: give chunksize= (samples) or chunk_duration= (s), got {chunksize!r}")
        if chunksize < 1:
            raise ParameterError(f"iter_chunks: chunksize must be at least 1 sample, got {chunksize!r}")
        total = int(rate * duration)
        nchunks = total // int(chunksize) + 1
        positions = np.linspace(0, total, nchunks + 1, endpoint=True, dtype=int)
        for a, b in zip(positions[:-1], positions[1:]):
            tt = (1.0 / rate) * np.arange(a, b)
            yield self.to_soundarray(tt, fps=rate, quantize=quantize, nbytes=nbytes)

    def to_soundarray(
        self,
        tt: Any = None,
        fps: float | None = None,
        quantize: bool = False,
        nbytes: int = 2,
        buffersize: int = 50000,
    ) -> np.ndarray:
        """The samples as an ``(n, nchannels)`` array: at the times `tt`, or at `fps` over the
        whole clip (as MoviePy: int(fps * duration) samples, or for a clip shorter than
        buffersize samples those of np.arange(0, duration, 1 / fps)). ``quantize=True`` gives
        integers of `nbytes` bytes (values clipped to +-0.99 first, as MoviePy)."""
        if nbytes not in (1, 2, 4):
            raise ParameterError(f"to_soundarray: nbytes must be 1, 2 or 4 (bytes per sample), got {nbytes!r}")
        if tt is None:
            rate = self._rate(fps, "to_soundarray")
            duration = self._need_duration("to_soundarray")
            if duration > buffersize / rate:
                n = int(rate * duration)
            else:
                n = len(np.arange(0, duration, 1.0 / rate))
            step = CHUNK  # (buffersize: MoviePy's chunks, which give the same samples)
            out = np.empty((n, self.nchannels))
            scratch = np.empty((min(n, step), self.nchannels)) if self._addfn is not None else out
            for a in range(0, n, step):
                b = min(n, a + step)
                tt = (1.0 / rate) * np.arange(a, b)
                if self._addfn is not None:  # a mix: added up in `out` itself
                    out[a:b] = 0.0
                    self._addfn(self, out[a:b], tt, a, rate, scratch)
                else:
                    out[a:b] = self._grid(tt, a, rate)
            snd = out
        else:
            snd = self._samples(np.asarray(tt, dtype=np.float64).reshape(-1))
        if quantize:
            inttype = {1: np.int8, 2: np.int16, 4: np.int32}[nbytes]
            snd = (2 ** (8 * nbytes - 1) * np.clip(snd, -0.99, 0.99)).astype(inttype)
        return self._as_given(snd)

    def max_volume(self, stereo: bool = False, chunksize: int = 50000, logger: Any = None) -> Any:
        """The largest absolute sample (per channel with ``stereo=True`` on a clip of 2+ channels)."""
        stereo = stereo and self.nchannels > 1
        maxi = np.zeros(self.nchannels)
        for chunk in self.iter_chunks(chunksize=chunksize, logger=logger):
            chunk = self._as_given(chunk)  # (n, channels) again
            if chunk.shape[0]:
                maxi = np.maximum(maxi, np.abs(chunk).max(axis=0))
        return maxi if stereo else float(maxi[0])

    # ---- time ---------------------------------------------------------------------------------

    def copy(self) -> Self:
        """A shallow copy (the attributes themselves, whatever pickling leaves out)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    def _derived(self, fn: SampleFunction) -> Self:
        new = self.copy()
        new._fn = fn
        new._gridfn = None
        new._addfn = None
        return new

    def with_duration(self, duration: Any, change_end: bool = True) -> Self:
        new = self.copy()
        new.duration = seconds_or_none(duration, "duration")
        if new.duration is not None and new.duration < 0:
            raise ParameterError(f"{self._name}: duration must not be negative, got {duration!r}")
        if change_end:
            new.end = None if new.duration is None else new.start + new.duration
        else:
            if new.duration is None or new.end is None:
                raise ParameterError(f"{self._name}.with_duration(change_end=False) needs a duration and an end")
            new.start = new.end - new.duration
        return new

    def with_start(self, t: Any, change_end: bool = True) -> Self:
        new = self.copy()
        new.start = seconds(t, "start")
        if new.duration is not None and change_end:
            new.end = new.start + new.duration
        elif new.end is not None:
            new.duration = new.end - new.start
        return new

    def with_end(self, t: Any) -> Self:
        new = self.copy()
        new.end = seconds_or_none(t, "end")
        if new.end is None:
            new.duration = None
        else:
            new.duration = new.end - new.start
        return new

    def with_fps(self, fps: float | None, change_duration: bool = False) -> Self:
        new = self.copy()
        new.fps = None if fps is None else check_fps(fps, "with_fps")
        return new

    def time_transform(
        self, time_func: Callable[[Any], Any], apply_to: Any = None, keep_duration: bool = False
    ) -> Self:
        """A clip whose samples at times tt are this clip's at ``time_func(tt)`` (`time_func`
        takes and gives arrays)."""
        src, name = self, self._name

        def samples(tt: np.ndarray) -> np.ndarray:
            u = np.asarray(time_func(tt), dtype=np.float64)
            if u.shape != tt.shape:
                u = np.broadcast_to(u, tt.shape)
            if not np.isfinite(u).all():
                raise ParameterError(f"{name} (time_transform): the time function gave a time that is not finite")
            return src._samples(np.ascontiguousarray(u))

        new = self._derived(samples)
        if not keep_duration:
            new.duration = new.end = None
        return new

    def transform(
        self, func: Callable[[Callable[[Any], np.ndarray], Any], Any], apply_to: Any = None, keep_duration: bool = True
    ) -> Self:
        """A clip whose samples at tt are ``func(self.get_frame, tt)``."""
        src, name, nch, layout = self, self._name, self.nchannels, self._layout

        def samples(tt: np.ndarray) -> np.ndarray:
            return shaped(func(src.get_frame, tt), tt.shape[0], nch, f"{name} (transform)", layout)

        new = self._derived(samples)
        if not keep_duration:
            new.duration = new.end = None
        return new

    def _scaled(self, gain: Callable[[np.ndarray], Any] | float) -> Self:
        """Samples multiplied by ``gain(tt)`` (a scalar, an (n,) or an (n, channels) array), or
        by the number `gain`."""
        src = self

        def factor(tt: np.ndarray) -> Any:
            if not callable(gain):
                return gain
            g = np.asarray(gain(tt), dtype=np.float64)
            return g[:, None] if g.ndim == 1 else g

        def samples(tt: np.ndarray) -> np.ndarray:
            return src._samples(tt) * factor(tt)

        def grid(clip: Any, tt: Any, i0: int, rate: float) -> np.ndarray:
            if not callable(gain):  # the times are not needed here: perhaps not at all
                return src._grid(tt, i0, rate) * gain
            t = times(tt)
            return src._grid(t, i0, rate) * factor(t)

        def add(clip: Any, dst: np.ndarray, tt: Any, i0: int, rate: float, scratch: np.ndarray) -> None:
            t = times(tt) if callable(gain) else tt
            part = scratch[: dst.shape[0], : dst.shape[1]]
            np.multiply(src._grid(t, i0, rate), factor(t) if callable(gain) else gain, out=part)
            dst += part

        new = self._derived(samples)
        new._gridfn = grid
        new._addfn = add
        return new

    def subclipped(self, start_time: Any = 0, end_time: Any = None) -> Self:
        """The part from start_time to end_time (negative: from the end); times in seconds,
        (min, s) or "hh:mm:ss.ss"."""
        a = seconds(start_time, "start_time")
        if a < 0:
            a = self._need_duration("a negative start_time") + a
        if self.duration is not None and a >= self.duration:
            raise ParameterError(f"start_time ({a:g} s) must be before the clip's end ({self.duration:g} s)")
        b = seconds_or_none(end_time, "end_time")
        if b is None:
            b = self.duration
        elif b < 0:
            b = self._need_duration("a negative end_time") + b
        if b is not None and self.duration is not None and b > self.duration + T_SLACK:
            raise ParameterError(f"end_time ({b:g} s) is after the clip's end ({self.duration:g} s)")
        if b is not None and b <= a:
            raise ParameterError(f"end_time ({b:g} s) must be after start_time ({a:g} s)")
        new = self.time_transform(lambda t: t + a)
        new.start = self.start
        return new.with_duration(b - a) if b is not None else new

    def with_section_cut_out(self, start_time: Any, end_time: Any) -> Self:
        a, b = seconds(start_time, "start_time"), seconds(end_time, "end_time")
        if not 0 <= a < b or (self.duration is not None and b > self.duration + T_SLACK):
            raise ParameterError(f"with_section_cut_out needs 0 <= start_time < end_time <= duration, got {a:g}, {b:g}")
        cut = b - a
        new = self.time_transform(lambda t: t + cut * (t >= a))
        new.start = self.start
        return new if self.duration is None else new.with_duration(self.duration - cut)

    def with_speed_scaled(self, factor: float | None = None, final_duration: float | None = None) -> Self:
        """Played `factor` times faster (or stretched to `final_duration` s): MoviePy's
        MultiplySpeed, which changes the pitch too."""
        if final_duration is not None:
            final = seconds(final_duration, "with_speed_scaled final_duration")
            factor = self._need_duration("with_speed_scaled") / final if final > 0 else None
        ok = not isinstance(factor, bool) and isinstance(factor, numbers.Real) and math.isfinite(factor)
        if not ok or not factor > 0:  # type: ignore[operator]
            raise ParameterError(f"with_speed_scaled: factor must be a finite number > 0, got {factor!r}")
        f = float(factor)  # type: ignore[arg-type]
        new = self.time_transform(lambda t: f * t)
        return new if self.duration is None else new.with_duration(self.duration / f)

    def with_volume_scaled(self, factor: float, start_time: Any = None, end_time: Any = None) -> Self:
        from .fx._effects import MultiplyVolume

        return self.with_effects([MultiplyVolume(factor, start_time, end_time)])

    def with_effects(self, effects: Sequence[Any]) -> Self:
        clip: Any = self
        for effect in effects:
            if not hasattr(effect, "apply"):
                raise ParameterError(f"with_effects: {effect!r} is not an effect (an object with .apply(clip))")
            clip = effect.copy().apply(clip) if hasattr(effect, "copy") else effect.apply(clip)
        return clip

    def is_playing(self, t: Any) -> Any:
        if isinstance(t, np.ndarray):
            return (t >= self.start) & ((t <= self.end) if self.end is not None else True)
        t = seconds(t, "t")
        return t >= self.start and (self.end is None or t < self.end)

    def __getitem__(self, key: Any) -> Any:
        """``clip[a:b]`` is ``subclipped(a, b)``; a step changes the speed (negative: backwards)."""
        if not isinstance(key, slice):
            return self.get_frame(key)
        clip = self.subclipped(key.start or 0, key.stop or self.duration)
        if key.step:
            factor = abs(key.step)
            if factor != 1:
                d = clip.duration
                clip = clip.time_transform(lambda t: factor * t, keep_duration=True)
                clip = clip.with_duration(None if d is None else d / factor)
            if key.step < 0:
                clip = _mirrored(clip, self.fps)
        return clip

    def __add__(self, other: Any) -> Any:
        if isinstance(other, AudioClip):
            from ._sources import concatenate_audioclips

            return concatenate_audioclips([self, other])
        return NotImplemented

    def close(self) -> None:
        """Release files held by the clip."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        dur = "no duration" if self.duration is None else f"{self.duration:g} s"
        fps = "" if self.fps is None else f", {self.fps:g} Hz"
        return f"<{self._name}: {self.nchannels} channel(s){fps}, {dur}>"

    # ---- output -------------------------------------------------------------------------------

    def write_audiofile(
        self,
        filename: Any,
        fps: float | None = None,
        nbytes: int = 2,
        buffersize: int = 2000,
        codec: str | None = None,
        bitrate: Any = None,
        ffmpeg_params: Any = None,
        write_logfile: bool = False,
        logger: Any = "bar",
    ) -> None:
        """Write the sound to a file: WAV (16- or 32-bit PCM, `nbytes`), or AAC (.m4a), MP3,
        Opus (.opus, .ogg) or FLAC, encoded in-process by libav (PyAV)."""
        _write.write_audiofile(self, filename, fps, nbytes, buffersize, codec, bitrate, ffmpeg_params)

    def _repr_html_(self) -> str:
        return _write.html(self)

    def display_in_notebook(
        self, fps: float | None = None, maxduration: float | None = 60, **html_kwargs: Unpack[_write.AudioAttributes]
    ) -> Any:
        """An ``<audio controls>`` element for Jupyter (IPython's HTML), the sound as WAV data;
        `html_kwargs` are attributes of the element (``autoplay=True``, ``loop=True``, ...)."""
        return _write.display(self, fps, maxduration, dict(html_kwargs))

    def audiopreview(
        self, fps: Any = None, buffersize: Any = 2000, nbytes: int = 2, audio_flag: Any = None, video_flag: Any = None
    ) -> None:
        """Plays the sound (pygame's mixer; inline in a notebook) until it ends: docs/preview.md."""
        _player.audiopreview(self, fps, buffersize, nbytes, audio_flag, video_flag)

    # ---- MoviePy 1.x names --------------------------------------------------------------------

    def set_duration(self, duration: Any, change_end: bool = True) -> Self:
        return self.with_duration(duration, change_end)

    def set_start(self, t: Any, change_end: bool = True) -> Self:
        return self.with_start(t, change_end)

    def set_end(self, t: Any) -> Self:
        return self.with_end(t)

    def set_fps(self, fps: float | None) -> Self:
        return self.with_fps(fps)

    def subclip(self, t_start: Any = 0, t_end: Any = None) -> Self:
        return self.subclipped(t_start, t_end)

    def cutout(self, ta: Any, tb: Any) -> Self:
        return self.with_section_cut_out(ta, tb)

    def fl(self, func: Callable[..., Any], apply_to: Any = None, keep_duration: bool = True) -> Self:
        return self.transform(func, apply_to, keep_duration)

    def fl_time(self, time_func: Callable[[Any], Any], apply_to: Any = None, keep_duration: bool = False) -> Self:
        return self.time_transform(time_func, apply_to, keep_duration)

    def fx(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return func(self, *args, **kwargs)

    def volumex(self, factor: float) -> Self:
        return self.with_volume_scaled(factor)

    def audio_fadein(self, duration: Any) -> Self:
        from .fx._effects import AudioFadeIn

        return self.with_effects([AudioFadeIn(duration)])

    def audio_fadeout(self, duration: Any) -> Self:
        from .fx._effects import AudioFadeOut

        return self.with_effects([AudioFadeOut(duration)])

    def audio_loop(self, nloops: int | None = None, duration: Any = None) -> Any:
        from .fx._effects import AudioLoop

        return self.with_effects([AudioLoop(nloops, duration)])

    def audio_normalize(self) -> Self:
        from .fx._effects import AudioNormalize

        return self.with_effects([AudioNormalize()])


def _mirrored(clip: Any, fps: float | None) -> Any:
    """Played backwards as MoviePy's ``clip[::-1]``: the sample at t is the source's at
    duration - t - 1/fps."""
    end = clip.duration
    if end is None or not fps:
        raise ParameterError(f"{clip._name}: playing backwards needs a duration and an fps")
    step = 1.0 / fps
    return clip.time_transform(lambda t: end - t - step, keep_duration=True)


def _span(tt: np.ndarray) -> str:
    return f"{tt.min():g}, {tt.max():g}" if tt.shape[0] else ""
