"""``fomm bench``: flags → :mod:`fomm_tf.bench.frame` → one line (or JSON) per result."""

from __future__ import annotations

import argparse
import json

from ..errors import InputError
from ..nets.layers.precision import add_precision_argument, check_precision
from .options import check_positive

BACKENDS = ("keras", "tflite")


def add_bench_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Options of ``fomm bench``."""
    parser.add_argument(
        "--backend",
        default="keras",
        metavar="{keras,tflite}",
        help="time the Keras networks (default) or the TFLite graphs of --model-dir",
    )
    parser.add_argument("--model-dir", help="an export directory (--backend tflite)")
    parser.add_argument(
        "--config",
        default="vox-256",
        help="config of the Keras model (--backend keras); default vox-256",
    )
    parser.add_argument("--frames", type=int, default=5, help="timed frames (default 5)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_precision_argument(parser, extra="--backend keras: ")
    return parser


def run_bench(args: argparse.Namespace) -> int:
    """``fomm bench``: ms per animated frame, per graph, model sizes, 2048² matmul time."""
    from ..bench.frame import bench_keras, bench_tflite, format_result

    if args.backend not in BACKENDS:
        raise InputError(f"--backend {args.backend!r}: expected one of {', '.join(BACKENDS)}")
    check_positive(args.frames, "--frames")
    check_positive(args.threads, "--threads")
    if args.backend == "tflite":
        if not args.model_dir:
            raise InputError("--backend tflite needs --model-dir DIR (a `fomm export` output)")
        result = bench_tflite(args.model_dir, frames=args.frames, threads=args.threads)
    else:
        check_precision(args.precision)
        result = bench_keras(
            args.config, frames=args.frames, threads=args.threads, precision=args.precision
        )
    print(json.dumps(result) if args.json else format_result(result))
    return 0
