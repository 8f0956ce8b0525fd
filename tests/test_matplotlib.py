"""The matplotlib movie writer: registration, the MovieWriter interface, sizes, transparency,
progress, errors, HTML5 video, and matplotlib's own animation tests run with "framepipe".

Outputs are decoded by ffmpeg (conftest.decode_rgb) and compared with frames rendered by
matplotlib's own ``savefig`` path (mpl_support.SavefigWriter)."""

from __future__ import annotations

import base64
import inspect
import io
import logging
import os
import re
import subprocess
import sys
import textwrap
import typing
import warnings
from fractions import Fraction
from pathlib import Path

import framepipe
import framepipe.matplotlib as fpm
import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest
from conftest import check_video, decode_rgb, ffprobe, format_tags, psnr
from framepipe.matplotlib import FramepipeWriter
from matplotlib import animation
from matplotlib.animation import FuncAnimation
from mpl_support import CaptureWriter, SavefigWriter, max_diff, over_white, record

HERE = Path(__file__).resolve().parent
PY = sys.executable


def make_line(n=12, figsize=(4, 3), dpi=80, interval=33, **fig_kw):
    def make():
        fig, ax = plt.subplots(figsize=figsize, dpi=dpi, **fig_kw)
        x = np.linspace(-2, 2, 200)
        (line,) = ax.plot(x, np.sinc(x**2), lw=2)
        ax.set(ylim=(-1.5, 2.2), title="line", xlabel="x")

        def update(i):
            line.set_ydata(np.sinc(x**2) + np.sin(x + 2 * np.pi * i / n))
            return (line,)

        return fig, FuncAnimation(fig, update, frames=n, interval=interval)

    return make


def run_py(code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONWARNINGS="error::UserWarning")
    return subprocess.run([PY, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, timeout=120)


# ---------------------------------------------------------------------------- registration


def test_import_framepipe_first_registers_when_matplotlib_animation_is_imported():
    r = run_py("""
        import sys
        import framepipe
        assert "matplotlib" not in sys.modules, "import framepipe must not import matplotlib"
        import matplotlib.animation as a
        assert "framepipe" in a.writers.list(), a.writers.list()
        from framepipe.matplotlib import FramepipeWriter
        assert a.writers["framepipe"] is FramepipeWriter
        # the module looks as if imported normally, and the hook is gone
        assert type(a.__spec__.loader).__module__.startswith("_frozen_importlib"), a.__spec__.loader
        assert a.__loader__ is a.__spec__.loader
        assert not any(type(f).__module__ == "framepipe._mpl_hook" for f in sys.meta_path)
        print("ok")
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_import_framepipe_after_matplotlib_animation_registers_at_once():
    r = run_py("""
        import matplotlib.animation as a
        assert "framepipe" not in a.writers.list()
        import framepipe
        assert "framepipe" in a.writers.list()
        import sys
        assert not any(type(f).__module__ == "framepipe._mpl_hook" for f in sys.meta_path)
        print("ok")
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_import_framepipe_after_plain_matplotlib_waits_for_animation():
    r = run_py("""
        import sys, matplotlib, matplotlib.pyplot
        import framepipe
        assert "matplotlib.animation" not in sys.modules
        assert "framepipe.matplotlib" not in sys.modules
        from matplotlib import animation
        assert "framepipe" in animation.writers.list()
        print("ok")
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_framepipe_works_without_matplotlib(tmp_path):
    r = run_py(f"""
        import sys
        class NoMatplotlib:
            def find_spec(self, name, path, target=None):
                if name == "matplotlib" or name.startswith("matplotlib."):
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        sys.meta_path.insert(0, NoMatplotlib())
        import numpy as np
        import framepipe
        r = framepipe.write_video({str(tmp_path / "a.mp4")!r}, [np.zeros((16, 16, 3), np.uint8)] * 3, fps=10)
        assert r.frames == 3
        assert "<video" in framepipe.Video({str(tmp_path / "a.mp4")!r})._repr_html_()
        try:
            import matplotlib.animation
        except ModuleNotFoundError:
            print("ok")
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"
    check_video(tmp_path / "a.mp4", frames=3, width=16, height=16, fps=10)


# ------------------------------------------------------------------------------ saving


def test_save_by_name_matches_matplotlib_rendering(tmp_path):
    out = tmp_path / "line.mp4"
    ref = record(make_line(), SavefigWriter(fps=30), tmp_path / "ref.null")
    fig, ani = make_line()()
    ani.save(out, writer="framepipe", fps=30)
    plt.close(fig)
    check_video(out, frames=12, width=320, height=240, fps=30)
    dec = decode_rgb(out)
    assert psnr(dec, over_white(ref)) > 34
    assert psnr(dec, over_white(ref)) > psnr(dec[1:], over_white(ref)[:-1]) + 5  # frame for frame


def test_writer_takes_the_engine_table_but_format_and_pix_fmt(tmp_path):
    table = [row["name"] for row in framepipe._native.option_table()]
    params = inspect.signature(FramepipeWriter.__init__).parameters
    taken = set(params) | set(typing.get_type_hints(framepipe.FigureEncodeOptions))
    assert set(table) - taken == {"format", "pix_fmt"}, set(table) - taken
    # The options a mirror of VideoWriter's adds reach the engine: fragments of 0.1 s make a file
    # that is fragmented while written (ffmpeg decodes it all after close, as with VideoWriter).
    out = tmp_path / "frag.mp4"
    w = FramepipeWriter(fps=30, fragment_seconds=0.1, durable=True, queue_frames=2)
    fig, ani = make_line(n=12)()
    ani.save(out, writer=w)
    plt.close(fig)
    check_video(out, frames=12, width=320, height=240, fps=30)
    # A GIF ignores the MP4-only ones (logged), as matplotlib's writers do.
    gif = tmp_path / "frag.gif"
    fig, ani = make_line(n=4)()
    ani.save(gif, writer=FramepipeWriter(fps=10, fragment_seconds=0.1, durable=True))
    plt.close(fig)
    assert framepipe.probe(gif)["frame_count"] == 4
    with pytest.raises(framepipe.ParameterError, match="fragment_seconds"):
        fig, ani = make_line(n=2)()
        try:
            ani.save(tmp_path / "bad.mp4", writer=FramepipeWriter(fps=10, fragment_seconds=-1))
        finally:
            plt.close(fig)


def test_writer_options(tmp_path):
    sizes = {}
    for name, kw in {
        "crf 12": dict(crf=12),
        "crf 40": dict(crf=40),
        "100 kbps": dict(bitrate=100),
        "3000 kbps": dict(bitrate=3000, preset="ultrafast", tune="animation", keyint=5),
    }.items():
        out = tmp_path / f"{name}.mp4"
        w = FramepipeWriter(fps=Fraction(30000, 1001), **kw)
        fig, ani = make_line(n=10)()
        ani.save(out, writer=w)
        plt.close(fig)
        check_video(out, frames=10, width=320, height=240, fps=Fraction(30000, 1001))
        assert w.result.frames == 10 and w.result.path == str(out)
        sizes[name] = out.stat().st_size
    assert sizes["crf 12"] > 2 * sizes["crf 40"], sizes
    assert sizes["3000 kbps"] > 2 * sizes["100 kbps"], sizes


def test_save_keywords_reach_the_writer(tmp_path):
    """Animation.save(writer="framepipe", bitrate=..., codec="h264") as with matplotlib's writers."""
    out = tmp_path / "a.mp4"
    fig, ani = make_line(n=6)()
    ani.save(out, writer="framepipe", fps=12, bitrate=200, codec="h264", dpi=40)
    plt.close(fig)
    check_video(out, frames=6, width=160, height=120, fps=12)


def test_metadata_reaches_the_mp4(tmp_path):
    """Animation.save(metadata=...) as with matplotlib's ffmpeg writer: the tags ffprobe reads
    back, including matplotlib's own keys that have no iTunes atom (subject, srcform)."""
    out = tmp_path / "m.mp4"
    fig, ani = make_line(n=4)()
    md = {"title": "Wave ü", "artist": "Ada", "comment": "c", "subject": "physics", "srcform": "sim.py"}
    ani.save(out, writer="framepipe", fps=12, dpi=40, metadata=md)
    plt.close(fig)
    check_video(out, frames=4, width=160, height=120, fps=12)
    tags = format_tags(out)
    assert {k: tags.get(k) for k in md} == md
    assert tags["encoder"].startswith("framepipe ")
    gif = tmp_path / "m.gif"
    fig, ani = make_line(n=4)()
    with warnings.catch_warnings():
        warnings.simplefilter("error", framepipe.FramepipeWarning)  # logged, not warned
        ani.save(gif, writer="framepipe", fps=12, dpi=40, metadata={"title": "x"})
    plt.close(fig)
    assert framepipe.probe(gif)["frame_count"] == 4


def test_refused_and_warned_options(tmp_path):
    fig, ax = plt.subplots(figsize=(2, 2), dpi=50)
    with pytest.raises(framepipe.UnsupportedError, match="H.264 only; codec 'mpeg4'"):
        with FramepipeWriter(codec="mpeg4").saving(fig, tmp_path / "x.mp4", dpi=50):
            pass
    plt.close(fig)
    assert not (tmp_path / "x.mp4").exists()
    w = FramepipeWriter(metadata={"title": "x"})
    assert FramepipeWriter.isAvailable() and w.codec == "h264"
    # A bad encoder option is refused at setup, before anything is drawn, and restores the figure.
    fig, ax = plt.subplots(figsize=(2, 2), dpi=50)
    canvas = fig.canvas
    w = FramepipeWriter(crf=99)
    with pytest.raises(framepipe.ParameterError, match="crf"):
        with w.saving(fig, tmp_path / "x.mp4", dpi=50):
            pass
    assert "draw_idle" not in vars(canvas) and fig.canvas is canvas
    plt.close(fig)


def test_saving_and_grab_frame_by_hand(tmp_path):
    fig, ax = plt.subplots(figsize=(3, 2), dpi=100)
    (line,) = ax.plot([0, 1], [0, 1])
    canvas = fig.canvas
    w = CaptureWriter(fps=10)
    with w.saving(fig, tmp_path / "h.mp4", dpi=50):
        assert w.frame_size == (150, 100) and w.dpi == 50
        assert fig.dpi == 50
        for i in range(5):
            line.set_ydata([0, i / 4])
            w.grab_frame()
        for k in ("dpi", "bbox_inches", "format"):
            with pytest.raises(TypeError, match=f"grab_frame got an unexpected keyword argument {k!r}"):
                w.grab_frame(**{k: object()})
        with pytest.raises(TypeError, match="unexpected keyword argument 'pil_kwargs'"):
            w.grab_frame(pil_kwargs={})
        with mpl.rc_context({"savefig.bbox": "tight"}), pytest.raises(ValueError, match="tight"):
            w.grab_frame()
    # The figure is as it was.
    assert fig.dpi == 100 and fig.canvas is canvas and "draw_idle" not in vars(canvas)
    assert not canvas.is_saving()
    assert w.stats["full"] == 5  # no animation: every frame is a full draw
    check_video(tmp_path / "h.mp4", frames=5, width=150, height=100, fps=10)
    # Same pixels as savefig at that dpi.
    b = io.BytesIO()
    fig.savefig(b, format="rgba", dpi=50)
    last = np.frombuffer(b.getvalue(), np.uint8).reshape(100, 150, 4)
    assert max_diff(w.raw[-1], last) == 0
    plt.close(fig)


def test_frame_is_exactly_figure_size_times_dpi(tmp_path, caplog):
    """No nudging to even sizes: 3.21 x 2.41 in at 100 dpi gives 321x241 frames."""
    caplog.set_level(logging.INFO, logger="framepipe.matplotlib")
    w = CaptureWriter(fps=10)
    make = make_line(n=4, figsize=(3.21, 2.41), dpi=100)
    fig, ani = make()
    with warnings.catch_warnings():
        warnings.simplefilter("error", framepipe.FramepipeWarning)  # logged, not warned
        ani.save(tmp_path / "odd.mp4", writer=w)
    assert tuple(fig.get_size_inches()) == (3.21, 2.41)
    plt.close(fig)
    assert w.raw[0].shape == (241, 321, 4)
    assert any("is odd" in r.getMessage() for r in caplog.records)
    info = ffprobe(tmp_path / "odd.mp4")
    # The engine repeats the last column/row to reach even sizes (or crops back to 321x241).
    assert (info["width"], info["height"]) in ((321, 241), (322, 242)), info
    got = decode_rgb(tmp_path / "odd.mp4")[:, :241, :321]
    assert got.shape[0] == 4
    assert psnr(got, over_white(np.stack(w.raw))) > 34


def test_frame_size_is_the_canvas_size_and_dpi_defaults_to_the_figure(tmp_path):
    """As matplotlib's test_frame_size / test_movie_writer_dpi_default ask of writers: 1 x 2.03 in
    at 100 dpi is a 100x203 canvas (the figure's bbox is 202.99999... px high)."""
    fig = plt.figure(figsize=(1, 2.03), dpi=100)
    assert fig.canvas.get_width_height() == (100, 203)
    w = CaptureWriter(fps=5)
    w.setup(fig, tmp_path / "f.mp4")  # no dpi: the figure's
    assert w.dpi == fig.dpi and w.frame_size == (100, 203)
    w.grab_frame()
    w.finish()
    plt.close(fig)
    assert w.raw[0].shape == (203, 100, 4)
    info = ffprobe(tmp_path / "f.mp4")
    assert (info["width"], info["height"]) in ((100, 203), (100, 204))


def test_dpi_is_restored_and_canvas_not_agg(tmp_path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1.5), dpi=72)  # a bare figure: FigureCanvasBase, no buffer_rgba
    canvas = fig.canvas
    ax = fig.add_subplot()
    (line,) = ax.plot([0, 1], [1, 0])

    def update(i):
        line.set_ydata([i / 5, 1 - i / 5])
        return (line,)

    ani = FuncAnimation(fig, update, frames=5)
    ani.save(tmp_path / "bare.mp4", writer="framepipe", dpi=120)
    assert fig.canvas is canvas and fig.dpi == 72
    check_video(tmp_path / "bare.mp4", frames=5, width=240, height=180, fps=5)


# -------------------------------------------------------------------------- transparency


def test_semi_transparent_facecolor_is_composited_like_matplotlib(tmp_path):
    make = make_line(n=6, facecolor=(0.0, 0.0, 1.0, 0.5))
    ref = record(make, SavefigWriter(fps=30), tmp_path / "r.null")
    w = CaptureWriter(fps=30)
    got = record(make, w, tmp_path / "f.mp4")
    assert max_diff(got, ref) == 0
    assert np.abs(got[0, 2, 2].astype(int) - (127, 127, 255, 255)).max() <= 1  # blue at 50% over white
    dec = decode_rgb(tmp_path / "f.mp4")
    assert np.abs(dec[:, 2:6, 2:6].astype(int) - (127, 127, 255)).max() <= 6


@pytest.mark.parametrize(
    "background, expect", [(None, (255, 255, 255)), ((0, 0, 0), (0, 0, 0)), ((255, 128, 0), (255, 128, 0))]
)
def test_transparent_frames_show_the_background(tmp_path, background, expect):
    fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
    ax.plot([0, 1], [0, 1])
    kw = {} if background is None else {"background": background}
    w = CaptureWriter(fps=10, **kw)
    with w.saving(fig, tmp_path / "t.mp4", dpi=40):
        for _ in range(3):
            w.grab_frame(transparent=True)
    plt.close(fig)
    assert w.raw[0][2, 2, 3] == 0  # the corner is transparent in the frame handed over
    dec = decode_rgb(tmp_path / "t.mp4")
    assert np.abs(dec[:, 1:6, 1:6].astype(int) - expect).max() <= 6
    check_video(tmp_path / "t.mp4", frames=3, width=80, height=80, fps=10)


def test_hidden_figure_patch_shows_white(tmp_path):
    def make():
        fig, ani = make_line(n=4)()
        fig.patch.set_visible(False)
        return fig, ani

    ref = record(make, SavefigWriter(fps=30), tmp_path / "r.null")
    w = CaptureWriter(fps=30)
    got = record(make, w, tmp_path / "p.mp4")
    assert max_diff(got, ref) == 0
    dec = decode_rgb(tmp_path / "p.mp4")
    assert dec[:, :4, :4].min() >= 249


# ----------------------------------------------------------------------------- progress


def test_progress_callback(tmp_path):
    calls = []
    fig, ani = make_line(n=7)()
    ani.save(tmp_path / "p.mp4", writer="framepipe", progress_callback=lambda i, n: calls.append((i, n)))
    plt.close(fig)
    assert calls == [(i, 7) for i in range(7)]


def test_tqdm_progress_bar(tmp_path, capsys):
    fig, ani = make_line(n=7)()
    ani.save(tmp_path / "a.mp4", writer=FramepipeWriter(progress=True))
    assert re.search(r"a\.mp4.*7/7", capsys.readouterr().err)
    # Not a terminal (pytest captures stderr): no bar by default, nor with progress=False.
    ani.save(tmp_path / "b.mp4", writer="framepipe")
    ani.save(tmp_path / "c.mp4", writer=FramepipeWriter(progress=False))
    plt.close(fig)
    assert "7/7" not in capsys.readouterr().err


def test_progress_shown_when_interactive(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(fpm._writer, "_interactive", lambda: True)
    fig, ani = make_line(n=5)()
    ani.save(tmp_path / "a.mp4", writer="framepipe")
    plt.close(fig)
    assert "5/5" in capsys.readouterr().err


# -------------------------------------------------------------------------------- errors


def test_error_in_animation_keeps_frames_and_the_error(tmp_path):
    x = np.linspace(0, 1, 20)

    def make():
        fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
        (line,) = ax.plot(x, x)

        def update(i):
            if i == 5:
                raise KeyError("boom at frame 5")
            line.set_ydata(x * i)
            return (line,)

        return fig, FuncAnimation(fig, update, frames=10)

    fig, ani = make()
    with pytest.raises(KeyError, match="boom"):
        ani.save(tmp_path / "e.mp4", writer="framepipe")
    plt.close(fig)
    check_video(tmp_path / "e.mp4", frames=5, width=80, height=80, fps=5)


def test_error_before_any_frame_is_not_masked(tmp_path):
    fig, ax = plt.subplots(figsize=(2, 2), dpi=40)

    def update(i):
        raise RuntimeError("first frame fails")

    ani = FuncAnimation(fig, update, frames=3)
    with pytest.raises(RuntimeError, match="first frame fails") as info:
        ani.save(tmp_path / "none.mp4", writer="framepipe")
    plt.close(fig)
    assert any("framepipe" in n and "no frames" in n for n in getattr(info.value, "__notes__", []))
    assert not (tmp_path / "none.mp4").exists()


def test_missing_directory(tmp_path):
    fig, ani = make_line(n=2)()
    with pytest.raises(FileNotFoundError):
        ani.save(tmp_path / "nope" / "a.mp4", writer="framepipe")
    plt.close(fig)


# ------------------------------------------------------------------------------- HTML5


def test_to_html5_video(tmp_path, caplog):
    fig, ani = make_line(n=9, interval=50)()
    html = fpm.to_html5_video(ani)
    assert re.search(r"<video controls loop autoplay muted playsinline width=\"320\" height=\"240\">", html), html[:200]
    data = re.search(r'src="data:video/mp4;base64,([A-Za-z0-9+/=]+)"', html).group(1)
    (tmp_path / "v.mp4").write_bytes(base64.b64decode(data))
    check_video(tmp_path / "v.mp4", frames=9, width=320, height=240, fps=20)
    caplog.set_level(logging.WARNING)
    assert fpm.to_html5_video(ani, embed_limit=1e-4) == "Video too large to embed."
    assert any("exceeding the limit" in r.getMessage() for r in caplog.records)
    plt.close(fig)


def test_matplotlib_to_html5_video_uses_framepipe_writer(tmp_path):
    fig, ani = make_line(n=4)()
    with mpl.rc_context({"animation.writer": "framepipe"}):
        html = ani.to_html5_video()
    plt.close(fig)
    data = re.search(r"base64,([A-Za-z0-9+/=\n]+)\"", html).group(1)
    (tmp_path / "m.mp4").write_bytes(base64.b64decode(data))
    check_video(tmp_path / "m.mp4", frames=4, width=320, height=240, fps=Fraction(1000, 33))


def test_save_returns_a_result_that_displays(tmp_path):
    fig, ani = make_line(n=5)()
    res = fpm.save(ani, tmp_path / "r.mp4", fps=25)
    plt.close(fig)
    assert isinstance(res, framepipe.VideoResult) and res.frames == 5 and res.fps == 25
    assert res.path == str(tmp_path / "r.mp4")
    check_video(res.path, frames=5, width=320, height=240, fps=25)
    assert 'src="data:video/mp4;base64,' in res._repr_html_()


# ----------------------------------------------------- matplotlib's own animation tests


def test_matplotlib_animation_tests_pass_with_framepipe(tmp_path):
    """Run matplotlib's lib/matplotlib/tests/test_animation.py (installed with matplotlib) with
    "framepipe" added to its writer tests (tests/mpl_upstream_plugin.py)."""
    path = Path(animation.__file__).parent / "tests" / "test_animation.py"
    assert path.exists(), "matplotlib's tests are installed with its wheels"
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]), MPLBACKEND="Agg")
    r = subprocess.run(
        [
            PY,
            "-m",
            "pytest",
            "-c",
            str(tmp_path / "pytest.ini"),
            "-p",
            "mpl_upstream_plugin",
            "-p",
            "no:cacheprovider",
            "-rA",
            "-q",
            str(path),
            "-k",
            "framepipe or embed_limit",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    passed = re.findall(r"^PASSED (.+)$", r.stdout, re.M)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    fp = [p for p in passed if "framepipe" in p]
    # smoketest x3 and grabframe x3 (MP4, MP4 as a Path, GIF), repr_html x3, and test_embed_limit
    # x2 with "framepipe" as the default writer.
    assert len(fp) == 9 and len([p for p in passed if "embed_limit" in p]) == 2, passed
    for test in ("test_save_animation_smoketest", "test_grabframe"):
        assert [p for p in fp if test in p and "movie.gif" in p], (test, passed)
        assert [p for p in fp if test in p and "movie.mp4" in p], (test, passed)
    assert re.search(r"\b11 passed\b", r.stdout) and "failed" not in r.stdout.splitlines()[-1]


def test_gif_options_and_loop_follow_the_animation(tmp_path):
    """colors/dither/loop reach a GIF saved through the writer; a repeat=False animation plays
    once, a repeating one loops; GIF options given for an MP4 are ignored (logged)."""
    from PIL import Image

    fig, ani = make_line(n=6)()
    ani.save(tmp_path / "a.gif", writer=FramepipeWriter(fps=12, colors=8, dither="none"), dpi=40)
    plt.close(fig)
    with Image.open(tmp_path / "a.gif") as im:
        assert im.info.get("loop") == 0 and im.n_frames == 6
        assert len(im.convert("RGB").getcolors(256)) <= 8
    fig, ani = make_line(n=6)()
    ani._repeat = False  # FuncAnimation(..., repeat=False)
    ani.save(tmp_path / "once.gif", writer="framepipe", fps=12, dpi=40)
    plt.close(fig)
    with Image.open(tmp_path / "once.gif") as im:
        assert im.info.get("loop") is None  # no NETSCAPE block: plays once
    fig, ani = make_line(n=6)()
    ani.save(tmp_path / "x.mp4", writer=FramepipeWriter(fps=12, colors=8, loop=2), dpi=40)  # ignored for MP4
    plt.close(fig)
    check_video(tmp_path / "x.mp4", frames=6, width=160, height=120, fps=12)


def gif_frames(path) -> tuple[int, int, int]:
    """(frames, width, height) of a GIF as ffprobe decodes it."""
    s = ffprobe(path)
    return s["nb_read_frames"], s["width"], s["height"]


def test_options_that_do_not_apply_to_a_gif_are_ignored_as_matplotlibs_writers_do(tmp_path, caplog):
    """matplotlib's own GIF writers take bitrate, codec and extra_args and ignore them; so does
    this one, saying so at INFO level, by name and as an instance. MP4 still honours them."""
    caplog.set_level(logging.INFO, logger="framepipe.matplotlib")
    fig, ani = make_line(n=6)()
    ani.save(
        tmp_path / "a.gif", writer="framepipe", fps=12, dpi=40, bitrate=500, codec="h264", extra_args=["-loop", "0"]
    )
    plt.close(fig)
    assert gif_frames(tmp_path / "a.gif") == (6, 160, 120)
    msgs = [r.getMessage() for r in caplog.records if r.name == "framepipe.matplotlib"]
    assert any("bitrate=500" in m and "extra_args=['-loop', '0']" in m and "GIF output" in m for m in msgs), msgs
    caplog.clear()
    fig, ani = make_line(n=5)()
    ani.save(tmp_path / "b.gif", writer=FramepipeWriter(fps=10, bitrate=500, crf=20, codec="libx264"), dpi=40)
    plt.close(fig)
    assert gif_frames(tmp_path / "b.gif") == (5, 160, 120)
    msgs = [r.getMessage() for r in caplog.records if r.name == "framepipe.matplotlib"]
    assert any("crf=20" in m and "bitrate=500" in m and "do not apply to GIF output" in m for m in msgs), msgs
    # MP4: bitrate is honoured (a 20x larger budget gives a clearly larger file).
    sizes = {}
    for rate in (50, 1000):
        fig, ani = make_line(n=24)()
        ani.save(tmp_path / f"r{rate}.mp4", writer="framepipe", fps=12, dpi=60, bitrate=rate)
        plt.close(fig)
        check_video(tmp_path / f"r{rate}.mp4", frames=24, width=240, height=180, fps=12)
        sizes[rate] = (tmp_path / f"r{rate}.mp4").stat().st_size
    assert sizes[1000] > 2 * sizes[50], sizes
    # A truly invalid option still fails, before anything is drawn.
    fig, ani = make_line(n=3)()
    with pytest.raises(framepipe.ParameterError, match="crf"):
        ani.save(tmp_path / "bad.mp4", writer=FramepipeWriter(fps=12, crf=-5), dpi=40)
    plt.close(fig)


def test_parallel_figures_with_transparent_facecolor_are_over_white(tmp_path):
    out = tmp_path / "t.mp4"

    def make():
        fig, ax = plt.subplots(figsize=(2, 1.5), dpi=50, facecolor="none")
        ax.set_facecolor("none")
        (line,) = ax.plot([0, 1], [0, 1], color="black")
        return fig, line

    def update(state, i):
        state[1].set_ydata([0, i / 4])

    fpm.render(make, update, 4, out, fps=8, workers=2, chunk_frames=2)
    corner = decode_rgb(out)[:, 1, 1]
    assert (corner > 240).all(), corner
