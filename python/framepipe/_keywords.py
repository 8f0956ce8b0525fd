"""Misspelt keywords: every public function, method and constructor of framepipe that is given a
keyword it does not take raises TypeError in Python's own words, with the nearest keyword it
does take and the list of them::

    VideoClip.resized() got an unexpected keyword argument 'hieght' (did you mean 'height'?);
    its keyword arguments are new_size, height, width, apply_to_mask, filter

One mechanism, applied three ways:

- :func:`checked` wraps a function (or method): a call with an unknown keyword raises before
  the function runs, as Python's own binding would, but with the hint. ``also=`` names the
  functions a ``**options`` argument is passed on to (``write_video`` to ``VideoWriter``), whose
  keywords are then valid too.
- :class:`KeywordsChecked` is a base class: each subclass's public methods are wrapped with
  :func:`checked` when the class is made (``__init_subclass__``), and its constructor's keywords
  are checked in ``__new__``, before ``__init__`` runs: so that the ``__init__`` a dataclass
  generates (after the class is made, where ``__init_subclass__`` cannot see it) is checked too.
- :func:`unexpected_keyword` is the error itself, for a function that checks a ``**options``
  mapping of its own (``_options.check_option_names``).

A leaf module: it imports nothing of framepipe.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import typing
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ParamSpec, TypeVar, overload

P = ParamSpec("P")
R = TypeVar("R")

# A checked function's attribute: the keywords it takes (so that nothing is wrapped twice, and
# a function that passes its **options on to it knows them).
_MARK = "__framepipe_keywords__"


def unexpected_keyword(
    what: str, name: str, valid: Iterable[str], known: str = "its keyword arguments are"
) -> TypeError:
    """The TypeError for keyword `name` given to `what` (as the user called it, e.g.
    "VideoWriter" or "VideoClip.resized"), which takes the keywords `valid`."""
    valid = list(dict.fromkeys(valid))
    near = difflib.get_close_matches(name, valid, n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    listed = ", ".join(valid) if valid else "none"
    return TypeError(f"{what}() got an unexpected keyword argument {name!r}{hint}; {known} {listed}")


def keyword_names(func: Callable[..., Any], also: Sequence[Callable[..., Any]] = ()) -> tuple[str, ...] | None:
    """The keywords `func` takes, in order, with those of the functions in `also` that its
    ``**options`` are passed on to; None if it takes any keyword (``**kwargs``, and nothing in
    `also` says which)."""
    known = getattr(func, _MARK, None)
    if known is not None:
        return known  # a checked function: its keywords, with those it passes on
    sig = inspect.signature(func)
    params = list(sig.parameters.values())
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    names = [p.name for p in params if p.kind in kinds]
    if names and names[0] in ("self", "cls") and params[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
        names = names[1:]
    var_keyword = next((p for p in params if p.kind is p.VAR_KEYWORD), None)
    if var_keyword is not None:
        unpacked = _unpacked_keys(func, var_keyword.name)
        if unpacked is not None:  # **options: Unpack[SomeTypedDict]: its keys
            names += [n for n in unpacked if n not in names]
        elif not also:
            return None
        for target in also:
            passed_on = keyword_names(target)
            if passed_on is None:
                return None
            names += [n for n in passed_on if n not in names]
    return tuple(names)


def _unpacked_keys(func: Callable[..., Any], param: str) -> tuple[str, ...] | None:
    """The keys of the TypedDict that `func`'s ``**param`` is annotated with (``Unpack[T]``),
    or None."""
    if isinstance(func, type):  # a class: its constructor's signature
        func = next(vars(c)["__init__"] for c in func.__mro__ if "__init__" in vars(c))
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except (NameError, TypeError):  # an annotation that does not resolve: nothing to learn
        return None
    hint = hints.get(param)
    if typing.get_origin(hint) is not typing.Unpack:
        return None
    (typed_dict,) = typing.get_args(hint)
    if not typing.is_typeddict(typed_dict):
        return None
    return tuple(typing.get_type_hints(typed_dict))


@overload
def checked(
    func: Callable[P, R], *, also: Sequence[Callable[..., Any]] = (), name: str | None = None
) -> Callable[P, R]: ...


@overload
def checked(
    func: None = None, *, also: Sequence[Callable[..., Any]] = (), name: str | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def checked(
    func: Callable[P, R] | None = None, *, also: Sequence[Callable[..., Any]] = (), name: str | None = None
) -> Any:
    """Wrap `func` so that an unknown keyword raises :func:`unexpected_keyword` (see the module
    docstring). ``@checked``, or ``@checked(also=[VideoWriter])``; `name` is the name to show
    (default: the function's, or ``Class.method`` for a method)."""
    if func is None:
        return lambda f: checked(f, also=also, name=name)
    return _wrapped(func, also, name, func.__name__)


def _wrapped(func: Callable[P, R], also: Sequence[Callable[..., Any]], name: str | None, attr: str) -> Callable[P, R]:
    """`func` checked (see :func:`checked`); `attr` is the name a method is called by (an alias
    such as ``set_pos`` is shown as such)."""
    if getattr(func, _MARK, None) is not None:
        return func
    names = keyword_names(func, also)
    if names is None:
        return func  # takes any keyword: nothing to check
    valid = frozenset(names)
    is_method = next(iter(inspect.signature(func).parameters), None) == "self"

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if kwargs and not valid.issuperset(kwargs):
            wrong = next(k for k in kwargs if k not in valid)
            raise unexpected_keyword(name or _called(attr, args, is_method), wrong, names)
        return func(*args, **kwargs)

    setattr(wrapper, _MARK, names)
    return wrapper


def _called(attr: str, args: tuple, is_method: bool) -> str:
    """How the user called a function named `attr`: ``Class.method`` (of the instance's own
    class), ``Class`` for ``__init__``, else its name."""
    if is_method and args:
        cls = type(args[0]).__name__
        return cls if attr == "__init__" else f"{cls}.{attr}"
    return attr


# A class's constructor keywords (None: any), found at its first construction with keywords.
_CONSTRUCTORS: weakref.WeakKeyDictionary[type, tuple[str, ...] | None] = weakref.WeakKeyDictionary()


def _constructor_keywords(cls: type[Any]) -> tuple[str, ...] | None:
    try:
        return _CONSTRUCTORS[cls]
    except KeyError:
        names = _CONSTRUCTORS[cls] = keyword_names(cls.__init__)
        return names


class _ConstructorSignature:
    """``Class.__signature__``: its constructor's (``__init__``'s, without self), for inspect
    and help(), which would otherwise show the ``(*args, **kwargs)`` of ``KeywordsChecked.__new__``
    for a class that inherits its ``__init__``."""

    def __get__(self, obj: object, cls: type[Any]) -> inspect.Signature:
        if obj is not None:
            raise AttributeError("__signature__")
        sig = inspect.signature(cls.__init__)
        return sig.replace(parameters=list(sig.parameters.values())[1:])


class KeywordsChecked:
    """Base class: the constructor and the public methods of every subclass name the nearest
    keyword for a misspelt one (see the module docstring)."""

    __signature__ = _ConstructorSignature()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            if inspect.isfunction(value) and not name.startswith("_"):
                setattr(cls, name, _wrapped(value, (), None, name))

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls.__init__ is object.__init__ and (args or kwargs):
            # object.__init__ refuses arguments only for a class without its own __new__.
            raise TypeError(f"{cls.__name__}() takes no arguments")
        if kwargs:
            names = _constructor_keywords(cls)
            if names is not None:
                for name in kwargs:
                    if name not in names:
                        raise unexpected_keyword(cls.__name__, name, names)
        return super().__new__(cls)
