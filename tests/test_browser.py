"""The HTML that Jupyter shows plays in a real browser: headless Chromium (Debian's) loads it, the
<video> element reaches readyState >= 2, its duration matches, and frames drawn to a canvas have
the source colours."""

from __future__ import annotations

import browser
import framepipe
import numpy as np
import pytest

FPS, N, H, W = 10, 20, 96, 128
TOL = 12  # per channel: 4:2:0 H.264 at crf 23, BT.709 in the encoder and in the browser

# Quadrant centres and their colour per frame: flat areas, so the colour is exact up to coding.
POINTS = [(W // 4, H // 4), (3 * W // 4, H // 4), (W // 4, 3 * H // 4), (3 * W // 4, 3 * H // 4)]


def colours(i: int) -> list[tuple[int, int, int]]:
    return [(200, 40 + 8 * i, 30), (30, 190, 40 + 6 * i), (40, 50, 210), (10 * i, 10 * i, 10 * i)]


def frames() -> np.ndarray:
    out = np.zeros((N, H, W, 3), np.uint8)
    for i in range(N):
        c = colours(i)
        out[i, : H // 2, : W // 2] = c[0]
        out[i, : H // 2, W // 2 :] = c[1]
        out[i, H // 2 :, : W // 2] = c[2]
        out[i, H // 2 :, W // 2 :] = c[3]
    return out


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("browser") / "quadrants.mp4"
    framepipe.write_video(path, frames(), fps=FPS)
    return path


def load(chromium, tmp_path, body: str, name: str = "page.html"):
    page = tmp_path / name
    page.write_text(browser.page(body))
    chromium.get(page.as_uri())


def check_playback(res: dict, sample: list[int]):
    assert "error" not in res, res
    assert res["readyState"] >= 2
    assert abs(res["duration"] - N / FPS) < 0.5 / FPS, res["duration"]
    assert (res["width"], res["height"]) == (W, H)
    for k, got in zip(sample, res["frames"]):
        for (x, y), want, px in zip(POINTS, colours(k), got):
            assert max(abs(a - b) for a, b in zip(px, want)) <= TOL, (k, (x, y), px, want)


SAMPLE = [0, 7, 13, N - 1]


def test_embedded_video_plays_with_source_colours(chromium, clip, tmp_path):
    html = framepipe.Video(clip)._repr_html_()
    assert "base64," in html
    load(chromium, tmp_path, html)
    res = chromium.execute_async_script(browser.PROBE_VIDEO, [(k + 0.5) / FPS for k in SAMPLE], POINTS, 1 / FPS)
    check_playback(res, SAMPLE)
    assert res["autoplay"] and res["loop"] and res["muted"] and res["controls"]


def test_linked_video_plays(chromium, clip, monkeypatch):
    monkeypatch.chdir(clip.parent)
    html = framepipe.Video(clip, embed_limit=0)._repr_html_()
    assert "base64" not in html and "linked" in html
    load(chromium, clip.parent, html, "linked.html")  # the page sits beside the video, like a notebook
    res = chromium.execute_async_script(browser.PROBE_VIDEO, [(k + 0.5) / FPS for k in SAMPLE], POINTS, 1 / FPS)
    check_playback(res, SAMPLE)


def test_matplotlib_animation_html5_video_plays(chromium, tmp_path):
    """framepipe.matplotlib.to_html5_video of an animation (saved through the blit path)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from framepipe.matplotlib import to_html5_video
    from matplotlib.animation import FuncAnimation
    from matplotlib.patches import Rectangle

    fig = plt.figure(figsize=(W / 32, H / 32), dpi=32)  # 128x96
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.set(xlim=(0, 1), ylim=(0, 1))
    ax.add_patch(Rectangle((0, 0), 0.5, 1, color=(0.8, 0.2, 0.1)))  # static left half
    right = ax.add_patch(Rectangle((0.5, 0), 0.5, 1, color="k"))

    def update(i):
        right.set_color((i / N, i / N, 1 - i / N))
        return (right,)

    ani = FuncAnimation(fig, update, frames=N, interval=1000 / FPS)
    html = to_html5_video(ani)
    plt.close(fig)
    load(chromium, tmp_path, html)
    res = chromium.execute_async_script(
        browser.PROBE_VIDEO, [(k + 0.5) / FPS for k in SAMPLE], [(30, 48), (100, 48)], 1 / FPS
    )
    assert "error" not in res, res
    assert res["readyState"] >= 2 and abs(res["duration"] - N / FPS) < 0.5 / FPS
    for k, (left, right_px) in zip(SAMPLE, res["frames"]):
        assert max(abs(a - b) for a, b in zip(left, (204, 51, 26))) <= TOL, (k, left)
        want = (round(255 * k / N), round(255 * k / N), round(255 * (1 - k / N)))
        assert max(abs(a - b) for a, b in zip(right_px, want)) <= TOL, (k, right_px, want)


def test_gif_shows_as_image(chromium, tmp_path):
    import io

    from PIL import Image

    ims = [Image.fromarray(f) for f in frames()[:3]]
    buf = io.BytesIO()
    ims[0].save(buf, format="GIF", save_all=True, append_images=ims[1:], duration=100, loop=0)
    load(chromium, tmp_path, framepipe.Video(buf.getvalue())._repr_html_())
    res = chromium.execute_async_script(browser.PROBE_IMG)
    assert res == {"complete": True, "width": W, "height": H}


# Plays the first <video> (its sound on: not muted) and reports, after `wait` seconds, how far
# it got and how many bytes of sound Chromium decoded (webkitAudioDecodedByteCount), with the
# same at the start.
PLAY_WITH_SOUND = r"""
const [wait, done] = [arguments[0], arguments[arguments.length - 1]];
const v = document.querySelector('video');
const state = () => ({time: v.currentTime, audio: v.webkitAudioDecodedByteCount,
                      video: v.webkitVideoDecodedByteCount, muted: v.muted, paused: v.paused});
v.addEventListener('error', () => done({error: 'media error ' + (v.error && v.error.message)}), {once: true});
const go = () => {
  const before = state();
  v.play().then(() => setTimeout(() => done({before: before, after: state(), duration: v.duration}), wait * 1000),
                e => done({error: 'play() refused: ' + e}));
};
if (v.readyState >= 2) go(); else v.addEventListener('loadeddata', go, {once: true});
"""


@pytest.mark.parametrize("codec", ["aac", "opus"])
def test_video_with_sound_plays_its_sound(chromium, tmp_path, codec):
    """A framepipe MP4 with AAC or Opus sound, shown as framepipe.Video shows it (not muted):
    Chromium plays it, its decoded sound grows as the video time advances. (The browser runs
    with --mute-audio, which silences the output, not the decoding.)"""
    import crashkit_audio as kit

    path = tmp_path / f"sound-{codec}.mp4"
    rate, seconds = 48000, 4
    with framepipe.VideoWriter(path, FPS, audio_fps=rate, audio_channels=2, audio_codec=codec, preset="ultrafast") as w:
        pictures = frames()
        for i in range(seconds * FPS):
            w.write(pictures[i % N])
            chirp = kit.sound(i * rate // FPS, rate // FPS)
            w.write_audio(np.stack([chirp, chirp], axis=1))
    video = framepipe.Video(path)
    assert video.has_sound
    html = video.to_html()
    assert html.startswith("<video controls loop playsinline>"), html[:80]
    load(chromium, tmp_path, html)
    res = chromium.execute_async_script(PLAY_WITH_SOUND, 1.5)
    assert "error" not in res, res
    before, after = res["before"], res["after"]
    assert not after["muted"] and not after["paused"], res
    assert abs(res["duration"] - seconds) < 0.05, res
    assert after["time"] - before["time"] > 0.5, res
    assert after["audio"] > before["audio"] and after["audio"] > 1000, res
    assert after["video"] > before["video"], res
