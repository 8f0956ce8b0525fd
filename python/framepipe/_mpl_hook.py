"""Register framepipe's matplotlib writer without importing matplotlib at ``import framepipe``.

If ``matplotlib.animation`` is already imported, :func:`install` registers the writer at once.
Otherwise it puts a finder on ``sys.meta_path`` that, when ``matplotlib.animation`` is imported,
lets the normal loader run the module and then imports :mod:`framepipe.matplotlib` (which
registers the writer), and removes itself. A failure there never breaks the matplotlib import: it
is reported as a warning.
"""

from __future__ import annotations

import sys
import warnings

_TARGET = "matplotlib.animation"


def _register() -> None:
    try:
        import framepipe.matplotlib  # noqa: F401  (registers the "framepipe" writer)
    except Exception as e:  # noqa: BLE001 - never break the user's matplotlib import
        warnings.warn(f"framepipe: could not register its matplotlib writer: {e!r}", stacklevel=3)


class _Loader:
    def __init__(self, loader) -> None:
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        # Put the real loader back so the module looks exactly as if we were never there.
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        _uninstall()
        _register()

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _Finder:
    def find_spec(self, fullname, path, target=None):
        if fullname != _TARGET:
            return None
        for finder in sys.meta_path:
            if finder is self or isinstance(finder, _Finder):
                continue
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Loader(spec.loader)
                return spec
        return None


def _uninstall() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _Finder)]


def install() -> None:
    """Register now if matplotlib.animation is loaded, else as soon as it is."""
    if _TARGET in sys.modules:
        _register()
    elif not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
