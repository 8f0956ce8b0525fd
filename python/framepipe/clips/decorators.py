"""MoviePy's ``moviepy.decorators`` (``framepipe.editor.decorators``), for scripts that write
their own clip functions and effects with them. Each works as MoviePy's (which uses the
``decorator`` package; here ``functools.wraps`` with the wrapped function's signature kept).
The errors MoviePy raises as ValueError are framepipe ParameterErrors (also ValueErrors)."""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import ParameterError
from .tools import convert_to_seconds

F = Callable[..., Any]


def _clip_decorator(body: Callable[..., Any]) -> Callable[[F], F]:
    """A decorator from ``body(func, clip, *args, **kwargs)`` (what ``decorator.decorator``
    makes in MoviePy)."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return body(func, *args, **kwargs)

        return wrapper

    decorate.__name__ = body.__name__
    decorate.__doc__ = body.__doc__
    return decorate


@_clip_decorator
def outplace(func: F, clip: Any, *args: Any, **kwargs: Any) -> Any:
    """Runs ``func(clip.copy(), ...)`` and returns that copy (func changes it in place)."""
    new_clip = clip.copy()
    func(new_clip, *args, **kwargs)
    return new_clip


@_clip_decorator
def convert_masks_to_RGB(func: F, clip: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N802
    """A mask clip is turned into RGB (``to_RGB``) before ``func`` runs."""
    if clip.is_mask:
        clip = clip.to_RGB()
    return func(clip, *args, **kwargs)


@_clip_decorator
def apply_to_mask(func: F, clip: Any, *args: Any, **kwargs: Any) -> Any:
    """``func`` is applied to the result's mask too."""
    new_clip = func(clip, *args, **kwargs)
    if getattr(new_clip, "mask", None):
        new_clip.mask = func(new_clip.mask, *args, **kwargs)
    return new_clip


@_clip_decorator
def apply_to_audio(func: F, clip: Any, *args: Any, **kwargs: Any) -> Any:
    """``func`` is applied to the result's audio too."""
    new_clip = func(clip, *args, **kwargs)
    if getattr(new_clip, "audio", None):
        new_clip.audio = func(new_clip.audio, *args, **kwargs)
    return new_clip


@_clip_decorator
def requires_duration(func: F, clip: Any, *args: Any, **kwargs: Any) -> Any:
    """A clip without a duration is refused (MoviePy: ValueError "Attribute 'duration' not set")."""
    if clip.duration is None:
        raise ParameterError(f"Attribute 'duration' not set: {func.__name__} needs a clip with a duration")
    return func(clip, *args, **kwargs)


@_clip_decorator
def requires_fps(func: F, clip: Any, *args: Any, **kwargs: Any) -> Any:
    """A clip without an fps is refused (MoviePy: ValueError "Attribute 'fps' not set")."""
    if getattr(clip, "fps", None) is None:
        raise ParameterError(f"Attribute 'fps' not set: {func.__name__} needs a clip with an fps")
    return func(clip, *args, **kwargs)


@_clip_decorator
def add_mask_if_none(func: F, clip: Any, *args: Any, **kwargs: Any) -> Any:
    """A clip without a mask gets an opaque one before ``func`` runs."""
    if clip.mask is None:
        clip = clip.with_mask()
    return func(clip, *args, **kwargs)


def audio_video_effect(func: F) -> F:
    """For an effect method ``func(effect, audioclip)``: on a video clip it is applied to the
    clip's audio (the video unchanged; a clip without audio is returned as it is)."""

    @functools.wraps(func)
    def wrapper(effect: Any, clip: Any, *args: Any, **kwargs: Any) -> Any:
        if hasattr(clip, "audio"):
            if clip.audio is not None:
                clip.audio = func(effect, clip.audio, *args, **kwargs)
            return clip
        return func(effect, clip, *args, **kwargs)

    return wrapper


def preprocess_args(preprocess_func: Callable[[Any], Any], varnames: Iterable[str]) -> Callable[[F], F]:
    """Applies ``preprocess_func`` to the arguments named `varnames` that are not None (given or
    by default: MoviePy's ``decorator`` package passes every argument) before the function runs."""
    names = set(varnames)

    def decor(func: F) -> F:
        sig = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            for name in names & bound.arguments.keys():
                if bound.arguments[name] is not None:
                    bound.arguments[name] = preprocess_func(bound.arguments[name])
            return func(*bound.args, **bound.kwargs)

        return wrapper

    return decor


def convert_parameter_to_seconds(varnames: Iterable[str]) -> Callable[[F], F]:
    """The arguments named `varnames` converted by :func:`~framepipe.clips.tools.convert_to_seconds`."""
    return preprocess_args(convert_to_seconds, varnames)


def convert_path_to_string(varnames: Iterable[str]) -> Callable[[F], F]:
    """The arguments named `varnames` converted by ``os.fspath``."""
    return preprocess_args(os.fspath, varnames)


def use_clip_fps_by_default(func: F) -> F:
    """An ``fps`` argument that is None (given or by default) becomes ``clip.fps``, the clip
    being the first argument; neither is an error."""
    sig = inspect.signature(func)

    def find_fps(clip: Any, fps: Any) -> Any:
        if fps is not None:
            return fps
        if getattr(clip, "fps", None):
            return clip.fps
        raise ParameterError(
            f"No 'fps' (frames per second) attribute specified for function {func.__name__} and the clip has no "
            f"'fps' attribute. Either provide e.g. fps=24 in the arguments of the function, or define the clip's "
            f"fps with clip.with_fps(24)"
        )

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        if "fps" in bound.arguments:
            clip = next(iter(bound.arguments.values()))
            bound.arguments["fps"] = find_fps(clip, bound.arguments["fps"])
        return func(*bound.args, **bound.kwargs)

    return wrapper


__all__ = [
    "outplace",
    "convert_masks_to_RGB",
    "apply_to_mask",
    "apply_to_audio",
    "requires_duration",
    "requires_fps",
    "audio_video_effect",
    "preprocess_args",
    "convert_parameter_to_seconds",
    "convert_path_to_string",
    "add_mask_if_none",
    "use_clip_fps_by_default",
]
