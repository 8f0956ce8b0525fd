#!/usr/bin/env python3
"""Micro-benchmark of the pixel kernels (framepipe._native): ms per call on 1280x720 frames.

Each line is the median of REPEATS timed calls (after one untimed warm-up call) in this process,
single-threaded as the kernels are. Inputs are random uint8 arrays from a fixed seed. Pillow's
LANCZOS resize of the same array (including the numpy <-> PIL conversions a compositor would
pay) is printed next to ours for scale.

Usage: .venv/bin/python bench/bench_kernels.py [--repeats N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from framepipe import _native as k
from PIL import Image


def median_ms(fn, repeats: int) -> float:
    fn()  # warm-up (page faults, caches)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)) * 1000.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=50)
    n = ap.parse_args().repeats
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    layer = rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    layer_alpha = rng.integers(0, 256, (720, 1280), dtype=np.uint8)
    overlay = rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)
    overlay_alpha = rng.integers(0, 256, (200, 300), dtype=np.uint8)
    half = np.empty((360, 640, 3), np.uint8)
    gray = np.empty((720, 1280), np.uint8)
    mask_small = np.empty((200, 300), np.uint8)
    mask_big = np.empty((720, 1280), np.uint8)
    rw, rh = k.rotated_size(1280, 720, 30)
    rotated = np.empty((rh, rw, 3), np.uint8)
    lut_table = bytes(255 - i for i in range(256))
    lut_out = np.empty_like(frame)

    rows = [
        ("resize 1280x720 -> 640x360, lanczos3", lambda: k.resize(frame, half, "lanczos3")),
        (
            "  Pillow LANCZOS, same array (fromarray + resize + asarray)",
            lambda: np.asarray(Image.fromarray(frame).resize((640, 360), Image.LANCZOS)),
        ),
        ("  Pillow LANCZOS, resize only (PIL image ready)", None),
        ("resize 1280x720 -> 640x360, bilinear", lambda: k.resize(frame, half, "bilinear")),
        (
            "composite 300x200 overlay, alpha, opacity 0.4",
            lambda: k.composite(frame, overlay, 500, 300, overlay_alpha, 0.4),
        ),
        ("composite 300x200 overlay, opaque (no alpha)", lambda: k.composite(frame, overlay, 500, 300)),
        ("composite full 1280x720 layer, alpha", lambda: k.composite(frame, layer, 0, 0, layer_alpha)),
        (
            "composite full 1280x720 layer, alpha, opacity 0.4",
            lambda: k.composite(frame, layer, 0, 0, layer_alpha, 0.4),
        ),
        ("composite_alpha full 1280x720 mask", lambda: k.composite_alpha(gray, layer_alpha, 0, 0)),
        ("lut 1280x720x3, one table", lambda: k.lut(frame, lut_out, lut_table)),
        ("grayscale 1280x720 -> (h, w)", lambda: k.grayscale(frame, gray)),
        (
            "mask_color 300x200, threshold 40, stiffness 2",
            lambda: k.mask_color(overlay, mask_small, (0, 255, 0), 40.0, 2.0),
        ),
        (
            "mask_color 1280x720, threshold 40, stiffness 2",
            lambda: k.mask_color(frame, mask_big, (0, 255, 0), 40.0, 2.0),
        ),
        ("mask_color 1280x720, threshold 0", lambda: k.mask_color(frame, mask_big, (0, 255, 0))),
        (f"rotate 1280x720 by 30 deg -> {rw}x{rh}, bicubic", lambda: k.rotate(frame, rotated, 30.0)),
        (
            "  Pillow rotate(30, BICUBIC, expand=True), same array",
            lambda: np.asarray(Image.fromarray(frame).rotate(30, resample=Image.BICUBIC, expand=True)),
        ),
        ("rotate 1280x720 by 30 deg, bilinear", lambda: k.rotate(frame, rotated, 30.0, "bilinear")),
        ("rotate 1280x720 by 30 deg, nearest", lambda: k.rotate(frame, rotated, 30.0, "nearest")),
    ]
    pil_frame = Image.fromarray(frame)
    print(f"{'kernel':62} {'ms/call':>9}   (median of {n})")
    for name, fn in rows:
        if fn is None:
            fn = lambda: pil_frame.resize((640, 360), Image.LANCZOS)  # noqa: E731
        print(f"{name:62} {median_ms(fn, n):9.3f}")


if __name__ == "__main__":
    main()
