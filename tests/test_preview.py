"""clip.show(t) and clip.preview(): a real window on a real X server (Xvfb, started here on a free
display number), looked at through screenshots of that display; the sound through pygame's mixer
(SDL's dummy audio driver: no sound card), checked through pygame's own API; the notebook path
with a stand-in IPython kernel; and the clear error where there is neither.

The player runs in a subprocess (one pygame per process), the clip's frame function writing
what it was asked for to files; where the test must see a state before the clip moves on, the
frame function waits on a file the test creates ("gates"), so nothing depends on how fast
either process runs: every wait is on an observable state, with a generous deadline.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import numpy as np
import pytest
from conftest import decode_av
from framepipe.clips import ColorClip, ImageClip, VideoClip
from framepipe.errors import ParameterError, UnsupportedError

W, H = 160, 120
RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)
DEADLINE = 60.0  # seconds: for a state that normally takes well under one

# The top of every player script: a clip red for 0-1 s, green for 1-2 s, blue for 2-3 s, whose
# frame function notes each t it is asked for; gate(name) waits for the test's file `name`.
HEADER = textwrap.dedent(
    """
    import json, os, sys, threading, time
    import numpy as np
    from framepipe.clips import VideoClip

    try:
        import pygame  # the window's tests need it (a test dependency); the headless ones do not
    except ImportError:
        pygame = None

    FOLDER = sys.argv[1]
    COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]

    def gate(name):
        while not os.path.exists(os.path.join(FOLDER, name)):
            time.sleep(0.01)

    def note(name, value):
        with open(os.path.join(FOLDER, name + ".tmp"), "w") as f:
            json.dump(value, f)
        os.replace(os.path.join(FOLDER, name + ".tmp"), os.path.join(FOLDER, name))

    asked = []

    def colours(t, gates=True):
        asked.append(t)
        i = min(int(t), 2)
        if gates and i >= 1:
            gate("seen-red")
        if gates and i >= 2:
            gate("seen-green")
        return np.full((120, 160, 3), COLOURS[i], np.uint8)

    def when_shown(action):
        # action() in a thread once a frame has been drawn (the thread makes no X call of its
        # own: Xlib is not thread-safe; pygame.event.post only queues an SDL event)
        drawn, flip = threading.Event(), pygame.display.flip

        def flipped():
            flip()
            drawn.set()

        def run():
            drawn.wait()
            action()

        pygame.display.flip = flipped
        threading.Thread(target=run, daemon=True).start()
    """
)


# ---- the X server and the screenshots -----------------------------------------------------------


def _load_xvfb():
    """scripts/xvfb.py (shared with scripts/moviepy_suite.py), loaded by path."""
    import importlib.util

    path = Path(__file__).parent.parent / "scripts" / "xvfb.py"
    spec = importlib.util.spec_from_file_location("framepipe_xvfb", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_xvfb = _load_xvfb()


@pytest.fixture(scope="module")
def xdisplay():
    """A virtual X display (Xvfb, black root window) on a display number nothing else uses
    (scripts/xvfb.py)."""
    if not _xvfb.available():
        pytest.skip("Xvfb is not installed (Debian's xvfb; scripts/setup.sh installs it)")
    try:
        server = _xvfb.virtual_display(deadline=DEADLINE)
        display = server.__enter__()
    except _xvfb.XvfbError as e:
        pytest.fail(str(e))
    try:
        yield display
    finally:
        server.__exit__(None, None, None)


def screen(display: str) -> tuple[tuple[int, int], tuple[int, int, int] | None] | None:
    """What the display shows over its black root: None (nothing), or the size of the shown
    area and its colour (None unless it is all one colour)."""
    from PIL import ImageGrab

    image = ImageGrab.grab(xdisplay=display).convert("RGB")
    box = image.getbbox()
    if box is None:
        return None
    colours = image.crop(box).getcolors(maxcolors=4)
    colour = colours[0][1] if colours and len(colours) == 1 else None
    return (box[2] - box[0], box[3] - box[1]), colour


def wait_for(what: str, check, proc: subprocess.Popen | None = None):
    """Polls check() until it returns a true value (returned), failing after DEADLINE seconds or
    when the player process has exited."""
    end, last = time.monotonic() + DEADLINE, None
    while time.monotonic() < end:
        last = check()
        if last:
            return last
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the player exited ({proc.returncode}) before {what}:\n{proc.stderr.read()}")
        time.sleep(0.02)
    pytest.fail(f"no {what} within {DEADLINE:g} s; last seen: {last!r}")


def showing(display: str, colour) -> bool:
    return screen(display) == ((W, H), colour)


def player(code: str | tuple[str, ...], folder: Path, display: str | None, **env: str) -> subprocess.Popen:
    """The script HEADER + `code` (its parts dedented each) run in a subprocess on `display`."""
    parts = (code,) if isinstance(code, str) else code
    script = folder / "player.py"
    script.write_text(HEADER + "".join(textwrap.dedent(part) for part in parts))
    environ = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    environ.update(SDL_AUDIODRIVER="dummy", PYGAME_HIDE_SUPPORT_PROMPT="1", **env)
    if display is not None:
        environ["DISPLAY"] = display
    return subprocess.Popen(
        [sys.executable, str(script), str(folder)],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(proc: subprocess.Popen) -> str:
    """Waits for the player to exit (DEADLINE), which must be without error; its output."""
    try:
        out, err = proc.communicate(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"the player did not return within {DEADLINE:g} s:\n{proc.communicate()[1]}")
    assert proc.returncode == 0, err
    return out


def noted(folder: Path, name: str):
    return json.loads((folder / name).read_text())


# ---- preview in a window --------------------------------------------------------------------------


def test_preview_opens_a_window_of_the_clips_size_and_plays_it(xdisplay, tmp_path):
    proc = player(
        """
        clip = VideoClip(colours, duration=3)
        start = time.perf_counter()
        clip.preview(fps=15)
        note("done", {"asked": asked, "took": time.perf_counter() - start})
        """,
        tmp_path,
        xdisplay,
    )
    wait_for("red window of the clip's size", lambda: showing(xdisplay, RED), proc)
    (tmp_path / "seen-red").touch()
    wait_for("green frame (the clip moving on)", lambda: showing(xdisplay, GREEN), proc)
    (tmp_path / "seen-green").touch()
    finished(proc)
    assert screen(xdisplay) is None, "the window is still open after preview() returned"
    done = noted(tmp_path, "done")
    asked = done["asked"]
    assert asked[0] == 0.0 and asked == sorted(set(asked)), asked
    assert all(abs(t * 15 - round(t * 15)) < 1e-9 for t in asked), "frames at n / fps"
    assert max(asked) >= 1.0
    assert done["took"] >= 3.0 - 1e-6, "a 3 s clip played in less than 3 s"


def test_preview_skips_late_frames_instead_of_drifting(tmp_path):
    # Each frame takes 0.25 s to make, 15 fps asks for one every 1/15 s: the player shows the
    # frame due when the previous one is ready, so a 2 s clip still takes about 2 s, not 30 x
    # 0.25 s. SDL's dummy video driver: no display needed for the timing.
    proc = player(
        """
        def slow(t):
            asked.append((t, time.perf_counter()))
            time.sleep(0.25)
            return np.zeros((120, 160, 3), np.uint8)

        start = time.perf_counter()
        VideoClip(slow, duration=2).preview(fps=15, audio=False)
        note("done", {"asked": asked, "start": start, "took": time.perf_counter() - start})
        """,
        tmp_path,
        None,
        SDL_VIDEODRIVER="dummy",
    )
    finished(proc)
    done = noted(tmp_path, "done")
    times = [t for t, _ in done["asked"]]
    assert times == sorted(set(times)) and times[0] == 0
    # 2 s of 0.25 s frames: at most 9 made (frame 0 first), of the 30 a write would make.
    assert len(times) <= 10, times
    assert any(b - a > 1.5 / 15 for a, b in zip(times, times[1:])), f"no frame skipped: {times}"
    assert 2.0 <= done["took"] < 30 * 0.25, done["took"]
    # Never ahead of the clock: the frame for t is made at least t after frame 0 was asked for.
    first = done["asked"][0][1]
    assert all(wall - first >= t - 1e-3 for t, wall in done["asked"]), done["asked"]


def test_escape_closes_the_preview_and_the_call_returns(xdisplay, tmp_path):
    proc = player(
        """
        def press():
            gate("press")
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_ESCAPE))

        when_shown(press)
        start = time.perf_counter()
        VideoClip(lambda t: colours(t, gates=False), duration=120).preview(fps=10)
        note("done", {"took": time.perf_counter() - start})
        """,
        tmp_path,
        xdisplay,
    )
    wait_for("red preview window", lambda: showing(xdisplay, RED), proc)
    (tmp_path / "press").touch()
    finished(proc)
    assert noted(tmp_path, "done")["took"] < 120, "Escape did not stop the 120 s clip"
    assert screen(xdisplay) is None


# ---- the sound ---------------------------------------------------------------------------------------

SOUND = """
class Sound:  # what an audio clip offers the player (duck-typed): to_soundarray(fps=, nbytes=)
    calls = []

    def to_soundarray(self, fps, nbytes):
        self.calls.append({"fps": fps, "nbytes": nbytes})
        n = int(round(1.5 * fps))
        t = np.arange(n) / fps
        return np.stack([0.5 * np.sin(2 * np.pi * 440 * t), np.where(t < 0.5, -1.2, 0.25)], 1)

made, busy = [], []
make_sound, flip = pygame.sndarray.make_sound, pygame.display.flip

def recording_make_sound(array):
    sound = make_sound(array)
    made.append({"mixer": pygame.mixer.get_init(), "length": sound.get_length()})
    np.save(os.path.join(FOLDER, "samples.npy"), pygame.sndarray.array(sound))
    return sound

def recording_flip():
    flip()
    busy.append(pygame.mixer.get_init() is not None and pygame.mixer.get_busy())

pygame.sndarray.make_sound, pygame.display.flip = recording_make_sound, recording_flip
"""


def expected_sound(fps: int, nbytes: int) -> np.ndarray:
    n = int(round(1.5 * fps))
    t = np.arange(n) / fps
    sound = np.clip(np.stack([0.5 * np.sin(2 * np.pi * 440 * t), np.where(t < 0.5, -1.2, 0.25)], 1), -1, 1)
    if nbytes == 4:
        return sound.astype(np.float32)
    top = {1: 127, 2: 32767}[nbytes]
    return np.round(sound * top).astype({1: np.int8, 2: np.int16}[nbytes])


@pytest.mark.parametrize(("nbytes", "size"), [(2, -16), (1, -8), (4, -32)])
def test_preview_plays_the_clips_sound_through_pygames_mixer(xdisplay, tmp_path, nbytes, size):
    proc = player(
        (
            SOUND,
            f"""
        clip = VideoClip(lambda t: colours(t, gates=False), duration=1.5)
        clip.audio = Sound()
        clip.preview(fps=15, audio_fps=11025, audio_nbytes={nbytes})
        note("done", {{"calls": Sound.calls, "made": made, "busy": busy, "after": pygame.mixer.get_init()}})
        """,
        ),
        tmp_path,
        xdisplay,
    )
    finished(proc)
    done = noted(tmp_path, "done")
    assert done["calls"] == [{"fps": 11025, "nbytes": nbytes}]
    assert done["made"] == [{"mixer": [11025, size, 2], "length": pytest.approx(1.5, abs=1e-3)}]
    samples = np.load(tmp_path / "samples.npy")
    want = expected_sound(11025, nbytes)
    assert samples.dtype == want.dtype and samples.shape == want.shape
    np.testing.assert_array_equal(samples, want)
    assert done["busy"][0] is False, "the sound started before the first frame was on screen"
    assert any(done["busy"][1:]), "the sound was not playing while the frames advanced"
    assert done["after"] is None, "the mixer was left open"


def test_preview_without_audio_plays_no_sound(xdisplay, tmp_path):
    proc = player(
        (
            SOUND,
            """
        clip = VideoClip(lambda t: colours(t, gates=False), duration=0.5)
        clip.audio = Sound()
        clip.preview(audio=False)
        note("done", {"calls": Sound.calls, "made": made})
        """,
        ),
        tmp_path,
        xdisplay,
    )
    finished(proc)
    assert noted(tmp_path, "done") == {"calls": [], "made": []}


def test_audiopreview_plays_a_sound_to_its_end(tmp_path):
    proc = player(
        (
            SOUND,
            """
        from framepipe.clips._player import audiopreview
        start = time.perf_counter()
        audiopreview(Sound(), fps=8000)
        note("done", {"calls": Sound.calls, "made": made, "took": time.perf_counter() - start})
        """,
        ),
        tmp_path,
        None,
    )
    finished(proc)
    done = noted(tmp_path, "done")
    assert done["calls"] == [{"fps": 8000, "nbytes": 2}]
    assert done["made"][0]["mixer"] == [8000, -16, 2]
    assert done["took"] >= 1.5 - 0.05, "returned before the 1.5 s sound had played"
    np.testing.assert_array_equal(np.load(tmp_path / "samples.npy"), expected_sound(8000, 2))


REAL_SOUND = """
from framepipe.clips.audio import AudioArrayClip

rate = 8000
t = np.arange(int(1.5 * rate)) / rate
music = AudioArrayClip(np.stack([0.6 * np.sin(2 * np.pi * 330 * t), 0.3 * np.cos(2 * np.pi * 110 * t)], 1), fps=rate)
np.save(os.path.join(FOLDER, "expected.npy"), music.to_soundarray(fps=11025))
"""


def test_preview_plays_a_real_audio_clip(xdisplay, tmp_path):
    # framepipe's own AudioClip (clips.audio): what it gives at audio_fps is what the mixer plays.
    proc = player(
        (
            SOUND,
            REAL_SOUND,
            """
            clip = VideoClip(lambda t: colours(t, gates=False), duration=1.5).with_audio(music)
            clip.preview(fps=15, audio_fps=11025)
            note("done", {"made": made, "busy": busy})
            """,
        ),
        tmp_path,
        xdisplay,
    )
    finished(proc)
    done = noted(tmp_path, "done")
    assert done["made"] == [{"mixer": [11025, -16, 2], "length": pytest.approx(1.5, abs=1e-3)}]
    expected = np.load(tmp_path / "expected.npy")
    # the same samples as MoviePy 2.2.1's AudioArrayClip gives at 11025 Hz (count and values)
    from moviepy import AudioArrayClip as MoviePyArrayClip

    rate, t = 8000, np.arange(12000) / 8000
    reference = MoviePyArrayClip(
        np.stack([0.6 * np.sin(2 * np.pi * 330 * t), 0.3 * np.cos(2 * np.pi * 110 * t)], 1), fps=rate
    ).to_soundarray(fps=11025)
    np.testing.assert_allclose(expected, reference, atol=1e-12)
    np.testing.assert_array_equal(np.load(tmp_path / "samples.npy"), np.round(expected * 32767).astype(np.int16))
    assert any(done["busy"][1:])


def test_an_audio_clips_audiopreview_plays_it(tmp_path):
    proc = player(
        (
            SOUND,
            REAL_SOUND,
            """
            start = time.perf_counter()
            music.audiopreview(fps=11025)
            note("done", {"made": made, "took": time.perf_counter() - start})
            """,
        ),
        tmp_path,
        None,
    )
    finished(proc)
    done = noted(tmp_path, "done")
    assert done["made"][0]["mixer"] == [11025, -16, 2]
    assert done["took"] >= 1.5 - 0.05
    expected = np.load(tmp_path / "expected.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "samples.npy"), np.round(expected * 32767).astype(np.int16))


# ---- show ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clip", "t", "colour"),
    [
        ("VideoClip(lambda t: colours(t, gates=False), duration=3)", "'00:00:01.5'", GREEN),
        ("VideoClip(lambda t: colours(t, gates=False), duration=3)", "2.5", BLUE),
        # a mask of 128/255 over black: round(255 * 128 / 255) = 128
        ("ColorClip((160, 120), (255, 0, 0), duration=1).with_opacity(128 / 255)", "0", (128, 0, 0)),
    ],
    ids=["timecode", "seconds", "mask"],
)
def test_show_shows_the_frame_at_t_and_returns_at_once(xdisplay, tmp_path, clip, t, colour):
    # As MoviePy's show: the call returns (the script goes on) and the window stays, showing
    # the frame, until the program ends.
    proc = player(
        f"""
        from framepipe.clips import ColorClip

        note("returned", {clip}.show({t}))
        gate("exit")
        """,
        tmp_path,
        xdisplay,
    )
    wait_for("show() to return", lambda: (tmp_path / "returned").exists(), proc)
    assert noted(tmp_path, "returned") is None
    wait_for(f"window showing {colour}", lambda: showing(xdisplay, colour), proc)
    assert proc.poll() is None
    (tmp_path / "exit").touch()
    finished(proc)
    assert screen(xdisplay) is None


def test_interactive_show_waits_until_the_window_is_closed(xdisplay, tmp_path):
    proc = player(
        """
        def close():
            gate("close")
            pygame.event.post(pygame.event.Event(pygame.QUIT))

        when_shown(close)
        note("returned", VideoClip(lambda t: colours(t, gates=False), duration=3).show(2.5, interactive=True))
        """,
        tmp_path,
        xdisplay,
    )
    wait_for("window showing blue", lambda: showing(xdisplay, BLUE), proc)
    assert proc.poll() is None and not (tmp_path / "returned").exists(), "show() returned while its window was open"
    (tmp_path / "close").touch()
    finished(proc)
    assert noted(tmp_path, "returned") == []  # the clicks: none
    assert screen(xdisplay) is None


# ---- without a display, without pygame, in a notebook ------------------------------------------------


def test_without_a_display_both_say_what_to_use_instead(tmp_path):
    proc = player(
        """
        from framepipe.errors import UnsupportedError
        clip = VideoClip(colours, duration=1)
        for call in (clip.preview, clip.show):
            try:
                call()
            except UnsupportedError as e:
                print(e)
            else:
                sys.exit(f"{call.__name__} did not raise")
        """,
        tmp_path,
        None,
    )
    out = finished(proc)
    lines = out.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["VideoClip(colours).preview", "VideoClip(colours).show"]
    for line in lines:
        assert "no display" in line
        for instead in ("display_in_notebook()", "write_videofile", "save_frame", "xvfb-run"):
            assert instead in line, line


def test_a_display_that_cannot_be_opened_is_the_same_clear_error(tmp_path):
    proc = player(
        """
        from framepipe.errors import UnsupportedError
        try:
            VideoClip(colours, duration=1).preview()
        except UnsupportedError as e:
            print(e)
        """,
        tmp_path,
        ":4999",  # no X server there
    )
    out = finished(proc)
    assert "cannot open a window on :4999" in out and "display_in_notebook()" in out, out


def test_without_pygame_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setenv("DISPLAY", ":4999")
    monkeypatch.setitem(sys.modules, "pygame", None)  # import pygame raises ImportError
    clip = ColorClip((W, H), RED, duration=1)
    for call in (clip.preview, clip.show):
        with pytest.raises(UnsupportedError, match=r"pip install pygame.*display_in_notebook"):
            call()


@pytest.fixture
def notebook(monkeypatch):
    """A stand-in IPython kernel: get_ipython() has a kernel; what is displayed is collected."""
    shown: list = []
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: types.SimpleNamespace(kernel=object())  # type: ignore[attr-defined]
    display = types.ModuleType("IPython.display")
    display.display = shown.append  # type: ignore[attr-defined]
    display.Image = lambda data, format: ("Image", format, data)  # type: ignore[attr-defined]
    display.Audio = lambda data, rate, normalize: ("Audio", rate, data)  # type: ignore[attr-defined]
    ipython.display = display  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"):
        monkeypatch.delenv(name, raising=False)
    return shown


def test_in_a_notebook_show_displays_the_frame_as_a_png(notebook):
    import io

    from PIL import Image

    rgba = np.zeros((H, W, 4), np.uint8)
    rgba[..., 0] = np.arange(W, dtype=np.uint8)[None, :]
    rgba[..., 3] = 200
    assert ImageClip(rgba, duration=1).show(0.5) is None
    [(kind, fmt, data)] = notebook
    assert (kind, fmt) == ("Image", "png")
    decoded = np.asarray(Image.open(io.BytesIO(data)))
    np.testing.assert_array_equal(decoded, rgba)  # the mask as alpha
    notebook.clear()
    ImageClip(rgba, duration=1).show(0, with_mask=False)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(notebook[0][2]))), rgba[..., :3])


def test_in_a_notebook_preview_displays_the_clip_as_a_video(notebook, tmp_path):
    import framepipe

    clip = VideoClip(lambda t: np.full((H, W, 3), (RED, GREEN, BLUE)[min(int(t), 2)], np.uint8), duration=3)
    assert clip.preview(fps=10) is None
    [video] = notebook
    assert isinstance(video, framepipe.Video)
    path = tmp_path / "shown.mp4"
    # What the notebook shows: the MP4 embedded in the HTML.
    path.write_bytes(base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)", video._repr_html_()).group(1)))
    frames = decode_av(path)
    assert frames.shape == (30, H, W, 3)
    for i, colour in enumerate((RED, GREEN, BLUE)):
        assert np.abs(frames[10 * i + 5].astype(int) - colour).max() < 8


def test_in_a_notebook_audiopreview_displays_the_sound(notebook):
    from framepipe.clips._player import audiopreview

    class Sound:
        fps = 8000

        def to_soundarray(self, fps, nbytes):
            return np.linspace(-1, 1, 2 * fps)[:, None] * [1, 0.5]

    audiopreview(Sound())
    [(kind, rate, data)] = notebook
    assert (kind, rate) == ("Audio", 8000)
    np.testing.assert_allclose(data, (np.linspace(-1, 1, 16000)[:, None] * [1, 0.5]).T.astype(np.float32))


# ---- bad input ------------------------------------------------------------------------------------------


def test_bad_arguments_are_named(monkeypatch):
    monkeypatch.setenv("DISPLAY", ":4999")
    clip = ColorClip((W, H), RED, duration=1)
    with pytest.raises(ParameterError, match=r"t=2 s is outside the clip \(0 to 1 s\)"):
        clip.show(2)
    with pytest.raises(ParameterError, match=r"cannot read 'soon'"):
        clip.show("soon")
    with pytest.raises(ParameterError, match="audio_buffersize must be a positive whole number, got 0"):
        clip.preview(audio_buffersize=0)
    with pytest.raises(ParameterError, match="no duration"):
        ColorClip((W, H), RED).preview()
    with pytest.raises(TypeError, match="did you mean 'audio_fps'"):
        clip.preview(audio_fsp=44100)


def test_bad_sound_arguments_are_named():
    from framepipe.clips._player import _sound_array

    class Sound:
        def __init__(self, array):
            self.array = array

        def to_soundarray(self, fps, nbytes):
            return self.array

    with pytest.raises(ParameterError, match="audio_nbytes must be 1, 2 or 4"):
        _sound_array(Sound(np.zeros((4, 2))), 22050, 3, "x")
    with pytest.raises(ParameterError, match="NaN"):
        _sound_array(Sound(np.full((4, 2), np.nan)), 22050, 2, "x")
    with pytest.raises(ParameterError, match=r"shape \(4, 3\)"):
        _sound_array(Sound(np.zeros((4, 3))), 22050, 2, "x")
    with pytest.raises(ParameterError, match="no to_soundarray"):
        _sound_array(object(), 22050, 2, "x")


def test_the_signatures_are_moviepys():
    # MoviePy 2.2.1's parameters, defaults and order (its decorators keep the signatures);
    # framepipe adds MoviePy 1.x's interactive= and fullscreen= at the end.
    import inspect

    import moviepy
    from framepipe.clips.audio import AudioClip

    def params(f):
        return [(p.name, p.default) for p in inspect.signature(f).parameters.values()][1:]

    for ours, theirs in (
        (VideoClip.show, moviepy.VideoClip.show),
        (VideoClip.preview, moviepy.VideoClip.preview),
        (AudioClip.audiopreview, moviepy.AudioClip.audiopreview),
    ):
        assert params(ours)[: len(params(theirs))] == params(theirs)
    assert params(VideoClip.show)[2:] == [("interactive", False)]
    assert params(VideoClip.preview)[5:] == [("fullscreen", False)]


def test_audiopreview_takes_the_clips_own_rate(notebook):
    """Called without fps=, the sound plays at the clip's own rate (audio clips keep it as a
    float, 8000.0): before, that was refused as "not a positive whole number"."""
    from framepipe.clips.audio import AudioClip

    clip = AudioClip(lambda t: 0.5 * np.sin(2 * np.pi * 440 * t), duration=0.25, fps=8000)
    assert clip.audiopreview() is None
    [(kind, rate, data)] = notebook
    assert (kind, rate) == ("Audio", 8000)
    np.testing.assert_allclose(np.asarray(data).T[:, 0], clip.to_soundarray(fps=8000)[:, 0], atol=1e-6)
