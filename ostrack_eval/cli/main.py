"""``ostrack-eval`` entry point: one sub-command per module, bad input as one line, exit 2.

This module imports only the standard library: the command modules import torch, pandas, OpenCV …
inside their handlers, so ``--help`` is instant and the interrupt handler of :func:`main` is in place
before anything slow is imported (Ctrl-C at any moment is one line and exit 130).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import signal
import sys

from ostrack_eval import __version__
from ostrack_eval.errors import UserError

# Each module exposes ``register(subparsers)`` which adds its parser and sets ``func``; registering must
# not import torch or pandas (tests/test_hostile.py holds ``--help`` to that).
COMMAND_MODULES = [
    "ostrack_eval.cli.run_cmd",
    "ostrack_eval.cli.report_cmd",
    "ostrack_eval.cli.plot_cmd",
    "ostrack_eval.cli.pack_cmd",
    "ostrack_eval.cli.profile_cmd",
    "ostrack_eval.cli.datasets_cmd",
    "ostrack_eval.cli.demo_cmd",
    "ostrack_eval.cli.vis_cmd",
    "ostrack_eval.cli.train_cmd",
]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own usage errors: keep exit code 2, one line
        # the same "ostrack-eval: error:" start as every other error, the subcommand after it
        tool, _, command = self.prog.partition(" ")
        self.exit(2, f"{tool}: error: {command + ': ' if command else ''}{message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ostrack-eval", description="Reproduce, profile and extend OSTrack.")
    parser.add_argument("--version", action="version", version=f"ostrack-eval {__version__}")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for modname in COMMAND_MODULES:
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name == modname:
                continue
            raise
        mod.register(sub)
    return parser


def _os_error_line(exc: OSError) -> str:
    """``<file>: <reason>`` for a file-system failure nothing more specific caught (full or read-only disk,
    a folder where a file was expected, no permission)."""
    where = "" if exc.filename is None else str(exc.filename)
    if exc.filename2 is not None:
        where = f"{where} -> {exc.filename2}"
    reason = exc.strerror or str(exc)
    return f"{where}: {reason}" if where else reason


def _interrupted(exiting: bool) -> int:
    if exiting:  # a second Ctrl-C while the message is printed, or during shutdown, must add no traceback
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    print("ostrack-eval: interrupted", file=sys.stderr)
    if exiting:
        # A Ctrl-C that interrupted code run by exec() (OpenCV's loader, …) leaves CPython marked as killed
        # by SIGINT however it was handled: the command's clean-ups (``finally`` blocks, worker joins) have
        # run, so leave now with the documented status.
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(130)
    return 130


def _dispatch(argv: list[str]) -> int:
    debug = "--debug" in argv
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        rc = args.func(args)
    except UserError as exc:
        if debug:
            raise
        print(f"ostrack-eval: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # the commands name the files they write; this is the net under them
        if debug:
            raise
        print(f"ostrack-eval: error: {_os_error_line(exc)}", file=sys.stderr)
        return 1
    return int(rc or 0)


def main(argv: list[str] | None = None) -> int:
    try:
        return _dispatch(sys.argv[1:] if argv is None else list(argv))
    except KeyboardInterrupt:  # also while the parser is built and the commands import their libraries
        if argv is None:  # a second Ctrl-C from here on must add no traceback
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    # outside the handler, so the interrupted frames are gone: the worker queues' semaphores they held are
    # released before os._exit, which would leave them to multiprocessing's resource tracker to warn about
    gc.collect()
    return _interrupted(exiting=argv is None)


if __name__ == "__main__":
    sys.exit(main())
