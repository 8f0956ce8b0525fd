"""What ``show``/``preview`` (clips/_preview.py) and ``AudioClip.audiopreview`` share: where
Python runs (a notebook, a display, neither), pygame imported on demand, and the sound played
through pygame's mixer. A leaf of the clips package (the audio clips import it).
"""

from __future__ import annotations

import numbers
import os
import sys
import threading
import time
from typing import Any

import numpy as np

from .._warn import warn
from ..errors import ParameterError, UnsupportedError

# The mixer's buffer in samples (as MoviePy 1.x's pygame preview): ~46 ms at 22050 Hz, the
# delay between the sound starting to play and its first sample being heard.
_MIXER_BUFFER = 1024
# The sample sizes pygame's mixer takes for MoviePy's nbytes: signed 8 and 16 bits, float32 for
# 4 (pygame has no 32-bit integer format).
_MIXER_SIZE = {1: -8, 2: -16, 4: 32}


_AUDIO_INSTEAD = "in a Jupyter notebook sound.display_in_notebook() plays it inline; sound.write_audiofile() writes it"


# ---- where: a notebook, a display, or neither -----------------------------------------------


def in_notebook() -> bool:
    """Whether this runs in an IPython kernel (Jupyter, VS Code, Colab): IPython's shell is there
    and has a kernel (the terminal's IPython has none)."""
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None)
    shell = get() if callable(get) else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def has_display() -> bool:
    """Whether a window can be opened: on Linux and the BSDs an X or Wayland display is named in
    the environment (or SDL's video driver is chosen by $SDL_VIDEODRIVER); macOS and Windows
    always have one."""
    if sys.platform in ("darwin", "win32"):
        return True
    return any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"))


def notebook_show(obj: Any) -> None:
    from IPython.display import display

    display(obj)


def import_pygame(what: str, instead: str) -> Any:
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    try:
        import pygame
    except ImportError:
        raise UnsupportedError(
            f"{what} needs pygame, which is not installed: pip install pygame "
            f"(or pip install 'framepipe[preview]'); without it: {instead}"
        ) from None
    return pygame


# ---- sound -------------------------------------------------------------------------------------


def positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ParameterError(f"{what} must be a positive whole number, got {value!r}")
    return int(value)


def _sound_array(audio: Any, fps: int, nbytes: int, what: str) -> np.ndarray:
    """audio.to_soundarray(fps=, nbytes=) as pygame's mixer samples: (n, channels) of int8,
    int16 (nbytes 1, 2) or float32 (nbytes 4), the floats in [-1, 1] scaled (and clipped)."""
    if nbytes not in _MIXER_SIZE:
        raise ParameterError(f"{what}: audio_nbytes must be 1, 2 or 4 (bytes per sample), got {nbytes!r}")
    to_soundarray = getattr(audio, "to_soundarray", None)
    if not callable(to_soundarray):
        raise ParameterError(f"{what}: the sound {audio!r} has no to_soundarray(); give an audio clip")
    arr = np.asarray(to_soundarray(fps=fps, nbytes=nbytes))
    if getattr(audio, "_layout", None) and audio._layout[0]:
        arr = arr.T  # a clip whose function gives one row per channel (MoviePy's layout)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] not in (1, 2, 4, 6) or not np.issubdtype(arr.dtype, np.number):
        raise ParameterError(
            f"{what}: the sound's to_soundarray() gave a {arr.dtype} array of shape {arr.shape}; "
            f"expected (samples, channels) numbers with 1, 2, 4 or 6 channels"
        )
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ParameterError(f"{what}: the sound has NaN or infinite samples")
    arr = np.clip(arr, -1.0, 1.0)
    if nbytes == 4:
        return np.ascontiguousarray(arr, np.float32)
    top, dtype = (127, np.int8) if nbytes == 1 else (32767, np.int16)
    return np.ascontiguousarray(np.round(arr * top).astype(dtype))


class _Sound:
    """pygame's mixer opened at the sound's rate, format and channels, with the sound made."""

    def __init__(self, pg: Any, samples: np.ndarray, fps: int, nbytes: int, what: str):
        self.pg = pg
        pg.mixer.quit()  # opened by someone else with other settings: ours are needed
        try:
            pg.mixer.init(frequency=fps, size=_MIXER_SIZE[nbytes], channels=samples.shape[1], buffer=_MIXER_BUFFER)
        except pg.error as e:
            raise UnsupportedError(
                f"{what}: cannot open the sound device ({e}); pass audio=False, or set "
                f"SDL_AUDIODRIVER (e.g. 'dummy' to play silently)"
            ) from None
        self.sound = pg.sndarray.make_sound(samples[:, 0] if samples.shape[1] == 1 else samples)
        self.channel: Any = None

    def play(self) -> None:
        self.channel = self.sound.play()

    def busy(self) -> bool:
        return self.channel is not None and self.channel.get_busy()

    def close(self) -> None:
        if self.channel is not None:
            self.channel.stop()
        self.pg.mixer.quit()


def sound_for(pg: Any, audio: Any, fps: Any, nbytes: Any, what: str) -> _Sound | None:
    samples = _sound_array(audio, positive_int(fps, f"{what}: audio_fps"), nbytes, what)
    if len(samples) == 0:
        return None
    try:
        return _Sound(pg, samples, int(fps), nbytes, what)
    except UnsupportedError as e:
        warn(f"{e}: playing without sound")
        return None


def audiopreview(
    audio: Any,
    fps: Any = None,
    buffersize: Any = 2000,
    nbytes: int = 2,
    audio_flag: threading.Event | None = None,
    video_flag: threading.Event | None = None,
) -> None:
    """Plays a sound (an object with ``to_soundarray(fps=, nbytes=)``) at `fps` samples a second
    (default: its own fps, else 44100), until it ends or ``video_flag`` is cleared: inline in a
    notebook (an ``<audio>`` element), else through pygame's mixer. ``audio_flag`` is set when the
    sound is ready, and ``video_flag`` (if given) waited for before it starts (MoviePy's
    synchronisation with a video)."""
    what = f"{getattr(audio, '_name', type(audio).__name__)}.audiopreview"
    if fps is None:
        # The clip's own rate, which audio clips keep as a float (44100.0): a whole number then.
        own = getattr(audio, "fps", None) or 44100
        fps = int(own) if isinstance(own, float) and own.is_integer() else own
    fps = positive_int(fps, f"{what}: fps")
    positive_int(buffersize, f"{what}: buffersize")
    if in_notebook():
        from IPython.display import Audio

        samples = _sound_array(audio, fps, 4, what)
        notebook_show(Audio(data=samples.T, rate=fps, normalize=False))
        return
    pg = import_pygame(what, _AUDIO_INSTEAD)
    samples = _sound_array(audio, fps, nbytes, what)
    sound = _Sound(pg, samples, fps, nbytes, what) if len(samples) else None
    try:
        if audio_flag is not None:
            audio_flag.set()
        if video_flag is not None:
            video_flag.wait()
        if sound is None:
            return
        sound.play()
        while sound.busy() and (video_flag is None or video_flag.is_set()):
            time.sleep(0.01)
    finally:
        if sound is not None:
            sound.close()
