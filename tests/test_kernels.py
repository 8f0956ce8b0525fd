"""The pixel kernels of framepipe._native against independent references written here in numpy
(exact formulas for composite, composite_alpha and lut; float64 for grayscale, mask_color and
resize) and against Pillow (rotate, resize), with random inputs from fixed seeds, odd sizes,
offsets on every side, and the errors for bad arguments."""

from __future__ import annotations

import framepipe
import numpy as np
import pytest
from framepipe import _native as k
from PIL import Image

RNG_SEED = 20261203


def rng(extra: int = 0) -> np.random.Generator:
    return np.random.default_rng(RNG_SEED + extra)


def img(r: np.random.Generator, *shape: int) -> np.ndarray:
    return r.integers(0, 256, shape, dtype=np.uint8)


# --- composite ---------------------------------------------------------------------------------


def composite_ref(dst, src, x, y, alpha, opacity):
    """The contract's arithmetic over the overlap, in Python ints (int64 numpy)."""
    out = dst.astype(np.int64)
    op = round(opacity * 255)
    H, W = dst.shape[:2]
    h, w = src.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x0 >= x1 or y0 >= y1:
        return out.astype(np.uint8)
    s = src[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.int64)
    a = (
        np.full(s.shape[:2], 255, np.int64)
        if alpha is None
        else alpha[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.int64)
    )
    if op != 255:
        a = (a * op + 127) // 255
    d = out[y0:y1, x0:x1]
    if s.ndim == 3:
        a = a[..., None]
        out[y0:y1, x0:x1] = (s * a + d * (255 - a) + 127) // 255
    else:  # composite_alpha: s is the source alpha
        out[y0:y1, x0:x1] = (a * 255 + d * (255 - a) + 127) // 255
    return out.astype(np.uint8)


OFFSETS = [(-30, -20), (-5, 7), (3, -4), (0, 0), (11, 5), (40, 9), (8, 30), (61, 43), (-7, 44), (1000, 0), (0, -1000)]


@pytest.mark.parametrize("x, y", OFFSETS)
@pytest.mark.parametrize("with_alpha", [True, False])
@pytest.mark.parametrize("opacity", [1.0, 0.4, 0.0, 0.5, 1 / 255])
def test_composite_exact(x, y, with_alpha, opacity):
    r = rng(1)
    dst = img(r, 45, 61, 3)
    src = img(r, 17, 23, 3)
    alpha = img(r, 17, 23) if with_alpha else None
    want = composite_ref(dst, src, x, y, alpha, opacity)
    k.composite(dst, src, x, y, alpha=alpha, opacity=opacity)
    np.testing.assert_array_equal(dst, want)


def test_composite_touches_only_the_overlap_and_huge_offsets():
    r = rng(2)
    dst = img(r, 20, 30, 3)
    before = dst.copy()
    src = img(r, 5, 5, 3)
    k.composite(dst, src, 10**30, -(10**30))  # Python ints beyond 64 bits: no overlap
    k.composite(dst, src, -5, 0)  # touches at the edge only: no overlap
    k.composite(dst, src, np.int64(30), np.int32(2))  # numpy ints, past the right edge
    np.testing.assert_array_equal(dst, before)
    k.composite(dst, src, -4, -4)
    np.testing.assert_array_equal(dst[1:], before[1:])
    np.testing.assert_array_equal(dst[0, 1:], before[0, 1:])
    np.testing.assert_array_equal(dst[0, 0], src[4, 4])


def test_composite_full_frame_layer_and_one_pixel():
    r = rng(3)
    dst = img(r, 72, 128, 3)
    src = img(r, 72, 128, 3)
    alpha = img(r, 72, 128)
    want = composite_ref(dst, src, 0, 0, alpha, 0.7)
    k.composite(dst, src, 0, 0, alpha, 0.7)
    np.testing.assert_array_equal(dst, want)
    one = np.array([[[10, 20, 30]]], np.uint8)
    k.composite(one, np.array([[[250, 0, 128]]], np.uint8), 0, 0, np.array([[128]], np.uint8))
    np.testing.assert_array_equal(
        one,
        composite_ref(
            np.array([[[10, 20, 30]]], np.uint8),
            np.array([[[250, 0, 128]]], np.uint8),
            0,
            0,
            np.array([[128]], np.uint8),
            1.0,
        ),
    )


def test_composite_source_overlapping_destination():
    """src (and alpha) views sharing dst's memory: they are read as they were before the call."""
    base = img(rng(4), 30, 40, 3)
    frame = base.copy()
    k.composite(frame, frame[5:20], 3, -3, opacity=0.6)  # a C-contiguous view into frame
    np.testing.assert_array_equal(frame, composite_ref(base, base[5:20], 3, -3, None, 0.6))
    frame = base.copy()
    k.composite(frame, frame, 1, 1, opacity=0.5)  # the very same array
    np.testing.assert_array_equal(frame, composite_ref(base, base, 1, 1, None, 0.5))
    planes = img(rng(5), 3, 12, 10)
    masks = planes.copy()
    k.composite_alpha(masks[0], masks[1], -2, 4)
    np.testing.assert_array_equal(masks[0], composite_ref(planes[0], planes[1], -2, 4, planes[1], 1.0))


@pytest.mark.parametrize("x, y", OFFSETS)
@pytest.mark.parametrize("opacity", [1.0, 0.3, 0.0])
def test_composite_alpha_exact(x, y, opacity):
    r = rng(6)
    dst = img(r, 45, 61)
    src = img(r, 19, 13)
    want = composite_ref(dst, src, x, y, src, opacity)
    k.composite_alpha(dst, src, x, y, opacity=opacity)
    np.testing.assert_array_equal(dst, want)


# --- lut ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(7, 9), (7, 9, 3), (5, 3, 4), (1, 1, 3)])
def test_lut_shared_and_per_channel_and_in_place(shape):
    r = rng(7)
    src = img(r, *shape)
    table = img(r, 256)
    dst = np.zeros_like(src)
    k.lut(src, dst, table.tobytes())
    np.testing.assert_array_equal(dst, table[src])
    c = shape[2] if len(shape) == 3 else 1
    tables = img(r, c, 256)
    k.lut(src, dst, bytearray(tables.tobytes()))
    want = np.stack([tables[i][src.reshape(-1, c)[:, i]] for i in range(c)], -1).reshape(shape)
    np.testing.assert_array_equal(dst, want)
    inplace = src.copy()
    k.lut(inplace, inplace, tables)  # a uint8 array works as the table too
    np.testing.assert_array_equal(inplace, want)


def test_lut_overlapping_views():
    r = rng(8)
    base = img(r, 10, 8)
    table = np.arange(256, dtype=np.uint8)[::-1].copy()
    a = base.copy()
    k.lut(a[:-1], a[1:], table)  # dst starts one row after src: src read first
    np.testing.assert_array_equal(a[1:], table[base[:-1]])


def test_lut_errors():
    src = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(framepipe.ParameterError, match=r"table must hold 256 bytes .* or 768 .* got 1024 bytes"):
        k.lut(src, src.copy(), bytes(1024))
    with pytest.raises(framepipe.ParameterError, match=r"table must be a bytes-like"):
        k.lut(src, src.copy(), [0] * 256)
    with pytest.raises(framepipe.ParameterError, match=r"dst must have the shape of src"):
        k.lut(src, np.zeros((4, 4), np.uint8), bytes(256))


# --- grayscale ----------------------------------------------------------------------------------


def gray_ref(src, w):
    v = src.astype(np.float64) @ np.asarray(w, np.float64)
    return np.clip(np.round(v), 0, 255)


@pytest.mark.parametrize(
    "weights", [None, (0.2126, 0.7152, 0.0722), (1 / 3, 1 / 3, 1 / 3), (0.9, -0.4, 1.7), (2.5, 0.01, 0.3)]
)
def test_grayscale_within_one(weights):
    r = rng(9)
    src = img(r, 67, 93, 3)
    g = np.zeros((67, 93), np.uint8)
    g3 = np.zeros((67, 93, 3), np.uint8)
    if weights is None:
        k.grayscale(src, g)
        k.grayscale(src, g3)
        w = (0.299, 0.587, 0.114)
    else:
        k.grayscale(src, g, weights=weights)
        k.grayscale(src, g3, weights=list(weights))
        w = weights
    d = np.abs(g.astype(int) - gray_ref(src, w))
    assert d.max() <= 1
    # Off by one only where the exact value is (within 2^-15 of) a half: ties, which numpy rounds
    # to even and the fixed point rounds up.
    v = src.astype(np.float64) @ np.asarray(w, np.float64)
    assert np.all(np.abs(v - np.floor(v) - 0.5)[d != 0] < 2**-15)
    np.testing.assert_array_equal(g3, np.repeat(g[..., None], 3, -1))


def test_grayscale_errors():
    src = np.zeros((3, 3, 3), np.uint8)
    with pytest.raises(framepipe.ParameterError, match=r"weights must be a sequence of 3 numbers"):
        k.grayscale(src, np.zeros((3, 3), np.uint8), weights=(1, 2))
    with pytest.raises(framepipe.ParameterError, match=r"weights must be finite .* got NaN in \[NaN, 0.0, 0.0\]"):
        k.grayscale(src, np.zeros((3, 3), np.uint8), weights=(float("nan"), 0, 0))
    with pytest.raises(framepipe.ParameterError, match=r"dst must have 1 or 3 channels, got shape \(3, 3, 4\)"):
        k.grayscale(src, np.zeros((3, 3, 4), np.uint8))
    with pytest.raises(framepipe.ParameterError, match=r"src must have 3 channels, got shape \(3, 3\)"):
        k.grayscale(np.zeros((3, 3), np.uint8), np.zeros((3, 3), np.uint8))


# --- drop_alpha ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (67, 93), (720, 1280)])
def test_drop_alpha_equals_numpy_and_without_alpha_takes_any_layout(shape):
    src = img(rng(4), *shape, 4)
    dst = np.zeros((*shape, 3), np.uint8)
    k.drop_alpha(src, dst)
    assert np.array_equal(dst, src[:, :, :3])
    # framepipe._alpha.without_alpha: the kernel for packed uint8 RGBA, numpy for the rest.
    from framepipe._alpha import without_alpha

    for a in (src, src[:, ::-1], np.asfortranarray(src), src[:, :, :3]):
        out = without_alpha(a)
        assert out.flags.c_contiguous and np.array_equal(out, a[:, :, :3])


def test_drop_alpha_errors():
    with pytest.raises(framepipe.ParameterError, match=r"src must have 4 channels, got shape \(2, 2, 3\)"):
        k.drop_alpha(np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(framepipe.ParameterError, match=r"dst must have the height and width of src: \(2, 2, 4\) vs"):
        k.drop_alpha(np.zeros((2, 2, 4), np.uint8), np.zeros((2, 3, 3), np.uint8))


# --- mask_color ---------------------------------------------------------------------------------


def mask_ref(src, color, threshold, stiffness):
    d = np.sqrt(((src.astype(np.float64) - np.array(color, np.float64)) ** 2).sum(axis=2))
    if threshold:
        with np.errstate(divide="ignore", invalid="ignore"):
            m = d**stiffness / (threshold**stiffness + d**stiffness)
    else:
        m = 1.0 * (d != 0)
    return np.round(255 * m)


@pytest.mark.parametrize("size", [(9, 11), (300, 200)])  # direct computation and the table
@pytest.mark.parametrize(
    "color, threshold, stiffness",
    [
        ((0, 0, 0), 0.0, 1.0),
        ((0, 255, 0), 40.0, 1.0),
        ((12, 200, 99), 100.0, 3.0),
        ((255, 255, 255), 7.5, 0.5),
        ((1, 2, 3), 300.0, 12.0),
    ],
)
def test_mask_color_within_one(size, color, threshold, stiffness):
    r = rng(10)
    src = img(r, *size, 3)
    src[::7, ::5] = color  # exact matches: d == 0
    src[1::7, ::5] = np.clip(np.array(color) + 3, 0, 255)  # close ones
    dst = np.zeros(size, np.uint8)
    k.mask_color(src, dst, color=color, threshold=threshold, stiffness=stiffness)
    d = np.abs(dst.astype(int) - mask_ref(src, color, threshold, stiffness))
    assert d.max() <= 1
    if threshold == 0.0:
        assert d.max() == 0


def test_mask_color_defaults_and_errors():
    src = np.zeros((2, 2, 3), np.uint8)
    src[0, 0] = 1
    dst = np.full((2, 2), 7, np.uint8)
    k.mask_color(src, dst)
    np.testing.assert_array_equal(dst, [[255, 0], [0, 0]])
    with pytest.raises(framepipe.ParameterError, match=r"color values must be ints in 0..255, got \[0, 256, 0\]"):
        k.mask_color(src, dst, color=(0, 256, 0))
    with pytest.raises(framepipe.ParameterError, match=r"threshold must be a finite number >= 0, got NaN"):
        k.mask_color(src, dst, threshold=float("nan"))
    with pytest.raises(framepipe.ParameterError, match=r"stiffness must be a finite number >= 0, got -1"):
        k.mask_color(src, dst, threshold=3.0, stiffness=-1.0)


# --- resize -------------------------------------------------------------------------------------


def _filter(name):
    if name == "lanczos3":
        return (lambda x: np.where(np.abs(x) < 3, np.sinc(x) * np.sinc(x / 3), 0.0)), 3.0
    if name == "bilinear":
        return (lambda x: np.maximum(0.0, 1 - np.abs(x))), 1.0
    a = -0.5  # Pillow's BICUBIC (Catmull-Rom)

    def cubic(x):
        x = np.abs(x)
        near = ((a + 2) * x - (a + 3)) * x * x + 1
        far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
        return np.where(x < 1, near, np.where(x < 2, far, 0.0))

    return cubic, 2.0


def _weights(n_in, n_out, name):
    """Pillow's convolution coefficients (support scaled by the downscale factor), as a matrix."""
    f, support = _filter(name)
    scale = n_in / n_out
    fs = max(scale, 1.0)
    w = np.zeros((n_out, n_in))
    for i in range(n_out):
        c = (i + 0.5) * scale
        lo, hi = max(int(np.floor(c - support * fs)), 0), min(int(np.ceil(c + support * fs)), n_in)
        v = f((np.arange(lo, hi) - c + 0.5) / fs)
        w[i, lo:hi] = v / v.sum()
    return w


def resize_ref(src, H, W, name, clip_between):
    """float64 separable resize, vertical pass first, rounded once; `clip_between` clips to
    0..255 between the passes (what every 8-bit two-pass resizer does)."""
    x = src.astype(np.float64).reshape(src.shape[0], src.shape[1], -1)
    out = np.einsum("ij,jkc->ikc", _weights(x.shape[0], H, name), x)
    if clip_between:
        out = np.clip(out, 0, 255)
    out = np.einsum("lk,ikc->ilc", _weights(x.shape[1], W, name), out)
    return np.clip(np.round(out), 0, 255).reshape((H, W) + src.shape[2:])


SIZES = [((72, 128), (36, 64)), ((101, 77), (53, 190)), ((33, 47), (97, 13)), ((64, 64), (64, 31)), ((5, 64), (17, 64))]


@pytest.mark.parametrize("name", ["lanczos3", "bicubic", "bilinear"])
@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("channels", [0, 1, 3, 4])
def test_resize_within_one_of_float_reference(name, sizes, channels):
    (h, w), (H, W) = sizes
    r = rng(11)
    shape = (h, w) if channels == 0 else (h, w, channels)
    src = img(r, *shape)  # pixel noise: the worst case for overshoot
    dst = np.zeros((H, W) + shape[2:], np.uint8)
    k.resize(src, dst, filter=name)
    d = np.abs(dst.astype(int) - resize_ref(src, H, W, name, clip_between=True))
    assert d.max() <= 1
    assert d.mean() < 0.35
    # Smooth content does not overshoot: within one of the unclipped float reference too.
    yy, xx = np.mgrid[0:h, 0:w]
    smooth = (127 + 120 * np.sin(xx / 7.0 + yy / 11.0)).astype(np.uint8)
    smooth = smooth if channels == 0 else np.repeat(smooth[..., None], channels, -1)
    k.resize(np.ascontiguousarray(smooth), dst, filter=name)
    assert np.abs(dst.astype(int) - resize_ref(smooth, H, W, name, clip_between=False)).max() <= 1


def test_resize_lanczos_close_to_pillow():
    r = rng(12)
    yy, xx = np.mgrid[0:720, 0:1280]
    src = np.stack([(127 + 120 * np.sin(xx / 9.0 + yy / (13.0 + c))) for c in range(3)], -1).astype(np.uint8)
    src ^= img(r, 720, 1280, 3) & 7  # a little noise
    dst = np.zeros((360, 640, 3), np.uint8)
    k.resize(src, dst)
    pil = np.asarray(Image.fromarray(src).resize((640, 360), Image.LANCZOS))
    d = np.abs(dst.astype(int) - pil)
    assert d.max() <= 2 and d.mean() < 0.3


def test_resize_nearest_and_deterministic():
    r = rng(13)
    src = img(r, 50, 70, 3)
    a = np.zeros((20, 33, 3), np.uint8)
    b = np.full((20, 33, 3), 9, np.uint8)
    k.resize(src, a, filter="nearest")
    k.resize(np.zeros((5, 5, 3), np.uint8), np.zeros((99, 98, 3), np.uint8))  # something else in between
    k.resize(src, b, filter="nearest")
    np.testing.assert_array_equal(a, b)
    # Every output pixel is one of the source's.
    assert set(map(tuple, a.reshape(-1, 3))) <= set(map(tuple, src.reshape(-1, 3)))
    c, d = np.zeros((31, 41, 3), np.uint8), np.zeros((31, 41, 3), np.uint8)
    k.resize(src, c)
    k.resize(src, d, "lanczos3")
    np.testing.assert_array_equal(c, d)


def test_resize_errors():
    src = np.zeros((10, 10, 3), np.uint8)
    with pytest.raises(
        framepipe.ParameterError, match=r"dst must have the channel count of src \(3\), got shape \(5, 5, 4\)"
    ):
        k.resize(src, np.zeros((5, 5, 4), np.uint8))
    with pytest.raises(
        framepipe.ParameterError,
        match=r'filter must be "nearest", "box", "bilinear", "bicubic" or "lanczos3", got "lanczos2"',
    ):
        k.resize(src, np.zeros((5, 5, 3), np.uint8), filter="lanczos2")
    with pytest.raises(framepipe.ParameterError, match=r"src must have 1 or 3 or 4 channels, got shape \(10, 10, 2\)"):
        k.resize(np.zeros((10, 10, 2), np.uint8), np.zeros((5, 5, 2), np.uint8))
    with pytest.raises(framepipe.ParameterError, match=r"dst must not be empty, got shape \(0, 5, 3\)"):
        k.resize(src, np.zeros((0, 5, 3), np.uint8))
    with pytest.raises(framepipe.ParameterError, match=r"dst is at most 65535 pixels on a side, got 70000x1"):
        k.resize(src, np.zeros((1, 70000, 3), np.uint8))


# --- rotate -------------------------------------------------------------------------------------

PIL_FILTERS = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}


@pytest.mark.parametrize("filter", list(PIL_FILTERS))
@pytest.mark.parametrize("angle", [30, -17.3, 45, 123.4, 1e-7, 359.99, 90, 90.0000001, -270, 180, 720])
@pytest.mark.parametrize("shape", [(37, 51), (40, 23, 3), (29, 30, 4), (1, 1, 3), (2, 3, 1)])
def test_rotate_equals_pillow(filter, angle, shape):
    """Size identical and pixels identical to Pillow's rotate(angle, resample, expand=True) (the
    same formulas in the same order; 4-channel sources opaque: Pillow premultiplies RGBA)."""
    r = rng(14)
    src = img(r, *shape)
    if len(shape) == 3 and shape[2] == 4:
        src[..., 3] = 255
    pil_src = Image.fromarray(src[..., 0] if len(shape) == 3 and shape[2] == 1 else src)
    want = np.asarray(pil_src.rotate(angle, resample=PIL_FILTERS[filter], expand=True)).reshape(-1)
    w, h = k.rotated_size(shape[1], shape[0], angle)
    assert (w, h) == pil_src.rotate(angle, expand=True).size
    dst = np.zeros((h, w) + shape[2:], np.uint8)
    k.rotate(src, dst, angle, filter=filter)
    np.testing.assert_array_equal(dst.reshape(-1), want)


def test_rotate_background_and_rgba_nearest():
    r = rng(15)
    src = img(r, 21, 34, 4)  # real alpha: nearest copies pixels, no premultiplication involved
    w, h = k.rotated_size(34, 21, 33)
    dst = np.zeros((h, w, 4), np.uint8)
    k.rotate(src, dst, 33, filter="nearest", bg=(1, 2, 3, 4))
    want = np.asarray(Image.fromarray(src).rotate(33, resample=Image.NEAREST, expand=True, fillcolor=(1, 2, 3, 4)))
    np.testing.assert_array_equal(dst, want)
    rgb = img(r, 21, 34, 3)
    d3 = np.zeros((h, w, 3), np.uint8)
    k.rotate(rgb, d3, 33, bg=[9, 8, 7])
    want = np.asarray(Image.fromarray(rgb).rotate(33, resample=Image.BICUBIC, expand=True, fillcolor=(9, 8, 7)))
    np.testing.assert_array_equal(d3, want)
    np.testing.assert_array_equal(d3[0, 0], [9, 8, 7])


def test_rotate_errors():
    src = np.zeros((10, 20, 3), np.uint8)
    w, h = k.rotated_size(20, 10, 30)
    with pytest.raises(framepipe.ParameterError, match=rf"dst must be the rotated size, shape \({h}, {w}, 3\)"):
        k.rotate(src, np.zeros((h, w + 1, 3), np.uint8), 30)
    with pytest.raises(framepipe.ParameterError, match=r"bg must have one value per channel \(3\), got 4 values"):
        k.rotate(src, np.zeros((h, w, 3), np.uint8), 30, bg=(0, 0, 0, 0))
    with pytest.raises(framepipe.ParameterError, match=r"bg values must be ints in 0..255"):
        k.rotate(src, np.zeros((h, w, 3), np.uint8), 30, bg=(0, -1, 0))
    with pytest.raises(
        framepipe.ParameterError, match=r'filter must be "nearest", "bilinear" or "bicubic", got "lanczos3"'
    ):
        k.rotate(src, np.zeros((h, w, 3), np.uint8), 30, filter="lanczos3")
    with pytest.raises(framepipe.ParameterError, match=r"angle must be a finite number of degrees, got NaN"):
        k.rotated_size(20, 10, float("nan"))
    with pytest.raises(framepipe.ParameterError, match=r"more than 65535 pixels on a side"):
        k.rotated_size(60000, 60000, 45)
    with pytest.raises(framepipe.ParameterError, match=r"width and height must be positive, got -3x10"):
        k.rotated_size(-3, 10, 45)


# --- arguments every kernel checks ---------------------------------------------------------------


def test_wrong_dtype_is_refused_with_what_was_given():
    dst = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(
        framepipe.ParameterError,
        match=r"src must be a numpy uint8 array .* got an array of dtype float32 and shape \(2, 2, 3\)",
    ):
        k.composite(dst, np.zeros((2, 2, 3), np.float32), 0, 0)
    with pytest.raises(ValueError, match=r"alpha must be a numpy uint8 array .* dtype bool"):
        k.composite(dst, np.zeros((2, 2, 3), np.uint8), 0, 0, alpha=np.zeros((2, 2), bool))
    with pytest.raises(framepipe.ParameterError, match=r"dst must be a numpy uint8 array .* got a list"):
        k.grayscale(np.zeros((2, 2, 3), np.uint8), [[0, 0], [0, 0]])


def test_non_contiguous_and_read_only_are_refused():
    dst = np.zeros((8, 8, 3), np.uint8)
    src = np.zeros((4, 8, 3), np.uint8)
    with pytest.raises(
        framepipe.ParameterError,
        match=r"src must be C-contiguous \(use np.ascontiguousarray\), got an array of shape \(4, 4, 3\) "
        r"with strides \(24, 6, 1\)",
    ):
        k.composite(dst, src[:, ::2], 0, 0)
    with pytest.raises(framepipe.ParameterError, match=r"dst must be C-contiguous"):
        k.resize(src, dst[::-1])
    ro = np.zeros((8, 8, 3), np.uint8)
    ro.flags.writeable = False
    with pytest.raises(
        framepipe.ParameterError, match=r"dst must be writable, got a read-only array of shape \(8, 8, 3\)"
    ):
        k.composite(ro, src, 0, 0)


def test_shape_mismatches_and_bad_numbers():
    dst = np.zeros((8, 8, 3), np.uint8)
    src = np.zeros((4, 5, 3), np.uint8)
    with pytest.raises(
        framepipe.ParameterError, match=r"alpha must have the height and width of src: \(4, 5, 3\) vs \(5, 4\)"
    ):
        k.composite(dst, src, 0, 0, alpha=np.zeros((5, 4), np.uint8))
    with pytest.raises(framepipe.ParameterError, match=r"src must have 3 channels, got shape \(4, 5, 4\)"):
        k.composite(dst, np.zeros((4, 5, 4), np.uint8), 0, 0)
    with pytest.raises(
        framepipe.ParameterError, match=r"dst must be a 2-D \(h, w\) or 3-D \(h, w, c\) array, got shape \(8,\)"
    ):
        k.composite_alpha(np.zeros(8, np.uint8), np.zeros((2, 2), np.uint8), 0, 0)
    with pytest.raises(
        framepipe.ParameterError, match=r"dst must have a 2-D \(h, w\) array \(one channel\), got shape \(8, 8, 3\)"
    ):
        k.composite_alpha(dst, np.zeros((2, 2), np.uint8), 0, 0)
    for bad in [float("nan"), float("inf"), -0.01, 1.01]:
        with pytest.raises(framepipe.ParameterError, match=r"opacity must be a finite number in \[0, 1\], got"):
            k.composite(dst, src, 0, 0, opacity=bad)
        with pytest.raises(framepipe.ParameterError, match=r"opacity must be a finite number in \[0, 1\]"):
            k.composite_alpha(np.zeros((4, 4), np.uint8), np.zeros((2, 2), np.uint8), 0, 0, opacity=bad)
    with pytest.raises(framepipe.ParameterError, match=r"x must be an int, got a float"):
        k.composite(dst, src, 1.5, 0)


@pytest.mark.parametrize("channels", [None, 1, 3, 4])
@pytest.mark.parametrize("fx,fy", [(2, 2), (3, 4), (1, 2), (5, 1)])
@pytest.mark.parametrize("dw", [7, 61])  # 61: the 2x2 path's blocks of 96 samples and a remainder
def test_resize_box_whole_factors_are_exact_block_means(channels, fx, fy, dw):
    rng = np.random.default_rng(fx * 10 + fy + dw)
    h, w = 4 * fy, dw * fx
    shape = (h, w) if channels is None else (h, w, channels)
    src = rng.integers(0, 256, shape, dtype=np.uint8)
    dst = np.empty((4, dw, *shape[2:]), np.uint8)
    k.resize(src, dst, filter="box")
    blocks = src.reshape(4, fy, dw, fx, *shape[2:]).astype(np.int64).sum(axis=(1, 3))
    n = fx * fy
    np.testing.assert_array_equal(dst, ((blocks + n // 2) // n).astype(np.uint8))


def test_resize_box_other_factors_match_pillow():
    from PIL import Image

    src = np.random.default_rng(3).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    for size in ((33, 21), (100, 77)):
        dst = np.empty((size[1], size[0], 3), np.uint8)
        k.resize(src, dst, filter="box")
        want = np.asarray(Image.fromarray(src).resize(size, Image.Resampling.BOX))
        assert np.abs(dst.astype(int) - want).max() <= 1
