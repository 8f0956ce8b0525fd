"""Writing an output file without destroying another: the Python side of the engine's rules
(crates/framepipe/src/output.rs), used by :func:`framepipe.render`.

- **The output path is checked before anything is rendered**: a folder, a name ending in ``/``
  or a missing folder is refused naming the path as given.
- **Same file** means the same device and inode, never equal path strings: ``./a.mp4``, a
  symlink and a hard link to ``a.mp4`` are all ``a.mp4``. A render is refused when its output is
  one of the files its frames are read from (:func:`refuse_own_source`).
- **Output goes to a temporary** in the output's own folder, ``.{name}.{id}.fp-tmp``, renamed
  over the output when complete. Its creator holds an exclusive ``flock`` on it for its whole
  life (the kernel drops the lock when the process dies, even by SIGKILL), and after locking
  checks that the name still names its file.
- **Every run that writes an output first sweeps** its folder: a ``.{name}.*.fp-tmp`` whose
  lock can be taken belongs to a process that died and is removed (after checking, with the
  lock held, that the name still names the locked file). A live writer's temporary is locked,
  and left alone.
- **The lock is never let go before the rename**: when the engine's writer writes into the
  temporary, it renames its own file over the temporary's name (so the name then holds the
  engine's file, locked by the engine); at close it hands a descriptor holding that lock to
  :func:`atomic_output` (:meth:`Temporary.hold`), which keeps it until the temporary is renamed
  over the output.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import itertools
import os
import secrets
import stat
import types
from collections.abc import Iterator
from typing import Any

from ..errors import OutputError, ParameterError

TEMP_SUFFIX = ".fp-tmp"
# At most this many bytes of the output's file name go into a temporary's name.
MAX_STEM = 200
_COUNTER = itertools.count()


def check_output_path(path: str) -> None:
    """Refuse, before anything is rendered, an output path that cannot be a file: empty, a
    name ending in a slash, an existing folder, or a file in a folder that does not exist."""
    if path == "":
        raise ParameterError("the output path is empty; give a file name such as 'out.mp4'")
    if path.endswith(os.sep) or (os.altsep and path.endswith(os.altsep)):
        raise OutputError(
            errno.EISDIR, f"cannot write {path!r}: a path ending in {os.sep!r} names a folder, not a file"
        )
    if os.path.isdir(path):
        raise OutputError(
            errno.EISDIR,
            f"cannot write {path!r}: it is a directory; give a file name, e.g. {os.path.join(path, 'out.mp4')!r}",
        )
    folder = os.path.dirname(path) or "."
    if not os.path.exists(folder):
        raise OutputError(errno.ENOENT, f"cannot write {path!r}: the directory {folder!r} does not exist")
    if not os.path.isdir(folder):
        raise OutputError(errno.ENOTDIR, f"cannot write {path!r}: {folder!r} is not a directory")


def resolve_target(path: str) -> str:
    """The path a write to `path` replaces: `path` itself or, when it is a symlink to an
    existing file, that file (writing through a symlink updates what it points to, as opening
    it would, instead of replacing the link)."""
    if os.path.islink(path) and os.path.exists(path):
        return os.path.realpath(path)
    return path


def _prefix(target: str) -> str:
    """``.{name}.``: how the temporaries of `target` begin."""
    name = os.fsencode(os.path.basename(target) or "output")[:MAX_STEM]
    return "." + os.fsdecode(name) + "."


def sweep(target: str) -> list[str]:
    """Remove the temporaries of `target` left by processes that died (their lock can be
    taken), including those a writer of one of them left (``..{name}.*``); best effort.
    Returns the paths removed."""
    folder = os.path.dirname(target) or "."
    prefix = _prefix(target)
    removed: list[str] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not name.endswith(TEMP_SUFFIX) or len(name) <= len(prefix) + len(TEMP_SUFFIX):
            continue
        if not (name.startswith(prefix) or name.startswith("." + prefix)):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if _same(os.fstat(fd), os.lstat(entry.path)):
                os.unlink(entry.path)
                removed.append(entry.path)
        except OSError:
            pass  # locked: a live writer's (or gone already)
        finally:
            os.close(fd)
    return removed


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _create_temp(target: str) -> tuple[int, str]:
    """A new, locked, empty temporary beside `target`: (fd holding the lock, its path)."""
    folder = os.path.dirname(target) or "."
    mode = None
    with contextlib.suppress(OSError):
        st = os.stat(target)
        if stat.S_ISREG(st.st_mode):
            mode = stat.S_IMODE(st.st_mode)  # replacing a file keeps its permissions
    last: OSError | None = None
    for _ in range(16):
        name = f"{_prefix(target)}{os.getpid()}-{next(_COUNTER)}-{secrets.token_hex(4)}{TEMP_SUFFIX}"
        path = os.path.join(folder, name)
        try:
            # 0o666: the umask applies, as for any new file.
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        except FileExistsError as e:
            last = e
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if not _same(os.fstat(fd), os.lstat(path)):
                raise FileNotFoundError(errno.ENOENT, "removed by another process before it was locked", path)
        except OSError as e:  # a sweep took it between its creation and the lock: another name
            os.close(fd)
            last = e
            continue
        if mode is not None:
            os.fchmod(fd, mode)
        return fd, path
    raise OutputError(last.errno if last else errno.EEXIST, f"cannot make a temporary file in {folder!r}: {last}")


class Temporary:
    """The temporary :func:`atomic_output` yields: its `path`, and the descriptors holding the
    lock of the file under that name, closed once it is renamed into place (or removed)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fds: list[int] = []

    def hold(self, fd: int | None) -> None:
        """Keep `fd` (a descriptor holding the flock of the file now named `path`, which a writer
        renamed over it) open until the temporary is renamed into place."""
        if fd is not None:
            self.fds.append(fd)


@contextlib.contextmanager
def atomic_output(path: str, deferred: Any = contextlib.nullcontext) -> Iterator[Temporary]:
    """A locked temporary beside `path` (see the module docstring) that replaces `path` only if
    the block completes; on any error (or Ctrl-C) it is removed, so no partial file ever sits
    under the target name. `deferred()` holds stop signals back while the temporary is made or
    removed, so that a stop at that moment cannot leave it behind."""
    target = resolve_target(path)
    folder = os.path.dirname(target) or "."
    if not os.path.isdir(folder):
        raise OutputError(errno.ENOENT, f"cannot write {path!r}: the directory {folder!r} does not exist")
    with deferred():
        sweep(target)
        try:
            fd, tmp = _create_temp(target)
        except OutputError:
            raise
        except OSError as e:
            raise OutputError(e.errno, f"cannot write {path!r}: {e.strerror or e} (making a file in {folder!r})") from e
    t = Temporary(tmp)
    t.fds.append(fd)
    try:
        yield t
        # A writer that renamed its own file over this name (the engine's) hands over a
        # descriptor holding that file's lock (t.hold), so no sweep can take it before the rename
        # below. One that did not (it could not duplicate the descriptor): lock it now.
        with contextlib.suppress(OSError):
            now = os.open(tmp, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            t.fds.append(now)
            if not any(_same(os.fstat(now), os.fstat(h)) for h in t.fds[:-1]):
                fcntl.flock(now, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.replace(tmp, target)
    except BaseException:
        with deferred(), contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        for h in t.fds:
            os.close(h)


def file_id(path: str) -> tuple[int, int] | None:
    """(device, inode) of the file `path` names (symlinks followed), or None."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino)


def source_files(*roots: Any, limit: int = 1_000_000) -> list[tuple[str, str]]:
    """The files framepipe objects reachable from `roots` read frames from, as (path, what):
    clips and readers record theirs in ``_source_files``; the walk follows clips' attributes,
    functions' closures, defaults, globals and bound objects, containers, and framepipe
    objects (at most `limit` objects; containers of more than 100,000 items are not entered:
    a user's data, not clips)."""
    found: list[tuple[str, str]] = []
    seen: set[int] = set()
    stack = list(roots)
    for _ in range(limit):
        if not stack:
            break
        obj = stack.pop()
        if id(obj) in seen or obj is None or isinstance(obj, (str, bytes, int, float, complex, bool, type)):
            continue
        seen.add(id(obj))
        if isinstance(obj, (list, tuple, set, frozenset, dict)) and len(obj) > 100_000:
            continue
        if isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        elif isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, types.FunctionType):
            for cell in obj.__closure__ or ():
                with contextlib.suppress(ValueError):  # an empty cell
                    stack.append(cell.cell_contents)
            stack.extend(obj.__defaults__ or ())
            stack.extend((obj.__kwdefaults__ or {}).values())
            # The module-level names its code uses (a lambda in a script reading a global clip).
            g = obj.__globals__
            stack.extend(g[n] for n in _global_names(obj.__code__) if n in g)
        elif isinstance(obj, types.MethodType):
            stack += [obj.__self__, obj.__func__]
        elif isinstance(obj, functools.partial):
            stack += [obj.func, obj.args, obj.keywords]
        elif type(obj).__module__.startswith("framepipe.") and hasattr(obj, "__dict__"):
            attrs = vars(obj)
            what = getattr(obj, "_name", None) or type(obj).__name__
            found.extend((os.fsdecode(p), what) for p in attrs.get("_source_files", ()))
            stack.extend(attrs.values())
    return found


def _global_names(code: types.CodeType) -> set[str]:
    """The global names a code object (and the functions defined in it) may read."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def refuse_own_source(path: str, what: str, *roots: Any) -> None:
    """A ParameterError if `path` (as it exists now) is one of the files the frames of `roots`
    are read from: writing it would replace the source while it is read."""
    out = file_id(path)
    if out is None:
        return
    for src, owner in source_files(*roots):
        if file_id(src) == out:
            same = "" if os.path.abspath(src) == os.path.abspath(path) else f" (the same file as {src!r})"
            raise ParameterError(
                f"{what}: the output {path!r}{same} is a source of {owner}, which the frames are read from; "
                f"writing it would destroy the source: choose another output file"
            )
