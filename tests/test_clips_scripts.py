"""The scripts of MoviePy's classic blog post ("Data animations with Python and MoviePy"):
matplotlib, numpy and composition parts, with only the import lines changed (moviepy.editor
-> framepipe.editor; Mayavi's surface made with numpy instead; scikit-image's filters replaced
by numpy stand-ins with the same names). Each produced file is decoded by ffmpeg and compared
with frames the test computes on its own (numpy, Pillow), within GIF palette tolerance."""

from __future__ import annotations

import subprocess
import textwrap
import types

import numpy as np
import pytest
from conftest import FFMPEG, ffprobe, psnr

MPL_SCRIPT = """
import matplotlib.pyplot as plt
import numpy as np
from framepipe.editor import mplfig_to_npimage   # was: from moviepy.video.io.bindings import mplfig_to_npimage
import framepipe.editor as mpy                   # was: import moviepy.editor as mpy

# DRAW A FIGURE WITH MATPLOTLIB

duration = 2

fig_mpl, ax = plt.subplots(1,figsize=(5,3), facecolor='white')
xx = np.linspace(-2,2,200) # the x vector
zz = lambda d: np.sinc(xx**2)+np.sin(xx+d) # the (changing) z vector
ax.set_title("Elevation in y=0")
ax.set_ylim(-1.5,2.5)
line, = ax.plot(xx, zz(0), lw=3)

# ANIMATE WITH MOVIEPY (UPDATE THE CURVE FOR EACH t). MAKE A GIF.

def make_frame_mpl(t):
    line.set_ydata( zz(2*np.pi*t/duration))  # <= Update the curve
    return mplfig_to_npimage(fig_mpl) # RGB image of the figure

animation =mpy.VideoClip(make_frame_mpl, duration=duration)
animation.write_gif("sinc_mpl.gif", fps=20)
"""

# Mayavi's part, with the surface drawn by numpy (no Mayavi here); MoviePy-style float frames.
NUMPY_SCRIPT = """
import numpy as np
import framepipe.editor as mpy   # was: import moviepy.editor as mpy

duration = 2
X, Y = np.meshgrid(np.linspace(-2, 2, 150), np.linspace(-2, 2, 90))

def make_frame(t):
    Z = np.sinc(X**2 + Y**2) + np.sin(X + 2*np.pi*t/duration)
    v = (Z - Z.min()) / (Z.max() - Z.min())
    v[np.abs(Y) > 1.6] = 1.0   # white margins (MaskColor removes them below)
    return np.dstack([255*v, 255*v, 255*np.sqrt(v)])

clip = mpy.VideoClip(make_frame, duration=duration)
clip.write_gif("sinc.gif", fps=20)
"""

COMPOSE_SCRIPT = """
import framepipe.editor as mpy   # was: import moviepy.editor as mpy

clip_mayavi = mpy.VideoFileClip("sinc.gif")
clip_mpl = mpy.VideoFileClip("sinc_mpl.gif").resize(height=clip_mayavi.h)
animation = mpy.clips_array([[clip_mpl, clip_mayavi]])
animation.write_gif("sinc_plot.gif", fps=20)

# Make the white color transparent in clip_mayavi
clip_mayavi2 = (clip_mayavi.fx( mpy.vfx.mask_color, [255,255,255])
                .set_opacity(.4) # whole clip is semi-transparent
                .resize(height=0.85*clip_mpl.h)
                .set_pos('center'))

animation = mpy.CompositeVideoClip([clip_mpl, clip_mayavi2])
animation.write_gif("sinc_plot2.gif", fps=20)
"""

EFFECTS_SCRIPT = """
import framepipe.editor as mpy   # was: import moviepy.editor as mpy
ske = stand_ins.exposure         # was: import skimage.exposure as ske # rescaling, histogram eq.
skf = stand_ins.filters          # was: import skimage.filter as skf # gaussian blur

clip = mpy.VideoFileClip("sinc.gif")
gray = clip.fx(mpy.vfx.blackwhite).to_mask()

def apply_effect(effect, title, **kw):
    \"\"\" Returns a clip with the effect applied and a title\"\"\"
    filtr = lambda im: effect(im, **kw)
    new_clip = gray.fl_image(filtr).to_RGB()
    txt = (mpy.TextClip(title, font="Purisa-Bold", fontsize=15)
           .set_position(("center","top"))
           .set_duration(clip.duration))
    return mpy.CompositeVideoClip([new_clip,txt])

# Apply 4 different effects to the original animation
equalized = apply_effect(ske.equalize_hist, "Equalized")
rescaled  = apply_effect(ske.rescale_intensity, "Rescaled")
regionalized = apply_effect(ske.equalize_adapthist, "Regionalized")
blurred   = apply_effect(skf.gaussian_filter, "Blurred", sigma=4)

# Put the clips together on a 2x2 grid, and write to a file.
finalclip = mpy.clips_array([[ equalized, rescaled ],
                             [ regionalized, blurred ]])
finalclip.write_gif("test2x2.gif", fps=20)
"""

TITLE_SCRIPT = """
import framepipe.editor as mpy   # was: import moviepy.editor as mpy

clip = mpy.VideoFileClip("sinc_mpl.gif")
title = (mpy.TextClip("Data animations", fontsize=30, color="white", bg_color="black", size=clip.size)
         .set_duration(1))
final = mpy.concatenate_videoclips([title, clip])
final.write_videofile("with_title.mp4", fps=20)
"""


def equalize_hist(im):
    """Histogram equalisation of a [0, 1] image (skimage.exposure.equalize_hist's idea)."""
    hist, edges = np.histogram(im.ravel(), bins=256, range=(0, 1))
    cdf = hist.cumsum() / hist.sum()
    return np.interp(im.ravel(), (edges[:-1] + edges[1:]) / 2, cdf).reshape(im.shape)


def rescale_intensity(im):
    lo, hi = im.min(), im.max()
    return (im - lo) / (hi - lo) if hi > lo else im


def gaussian_filter(im, sigma=1):
    r = int(3 * sigma)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    p = np.pad(im, r, mode="edge")
    p = np.apply_along_axis(lambda v: np.convolve(v, k, "valid"), 0, p)
    return np.apply_along_axis(lambda v: np.convolve(v, k, "valid"), 1, p)


STAND_INS = types.SimpleNamespace(
    exposure=types.SimpleNamespace(
        equalize_hist=equalize_hist, rescale_intensity=rescale_intensity, equalize_adapthist=equalize_hist
    ),
    filters=types.SimpleNamespace(gaussian_filter=gaussian_filter),
)


def run(script, cwd, monkeypatch, **names):
    monkeypatch.chdir(cwd)
    exec(compile(textwrap.dedent(script), "<blog script>", "exec"), {"__name__": "__blog__", **names})


def decode(path, fps=20):
    """What a GIF shows at each 1/fps step, as ffmpeg decodes it (its fps filter repeats an
    image for as long as its delay lasts)."""
    info = ffprobe(path)
    raw = subprocess.run(
        [FFMPEG, "-v", "error", "-i", str(path), "-vf", f"fps={fps}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, info["height"], info["width"], 3)


@pytest.fixture(scope="module")
def blog(tmp_path_factory):
    import matplotlib

    matplotlib.use("Agg")
    d = tmp_path_factory.mktemp("blog")
    mp = pytest.MonkeyPatch()
    try:
        run(MPL_SCRIPT, d, mp)
        run(NUMPY_SCRIPT, d, mp)
        run(COMPOSE_SCRIPT, d, mp)
        run(EFFECTS_SCRIPT, d, mp, stand_ins=STAND_INS)
        run(TITLE_SCRIPT, d, mp)
    finally:
        mp.undo()
    return d


def expected_mpl_frames():
    """The matplotlib figure drawn for each t = n / 20, without framepipe."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, figsize=(5, 3), facecolor="white")
    xx = np.linspace(-2, 2, 200)
    ax.set_title("Elevation in y=0")
    ax.set_ylim(-1.5, 2.5)
    (line,) = ax.plot(xx, np.sinc(xx**2) + np.sin(xx), lw=3)
    out = []
    for n in range(40):
        line.set_ydata(np.sinc(xx**2) + np.sin(xx + 2 * np.pi * (n / 20) / 2))
        fig.canvas.draw()
        out.append(np.asarray(fig.canvas.buffer_rgba())[:, :, :3].copy())
    plt.close(fig)
    return np.stack(out)


def test_matplotlib_gif(blog):
    got = decode(blog / "sinc_mpl.gif")
    want = expected_mpl_frames()
    assert got.shape == want.shape == (40, 300, 500, 3)
    # a 256-colour palette on anti-aliased plot lines: about 28 dB
    assert min(psnr(a, b) for a, b in zip(got, want)) > 26


def test_numpy_gif(blog):
    got = decode(blog / "sinc.gif")
    assert got.shape == (40, 90, 150, 3)
    X, Y = np.meshgrid(np.linspace(-2, 2, 150), np.linspace(-2, 2, 90))  # noqa: N806
    for n in (0, 13, 39):
        Z = np.sinc(X**2 + Y**2) + np.sin(X + 2 * np.pi * (n / 20) / 2)  # noqa: N806
        v = (Z - Z.min()) / (Z.max() - Z.min())
        v[np.abs(Y) > 1.6] = 1.0
        want = np.clip(np.dstack([255 * v, 255 * v, 255 * np.sqrt(v)]), 0, 255).astype(np.uint8)
        assert psnr(got[n], want) > 28


def test_composition_gifs(blog):
    from PIL import Image

    mpl = decode(blog / "sinc_mpl.gif")
    sinc = decode(blog / "sinc.gif")
    h = sinc.shape[1]
    w_mpl = int(500 * h / 300)
    side = decode(blog / "sinc_plot.gif")
    assert side.shape == (40, h, w_mpl + 150, 3)
    comp = decode(blog / "sinc_plot2.gif")
    assert comp.shape == (40, h, w_mpl, 3)
    for n in (0, 21):
        small = np.asarray(Image.fromarray(mpl[n]).resize((w_mpl, h), Image.Resampling.BOX))
        assert psnr(side[n], np.hstack([small, sinc[n]])) > 26
        # the overlay: sinc resized to 0.85 h, white made transparent (mask_color with
        # threshold 0: exactly white only), opacity 0.4, centred
        oh = int(0.85 * h)
        ow = int(150 * oh / 90)
        over = np.asarray(Image.fromarray(sinc[n]).resize((ow, oh), Image.Resampling.BOX)).astype(np.float64)
        alpha = 0.4 * (np.abs(over - 255).sum(axis=2) > 0)[:, :, None]
        want = small.astype(np.float64)
        x, y = (w_mpl - ow) // 2, (h - oh) // 2
        want[y : y + oh, x : x + ow] = alpha * over + (1 - alpha) * want[y : y + oh, x : x + ow]
        assert psnr(comp[n], want) > 24


def test_effects_grid(blog):
    sinc = decode(blog / "sinc.gif").astype(np.float64)
    grid = decode(blog / "test2x2.gif")
    h, w = sinc.shape[1:3]
    assert grid.shape == (40, 2 * h, 2 * w, 3)
    band = 20  # the titles' rows
    for n in (0, 30):
        gray = sinc[n].mean(axis=2) / 255
        panels = [equalize_hist(gray), rescale_intensity(gray), equalize_hist(gray), gaussian_filter(gray, sigma=4)]
        for k, p in enumerate(panels):
            r, c = divmod(k, 2)
            got = grid[n, r * h : (r + 1) * h, c * w : (c + 1) * w]
            want = np.repeat((255 * p)[:, :, None], 3, axis=2)
            assert psnr(got[band:], want[band:]) > 22, k
            assert (got[:band].min(axis=2) < 60).sum() > 20  # the black title is there


def test_title_then_clip(blog):
    info = ffprobe(blog / "with_title.mp4")
    assert info["nb_read_frames"] == 20 + 40
    assert (info["width"], info["height"]) == (500, 300)
