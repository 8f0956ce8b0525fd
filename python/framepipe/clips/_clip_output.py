"""A clip's output: frames iterated, written (video with its sound, GIF, images), shown in a
notebook."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Unpack

from .._keywords import checked
from . import _preview, _write
from ._clip_sound import ClipSound

if TYPE_CHECKING:
    from ..writer import VideoResult
    from ._clip import VideoClip


class ClipOutput(ClipSound):
    """The output methods of :class:`VideoClip`."""

    @property
    def n_frames(self) -> int:
        """The number of frames a write at the clip's fps makes: round(duration x fps)."""
        return _write.frame_count(self, _write.clip_fps(self, None, "n_frames"))

    # ---- output ---------------------------------------------------------------------------

    def iter_frames(
        self, fps: float | None = None, with_times: bool = False, logger: Any = None, dtype: Any = None
    ) -> Iterator[Any]:
        """Every frame at `fps`: frame n at t = n / fps, round(duration * fps) of them."""
        for _, t in _write.frame_times(self, fps):
            frame = self.get_frame(t) if self.is_mask else self._get(t)
            if dtype is not None:
                frame = frame.astype(dtype)
            yield (t, frame) if with_times else frame

    def write_videofile(
        self, filename: Any, fps: float | None = None, *args: Any, **options: Unpack[_write.ClipWriteOptions]
    ) -> VideoResult:
        return _write.write_videofile(self, filename, fps, *args, **options)

    def write_gif(
        self, filename: Any, fps: float | None = None, *args: Any, **options: Unpack[_write.ClipWriteOptions]
    ) -> VideoResult:
        return _write.write_gif(self, filename, fps, *args, **options)

    def write_images_sequence(
        self, name_format: str, fps: float | None = None, with_mask: bool = True, logger: Any = "bar"
    ) -> list[str]:
        return _write.write_images_sequence(self, name_format, fps, with_mask)

    def save_frame(self, filename: Any, t: float = 0, with_mask: bool = True) -> None:
        _write.save_frame(self, filename, t, with_mask)

    def to_ImageClip(self, t: float = 0, with_mask: bool = True, duration: float | None = None) -> VideoClip:  # noqa: N802
        from ._sources import ImageClip

        t = self._check_t(t)
        clip = ImageClip(self._get(t).copy(), is_mask=self.is_mask, duration=duration)
        alpha = self._alpha(t) if with_mask else None
        if alpha is not None:
            clip = clip.with_mask(ImageClip(alpha.copy(), is_mask=True, duration=duration))
        return clip

    def _repr_html_(self) -> str:
        return _write.html(self)

    @checked(also=[_write.display])
    def display_in_notebook(self, **kwargs: Any) -> Any:
        return _write.display(self, **kwargs)

    def show(self, t: Any = 0, with_mask: bool = True, interactive: bool = False) -> list[dict] | None:
        """The frame at t: inline in a notebook, else in a pygame window until closed (docs/preview.md)."""
        return _preview.show(self, t, with_mask, interactive)

    def preview(
        self,
        fps: Any = 15,
        audio: bool = True,
        audio_fps: Any = 22050,
        audio_buffersize: Any = 3000,
        audio_nbytes: int = 2,
        fullscreen: bool = False,
    ) -> None:
        """Plays the clip (with its sound): inline in a notebook, else in a pygame window."""
        _preview.preview(self, fps, audio, audio_fps, audio_buffersize, audio_nbytes, fullscreen)
