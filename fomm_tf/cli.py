"""The ``fomm`` command: reads the command line, dispatches to :mod:`fomm_tf.commands`.

Exit codes: 0 success, 2 bad input (one line on stderr), 1 internal error. ``--debug`` shows
tracebacks and TensorFlow's own log lines, which are otherwise silenced.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from .commands import COMMANDS
from .native_log import filter_native_stderr

os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fomm", description="First Order Motion Model for image animation (TF/Keras)."
    )
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks and TensorFlow's log lines"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, cmd in COMMANDS.items():
        # an import error is an error, never a lost command
        mod = importlib.import_module(f"{__package__}.commands.{cmd.module}")
        p = sub.add_parser(name, help=cmd.help, description=cmd.help)
        getattr(mod, cmd.add_arguments)(p)
        p.set_defaults(_run=getattr(mod, cmd.run))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    if not debug:
        # TensorFlow's C++ errors stay (level 2); its start-up chatter is filtered out.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        filter_native_stderr()
    from .errors import InputError

    parser = build_parser()
    args = parser.parse_args(argv)
    # Training reports its strategy, progress and losses in the log.
    verbose = args.verbose or args.command == "train"
    level = logging.DEBUG if args.debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    try:
        return int(args._run(args) or 0)
    except InputError as exc:
        if args.debug:
            raise
        print(f"fomm: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fomm: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place internal errors become exit 1
        if args.debug:
            raise
        print(
            f"fomm: internal error: {type(exc).__name__}: {exc} (rerun with --debug for the "
            "traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
