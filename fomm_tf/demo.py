"""``fomm demo`` / ``make demo``: the bundled default model animating a face it never saw.

Offline and self-contained: the synthetic renderer draws a source identity and a driving clip
of another identity, both from a seed no training set uses (:data:`DEMO_SEED`). The source is
animated with relative motion (paper eq. 14–15); because the renderer can also draw the
source identity moving exactly as the driver does, the result is scored against that ground
truth: L1 and AKD (synthetic landmark detector), next to the copy-source baseline (the
still source picture). Writes ``OUT/demo.mp4`` and ``OUT/demo.gif`` (source | driving |
result, each panel at the model resolution) and the inputs ``OUT/demo-source.png`` and
``OUT/demo-driving.mp4`` for trying ``fomm animate`` by hand.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

DEMO_SEED = 9  # identities 900001, 900002: never in a training or evaluation set of the card


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
    from .bundled import resolve_model
    from .errors import InputError
    from .eval.cross import animate_clip, cross_clip, score_clip
    from .eval.detectors import SyntheticDetector
    from .eval.metrics import MetricSums
    from .media.images import to_uint8, write_image
    from .media.video_reader import VideoWriter
    from .nets.models import load_models

    if args.frames < 2:
        raise InputError(f"--frames must be at least 2, got {args.frames}")
    if args.seed < 0:
        raise InputError(f"--seed must be >= 0, got {args.seed}")
    if args.fps <= 0:
        raise InputError(f"--fps must be > 0, got {args.fps}")
    started = time.perf_counter()
    config, checkpoint = resolve_model(None, None)
    models = load_models(checkpoint, config)
    size = models.config.image_size[0]
    base = args.seed * 100_000
    clip = cross_clip(size, args.frames, base + 1, base + 2)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_image(out / "demo-source.png", clip.source)
    with VideoWriter(out / "demo-driving.mp4", fps=args.fps) as writer:
        writer.write(clip.driving)

    result = animate_clip(models, clip.source, clip.driving)
    panels = np.concatenate(
        [np.broadcast_to(clip.source, result.shape), clip.driving, result], axis=2
    )
    for name in ("demo.mp4", "demo.gif"):
        with VideoWriter(out / name, fps=args.fps) as writer:
            writer.write(to_uint8(panels))

    sums = {"model": MetricSums(), "copy_source": MetricSums()}
    score_clip(sums, clip, result, SyntheticDetector("face"))
    rows = {"animation": sums["model"].result(), "copy source": sums["copy_source"].result()}
    print(
        f"demo: identity {clip.source_id} animated by identity {clip.driver_id}'s clip "
        f"({args.frames} frames at {size}x{size}), scored against the renderer's ground truth:",
        file=sys.stderr,
    )
    print(f"  {'':<12} {'L1':>7} {'AKD (px)':>9}", file=sys.stderr)
    for name, r in rows.items():
        akd = "n/a" if r["akd"] is None else f"{r['akd']:.2f}"
        print(f"  {name:<12} {r['l1']:>7.4f} {akd:>9}", file=sys.stderr)
    print(
        f"demo: wrote {out / 'demo.mp4'} and {out / 'demo.gif'} (source | driving | result) "
        f"in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    return 0
