"""The ``"framepipe"`` movie writer and the helpers around it: saving, HTML5 video, parallel
rendering of a figure."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any, Unpack

import matplotlib as mpl
import matplotlib.animation as _animation
from matplotlib.figure import Figure

from .._keywords import KeywordsChecked, checked
from .._options import OPTION_TABLE, FigureEncodeOptions, options_doc, output_format
from .._render import render_figures
from .._warn import warn
from ..display import Video
from ..errors import FramepipeWarning, ParameterError, UnsupportedError
from ..writer import VideoResult, VideoWriter
from ._recorder import Recorder
from ._style import calling_animations, validate_grab_kwargs

# Every part of the writer logs as framepipe.matplotlib (the name users configure).
_log = logging.getLogger("framepipe.matplotlib")

_H264_NAMES = {"h264", "libx264", "x264", "avc", "avc1"}


# -------------------------------------------------------------------------------------- progress


def _interactive() -> bool:
    """True in a terminal or a Jupyter kernel: where a progress bar is seen, not logged."""
    try:
        if sys.stderr is not None and sys.stderr.isatty():
            return True
    except (AttributeError, ValueError):
        pass
    ipython = sys.modules.get("IPython")
    if ipython is not None:
        try:
            shell = ipython.get_ipython()
        except Exception:  # noqa: BLE001
            return False
        return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"
    return False


def _progress_bar(total: int | None, desc: str, force: bool):
    try:
        if not force and "ipykernel" in sys.modules:
            try:
                import ipywidgets  # noqa: F401
                from tqdm.notebook import tqdm
            except ImportError:
                from tqdm import tqdm
        else:
            from tqdm import tqdm
    except ImportError:
        if force:
            warn("progress=True needs tqdm (pip install tqdm)")
        return None
    return tqdm(total=total, desc=desc, unit="frame", leave=True, file=sys.stderr)


# ---------------------------------------------------------------------------------------- writer


class FramepipeWriter(KeywordsChecked, _animation.AbstractMovieWriter):
    """A matplotlib movie writer that encodes with framepipe (x264 in-process), no ffmpeg.

    Use it by name, ``ani.save("out.mp4", writer="framepipe", fps=30)``, or as an instance::

        ani.save("out.mp4", writer=FramepipeWriter(fps=30, crf=20, preset="slow"))

    Args:
        fps: frames per second (int, float or Fraction; 29.97 is taken as 30000/1001).
        codec: only H.264 exists for MP4 (``"h264"``/``"libx264"``); another codec for an MP4 is
            refused. For a GIF it does not apply and is ignored.
        bitrate: kbit/s; ``None`` or ``-1`` (matplotlib's default) means constant quality (crf).
        extra_args: ignored: there is no command line to pass them to.
        metadata: MP4 tags, as for matplotlib's writers (``{"title": ..., "artist": ...}``);
            see :class:`framepipe.VideoWriter`. A GIF has no such fields.
        blit: draw only what changed when the animation allows it (see the module docstring).
        progress: ``None`` shows a tqdm bar when tqdm is installed and stderr is a terminal or
            Jupyter; ``True`` always (if tqdm is installed); ``False`` never.
        audio, audio_fps: a sound track for the MP4, as for :class:`framepipe.VideoWriter`: a
            sound file, or an array of samples with ``audio_fps`` (its rate). The video sets the
            length (longer sound is cut, shorter is padded with silence). A GIF has no sound
            (``ParameterError``); ``audio_codec`` and ``audio_bitrate`` are among the options.
        **options: the encoding options of :class:`framepipe.VideoWriter`
            (:class:`framepipe.FigureEncodeOptions`: all but ``format``, which the file name
            gives, ``pix_fmt``, the frames being matplotlib's RGBA, and ``bitrate`` and
            ``metadata`` above), listed at the end of this docstring from the engine's table.
            Here ``background`` defaults to white, and a GIF's ``loop`` to forever when the
            animation repeats (``repeat=True``, matplotlib's default) and to once when it does
            not.

    As with matplotlib's own writers, an argument that does not apply to the output format
    (``bitrate``, ``crf``, ``tune``, ``keyint``, ``metadata`` or ``codec`` for a GIF; ``colors``,
    ``dither``, ``loop`` for an MP4; ``extra_args``) is ignored, with an INFO message on the
    ``framepipe.matplotlib`` logger, so code written for ``writer="pillow"`` or ``"ffmpeg"`` works
    unchanged.

    After saving, ``writer.result`` is the :class:`framepipe.VideoResult` and ``writer.stats``
    counts the frames drawn over the kept background (``"blit"``) and in full (``"full"``, with
    their ``"reasons"``); ``"modes"`` lists ``"blit"``/``"full"`` frame by frame.
    """

    supported_formats = ["rgba"]

    def __init__(
        self,
        fps: Any = 5,
        codec: str | None = None,
        bitrate: int | None = None,
        extra_args: list[str] | None = None,
        metadata: dict[str, str] | None = None,
        *,
        blit: bool = True,
        progress: bool | None = None,
        audio: Any = None,
        audio_fps: int | None = None,
        **options: Unpack[FigureEncodeOptions],
    ) -> None:
        # Checked against the output format in setup(), once the file name is known.
        self.requested_codec = None if codec is None else str(codec)
        self.extra_args = list(extra_args) if extra_args else []
        super().__init__(fps=fps, metadata=metadata, codec="h264", bitrate=bitrate)
        if bitrate is not None and not isinstance(bitrate, (int, float)):
            raise ParameterError(f"bitrate must be a number of kbit/s, got {bitrate!r}")
        self.frame_format = "rgba"
        # The encoding options as given (None = the engine's default), over a white background.
        self.options: dict[str, Any] = {"background": (255, 255, 255), **options}
        self.audio = audio
        self.audio_fps = audio_fps
        self.blit = bool(blit)
        self.progress = progress
        self.result: VideoResult | None = None
        self.stats: dict[str, Any] = {}
        self._recorder: Recorder | None = None
        self._video: VideoWriter | None = None
        self._bar = None
        self._total: int | None = None

    @classmethod
    def isAvailable(cls) -> bool:  # noqa: N802 - matplotlib's name
        """Always True: x264 is linked into framepipe, nothing else is needed."""
        return True

    def _options_for(self, is_gif: bool, outfile: Any) -> dict:
        """The VideoWriter options for this output; what does not apply to its format (the
        engine's option table says which formats each option is for) is logged (INFO) and
        dropped, as matplotlib's writers ignore what a format cannot use."""
        fmt = "gif" if is_gif else "mp4"
        formats = {row["name"]: row["formats"] for row in OPTION_TABLE}
        rate = self.bitrate if self.bitrate is not None and self.bitrate > 0 else None
        given = {**self.options, "bitrate": None if rate is None else int(rate)}
        if self.metadata:
            given["metadata"] = dict(self.metadata)
        options = {k: v for k, v in given.items() if v is not None and fmt in formats[k]}
        ignored = [f"{k}={v!r}" for k, v in given.items() if v is not None and fmt not in formats[k]]
        codec = self.requested_codec
        if is_gif:
            if codec is not None and codec.lower() not in _H264_NAMES | {"gif"}:
                ignored.append(f"codec={codec!r}")
        elif codec is not None and codec.lower() not in _H264_NAMES:
            raise UnsupportedError(f"the framepipe writer encodes MP4 as H.264 only; codec {codec!r} is not available")
        if self.extra_args:
            ignored.append(f"extra_args={self.extra_args!r} (framepipe runs no external program)")
        if ignored:
            _log.info(
                "framepipe: %s do%s not apply to %s output (%s); ignored",
                ", ".join(ignored),
                "es" if len(ignored) == 1 else "",
                "GIF" if is_gif else "MP4",
                os.fspath(outfile),
            )
        return options

    def setup(self, fig: Figure, outfile: Any, dpi: float | None = None) -> None:
        """Start writing `outfile` from `fig` at `dpi` (default: the figure's)."""
        super().setup(fig, outfile, dpi)  # checks the directory exists; sets fig, outfile, dpi
        self.result = None
        anims = calling_animations(fig)
        is_gif = output_format(str(os.fspath(outfile)), None) == "gif"
        options = self._options_for(is_gif, outfile)
        if is_gif and self.options.get("loop") is None and anims:
            # Like to_html5_video: a GIF loops when the animation repeats, else plays once.
            options["loop"] = 0 if all(getattr(a, "_repeat", True) for a in anims) else 1
        recorder = Recorder(fig, float(self.dpi), anims, self.blit)
        try:
            self._video = VideoWriter(outfile, self.fps, self.audio, self.audio_fps, **options)
        except BaseException:
            recorder.close()
            raise
        self._recorder = recorder
        self.stats = recorder.stats
        self._frames = 0
        self._total = None
        if anims is not None:
            counts = [getattr(a, "_save_count", None) for a in anims]
            known = [c for c in counts if c is not None]
            if known and len(known) == len(counts):
                self._total = int(min(known))  # Animation.save zips the animations' frames
        self._bar = None
        if self.progress is not False and (self.progress or _interactive()):
            self._bar = _progress_bar(self._total, os.path.basename(os.fspath(outfile)), bool(self.progress))

    def grab_frame(self, **savefig_kwargs: Any) -> None:
        """Draw the figure and encode it as the next frame.

        ``facecolor``, ``edgecolor`` and ``transparent`` act as in ``savefig``; ``dpi``,
        ``bbox_inches`` and ``format`` are refused (as by matplotlib's writers).
        """
        validate_grab_kwargs(savefig_kwargs)
        if self._recorder is None or self._video is None:
            raise ParameterError("grab_frame() before setup(): use writer.saving(fig, outfile, dpi)")
        buffer = self._recorder.frame(savefig_kwargs)
        self._emit(buffer)
        self._frames += 1
        if self._bar is not None:
            self._bar.update(1)

    def _emit(self, rgba: memoryview) -> None:
        """Hand one frame (the canvas's own RGBA buffer, HxWx4) to the encoder."""
        video = self._video
        if video is None:
            raise ParameterError("grab_frame() before setup(): use writer.saving(fig, outfile, dpi)")
        if self._frames == 0:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", FramepipeWarning)
                video.write(rgba)
            for w in caught:
                if issubclass(w.category, FramepipeWarning) and "is odd" in str(w.message):
                    _log.info("framepipe: %s", w.message)
                else:
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        else:
            video.write(rgba)

    def finish(self) -> None:
        """Finish the file (``writer.result`` then describes it) and restore the figure."""
        in_flight = sys.exc_info()[1]
        try:
            if self._video is not None:
                try:
                    self.result = self._video.close()
                except Exception as e:
                    if in_flight is None:
                        raise
                    in_flight.add_note(f"framepipe: finishing {self.outfile} also failed: {e}")
        finally:
            self._video = None
            if self._bar is not None:
                self._bar.close()
                self._bar = None
            if self._recorder is not None:
                self._recorder.close()
                self._recorder = None
                s = self.stats
                _log.debug(
                    "framepipe: %d frames, %d over a kept background, %d redrawn in full (%s)",
                    s["frames"],
                    s["blit"],
                    s["full"],
                    dict(s["reasons"]),
                )


if FramepipeWriter.__doc__:  # None under python -OO
    FramepipeWriter.__doc__ += options_doc(FigureEncodeOptions.__annotations__)


def register() -> None:
    """Register :class:`FramepipeWriter` as matplotlib's movie writer ``"framepipe"``."""
    _animation.writers.register("framepipe")(FramepipeWriter)


register()


# ------------------------------------------------------------------------------- conveniences


@checked(also=[FramepipeWriter])
def save(
    anim: _animation.Animation,
    path: Any,
    fps: Any = None,
    *,
    dpi: float | None = None,
    savefig_kwargs: dict | None = None,
    progress_callback: Any = None,
    extra_anim: list | None = None,
    **options: Any,
) -> VideoResult:
    """``anim.save(path, writer=FramepipeWriter(...))`` that returns the :class:`VideoResult`.

    `fps` defaults to the animation's interval; `options` are :class:`FramepipeWriter`'s. In
    Jupyter the result displays as the video.
    """
    if fps is None:
        fps = 1000.0 / getattr(anim, "_interval", 200)
    writer = FramepipeWriter(fps=fps, **options)
    anim.save(
        path,
        writer=writer,
        dpi=dpi,
        savefig_kwargs=savefig_kwargs,
        progress_callback=progress_callback,
        extra_anim=extra_anim,
    )
    if writer.result is None:  # Animation.save ends the writer's saving(), whose finish() sets it
        raise RuntimeError("matplotlib's Animation.save returned without finishing the framepipe writer")
    return writer.result


@checked(also=[save])
def to_html5_video(anim: _animation.Animation, embed_limit: float | None = None, **options: Any) -> str:
    """The fast equivalent of ``anim.to_html5_video()``: an HTML5 ``<video>`` with the MP4 inline.

    Like matplotlib's, it uses the animation's interval as the frame rate, loops when the
    animation repeats, and returns ``"Video too large to embed."`` (logging a warning) when the
    base64 text is larger than `embed_limit` MB (default :rc:`animation.embed_limit`).
    `options` are :class:`FramepipeWriter`'s (``crf``, ``preset``, ``dpi``...).
    """
    limit = mpl.rcParams["animation.embed_limit"] if embed_limit is None else embed_limit
    dpi = options.pop("dpi", None)
    options.setdefault("progress", False)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "animation.mp4")
        result = save(anim, path, dpi=dpi, **options)
        video = Video(
            path,
            embed_limit=limit,
            loop=bool(getattr(anim, "_repeat", False)),
            width=result.width,
            height=result.height,
        )
        if not video.embeddable:
            _log.warning(
                "Animation movie is %s bytes, exceeding the limit of %s MB. Pass embed_limit= "
                "(or set the animation.embed_limit rc parameter) to embed it anyway.",
                video.embedded_size,
                limit,
            )
            return "Video too large to embed."
        return video.to_html()


@checked(also=[render_figures])
def render(make_figure, update, frames, path, fps=30, **options):
    """Render a matplotlib animation on every core (or a Dask cluster) into one MP4.

    Each worker builds its own figure once with ``make_figure()`` (a Figure, or a tuple such as
    ``(fig, ax, line)``), then for each frame calls ``update(state, frame)``; ``frames`` is an int
    or a sequence of per-frame values, as for ``FuncAnimation``. Options are those of
    :func:`framepipe.render` (``workers``, ``executor``, ``chunk_frames``, ``progress``) and of
    :class:`framepipe.VideoWriter`. Each frame is a full redraw (blit-aware drawing is for
    :class:`FramepipeWriter`; workers here redraw their own figure).
    """
    return render_figures(make_figure, update, frames, path, fps=fps, **options)
