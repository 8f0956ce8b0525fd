"""The ``framepipe`` command of the Python package (the wheel's console script).

It runs the same Rust code as the ``framepipe`` binary that ``cargo build`` makes
(``crates/framepipe-cli``), in this process: ``framepipe._native.cli_main`` parses the arguments,
reads standard input and writes standard output and error through file descriptors 0, 1 and 2,
and returns the exit status, which becomes this process's.
"""

from __future__ import annotations

import signal
import sys

from . import _native


def main() -> None:
    # Signals as in the binary: SIGINT, SIGTERM and SIGHUP take their default action until
    # `framepipe encode` installs its handlers (the first stops the input and finishes the file,
    # then the command exits with 128 + the signal's number; a second ends the process at once).
    # Python's own SIGINT handler would also be called by those handlers (they chain to a
    # previous handler) and raise KeyboardInterrupt, with a traceback, once the command returned.
    # (Python ignores SIGPIPE, as Rust's runtime does for the binary; it also ignores SIGXFSZ, so
    # a file-size limit makes a write fail with an error here, where it kills the binary.)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    # Nothing Python buffered may come after what the command writes to the same descriptors.
    sys.stdout.flush()
    sys.stderr.flush()
    # argv[0] as the binary's usage lines name it, whatever path the script was run by.
    status = _native.cli_main(["framepipe", *sys.argv[1:]])
    sys.exit(status)


if __name__ == "__main__":
    main()
