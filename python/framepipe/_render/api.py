"""Parallel rendering: frames rendered on every core, or on a Dask cluster, stitched into one
MP4 without re-encoding.

Workers render contiguous chunks of frames and encode each chunk with identical encoder settings
(every chunk starts with an IDR frame and its GOPs are closed); the parent appends the chunks'
samples in order into one MP4 (the engine's ``Concat``), rebasing timestamps. Nothing is encoded
twice. The result is written under a temporary name in the target's directory and renamed into
place only when complete, so no partial file ever sits under the target name.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import os
import sys
import types
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Unpack

from .. import _native
from .._keywords import checked
from .._options import EncodeOptions, FpsLike, fps_pair, metadata_pairs, writer_options
from .._warn import warn
from ..errors import ParameterError, RenderError, about
from ..writer import VideoResult, VideoWriter
from . import plan as _plan
from . import sound as _sound
from .output import atomic_output, check_output_path, refuse_own_source
from .pool import fork_is_safe, run_local, signals_deferred, signals_unwind
from .resume import Parts, params_of
from .schedule import OrderedResults, Progress, run_executor, run_inline
from .task import call_make_frame, check_stop, use_originals


def _atomic_output(path: str):
    """A locked temporary beside `path`, renamed over it when the block completes and removed
    otherwise (see ``output``); stop signals are held back while it is made or removed."""
    return atomic_output(path, signals_deferred)


def _close_quietly(sink: Any) -> None:
    """Close a writer after an error; the original error is the one worth raising."""
    if sink is not None:
        with contextlib.suppress(Exception):
            sink.close()


@checked(also=[VideoWriter])
def render(
    make_frame: Callable[..., Any],
    path: str | os.PathLike[str],
    n_frames: int | None = None,
    fps: FpsLike = 30,
    *,
    duration: float | Fraction | None = None,
    workers: int | None = None,
    executor: Executor | None = None,
    setup: Callable[[], Any] | None = None,
    chunk_frames: int | None = None,
    progress: bool | None = None,
    progress_callback: Callable[[int, int], None] | None = None,
    start_method: str | None = None,
    resume: bool = False,
    **encode_options: Unpack[EncodeOptions],
) -> VideoResult:
    """Render ``make_frame(i)`` for every frame, in parallel, into one video.

    Args:
        make_frame: returns frame ``i`` (anything ``VideoWriter.write`` accepts). With
            ``duration=`` instead of ``n_frames`` it receives ``t = i / fps`` in seconds
            (computed exactly from the integer index). With ``setup``, it is called as
            ``make_frame(i, state)``.
        path: the output file (.mp4, or .gif when GIF output is available).
        n_frames: how many frames.
        fps: frame rate (int, float, Fraction or "num/den").
        duration: length in seconds, instead of ``n_frames`` (n_frames = round(duration * fps)).
        workers: worker processes (default: all cores; with ``executor``, the executor's size:
            a Dask cluster's total threads). ``workers=1`` renders in this process with no
            pickling (with ``resume=True``, chunk by chunk, keeping chunks as with more
            workers). With the default, a ``make_frame`` that cannot be pickled (it holds a
            lock, an open file, a GUI window...) is rendered in this process, with a warning.
        executor: any ``concurrent.futures.Executor`` to run the chunks on instead of local
            processes, e.g. ``dask.distributed.Client(...).get_executor()`` (or the ``Client``
            itself). Functions and
            closures are shipped with cloudpickle; chunks come back as encoded bytes, so no
            shared filesystem is needed; framepipe must be installed on the workers.
        setup: run once per worker; its result is passed to ``make_frame(i, state)`` — build a
            figure or load data once per worker, not per frame.
        chunk_frames: frames per chunk (default: see ``_plan.default_chunk_frames``).
        progress: show a tqdm bar (default: when stderr is a terminal and tqdm is installed).
        progress_callback: called as ``progress_callback(frames_done, n_frames)``.
        start_method: how local worker processes start: ``"fork"`` (a copy of this process:
            no interpreter start-up, no re-imports; Linux only), ``"spawn"`` (a fresh
            ``python -m framepipe._render.worker``), or None (the default): fork where that is safe
            (Linux, no other Python thread running, no matplotlib GUI backend in use), else
            spawn. Either way scripts need no ``if __name__ == "__main__"`` guard.
        resume: keep each finished chunk in ``PATH.parts/`` (with a manifest of the parameters)
            until the video is complete. Run the same call again after a crash, a kill or an
            error, and only the chunks that are missing are rendered; then the parts are joined
            and removed. If a parameter changed (frames, fps, encoder options, chunk size), the
            kept chunks are removed with a warning and the render starts over. A resumed
            render keeps the chunk plan it started with: with the default ``chunk_frames`` and
            another ``workers``, it says so in a warning and makes the file the first render
            would have made. MP4 only.
            Without it nothing is left behind by a render that fails or is stopped by Ctrl-C,
            SIGTERM or SIGHUP. The output is written to a hidden ``.NAME.*.fp-tmp`` file beside
            it, locked while its render runs and renamed into place when complete; the one a
            SIGKILL leaves is removed by the next render of that output.
        encode_options: as for :class:`VideoWriter` (crf, preset, tune, keyint, threads, ...).
            Workers encode with ``threads=1`` unless ``threads`` is given, since the cores are
            busy rendering. ``audio=`` (a sound file, or an array with ``audio_fps=``),
            ``audio_codec`` and ``audio_bitrate`` give an MP4 a sound track, as for a
            VideoWriter (the video sets its length: a shorter sound is padded with silence, a
            longer one cut). It is encoded once, here, before any frame is rendered (so a bad
            sound fails first), and muxed beside the joined chunks: workers never see it, and the
            file is the same whatever the number of workers. With ``resume=True`` the kept
            chunks do not depend on the sound: a resumed render with other sound makes the file
            an uninterrupted render with that sound makes.

    Ctrl-C (SIGINT), SIGTERM and SIGHUP stop a render at any moment, while workers are being
    started included: the workers are stopped and the temporary file removed; then Ctrl-C raises
    KeyboardInterrupt, and SIGTERM and SIGHUP end the process by that signal as they would have
    (exit status 143 and 129 in a shell), unless the caller installed a handler of its own.

    Raises:
        RenderError: ``make_frame`` raised (with the frame index and the worker's traceback), or
            a worker process died twice on the same chunk.
        ParameterError: a bad argument (named, with what is allowed), more than 2**31 - 1
            frames, or an output that is one of the files the frames are read from (a clip's
            video or image file, by device and inode: through another name, a symlink or a
            hard link too).
        OutputError: the output path is a folder, ends in ``/``, or is in a folder that does
            not exist (checked before anything is rendered).
    """
    fps_frac = Fraction(*fps_pair(fps))
    if (n_frames is None) == (duration is None):
        raise ParameterError("give exactly one of n_frames and duration")
    use_time = duration is not None
    if use_time:
        if (
            isinstance(duration, bool)
            or not isinstance(duration, (int, float, Fraction))
            or not (math.isfinite(duration) and duration > 0)
        ):
            raise ParameterError(f"duration must be a positive, finite number of seconds, got {duration!r}")
        n_frames = round(Fraction(duration) * fps_frac)
        if n_frames < 1:
            raise ParameterError(f"duration {duration} s at {fps_frac} fps is less than one frame")
        check_frame_count(n_frames, f"duration={duration!r} s at {fps_frac} fps")
    if not isinstance(n_frames, int) or isinstance(n_frames, bool) or n_frames < 1:
        raise ParameterError(f"n_frames must be a positive integer, got {n_frames!r}")
    check_frame_count(n_frames, f"n_frames={n_frames}")
    executor = _as_executor(executor)
    auto_workers = workers is None
    if workers is None:
        workers = _plan.executor_slots(executor) if executor is not None else (os.cpu_count() or 1)
    if not isinstance(workers, int) or workers < 1:
        raise ParameterError(f"workers must be a positive integer, got {workers!r}")
    if start_method not in (None, "fork", "spawn"):
        raise ParameterError(f"start_method must be 'fork', 'spawn' or None, got {start_method!r}")
    if start_method == "fork" and not hasattr(os, "fork"):
        raise ParameterError("start_method='fork' is not available on this platform")
    path = os.fsdecode(path)
    check_output_path(path)
    refuse_own_source(path, "render", make_frame, setup)
    # Encoder options are checked here, before anything is rendered (a worker would report
    # them as a failure of make_frame), by the engine's option table as for a VideoWriter
    # (their names by @checked).
    video_options, audio_args = _sound.split_options(dict(encode_options))
    checked_options = writer_options(path, fps_frac, **video_options)
    is_gif = checked_options.format == "gif"

    if resume and is_gif:
        raise ParameterError(
            "resume=True applies to MP4 output: a GIF is encoded in one pass by this process, from raw frames"
        )
    if not isinstance(resume, bool):
        raise ParameterError(f"resume must be True or False, got {resume!r}")
    # The whole sound track, encoded here before any frame is rendered (see ``sound``).
    sound = _sound.encode(path, fps_frac, checked_options.values, n_frames, **audio_args)
    job = _Job(
        make_frame=make_frame,
        path=path,
        n_frames=n_frames,
        fps=fps_frac,
        use_time=use_time,
        setup=setup,
        workers=workers,
        executor=executor,
        chunk_frames=chunk_frames,
        progress=progress,
        progress_callback=progress_callback,
        start_method=start_method,
        resume=resume,
        is_gif=is_gif,
        encode_options=video_options,
        sound=sound,
        audio_args=audio_args,
    )
    with signals_unwind():
        if workers == 1 and executor is None:
            # In this process, with no pickling: in one piece, or (resume) chunk by chunk.
            return _render_serial(job) if not resume else _render_chunks(job, _IN_PROCESS)
        try:
            payload = _pickled(job)
        except Exception as e:
            reason = f"{type(e).__name__}: {e}"
            if auto_workers and executor is None and not resume:
                warn(
                    f"make_frame cannot be sent to worker processes ({reason}); rendering in this "
                    f"process instead (pass workers=1 to say so and silence this warning)",
                )
                return _render_serial(job)
            raise ParameterError(
                f"make_frame (and setup) must be picklable by cloudpickle to render on "
                f"{'the executor' if executor is not None else f'{workers} worker processes'}, "
                f"but pickling failed ({reason}); pass workers=1 to render in this process"
            ) from e
        return _render_chunks(job, payload)


# The most frames a render makes: 2**31 - 1 (over two years of video at 30 fps). A duration
# or speed that asks for more is a mistake, which would otherwise render for ever.
MAX_FRAMES = 2**31 - 1

# The payload of a render whose chunks run in this process (workers=1, resume=True): nothing
# is pickled; ``use_originals`` gives the chunks the caller's own make_frame and setup.
_IN_PROCESS = b"framepipe: chunks rendered in this process"


def check_frame_count(n_frames: int, asked: str) -> None:
    """Refuse more than MAX_FRAMES frames, saying how many `asked` makes."""
    if n_frames > MAX_FRAMES:
        raise ParameterError(
            f"{asked} makes {n_frames:.6g} frames; framepipe renders at most {MAX_FRAMES} (2**31 - 1) frames"
        )


# render()'s own keyword arguments (beside make_frame and path and the writer options), for
# error messages here and in the clips' write functions.
RENDER_KEYWORDS = tuple(
    name
    for name, p in inspect.signature(render).parameters.items()
    if p.kind is not p.VAR_KEYWORD and name not in ("make_frame", "path")
)


def _as_executor(executor: Any) -> Executor | None:
    """`executor` as a concurrent.futures Executor: a Dask ``Client`` is taken as its
    ``get_executor()``; anything else must be an Executor."""
    if executor is None or isinstance(executor, Executor):
        return executor
    if callable(getattr(executor, "get_executor", None)):
        return executor.get_executor()
    raise ParameterError(
        f"executor must be a concurrent.futures.Executor (e.g. a Dask client.get_executor()) or a "
        f"Dask Client, got {type(executor).__name__}"
    )


def _pickled(job: _Job) -> bytes:
    """What every chunk task receives: the frame function, setup and timing, by cloudpickle."""
    import cloudpickle

    # Functions and classes of a module workers cannot import (a script run by runpy.run_path is
    # the module '<run_path>' while it runs; code run from a string is in '<string>') go by
    # value: by reference, unpickling them in a worker fails with "No module named ...".
    registered = cloudpickle.list_registry_pickle_by_value()
    by_value = [m for name, m in list(sys.modules.items()) if name not in registered and _not_importable(name, m)]
    for m in by_value:
        cloudpickle.register_pickle_by_value(m)
    try:
        return cloudpickle.dumps((job.make_frame, job.setup, job.use_time, (job.fps.numerator, job.fps.denominator)))
    finally:
        for m in by_value:
            cloudpickle.unregister_pickle_by_value(m)


def _not_importable(name: str, module: Any) -> bool:
    """Whether `module` (``sys.modules[name]``) is one a worker process cannot import by name:
    its name is not a dotted identifier (``'<run_path>'``), and cloudpickle does not already
    pickle it by value (``__main__``)."""
    return (
        isinstance(module, types.ModuleType)
        and name != "__main__"
        and not all(part.isidentifier() for part in name.split("."))
        and getattr(module, "__name__", None) == name
    )


@dataclass(frozen=True)
class _Job:
    """One render() call's checked arguments."""

    make_frame: Callable[..., Any]
    path: str
    n_frames: int
    fps: Fraction
    use_time: bool
    setup: Callable[[], Any] | None
    workers: int
    executor: Executor | None
    chunk_frames: int | None
    progress: bool | None
    progress_callback: Callable[[int, int], None] | None
    start_method: str | None
    resume: bool
    is_gif: bool
    encode_options: dict
    # The encoded sound track (None without one), and the audio= arguments (for workers=1,
    # whose VideoWriter reads them itself).
    sound: _sound.Sound | None
    audio_args: dict


def _shape_check(chunks: list) -> Callable[[int, tuple | None], bool]:
    """Hold each chunk's first frame to frame 0, as one VideoWriter would (each chunk's writer
    held its frames to its own first frame). Returns check(c, shape): False for a chunk with no
    frame accepted."""
    first_shape: list[tuple] = []

    def check(c: int, shape: tuple | None) -> bool:
        if shape is None:
            return False
        if first_shape and shape != first_shape[0]:
            raise about(
                ParameterError(
                    f"frame {chunks[c][1]} has shape {shape}, but frame 0 had shape {first_shape[0]}; "
                    f"every frame must have the first frame's size and channel count"
                ),
                frame=chunks[c][1],
                argument="shape",
            )
        if not first_shape:
            first_shape.append(shape)
        return True

    return check


def _render_chunks(job: _Job, payload: bytes) -> VideoResult:
    """The parallel (or resumable) render: chunks on workers, joined in order."""
    path, n_frames, fps_frac = job.path, job.n_frames, job.fps
    workers, executor, is_gif, encode_options = job.workers, job.executor, job.is_gif, job.encode_options

    chunks = _plan.chunks(n_frames, workers, fps_frac, job.chunk_frames, is_gif)
    for msg in job.sound.warnings if job.sound is not None else ():
        warn(msg)
    enc = _sound.video_only(encode_options)
    enc.setdefault("threads", 1)
    # Identical settings in every chunk, and a full keyframe interval inside each.
    options = {"fps": f"{fps_frac.numerator}/{fps_frac.denominator}", "encode": enc, "raw": is_gif}

    # Decided before the progress bar exists (tqdm may start a thread).
    fork = executor is None and (fork_is_safe() if job.start_method is None else job.start_method == "fork")
    prog = Progress(n_frames, job.progress, job.progress_callback)
    if job.resume:
        try:
            return _render_resumable(job, chunks, payload, options, fork, prog)
        finally:
            prog.close()
    sink: Any = None
    try:
        with _atomic_output(path) as t:
            tmp = t.path
            try:
                if is_gif:
                    # GIF chunks are not joined by the engine: workers render raw frames in
                    # parallel and this process encodes them in order (GIF encoding is cheap next
                    # to rendering), so its writer checks every frame against frame 0. The
                    # temporary name has no .gif suffix: say the format.
                    sink = VideoWriter(tmp, fps_frac, **{**encode_options, "format": "gif"})

                    def append_frames(c: int, frames: list | None, shape: tuple | None) -> None:
                        for f in frames or ():
                            sink.write(f)

                    append: Callable[[int, Any, tuple | None], None] = append_frames
                else:
                    sink = _concat(tmp, job)
                    check = _shape_check(chunks)

                    def append_mp4(c: int, data: bytes | None, shape: tuple | None) -> None:
                        if check(c, shape) and data is not None:
                            sink.append(data)

                    append = append_mp4

                # At most workers + 1 chunks in flight or waiting to be appended.
                results = OrderedResults(chunks, workers + 1, append, prog)
                if executor is not None:
                    run_executor(executor, workers, payload, options, results)
                else:
                    run_local(fork, workers, payload, options, results)
                if is_gif:
                    # Keep the lock of the file the engine renamed over tmp until it is in place.
                    res, lock_fd = sink._close(hold_lock=True)
                    t.hold(lock_fd)
                    frames, size, dims = res.frames, res.bytes, (res.width, res.height)
                else:
                    frames = sink.close()
                    size = os.path.getsize(tmp)
                sink = None
                check_stop()  # a stop that was swallowed on the way: not renamed into place
            except BaseException:
                _close_quietly(sink)
                raise
    finally:
        prog.close()
    if not is_gif:
        info = _native.probe(path)
        dims = (info["width"], info["height"])
    return VideoResult(
        path=path,
        frames=frames,
        bytes=size,
        width=dims[0],
        height=dims[1],
        fps=fps_frac,
        format="gif" if is_gif else "mp4",
        **_sound_result(job.sound),
    )


def _concat(path: str, job: _Job) -> Any:
    """The engine's joiner into `path`, with the job's metadata and sound track."""
    audio = job.sound.track if job.sound is not None else None
    return _native.Concat(path, metadata=metadata_pairs(job.encode_options.get("metadata")), audio=audio)


def _sound_result(sound: _sound.Sound | None) -> dict[str, Any]:
    """VideoResult's sound fields for a render whose sound track is `sound`."""
    if sound is None:
        return {}
    return {"audio_samples": sound.samples, "audio_clipped": sound.clipped, "audio_fps": sound.rate}


def _render_resumable(job: _Job, plan: list, payload: bytes, options: dict, fork: bool, prog: Progress) -> VideoResult:
    """render(resume=True): render the chunks not kept in PATH.parts/, keep each as it is done,
    then join them all and remove the parts (see ``resume``)."""
    path, workers, executor = job.path, job.workers, job.executor
    parts = Parts(path, params_of(job.n_frames, job.fps, job.use_time, job.chunk_frames, options["encode"]), plan)
    if job.chunk_frames is None and [tuple(c) for c in parts.chunks] != [tuple(c) for c in plan]:
        sizes = sorted({e - s for _, s, e in parts.chunks}, reverse=True)
        warn(
            f"resuming {path}: the kept chunks follow the plan of the render that made them "
            f"({len(parts.chunks)} chunks of {sizes[0]} frames, chosen for its number of workers), not "
            f"the {len(plan)} chunks that workers={workers} would have chosen; the video is the one that "
            f"render would have made. Pass chunk_frames= to make the plan the same for any workers",
        )
    missing = [ch for ch in parts.chunks if not parts.has(ch)]
    for c, s, e in parts.chunks:
        if (c, s, e) not in missing:
            prog.update(-1 - c, e - s)
    parts.resumed = len(parts.chunks) - len(missing)
    if missing:
        # Scheduled under their own numbers 0..m-1, kept under the plan's.
        local = [(k, s, e) for k, (_, s, e) in enumerate(missing)]
        check = _shape_check(local)

        def keep(k: int, data: bytes, shape: tuple | None) -> None:
            parts.save(missing[k][0], data)

        results = OrderedResults(local, workers + 1, lambda k, _, shape: check(k, shape), prog, on_done=keep)
        if executor is not None:
            run_executor(executor, workers, payload, options, results)
        elif payload is _IN_PROCESS:
            use_originals(payload, job.make_frame, job.setup, job.use_time, job.fps)
            run_inline(payload, options, results)
        else:
            run_local(fork, workers, payload, options, results)
    sink: Any = None
    with _atomic_output(path) as t:
        try:
            sink = _concat(t.path, job)
            for c, _, _ in parts.chunks:
                check_stop()
                sink.append(parts.read(c))
            frames = sink.close()
            sink = None
            check_stop()
        except BaseException:
            _close_quietly(sink)
            raise
    parts.remove()
    info = _native.probe(path)
    return VideoResult(
        path=path,
        frames=frames,
        bytes=os.path.getsize(path),
        width=info["width"],
        height=info["height"],
        fps=job.fps,
        format="mp4",
        **_sound_result(job.sound),
    )


def _render_serial(job: _Job) -> VideoResult:
    """workers=1: everything in this process, no pickling; still written under a temporary
    name and renamed when complete."""
    make_frame, path, n_frames, fps, use_time, setup = (
        job.make_frame,
        job.path,
        job.n_frames,
        job.fps,
        job.use_time,
        job.setup,
    )
    options = dict(job.encode_options)
    fmt = options.pop("format", None)
    if fmt is None and path.lower().endswith(".gif"):
        fmt = "gif"
    if fmt is not None:
        options["format"] = fmt  # the temporary name has no .gif suffix
    prog = Progress(n_frames, job.progress, job.progress_callback)
    w = None
    try:
        with _atomic_output(path) as t:
            try:
                state = setup() if setup is not None else None
                # Its sound as any VideoWriter's (checked and encoded once already by render():
                # a bad sound fails before the first frame here too).
                w = VideoWriter(t.path, fps, **options, **{k: v for k, v in job.audio_args.items() if v is not None})
                for i in range(n_frames):
                    check_stop()
                    try:
                        frame = call_make_frame(make_frame, setup is not None, state, i, use_time, fps)
                    except Exception as e:
                        raise RenderError(f"rendering frame {i} failed: {type(e).__name__}: {e}", frame=i) from e
                    w.write(frame)
                    prog.update(0, i + 1)
                # Keep the lock of the file the engine renamed over t.path until it is in place.
                res, lock_fd = w._close(hold_lock=True)
                t.hold(lock_fd)
                check_stop()
            except BaseException:
                _close_quietly(w)
                raise
    finally:
        prog.close()
    return VideoResult(
        path=path,
        frames=res.frames,
        bytes=res.bytes,
        width=res.width,
        height=res.height,
        fps=fps,
        format=res.format,
        audio_samples=res.audio_samples,
        audio_clipped=res.audio_clipped,
        audio_fps=res.audio_fps,
    )


def _figure_of(state: Any) -> Any:
    """The matplotlib Figure in a make_figure() result: the Figure itself, the first Figure in a
    tuple/list (e.g. ``(fig, ax)``), or ``state.figure``."""
    if hasattr(state, "canvas") and hasattr(state, "savefig"):
        return state
    if isinstance(state, (tuple, list)):
        for s in state:
            if hasattr(s, "canvas") and hasattr(s, "savefig"):
                return s
    fig = getattr(state, "figure", None)
    if fig is not None:
        return fig
    raise ParameterError(
        f"make_figure() must return a matplotlib Figure, a tuple starting with one (e.g. (fig, ax)), "
        f"or an object with a .figure; got {type(state).__name__}"
    )


@checked(also=[render])
def render_figures(
    make_figure: Callable[[], Any],
    update: Callable[[Any, Any], Any],
    frames: Any,
    path: str | os.PathLike[str],
    fps: FpsLike = 30,
    **options: Any,
) -> VideoResult:
    """Parallel rendering of a matplotlib animation (``framepipe.matplotlib.render``).

    Each worker builds its own figure once with ``make_figure()`` (a Figure, or e.g.
    ``(fig, ax, artists)``), then for each frame calls ``update(state, frame)`` and captures the
    figure. ``frames`` is an int (frames 0..n-1) or a sequence of per-frame values, as for
    ``FuncAnimation``. Other options are those of :func:`render` (workers, executor,
    chunk_frames, progress, encoder options).
    """
    values = list(range(frames)) if isinstance(frames, int) else list(frames)
    if not values:
        raise ParameterError("frames is empty")

    def setup():
        import matplotlib

        if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
            matplotlib.use("Agg")  # workers have no display
        return make_figure()

    def make_frame(i, state):
        update(state, values[i])
        return _figure_of(state)

    # Transparent figure parts over white, as matplotlib's writers and FramepipeWriter do.
    options.setdefault("background", (255, 255, 255))
    return render(make_frame, path, n_frames=len(values), fps=fps, setup=setup, **options)
