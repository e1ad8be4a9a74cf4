"""The ``sotmot`` command line: one sub-command per module in ``sotmot_ros.commands``."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from . import __version__, commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sotmot", description="SOTMOT multi-object tracking tools")
    parser.add_argument("--version", action="version", version=f"sotmot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (OSError, ValueError, RuntimeError) as exc:
        # User-facing failures (missing/corrupt files, bad values) get one clear line, not a traceback;
        # SOTMOT_DEBUG=1 shows the traceback.
        if os.environ.get("SOTMOT_DEBUG"):
            raise
        print(f"sotmot {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
