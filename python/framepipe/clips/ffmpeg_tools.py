"""MoviePy's ``moviepy.video.io.ffmpeg_tools`` (``framepipe.editor.video.io.ffmpeg_tools``):
helpers that run the ffmpeg program on files, with MoviePy's command lines. framepipe itself
encodes and decodes in-process; these need ffmpeg (``FFMPEG_BINARY``: the environment variable,
or the one on the PATH), as MoviePy's do."""

from __future__ import annotations

import os
import re
import subprocess
from typing import Any

from .._keywords import checked
from .decorators import convert_parameter_to_seconds
from .tools import FFMPEG_BINARY, FFPLAY_BINARY, ffmpeg_escape_filename, subprocess_call

Path = str | os.PathLike[str]


@checked
@convert_parameter_to_seconds(("start_time", "end_time"))
def ffmpeg_extract_subclip(
    inputfile: Path, start_time: Any, end_time: Any, outputfile: Path | None = None, logger: Any = "bar"
) -> None:
    """The part start_time..end_time of `inputfile`, stream-copied (no re-encoding, so it
    starts at a keyframe) to `outputfile` (default: ``<name>SUB<ms>_<ms><ext>``)."""
    inputfile = os.fspath(inputfile)
    if not outputfile:
        name, ext = os.path.splitext(inputfile)
        t1, t2 = (int(1000 * t) for t in (start_time, end_time))
        outputfile = f"{name}SUB{t1}_{t2}{ext}"
    cmd = [
        FFMPEG_BINARY, "-y", "-ss", f"{start_time:0.2f}", "-i", ffmpeg_escape_filename(inputfile),
        "-t", f"{end_time - start_time:0.2f}", "-map", "0", "-vcodec", "copy", "-acodec", "copy", "-copyts",
        ffmpeg_escape_filename(os.fspath(outputfile)),
    ]  # fmt: skip
    subprocess_call(cmd, logger=logger)


@checked
def ffmpeg_merge_video_audio(
    videofile: Path,
    audiofile: Path,
    outputfile: Path,
    video_codec: str = "copy",
    audio_codec: str = "copy",
    logger: Any = "bar",
) -> None:
    """`videofile`'s video with `audiofile`'s sound, in `outputfile`."""
    cmd = [
        FFMPEG_BINARY, "-y", "-i", ffmpeg_escape_filename(os.fspath(audiofile)),
        "-i", ffmpeg_escape_filename(os.fspath(videofile)), "-vcodec", video_codec, "-acodec", audio_codec,
        ffmpeg_escape_filename(os.fspath(outputfile)),
    ]  # fmt: skip
    subprocess_call(cmd, logger=logger)


@checked
def ffmpeg_extract_audio(
    inputfile: Path, outputfile: Path, bitrate: int = 3000, fps: int = 44100, logger: Any = "bar"
) -> None:
    """`inputfile`'s sound to `outputfile` (its format from the extension)."""
    cmd = [
        FFMPEG_BINARY, "-y", "-i", ffmpeg_escape_filename(os.fspath(inputfile)),
        "-ab", f"{int(bitrate)}k", "-ar", f"{int(fps)}", ffmpeg_escape_filename(os.fspath(outputfile)),
    ]  # fmt: skip
    subprocess_call(cmd, logger=logger)


@checked
def ffmpeg_resize(inputfile: Path, outputfile: Path, size: Any, logger: Any = "bar") -> None:
    """`inputfile` scaled to `size` (width, height) in `outputfile`."""
    cmd = [
        FFMPEG_BINARY, "-i", ffmpeg_escape_filename(os.fspath(inputfile)),
        "-vf", f"scale={int(size[0])}:{int(size[1])}", ffmpeg_escape_filename(os.fspath(outputfile)),
    ]  # fmt: skip
    subprocess_call(cmd, logger=logger)


@checked
def ffmpeg_stabilize_video(
    inputfile: Path,
    outputfile: Path | None = None,
    output_dir: Path = "",
    overwrite_file: bool = True,
    logger: Any = "bar",
) -> None:
    """`inputfile` stabilized by ffmpeg's ``deshake`` filter (default output:
    ``<name>_stabilized<ext>`` in `output_dir`)."""
    inputfile = os.fspath(inputfile)
    if not outputfile:
        name, ext = os.path.splitext(os.path.basename(inputfile))
        outputfile = f"{name}_stabilized{ext}"
    outputfile = os.path.join(os.fspath(output_dir), os.fspath(outputfile))
    cmd = [FFMPEG_BINARY, "-i", ffmpeg_escape_filename(inputfile), "-vf", "deshake", ffmpeg_escape_filename(outputfile)]
    if overwrite_file:
        cmd.append("-y")
    subprocess_call(cmd, logger=logger)


def _version(binary: str, *args: str) -> tuple[str, str]:
    result = subprocess.run([binary, "-version", *args], capture_output=True, text=True, check=True)
    full_version = result.stdout.splitlines()[0].split()[2]
    match = re.match("^[0-9.]+", full_version)
    return full_version, match.group(0) if match else ""


@checked
def ffmpeg_version() -> tuple[str, str]:
    """ffmpeg's (full version, numeric version), e.g. ("5.1.6-0+deb12u1", "5.1.6")."""
    return _version(FFMPEG_BINARY, "-v", "quiet")


@checked
def ffplay_version() -> tuple[str, str]:
    """ffplay's (full version, numeric version)."""
    return _version(FFPLAY_BINARY)


__all__ = [
    "ffmpeg_extract_subclip",
    "ffmpeg_merge_video_audio",
    "ffmpeg_extract_audio",
    "ffmpeg_resize",
    "ffmpeg_stabilize_video",
    "ffmpeg_version",
    "ffplay_version",
]
