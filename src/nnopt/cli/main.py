"""The command line: ``nnopt presets | run | resume | lecture | sweep | evaluate | predict | serve``.

Each sub-command lives in its own module of this package, listed in :data:`COMMANDS`, with
``register(subparsers)`` adding its parser (``set_defaults(fn=...)``). Their module-level
imports stay light, so ``nnopt --help`` and a bad argument answer without loading JAX.
:func:`main` turns every :class:`~nnopt.errors.NnoptError` into one line on stderr with exit
code 2 (1 for a run that diverged, 130 for Ctrl-C, 143 for SIGTERM, which the training
commands handle as Ctrl-C: see :func:`sigterm_as_ctrl_c`).
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager

START = time.perf_counter()  # process start, as near as Python lets us see it

from nnopt.errors import DivergenceError, NnoptError  # noqa: E402 (after the clock starts)

EXIT_BAD_INPUT, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 1, 130
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143, as a shell reports a process SIGTERM ended

# The sub-commands' modules, in the order --help lists them.
COMMANDS = (
    "nnopt.cli.presets",
    "nnopt.cli.run",
    "nnopt.cli.lecture",
    "nnopt.cli.sweep",
    "nnopt.cli.evaluate",
    "nnopt.cli.serve",
)


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line, without the usage block."""

    def error(self, message: str):  # noqa: D401 - argparse's API
        raise NnoptError(f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="nnopt", description="The neural-network optimization lecture, runnable.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def with_flags(exc: NnoptError, flags: dict[str, str]) -> NnoptError:
    """The error with the library's names for a face's options (``sweep.seeds``,
    ``weights``) replaced by the face's flags (``--seeds``, ``--weights``): the library
    names config fields, the command line its own flags."""
    text = str(exc)
    for field, flag in flags.items():
        text = text.replace(f"{field} = ", f"{flag} ")
    return exc if text == str(exc) else exc.reworded(text)


def add_cache_flag(parser) -> None:
    """``--no-cache`` on a command that compiles (see :func:`start_cache`)."""
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="compile without the persistent compilation cache (~/.cache/nnopt; NNOPT_CACHE_DIR moves it)",
    )


def start_cache(args) -> None:
    """Turns the persistent compilation cache on, unless ``--no-cache`` (imports JAX: call it
    after the command's input is checked)."""
    from nnopt.engine.compilation import use_persistent_cache

    use_persistent_cache(not getattr(args, "no_cache", False))


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be: what catches Ctrl-C (and saves) catches it."""


class Stops:
    """What :func:`sigterm_as_ctrl_c` saw: whether SIGTERM arrived (the exception it raised
    may come back as a plain KeyboardInterrupt from code that catches and re-raises, as
    Ray's waiting does)."""

    terminated = False

    def code(self, stop: BaseException | None = None) -> int:
        """143 if SIGTERM stopped the command, else 130 (Ctrl-C)."""
        return interrupted_code(stop) if not self.terminated else EXIT_TERMINATED


@contextmanager
def sigterm_as_ctrl_c():
    """Within the block, SIGTERM (``kill``, a scheduler's stop, a container's shutdown) raises
    :class:`Terminated` in the main thread as Ctrl-C raises KeyboardInterrupt, so a run saves
    its progress before it ends; a second SIGTERM while it saves is ignored. Yields a
    :class:`Stops`."""
    stops = Stops()
    if threading.current_thread() is not threading.main_thread():
        yield stops
        return

    def handler(signum, frame):
        stops.terminated = True
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield stops
    finally:
        signal.signal(signal.SIGTERM, previous)


def interrupted_code(stop: BaseException | None) -> int:
    """143 for a stop SIGTERM caused (see :class:`Terminated`), else 130 (Ctrl-C)."""
    return EXIT_TERMINATED if isinstance(stop, Terminated) else EXIT_INTERRUPTED


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        try:
            return args.fn(args)
        except NnoptError as exc:
            raise with_flags(exc, getattr(args, "flags", {})) from None
    except DivergenceError as exc:
        print(f"nnopt: error: {exc}", file=sys.stderr)
        return EXIT_DIVERGED
    except NnoptError as exc:
        print(f"nnopt: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as stop:
        print("nnopt: interrupted", file=sys.stderr)
        return interrupted_code(stop)


def entry(argv: list[str] | None = None) -> None:
    """The ``nnopt`` program: :func:`main`, then a quick exit.

    Python's own shutdown tears JAX's and XLA's objects down one by one, half a second or
    more after the command is done. Everything nnopt writes is complete when ``main``
    returns (files are written whole, pools joined), so the process flushes its streams,
    runs the exit handlers and ends.
    """
    code = main(argv)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (nnopt presets | head)
            pass
    atexit._run_exitfuncs()
    os._exit(code)


if __name__ == "__main__":
    entry()
