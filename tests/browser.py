"""Headless Chromium for tests/test_browser.py: Debian's ``chromium`` + ``chromium-driver`` (installed
by scripts/setup.sh) driven with Selenium. No browser is downloaded: both paths are given."""

from __future__ import annotations

import os
import shutil
import tempfile

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

# Without these, headless Chromium tries to reach the network (and fails slowly) or the sandbox.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
    # A page and the video file it links are both file:// URLs; without this Chromium treats them
    # as different origins and refuses to read the pixels of the linked video back from a canvas.
    "--allow-file-access-from-files",
]


def start():
    """A Selenium driver for a fresh headless Chromium (call .quit() when done)."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(p)]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} not found: run scripts/setup.sh (Debian chromium, chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="framepipe-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={profile}"]:
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_script_timeout(60)
    driver._framepipe_profile = profile
    return driver


def stop(driver) -> None:
    try:
        driver.quit()
    finally:
        shutil.rmtree(getattr(driver, "_framepipe_profile", ""), ignore_errors=True)


# Waits until the first <video> can show a frame (or fails), then for each time in `times` pauses,
# seeks there, waits until that frame is presented (requestVideoFrameCallback: 'seeked' alone can
# fire before the new frame reaches a canvas), draws it on a canvas of the video's size and reads
# the pixels at `points`. `frame_s` is the frame duration (the presented frame's time must be
# within 3/4 of a frame of the asked time).
PROBE_VIDEO = r"""
const [times, points, frame_s, done] = [arguments[0], arguments[1], arguments[2], arguments[arguments.length - 1]];
const v = document.querySelector('video');
if (!v) { done({error: 'no <video> element'}); return; }
const fail = () => done({error: 'media error ' + (v.error && v.error.code) + ' ' + (v.error && v.error.message)});
v.addEventListener('error', fail, {once: true});
const source = v.querySelector('source');
if (source) source.addEventListener('error', fail, {once: true});
const frames = [], shown = [];
const canvas = document.createElement('canvas');
const draw = (i, mediaTime) => {
  try {
    canvas.width = v.videoWidth; canvas.height = v.videoHeight;
    const g = canvas.getContext('2d');
    g.drawImage(v, 0, 0);
    frames.push(points.map(([x, y]) => Array.from(g.getImageData(x, y, 1, 1).data.slice(0, 3))));
    shown.push(mediaTime);
  } catch (e) { done({error: String(e)}); return; }
  grab(i + 1);
};
const grab = (i) => {
  if (i >= times.length) {
    done({readyState: v.readyState, duration: v.duration, width: v.videoWidth, height: v.videoHeight,
          autoplay: v.autoplay, loop: v.loop, muted: v.muted, controls: v.controls, frames: frames, shown: shown});
    return;
  }
  const want = times[i];
  let finished = false;
  const onFrame = (now, meta) => {
    if (finished) return;
    if (Math.abs(meta.mediaTime - want) <= 0.75 * frame_s) { finished = true; draw(i, meta.mediaTime); }
    else v.requestVideoFrameCallback(onFrame);
  };
  v.requestVideoFrameCallback(onFrame);
  // If the asked frame is the one already on screen, no new frame is presented: after the seek
  // completes, give the callback a moment, then draw what is shown.
  v.addEventListener('seeked', () => setTimeout(() => {
    if (!finished && Math.abs(v.currentTime - want) < 1e-6) { finished = true; draw(i, -1); }
  }, 1500), {once: true});
  v.currentTime = want;
};
const start = () => { v.pause(); grab(0); };
if (v.readyState >= 2) start(); else v.addEventListener('loadeddata', start, {once: true});
"""

PROBE_IMG = r"""
const done = arguments[arguments.length - 1];
const img = document.querySelector('img');
const report = () => done({complete: img.complete, width: img.naturalWidth, height: img.naturalHeight});
if (img.complete) report(); else { img.onload = report; img.onerror = () => done({error: 'img error'}); }
"""


def page(body: str) -> str:
    return f"<!doctype html><html><head><meta charset='utf-8'></head><body>{body}</body></html>"
