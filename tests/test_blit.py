"""Blit-aware saving draws the same pixels as full redraws.

Every test records the raw RGBA frames three ways, each from a freshly built animation:
  ref   matplotlib's own path: ``fig.savefig(format="rgba")`` per frame (what its writers do),
  full  framepipe's writer with ``blit=False`` (one ``canvas.draw()`` per frame),
  blit  framepipe's writer (restore the kept background, draw only what changed),
and compares them pixel for pixel before encoding. The maximum absolute difference is printed
(``pytest -s``) and must be 0. Tests also check from ``writer.stats["modes"]`` that the blit path
really ran, and that a frame where the kept background would be wrong was redrawn in full.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import framepipe.matplotlib._geometry as fpm_geometry
import framepipe.matplotlib._recorder as fpm_recorder
import matplotlib.pyplot as plt
import numpy as np
import pytest
from conftest import check_video, decode_rgb, psnr
from matplotlib.animation import FuncAnimation
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter
from mpl_support import CaptureWriter, SavefigWriter, max_diff, over_white, per_frame_diff, record

N = 16
FIG = dict(figsize=(4, 3), dpi=80)  # 320x240


def three_ways(make, tmp_path, **writer_kwargs):
    ref = record(make, SavefigWriter(fps=30), tmp_path / "ref.null")
    full_w = CaptureWriter(fps=30, blit=False, **writer_kwargs)
    full = record(make, full_w, tmp_path / "full.mp4")
    blit_w = CaptureWriter(fps=30, **writer_kwargs)
    blit = record(make, blit_w, tmp_path / "blit.mp4")
    return ref, full, blit, blit_w


# ------------------------------------------------------------------------------ five kinds


def kind_line():
    fig, ax = plt.subplots(**FIG)
    x = np.linspace(-2, 2, 300)
    (line,) = ax.plot(x, np.sinc(x**2), lw=2)
    ax.set(ylim=(-1.5, 2.2), title="sinc(x²) + sin(x + 2πt/T)", xlabel="x", ylabel="y")
    ax.grid(True)

    def update(i):
        line.set_ydata(np.sinc(x**2) + np.sin(x + 2 * np.pi * i / N))
        return (line,)

    return fig, FuncAnimation(fig, update, frames=N, interval=33)


def kind_scatter():
    fig, ax = plt.subplots(**FIG)
    rng = np.random.default_rng(1)
    base = rng.uniform(-1, 1, (60, 2))
    vel = rng.normal(0, 0.08, (60, 2))
    scat = ax.scatter(base[:, 0], base[:, 1], c=np.arange(60), s=40, cmap="viridis")
    ax.plot([-1.5, 1.5], [0, 0], color="0.5", zorder=3)  # a static line drawn above the points
    ax.set(xlim=(-1.5, 1.5), ylim=(-1.5, 1.5), title="scatter")

    def update(i):
        scat.set_offsets(base + i * vel)  # some points leave the axes (clipped)
        return (scat,)

    return fig, FuncAnimation(fig, update, frames=N)


def kind_imshow():
    fig, ax = plt.subplots(**FIG)
    rng = np.random.default_rng(2)
    im = ax.imshow(rng.random((24, 32)), vmin=0, vmax=1, cmap="gray", interpolation="nearest")
    fig.colorbar(im, ax=ax)
    ax.set_title("noise")

    def update(i):
        im.set_data(rng.random((24, 32)))
        return (im,)

    return fig, FuncAnimation(fig, update, frames=N)


def kind_text():
    fig, ax = plt.subplots(**FIG)
    x = np.linspace(0, 1, 50)
    ax.plot(x, x, color="C1", lw=3)  # static, under the text
    txt = ax.text(0.5, 0.55, "", transform=ax.transAxes, ha="center", fontsize=14)
    corner = ax.text(1.0, 1.02, "", transform=ax.transAxes, ha="right")  # outside the axes
    ax.set_title("text")

    def update(i):
        txt.set_text(f"t = {i / 30:.2f} s {'*' * (i % 5)}")
        corner.set_text(f"frame {i}")
        return (txt, corner)

    return fig, FuncAnimation(fig, update, frames=N)


def kind_patch(zorder=None):
    def make():
        fig, ax = plt.subplots(**FIG)
        x = np.linspace(0, 1, 50)
        ax.plot(x, 0.5 + 0.3 * np.sin(6 * x), color="C2", lw=2)
        ax.set(xlim=(0, 1), ylim=(0, 1), title="patch over tick labels")
        kw = {} if zorder is None else {"zorder": zorder}
        rect = Rectangle(
            (0, 0),
            0.12,
            0.12,
            transform=ax.transAxes,
            clip_on=False,
            facecolor="tab:red",
            edgecolor="k",
            alpha=0.8,
            **kw,
        )
        ax.add_patch(rect)

        def update(i):
            # From over the y tick labels (left of the axes) across the axes to past the right
            # edge, sweeping down over the x tick labels.
            t = i / (N - 1)
            rect.set_xy((-0.25 + 1.3 * t, 0.7 - 0.9 * t))
            return (rect,)

        return fig, FuncAnimation(fig, update, frames=N)

    return make


KINDS = {
    "line set_ydata": kind_line,
    "scatter set_offsets": kind_scatter,
    "imshow set_data": kind_imshow,
    "changing text": kind_text,
    "patch across tick labels": kind_patch(),
    "patch across tick labels (zorder 5)": kind_patch(5),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_blit_frames_equal_full_redraws(kind, tmp_path):
    ref, full, blit, w = three_ways(KINDS[kind], tmp_path, crf=10)
    d_full, d_blit = max_diff(full, ref), max_diff(blit, ref)
    print(
        f"\n[{kind}] max abs pixel difference: blit vs savefig {d_blit}, full vs savefig {d_full}, "
        f"modes {''.join(m[0] for m in w.stats['modes'])}, reasons {dict(w.stats['reasons'])}"
    )
    assert d_full == 0
    assert d_blit == 0, per_frame_diff(blit, ref)
    # The blit path really ran: after the first two frames, most frames are blitted.
    assert w.stats["blit"] >= N // 2, w.stats
    assert w.stats["modes"][0] == "full"
    if kind == "patch across tick labels":
        # The patch (zorder 1) slides under the tick labels (zorder 1.5): when it reaches them the
        # writer notices (they are in the kept picture), redraws, and then draws them over it.
        assert any("drawn above it" in r for r in w.stats["reasons"]), w.stats
        assert w.stats["backgrounds"] >= 2
    # And the MP4 (crf 10) holds those frames.
    out = tmp_path / "blit.mp4"
    check_video(out, frames=N, width=320, height=240, fps=Fraction(30))
    assert psnr(decode_rgb(out), over_white(blit)) > 36


def test_blit_true_animation(tmp_path):
    """FuncAnimation(blit=True) marks returned artists animated; saving must still draw them."""

    def make():
        fig, ax = plt.subplots(**FIG)
        x = np.linspace(0, 6, 100)
        (line,) = ax.plot(x, np.sin(x))
        (dot,) = ax.plot([0], [0], "o", ms=10)

        def init():
            return line, dot

        def update(i):
            line.set_ydata(np.sin(x + i / 4))
            dot.set_data([i / 3], [np.sin(i / 3 + i / 4)])
            return line, dot

        return fig, FuncAnimation(fig, update, init_func=init, frames=N, blit=True)

    ref, full, blit, w = three_ways(make, tmp_path)
    assert max_diff(full, ref) == 0
    assert max_diff(blit, ref) == 0
    assert w.stats["blit"] >= N // 2


# ------------------------------------------------------------------ layouts that need care


def make_constrained():
    fig, axs = plt.subplots(1, 2, layout="constrained", **FIG)
    x = np.linspace(0, 6, 100)
    (l1,) = axs[0].plot(x, np.sin(x), label="sin")
    (l2,) = axs[1].plot(x, np.cos(x), label="cos")
    axs[1].legend(loc="upper right")  # the line passes under the legend
    fig.suptitle("constrained")
    for ax in axs:
        ax.set_ylim(-1.2, 1.2)

    def update(i):
        l1.set_ydata(np.sin(x + i / 3))
        l2.set_ydata(1.1 * np.cos(x - i / 3))
        return l1, l2

    return fig, FuncAnimation(fig, update, frames=N)


def make_twinx():
    fig, ax = plt.subplots(**FIG)
    ax2 = ax.twinx()
    x = np.linspace(0, 6, 100)
    (l1,) = ax.plot(x, np.sin(x), "C0")
    (l2,) = ax2.plot(x, 100 * np.cos(x), "C1")
    ax.set_ylim(-1.5, 1.5)
    ax2.set_ylim(-150, 150)

    def update(i):
        l1.set_ydata(np.sin(x + i / 3))
        l2.set_ydata(100 * np.cos(x + i / 5))
        return l1, l2

    return fig, FuncAnimation(fig, update, frames=N)


def make_inset_over_line():
    fig, ax = plt.subplots(**FIG)
    x = np.linspace(0, 6, 100)
    (line,) = ax.plot(x, np.sin(x), lw=3)
    ax.set_ylim(-1.2, 1.2)
    inset = ax.inset_axes([0.55, 0.55, 0.4, 0.4])  # drawn after (above) the moving line
    inset.plot(x, x**2)

    def update(i):
        line.set_ydata(np.sin(x + i / 3))
        return (line,)

    return fig, FuncAnimation(fig, update, frames=N)


@pytest.mark.parametrize(
    "make",
    [make_constrained, make_twinx, make_inset_over_line],
    ids=["constrained+legend", "twinx", "inset above line"],
)
def test_blit_equal_in_harder_layouts(make, tmp_path):
    ref, full, blit, w = three_ways(make, tmp_path)
    d = max_diff(blit, ref)
    print(f"\n[{make.__name__}] max abs pixel difference blit vs savefig: {d}; {w.stats['blit']} blitted")
    assert max_diff(full, ref) == 0
    assert d == 0, per_frame_diff(blit, ref)
    assert w.stats["blit"] >= N // 2, w.stats


# ------------------------------------------------------------------------ fallback triggers

K = 6  # the frame at which the trigger happens


def scenario(trigger):
    def make():
        fig, ax = plt.subplots(**FIG)
        x = np.linspace(0, 2 * np.pi, 200)
        hold = {}
        (hold["line"],) = ax.plot(x, np.sin(x), lw=2)
        (other,) = ax.plot(x, 0.5 * np.cos(x), color="C1", zorder=1)  # drawn before (below) the line
        ax.set_ylim(-1.5, 1.5)
        ax.set_title("scenario")
        state = {"i": 0}
        if trigger == "tick labels (formatter state)":
            # A formatter whose output depends on outside state: nothing is marked stale.
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, p: f"{v:.0f}" if state["i"] < K else f"<{v:.0f}>"))

        def update(i):
            state["i"] = i
            if i == K:
                if trigger == "artist not returned":
                    other.set_ydata(0.5 * np.cos(2 * x))
                elif trigger == "limits changed":
                    ax.set_xlim(1, 5)
                elif trigger == "ax.clear()":
                    ax.clear()
                    (hold["line"],) = ax.plot(x, np.sin(x), color="C3")
                    ax.set_ylim(-2, 2)
                elif trigger == "title changed":
                    ax.set_title(f"frame {i}")
                elif trigger == "ticks changed":
                    ax.set_xticks([0, 1.5, 3, 4.5])
                elif trigger == "artist added":
                    ax.plot(x, 0.2 * x - 0.6, color="C2")
                elif trigger == "artist removed":
                    other.remove()
                elif trigger == "figure resized":
                    fig.set_size_inches(5, 4)
                elif trigger == "layout changed":
                    fig.subplots_adjust(left=0.3)
                elif trigger == "axes facecolor changed":
                    ax.set_facecolor("0.8")
                elif trigger == "artist hidden":
                    other.set_visible(False)
                elif trigger == "returned zorder changed":
                    hold["line"].set_zorder(0.5)
            if trigger == "autoscale every frame":
                hold["line"].set_ydata((1 + i / 4) * np.sin(x + i / 3))
                ax.relim()
                ax.autoscale_view()
            else:
                hold["line"].set_ydata(np.sin(x + i / 3))
            if trigger == "returned set grows" and i >= K:
                other.set_ydata(0.5 * np.cos(x - i / 3))
                return hold["line"], other
            return (hold["line"],)

        return fig, FuncAnimation(fig, update, frames=12)

    return make


TRIGGERS = [
    "artist not returned",
    "limits changed",
    "ax.clear()",
    "title changed",
    "ticks changed",
    "tick labels (formatter state)",
    "artist added",
    "artist removed",
    "figure resized",
    "layout changed",
    "axes facecolor changed",
    "artist hidden",
    "returned zorder changed",
    "returned set grows",
]


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_fallback_trigger(trigger, tmp_path):
    ref, full, blit, w = three_ways(scenario(trigger), tmp_path)
    modes = w.stats["modes"]
    print(
        f"\n[{trigger}] max abs diff blit vs savefig {max_diff(blit, ref)}; modes "
        f"{''.join(m[0] for m in modes)}; reasons {dict(w.stats['reasons'])}"
    )
    assert max_diff(full, ref) == 0
    assert max_diff(blit, ref) == 0, per_frame_diff(blit, ref)
    # The kept background was in use just before the trigger, and the trigger frame was redrawn.
    assert modes[K - 1] == "blit", modes
    assert modes[K] == "full", modes
    # ...and blitting resumed once the figure was steady again.
    assert "blit" in modes[K + 1 :], modes
    # The trigger really changed the picture (so the test could have failed).
    assert max_diff(ref[K - 1], ref[K]) > 0


def test_autoscale_every_frame_redraws_every_frame(tmp_path):
    ref, full, blit, w = three_ways(scenario("autoscale every frame"), tmp_path)
    assert max_diff(blit, ref) == 0
    assert w.stats["blit"] == 0, w.stats


def test_detection_has_teeth(tmp_path, monkeypatch):
    """Without stale detection the not-returned change is missed: the comparison catches it."""
    ref = record(scenario("artist not returned"), SavefigWriter(fps=30), tmp_path / "r.null")
    real_walk = fpm_geometry.walk
    monkeypatch.setattr(fpm_recorder, "walk", lambda fig, dynamic: (real_walk(fig, dynamic)[0], None))
    w = CaptureWriter(fps=30)
    blind = record(scenario("artist not returned"), w, tmp_path / "b.mp4")
    assert max_diff(blind, ref) > 50
    monkeypatch.undo()
    # Likewise without the tick-label comparison, for a formatter with outside state.
    ref = record(scenario("tick labels (formatter state)"), SavefigWriter(fps=30), tmp_path / "r.null")
    real_probe = fpm_recorder.Recorder._probe

    def probe_without_ticks(self, returned, style):
        got, why = real_probe(self, returned, style)
        if got is None:
            return got, why
        layout, primary, changed = got
        # Drop the tick signature.
        blind_axes = tuple(dataclasses.replace(a, ticks=()) for a in layout.axes)
        return (dataclasses.replace(layout, axes=blind_axes), primary, changed), None

    monkeypatch.setattr(fpm_recorder.Recorder, "_probe", probe_without_ticks)
    blind = record(scenario("tick labels (formatter state)"), CaptureWriter(fps=30), tmp_path / "b2.mp4")
    assert max_diff(blind, ref) > 50


# ------------------------------------------------------------------- when blitting is off


def test_blit_false_never_blits(tmp_path):
    w = CaptureWriter(fps=30, blit=False)
    record(kind_line, w, tmp_path / "a.mp4")
    assert w.stats["blit"] == 0 and w.stats["full"] == N


def test_function_returning_nothing_is_redrawn_in_full(tmp_path):
    def make():
        fig, ax = plt.subplots(**FIG)
        (line,) = ax.plot([0, 1], [0, 1])

        def update(i):
            line.set_ydata([0, i / N])  # returns None

        return fig, FuncAnimation(fig, update, frames=8)

    ref = record(make, SavefigWriter(fps=30), tmp_path / "r.null")
    w = CaptureWriter(fps=30)
    got = record(make, w, tmp_path / "a.mp4")
    assert max_diff(got, ref) == 0
    assert w.stats["blit"] == 0
    assert "returned no artists" in " ".join(w.stats["reasons"])


def test_artist_animation_is_redrawn_in_full(tmp_path):
    from matplotlib.animation import ArtistAnimation

    def make():
        fig, ax = plt.subplots(**FIG)
        x = np.linspace(0, 6, 50)
        frames = [[ax.plot(x, np.sin(x + i / 2), "C0")[0]] for i in range(8)]
        return fig, ArtistAnimation(fig, frames)

    ref = record(make, SavefigWriter(fps=30), tmp_path / "r.null")
    w = CaptureWriter(fps=30)
    got = record(make, w, tmp_path / "a.mp4")
    assert max_diff(got, ref) == 0
    assert w.stats["blit"] == 0


def test_returned_artist_in_polar_axes_is_redrawn_in_full(tmp_path):
    def make():
        fig = plt.figure(**FIG)
        ax = fig.add_subplot(projection="polar")
        th = np.linspace(0, 2 * np.pi, 100)
        (line,) = ax.plot(th, 1 + 0.3 * np.sin(3 * th))

        def update(i):
            line.set_ydata(1 + 0.3 * np.sin(3 * th + i / 3))
            return (line,)

        return fig, FuncAnimation(fig, update, frames=6)

    ref = record(make, SavefigWriter(fps=30), tmp_path / "r.null")
    w = CaptureWriter(fps=30)
    got = record(make, w, tmp_path / "a.mp4")
    assert max_diff(got, ref) == 0
    assert w.stats["blit"] == 0
    assert any("draws itself" in r for r in w.stats["reasons"]), w.stats
