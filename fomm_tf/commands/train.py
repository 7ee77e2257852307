"""``fomm train`` / ``train_tf.py``: flags → :func:`fomm_tf.training.train`, then the
process ends (:func:`exit_now`)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys

from ..training.options import add_train_arguments

__all__ = ["add_train_arguments", "exit_now", "run_train"]

log = logging.getLogger(__name__)

# Input iterators of finished runs, kept alive until the process ends (see exit_now).
_LIVE_ITERATORS: list = []


def run_train(args: argparse.Namespace) -> int:
    """Train, then end the process with :func:`exit_now` (``InputError`` propagates).

    Destroying a distributed tf.data iterator can wait up to a minute for a tf.data model
    thread that cancellation does not wake (measured: 19–110 s idle after the last export in
    about half of the runs), so the iterator is never destroyed.
    """
    # TF's distribution INFO lines ("Reduce to …") drown the progress; keep warnings.
    logging.getLogger("tensorflow").setLevel(logging.WARNING)
    logging.getLogger("absl").setLevel(logging.WARNING)  # "Sharding callback duration" lines
    from ..nets.layers.precision import check_precision
    from ..training import NonFiniteLossError, options_from_args, train

    options = options_from_args(args)
    if options.precision:
        check_precision(options.precision)
    try:
        train(options, keep_alive=_LIVE_ITERATORS)
    except NonFiniteLossError as exc:
        log.error("%s", exc)
        exit_now(3)
    exit_now(0)
    return 0  # not reached


def exit_now(code: int) -> None:
    """Flush everything and end the process without running destructors (after training:
    checkpoints, exports and summaries are already written and flushed)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    logging.shutdown()
    os._exit(code)
