"""framepipe.Video / VideoResult._repr_html_: inline MP4 (and GIF) for Jupyter, with a size limit.
The embedded bytes are decoded back and checked; tests/test_browser.py plays them in Chromium."""

from __future__ import annotations

import base64
import html as htmllib
import io
import os
import re

import framepipe
import framepipe.display as display
import numpy as np
import pytest
from conftest import check_video, decode_rgb, psnr, smooth_frames

VIDEO_TAG = re.compile(
    r'<video controls loop autoplay muted playsinline(?: width="(\d+)" height="(\d+)")?>'
    r'<source src="data:video/mp4;base64,([A-Za-z0-9+/=]+)" type="video/mp4">'
)


@pytest.fixture(scope="module")
def mp4(tmp_path_factory):
    path = tmp_path_factory.mktemp("display") / "clip.mp4"
    frames = smooth_frames(10, 48, 64)
    result = framepipe.write_video(path, frames, fps=10)
    return path, frames, result


def embedded_bytes(html: str) -> bytes:
    m = VIDEO_TAG.search(html)
    assert m, html[:300]
    return base64.b64decode(m.group(3))


def test_video_embeds_the_file(mp4, tmp_path):
    path, frames, _ = mp4
    html = framepipe.Video(path)._repr_html_()
    data = embedded_bytes(html)
    assert data == path.read_bytes()
    (tmp_path / "back.mp4").write_bytes(data)
    check_video(tmp_path / "back.mp4", frames=10, width=64, height=48, fps=10)
    assert psnr(decode_rgb(tmp_path / "back.mp4"), frames) > 35


def test_video_result_displays_itself(mp4):
    path, _, result = mp4
    html = result._repr_html_()
    m = VIDEO_TAG.search(html)
    assert m and (m.group(1), m.group(2)) == ("64", "48")  # its own size
    assert base64.b64decode(m.group(3)) == path.read_bytes()


def test_in_memory_result_displays_itself():
    frames = smooth_frames(4, 32, 32)
    result = framepipe.write_video(None, frames, fps=5)
    assert result.path is None and result.data
    assert embedded_bytes(result._repr_html_()) == result.data
    assert embedded_bytes(framepipe.Video(result.data)._repr_html_()) == result.data


def test_over_the_limit_links_the_file_and_says_so(mp4, monkeypatch, tmp_path):
    path, _, _ = mp4
    monkeypatch.chdir(path.parent)
    v = framepipe.Video(path, embed_limit=0.001)  # ~1 kB
    assert not v.embeddable and v.embedded_size > 1024
    html = v._repr_html_()
    assert "base64" not in html
    assert '<source src="clip.mp4" type="video/mp4">' in html  # relative to the notebook's directory
    text = htmllib.unescape(re.sub("<[^>]+>", " ", html))
    assert "over the 0.001 MB embed limit" in text and "linked, not embedded" in text
    assert f"{v.size / 1024:.0f} kB" in text
    # Outside the working directory the link is the absolute path.
    monkeypatch.chdir(tmp_path)
    assert f'src="{path}"' in framepipe.Video(path, embed_limit=0.001)._repr_html_()


def test_default_limit_is_20_mb_and_configurable(tmp_path, monkeypatch):
    assert display.EMBED_LIMIT_MB == 20
    big = tmp_path / "big.mp4"
    # A fake file just over 20 MB of base64 (15 MB of bytes is exactly 20 MB of base64).
    with open(big, "wb") as f:
        f.write(b"\x00\x00\x00\x20ftypisom")
        f.truncate(15 * 2**20 + 3)
    v = framepipe.Video(big)
    assert v.embedded_size > 20 * 2**20 and not v.embeddable
    assert "linked, not embedded" in v._repr_html_()
    assert framepipe.Video(big, embed_limit=21).embeddable
    monkeypatch.setattr(display, "EMBED_LIMIT_MB", 25.0)
    assert framepipe.Video(big).embeddable
    with open(big, "r+b") as f:
        f.truncate(15 * 2**20)  # exactly 20 MB of base64: still embedded
    monkeypatch.setattr(display, "EMBED_LIMIT_MB", 20.0)
    assert framepipe.Video(big).embedded_size == 20 * 2**20 and framepipe.Video(big).embeddable


def test_in_memory_over_the_limit_says_there_is_no_file():
    result = framepipe.write_video(None, smooth_frames(4, 32, 32), fps=5)
    html = framepipe.Video(result, embed_limit=1e-6)._repr_html_()
    assert "<video" not in html and "no file to link" in html


def test_gif_is_an_img(tmp_path):
    from PIL import Image

    frames = [Image.fromarray(f) for f in smooth_frames(3, 24, 32)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    html = framepipe.Video(buf.getvalue())._repr_html_()
    m = re.search(r'<img src="data:image/gif;base64,([A-Za-z0-9+/=]+)" alt="animation">', html)
    assert m and base64.b64decode(m.group(1)) == buf.getvalue()
    (tmp_path / "a.gif").write_bytes(buf.getvalue())
    v = framepipe.Video(tmp_path / "a.gif", embed_limit=1e-6)
    assert v.kind == "gif" and '<img src="' in v._repr_html_() and "linked, not embedded" in v._repr_html_()


def test_options_and_errors(mp4, tmp_path):
    path, _, _ = mp4
    html = framepipe.Video(path, loop=False, autoplay=False, width=320)._repr_html_()
    assert html.startswith('<video controls muted playsinline width="320">')
    with pytest.raises(FileNotFoundError):
        framepipe.Video(tmp_path / "missing.mp4")
    with pytest.raises(TypeError):
        framepipe.Video(12)
    assert "clip.mp4" in repr(framepipe.Video(path)) and os.fspath(path) == framepipe.Video(path).path


def test_a_deleted_file_is_reported_in_the_notebook_not_raised(tmp_path):
    out = tmp_path / "gone.mp4"
    res = framepipe.write_video(out, np.zeros((2, 16, 16, 3), np.uint8), fps=10)
    out.unlink()
    html = res._repr_html_()
    assert "cannot show" in html and "gone.mp4" in html


def test_video_with_sound_is_not_muted_and_does_not_autoplay(tmp_path):
    """A file with a sound track: `<video controls loop playsinline>` (its sound plays; browsers
    would not autoplay it unmuted); muted=True or autoplay=True give the muted autoplaying
    element; a silent file keeps it. The same for the bytes of the file."""
    sound = tmp_path / "sound.mp4"
    with framepipe.VideoWriter(sound, 10, audio_fps=8000, audio_channels=1, preset="ultrafast") as w:
        for i in range(5):
            w.write(np.full((16, 16, 3), i * 40, np.uint8))
        w.write_audio(np.zeros(4000, np.float32))
    silent = tmp_path / "silent.mp4"
    framepipe.write_video(silent, [np.zeros((16, 16, 3), np.uint8)] * 3, 10, preset="ultrafast")
    for source in (sound, sound.read_bytes()):
        v = framepipe.Video(source)
        assert v.has_sound
        assert v.to_html().startswith("<video controls loop playsinline>")
        assert (
            framepipe.Video(source, muted=True).to_html().startswith("<video controls loop autoplay muted playsinline>")
        )
        assert (
            framepipe.Video(source, autoplay=True)
            .to_html()
            .startswith("<video controls loop autoplay muted playsinline>")
        )
        assert (
            framepipe.Video(source, muted=False, autoplay=True)
            .to_html()
            .startswith("<video controls loop autoplay playsinline>")
        )
    v = framepipe.Video(silent)
    assert not v.has_sound
    assert v.to_html().startswith("<video controls loop autoplay muted playsinline>")
    assert framepipe.Video(silent, muted=False).to_html().startswith("<video controls loop playsinline>")
