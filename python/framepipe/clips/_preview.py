"""Looking at a clip: ``show(t)`` (one frame) and ``preview()`` (the clip played, with its
sound), as MoviePy's ``clip.show`` and ``clip.preview`` (the sound, and where Python runs: _player).

Where they appear: in a Jupyter notebook (an IPython kernel is running) inline, ``show`` as a PNG
and ``preview`` as the clip's video (``display_in_notebook``); elsewhere in a pygame window (an
optional dependency, imported only here: ``pip install pygame``). Without either (no
``$DISPLAY``/``$WAYLAND_DISPLAY`` on Linux, not in a notebook) they raise an
:class:`~framepipe.errors.UnsupportedError` that names what to use instead.

The player: frame n is shown at n / fps seconds after the first one, by one clock read each time
(``time.perf_counter``): when a frame takes longer to make than its slot, the frames whose time
has passed are skipped, so the clip never drifts behind the clock or its sound; the sound is
played whole from the moment frame 0 appears. Escape, Q or the window's close button stop it;
the call returns when the clip has ended (or was stopped), with the window closed. ``show`` returns
at once, leaving its window open (as MoviePy's), unless it is ``interactive``.
"""

from __future__ import annotations

import io
import math
import os
import time
from typing import Any

import numpy as np

from ..errors import UnsupportedError
from . import _write
from ._player import has_display, import_pygame, in_notebook, notebook_show, positive_int, sound_for
from ._time import seconds

# Seconds between redraws of show()'s frame: an X window's pixels are not kept by the server, and
# what was drawn before the window was mapped can be lost without an expose event to say so.
_REDRAW = 0.25

# SDL's video drivers that open no visible window: used only when asked for ($SDL_VIDEODRIVER).
_NO_WINDOW = ("offscreen", "dummy", "evdev")

_INSTEAD = (
    "in a Jupyter notebook clip.display_in_notebook() shows it inline; clip.write_videofile('out.mp4') "
    "(or write_gif) writes it to watch, clip.save_frame('frame.png', t=...) one frame; or run under a "
    "display (e.g. xvfb-run python script.py)"
)


def _need_display(what: str) -> None:
    if not has_display():
        raise UnsupportedError(
            f"{what}: there is no display to open a window on ($DISPLAY and $WAYLAND_DISPLAY are not set) "
            f"and this is not a Jupyter notebook; instead: {_INSTEAD}"
        )


# ---- the window ------------------------------------------------------------------------------


class _Window:
    """A pygame window showing RGB uint8 frames; closed by Escape, Q or its close button."""

    def __init__(self, pg: Any, size: tuple[int, int], title: str, fullscreen: bool, what: str):
        self.pg = pg
        flags = pg.FULLSCREEN | pg.SCALED if fullscreen else 0
        where = os.environ.get("WAYLAND_DISPLAY") or os.environ.get("DISPLAY") or "the default display"
        try:
            pg.display.init()
            driver = pg.display.get_driver()
            if driver in _NO_WINDOW and not os.environ.get("SDL_VIDEODRIVER"):
                # SDL could not reach the display and fell back to a driver that shows nothing
                raise pg.error(f"SDL found no usable display (its {driver!r} driver would show nothing)")
            self.screen = pg.display.set_mode(size, flags)
        except pg.error as e:
            pg.display.quit()
            raise UnsupportedError(f"{what}: cannot open a window on {where}: {e}; instead: {_INSTEAD}") from None
        pg.display.set_caption(title)
        self.flags = flags
        self.frame: np.ndarray | None = None

    def draw(self, frame: np.ndarray) -> None:
        pg = self.pg
        h, w = frame.shape[:2]
        if self.screen.get_size() != (w, h) and not self.flags:
            self.screen = pg.display.set_mode((w, h))  # a clip whose frames change size
        self.screen.fill((0, 0, 0))
        self.screen.blit(pg.image.frombuffer(np.ascontiguousarray(frame).tobytes(), (w, h), "RGB"), (0, 0))
        pg.display.flip()
        self.frame = frame

    def _redraw(self) -> None:
        """The frame drawn again: X keeps no copy of a window's pixels, so what was drawn before
        the window was mapped, or while it was covered, is lost until the window is exposed."""
        if self.frame is not None:
            self.draw(self.frame)

    def closed(self, clicks: list[dict] | None = None, t: float | None = None) -> bool:
        """Whether the window was asked to close since the last call (events read); a click
        is added to `clicks` (position and colour, and the time when playing), and printed."""
        pg = self.pg
        for event in pg.event.get():
            if event.type in (pg.VIDEOEXPOSE, pg.WINDOWEXPOSED, pg.WINDOWSHOWN):
                self._redraw()
            if event.type == pg.QUIT or (event.type == pg.KEYDOWN and event.key in (pg.K_ESCAPE, pg.K_q)):
                return True
            if clicks is not None and event.type == pg.MOUSEBUTTONDOWN and self.frame is not None:
                x, y = event.pos
                if 0 <= y < self.frame.shape[0] and 0 <= x < self.frame.shape[1]:
                    click = {"position": (x, y), "color": self.frame[y, x].copy()}
                    if t is not None:
                        click = {"time": t, **click}
                    clicks.append(click)
                    print(", ".join(f"{k} {v}" for k, v in click.items()))
        return False

    def close(self) -> None:
        self.pg.display.quit()


def _pixels(clip: Any, t: float, with_mask: bool) -> np.ndarray:
    """The clip's frame at t: RGB uint8, or RGBA with its mask (opacity included) as alpha."""
    frame = clip._get(t)
    if clip.is_mask:
        return np.repeat(frame[:, :, None], 3, axis=2)
    alpha = clip._alpha(t) if with_mask else None
    opacity = clip._opacity if with_mask else 1.0
    if alpha is None and opacity == 1.0:
        return frame
    if alpha is None:
        alpha = np.full(frame.shape[:2], 255, np.uint8)
    if opacity != 1.0:
        alpha = np.rint(alpha * opacity).astype(np.uint8)
    return np.dstack([frame, alpha])


def _over_black(clip: Any, t: float, with_mask: bool) -> np.ndarray:
    """The clip's RGB frame at t; with its mask, over black (as MoviePy 1.x shows it)."""
    pixels = _pixels(clip, t, with_mask)
    if pixels.shape[2] == 3:
        return pixels
    alpha = pixels[:, :, 3:].astype(np.uint16)
    return ((pixels[:, :, :3] * alpha + 127) // 255).astype(np.uint8)


# ---- show --------------------------------------------------------------------------------------


def show(clip: Any, t: Any = 0, with_mask: bool = True, interactive: bool = False) -> list[dict] | None:
    """The frame at `t` (seconds, or "hh:mm:ss.ss"): inline in a notebook (a PNG, with its mask
    as alpha); else in a window, and returns at once, as MoviePy's ``show`` (the window stays,
    showing the frame, until the next window framepipe opens or the program ends). With
    `interactive`, it waits until the window is closed (Escape, Q, its close button), each click
    printing its position and colour; the clicks are returned."""
    what = f"{clip._name}.show"
    t = clip._check_t(seconds(t, f"{what}: t"))
    if in_notebook():
        from IPython.display import Image

        buffer = io.BytesIO()
        _write._pil().fromarray(_pixels(clip, t, with_mask)).save(buffer, format="png")
        notebook_show(Image(data=buffer.getvalue(), format="png"))
        return None
    _need_display(what)
    pg = import_pygame(what, _INSTEAD)
    frame = _over_black(clip, t, with_mask)
    window = _Window(pg, (frame.shape[1], frame.shape[0]), f"framepipe: {clip._name} at t={t:g} s", False, what)
    if not interactive:
        window.draw(frame)
        window.closed()  # events read once: the window is mapped and drawn
        window.draw(frame)
        return None
    clicks: list[dict] = []
    try:
        window.draw(frame)
        drawn = time.monotonic()
        while not window.closed(clicks):
            time.sleep(0.03)
            if time.monotonic() - drawn > _REDRAW:
                window.draw(frame)
                drawn = time.monotonic()
    finally:
        window.close()
    return clicks


# ---- preview -----------------------------------------------------------------------------------


def preview(
    clip: Any,
    fps: Any = 15,
    audio: bool = True,
    audio_fps: Any = 22050,
    audio_buffersize: Any = 3000,
    audio_nbytes: int = 2,
    fullscreen: bool = False,
) -> None:
    """Plays the clip at `fps` with its sound (``clip.audio``, if any and `audio`): inline in a
    notebook (as ``display_in_notebook(fps=fps)``), else in a window (see the module's doc)."""
    what = f"{clip._name}.preview"
    rate = _write.clip_fps(clip, fps, what)
    n_frames = _write.frame_count(clip, rate)
    positive_int(audio_buffersize, f"{what}: audio_buffersize")  # MoviePy's chunk size; made whole here
    if in_notebook():
        notebook_show(_write.display(clip, fps=fps))
        return
    _need_display(what)
    pg = import_pygame(what, _INSTEAD)
    sound = None
    if audio and getattr(clip, "audio", None) is not None:
        sound = sound_for(pg, clip.audio, audio_fps, audio_nbytes, what)
    frames = _write._ClipFrames(clip)
    step = 1 / float(rate)
    window = None
    try:
        first = frames(0.0)
        window = _Window(pg, (first.shape[1], first.shape[0]), f"framepipe: {clip._name}", bool(fullscreen), what)
        window.draw(first)
        if sound is not None:
            sound.play()
        start, shown, clicks = time.perf_counter(), 0, list[dict]()
        while not window.closed(clicks, shown * step):
            elapsed = time.perf_counter() - start
            if elapsed >= n_frames * step:
                break
            n = min(math.floor(elapsed / step), n_frames - 1)
            if n > shown:  # the frame due now; those between were late and are skipped
                window.draw(frames(float(n / rate)))
                shown = n
            else:
                time.sleep(max(0.0, min((shown + 1) * step - elapsed, 0.05)))
    finally:
        if sound is not None:
            sound.close()
        if window is not None:
            window.close()
