"""Resumable renders: :func:`framepipe.render` with ``resume=True`` keeps each finished chunk
beside the output, in ``OUTPUT.parts/``, with a manifest of what they are chunks of. A render
that is killed (or fails) and is started again with the same parameters renders only the
chunks that are missing, then joins them all as usual and removes the parts. A changed
parameter makes the kept chunks useless: they are removed, with a warning naming what changed,
and the render starts over (never a video mixed from two settings)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from typing import Any

from .. import _native
from .._warn import warn
from ..errors import DecodeError

MANIFEST = "manifest.json"
VERSION = 1
Chunk = tuple[int, int, int]  # (index, first frame, stop)


def _sync_dir(path: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_atomically(path: str, data: bytes) -> None:
    """Write `data` to `path` so that `path` is either absent or complete, even after a power
    loss: a temporary name, fsync, rename, fsync of the directory."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _sync_dir(os.path.dirname(path))


class Parts:
    """The kept chunks of one resumable render (see the module docstring)."""

    def __init__(self, path: str, params: dict[str, Any], plan: list[Chunk]) -> None:
        """Open (or start) the parts of a render of `path` with `params`; `plan` is the chunk
        plan to use when starting afresh (a resumed render keeps the plan it started with, so
        that a different number of workers still finds its chunks)."""
        self.dir = os.fspath(path) + ".parts"
        self.params = params
        self.resumed = 0
        old = self._read_manifest()
        if old is not None:
            changed = sorted(k for k in set(old["params"]) | set(params) if old["params"].get(k) != params.get(k))
            if changed:
                warn(
                    f"{self.dir} holds chunks of a render with other parameters ({', '.join(changed)} changed); "
                    f"they are removed and the render starts over",
                )
                self.remove()
                old = None
        if old is None:
            self.chunks = plan
            # The folder appears with its manifest in it, or not at all.
            fresh = f"{self.dir}.{os.getpid()}.new"
            shutil.rmtree(fresh, ignore_errors=True)
            os.makedirs(fresh)
            _write_atomically(
                os.path.join(fresh, MANIFEST),
                json.dumps({"version": VERSION, "params": params, "chunks": plan}, indent=1).encode(),
            )
            os.replace(fresh, self.dir)
            _sync_dir(os.path.dirname(os.path.abspath(self.dir)))
        else:
            self.chunks = [tuple(c) for c in old["chunks"]]

    def _read_manifest(self) -> dict | None:
        try:
            with open(os.path.join(self.dir, MANIFEST), "rb") as f:
                m = json.loads(f.read())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            m = None
        if not isinstance(m, dict) or m.get("version") != VERSION or "params" not in m or "chunks" not in m:
            warn(
                f"{self.dir} has no readable manifest; its chunks are removed and the render starts over",
            )
            self.remove()
            return None
        return m

    def file(self, chunk: int) -> str:
        return os.path.join(self.dir, f"chunk-{chunk:06d}.mp4")

    def has(self, chunk: Chunk) -> bool:
        """Whether the chunk is kept whole: an MP4 of exactly its frames (a file cut short or
        not finished is rendered again)."""
        c, s, e = chunk
        try:
            info = _native.probe(self.file(c))
        except (OSError, DecodeError):
            return False
        whole = not info["truncated"] and not info["fragmented"]
        return info["format"] == "mp4" and info["frame_count"] == e - s and whole

    def save(self, chunk: int, data: bytes) -> None:
        _write_atomically(self.file(chunk), data)

    def read(self, chunk: int) -> bytes:
        with open(self.file(chunk), "rb") as f:
            return f.read()

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def params_of(n_frames: int, fps: Any, use_time: bool, chunk_frames: int | None, encode: dict) -> dict[str, Any]:
    """What a kept chunk depends on, as JSON values (options that are not JSON by their repr)."""
    return json.loads(
        json.dumps(
            {
                "n_frames": n_frames,
                "fps": f"{fps.numerator}/{fps.denominator}",
                "time_argument": use_time,
                "chunk_frames": chunk_frames,
                "encode": encode,
            },
            sort_keys=True,
            default=repr,
        )
    )
