"""``fomm demo`` / ``make demo``: :func:`fomm_tf.demo.make_demo` and its scores on stderr."""

from __future__ import annotations

import argparse
import sys
import time

from ..demo import DEMO_SEED
from .options import resolve_model


def add_demo_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="out", help="output folder (default: out)")
    p.add_argument(
        "--frames", type=int, default=64, help="driving clip length in frames (default 64)"
    )
    p.add_argument(
        "--seed",
        type=int,
        default=DEMO_SEED,
        help=f"identity seed: source = SEED·100000+1, driver = SEED·100000+2 (default "
        f"{DEMO_SEED}, held out of every training set)",
    )
    p.add_argument("--fps", type=float, default=25.0, help="frame rate of the videos (default 25)")


def run_demo(args) -> int:
    from ..demo import make_demo
    from ..errors import InputError

    if args.frames < 2:
        raise InputError(f"--frames must be at least 2, got {args.frames}")
    if args.seed < 0:
        raise InputError(f"--seed must be >= 0, got {args.seed}")
    if args.fps <= 0:
        raise InputError(f"--fps must be > 0, got {args.fps}")
    started = time.perf_counter()
    config, checkpoint = resolve_model(None, None)
    r = make_demo(config, checkpoint, args.out, args.frames, args.seed, args.fps)
    print(
        f"demo: identity {r.source_id} animated by identity {r.driver_id}'s clip "
        f"({r.frames} frames at {r.size}x{r.size}), scored against the renderer's ground truth:",
        file=sys.stderr,
    )
    print(f"  {'':<12} {'L1':>7} {'AKD (px)':>9}", file=sys.stderr)
    for name, row in r.rows.items():
        akd = "n/a" if row["akd"] is None else f"{row['akd']:.2f}"
        print(f"  {name:<12} {row['l1']:>7.4f} {akd:>9}", file=sys.stderr)
    print(
        f"demo: the result's detail is {r.detail:.2f}x the source's (variance of the Laplacian)",
        file=sys.stderr,
    )
    print(
        f"demo: wrote {r.out / 'demo.mp4'} and {r.out / 'demo.gif'} (source | driving | result) "
        f"in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    return 0
