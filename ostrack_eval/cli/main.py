"""``ostrack-eval`` entry point: one sub-command per module, bad input as one line, exit 2."""

from __future__ import annotations

import argparse
import importlib
import sys

from ostrack_eval import __version__
from ostrack_eval.errors import UserError

# Each module exposes ``register(subparsers)`` which adds its parser and sets ``func``.
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
        self.exit(2, f"{self.prog}: error: {message}\n")


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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
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
    except KeyboardInterrupt:
        print("ostrack-eval: interrupted", file=sys.stderr)
        return 130
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
