"""figure_to_array draws incrementally and gives the pixels of a full draw.

Every scenario builds the same figure twice; each frame applies the same changes to both and
compares ``figure_to_array(a)`` (incremental, the default) with ``figure_to_array(b,
incremental=False)`` (one ``canvas.draw()``, what MoviePy's ``mplfig_to_npimage`` does) pixel for
pixel. ``figure_stats`` tells whether the incremental path really ran, and that frames where the
kept picture would be wrong were drawn in full.
"""

from __future__ import annotations

import pickle

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from conftest import check_video, decode_rgb, psnr
from framepipe import clips
from framepipe.matplotlib import figure_stats, figure_to_array, mplfig_to_npimage
from matplotlib.figure import Figure

N = 14
X = np.linspace(-2, 2, 200)


def both(make, steps=N):
    """Run `make` twice; per frame apply step k to both and compare. Returns the stats of the
    incremental figure and the frames."""
    (fa, upd_a), (fb, upd_b) = make(), make()
    frames = []
    try:
        for k in range(steps):
            upd_a(k)
            upd_b(k)
            inc = figure_to_array(fa)
            full = figure_to_array(fb, incremental=False)
            assert inc.shape == full.shape and inc.dtype == np.uint8 and inc.flags.c_contiguous
            diff = np.abs(inc.astype(int) - full.astype(int))
            assert diff.max() == 0, f"frame {k}: {(diff > 0).any(axis=2).sum()} pixels differ (max {diff.max()})"
            frames.append(inc)
        return figure_stats(fa), frames
    finally:
        plt.close(fa)
        plt.close(fb)


def moving_line():
    fig, ax = plt.subplots(figsize=(4, 3), dpi=80)
    ax.set_ylim(-1.5, 2.5)
    ax.grid(True)
    ax.set_title("sinc")
    (line,) = ax.plot(X, np.sinc(X**2), lw=3)

    def update(k):
        line.set_ydata(np.sinc(X**2) + np.sin(X + k / 3))

    return fig, update


def test_a_moving_line_is_drawn_over_the_kept_picture():
    stats, frames = both(moving_line)
    assert stats["frames"] == N
    # First frame, then a frame that finds the layout settled, then only blits.
    assert stats["modes"][:2] == ["full", "full"] and stats["modes"][2:] == ["blit"] * (N - 2), stats
    assert stats["backgrounds"] == 1
    assert not np.array_equal(frames[3], frames[4])  # the frames do change


def test_the_moviepy_name_is_the_same_function():
    assert mplfig_to_npimage is figure_to_array


def several_artists():
    """A line, a scatter, an image and a text changed at different rates, with a legend and an
    annotation drawn above where the line goes."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(5, 2.5), dpi=80)
    ax1.set_ylim(-2, 2)
    (line,) = ax1.plot(X, np.sin(X), lw=2, label="sin", zorder=2)
    sc = ax1.scatter([0, 1], [0, 1], zorder=1.5)
    ax1.legend(loc="upper right")
    ax1.text(0, 1.5, "ABOVE", fontsize=20, zorder=5, bbox=dict(facecolor="yellow"))
    rng = np.random.default_rng(3)
    data = rng.random((4, 16, 16))
    im = ax2.imshow(data[0], vmin=0, vmax=1)
    label = ax2.text(0.5, -0.1, "t=0", transform=ax2.transAxes, ha="center")

    def update(k):
        line.set_ydata(np.sin(X + k / 2) * (1 + k / 6))  # grows into the legend and the text
        if k % 2 == 0:
            sc.set_offsets(np.c_[np.linspace(-1, 1, 5), np.cos(np.arange(5) + k)])
        im.set_data(data[k % 4])
        if k % 3 == 0:
            label.set_text(f"t={k}")

    return fig, update


def test_several_artists_changed_at_different_rates_give_full_draw_pixels():
    stats, _ = both(several_artists, steps=18)
    assert stats["blit"] >= 6, stats


def layout_changes():
    fig, ax = plt.subplots(figsize=(4, 3), dpi=80)
    (line,) = ax.plot(X, np.sin(X))

    def update(k):
        line.set_ydata(np.sin(X + k / 4))
        if k == 5:
            ax.set_ylim(-3, 3)  # limits and ticks
        if k == 13:
            ax.plot(X, np.cos(X), "r--")  # an artist added
        if k == 21:
            fig.set_size_inches(5, 3)  # a new size
        if k == 29:
            fig.patch.set_facecolor("lightgray")  # the figure's own patch
        if k == 37:
            ax.set_xlabel("x label")  # a changed layout of the Axes' texts

    return fig, update


def test_layout_size_and_figure_changes_are_drawn_in_full():
    stats, frames = both(layout_changes, steps=46)
    modes = stats["modes"]
    for k in (5, 13, 21, 29, 37):
        assert modes[k] == "full", (k, modes)
        assert modes[k + 2 : k + 8] == ["blit"] * 6, (k, modes)  # and it settles again
    assert frames[21].shape[:2] == (240, 400) and frames[20].shape[:2] == (240, 320)


def limits_every_other_frame():
    fig, ax = plt.subplots(figsize=(3, 2), dpi=80)
    (line,) = ax.plot(X, np.sin(X))

    def update(k):
        line.set_ydata(np.sin(X + k / 4))
        if k % 2:
            ax.set_ylim(-1 - k / 10, 1 + k / 10)

    return fig, update


def test_a_picture_that_keeps_going_stale_is_given_up_for_full_draws():
    stats, _ = both(limits_every_other_frame, steps=24)
    assert stats["reasons"]["the kept background went stale too often"] > 0, stats
    assert stats["modes"][-8:] == ["full"] * 8


def untouched():
    fig, ax = plt.subplots(figsize=(3, 2), dpi=80)
    ax.plot(X, np.sin(X))

    def update(k):
        pass

    return fig, update


def test_a_figure_with_nothing_marked_changed_is_drawn_in_full():
    stats, _ = both(untouched, steps=5)
    assert stats["modes"] == ["full"] * 5
    assert stats["reasons"]["no artist drawn by an Axes was marked changed"] == 4


def polar_and_3d():
    fig = plt.figure(figsize=(5, 2.5), dpi=80)
    ax1 = fig.add_subplot(1, 2, 1, projection="polar")
    ax2 = fig.add_subplot(1, 2, 2, projection="3d")
    (p,) = ax1.plot(X, np.abs(X))
    (q,) = ax2.plot(X, X, X)

    def update(k):
        p.set_ydata(np.abs(X) + k / 5)
        q.set_data_3d(X, np.sin(X + k), X)

    return fig, update


def test_polar_and_3d_axes_are_drawn_in_full_and_right():
    stats, _ = both(polar_and_3d, steps=6)
    assert stats["blit"] == 0 and stats["full"] == 6


def test_incremental_false_drops_the_kept_picture_and_a_bare_figure_gets_an_agg_canvas():
    fig = Figure(figsize=(2, 1), dpi=100)  # no pyplot: a FigureCanvasBase
    ax = fig.add_subplot()
    (line,) = ax.plot(X, X)
    for k in range(4):
        line.set_ydata(X * k)
        a = figure_to_array(fig)
    assert a.shape == (100, 200, 3) and figure_stats(fig)["blit"] == 2
    line.set_ydata(-X)
    b = figure_to_array(fig, incremental=False)
    assert figure_stats(fig)["frames"] == 0  # forgotten
    line.set_ydata(-X)
    assert np.array_equal(figure_to_array(fig), b)


def test_a_figure_drawn_incrementally_still_pickles_and_draws_the_same_after():
    fig, update = moving_line()
    for k in range(4):
        update(k)
        figure_to_array(fig)
    copy = pickle.loads(pickle.dumps(fig))
    update(5)
    a = figure_to_array(fig)
    copy.axes[0].lines[0].set_ydata(np.sinc(X**2) + np.sin(X + 5 / 3))
    assert np.array_equal(figure_to_array(copy), a)
    assert figure_stats(fig)["blit"] >= 2 and figure_stats(copy)["frames"] == 1
    plt.close(fig)
    plt.close(copy)


def test_not_a_figure_is_refused():
    with pytest.raises(TypeError, match="figure_to_array takes a matplotlib Figure, got ndarray"):
        figure_to_array(np.zeros((2, 2)))


def _mpl_clip():
    fig, ax = plt.subplots(figsize=(3.2, 2.4), dpi=100)
    ax.set_ylim(-1.5, 2.5)
    (line,) = ax.plot(X, np.sinc(X**2), lw=3)

    def frame(t):
        line.set_ydata(np.sinc(X**2) + np.sin(X + 2 * np.pi * t))
        return figure_to_array(fig)

    return clips.VideoClip(frame, duration=1.0), fig, line


@pytest.mark.parametrize("workers", [1, 2])
def test_a_clip_of_a_figure_written_serially_or_in_parallel_has_the_full_draw_frames(tmp_path, workers):
    clip, fig, line = _mpl_clip()
    out = tmp_path / "fig.mp4"
    clip.write_videofile(out, fps=12, workers=workers, crf=12)
    check_video(out, frames=12, width=320, height=240, fps=12)
    got = decode_rgb(out)
    for k in (0, 5, 11):
        line.set_ydata(np.sinc(X**2) + np.sin(X + 2 * np.pi * k / 12))
        ref = figure_to_array(fig, incremental=False)
        assert psnr(got[k], ref) > 38, k
    plt.close(fig)
