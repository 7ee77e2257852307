"""``fomm evaluate``: flags → :func:`fomm_tf.evaluate.evaluate` → report and table."""

from __future__ import annotations

import json
import sys

from ..errors import InputError
from ..nets.layers.precision import add_precision_argument
from .options import resolve_model


def add_evaluate_arguments(parser) -> None:
    """Flags of ``fomm evaluate``."""
    parser.add_argument(
        "--config",
        help="shipped config name or YAML path of the model under test (with --checkpoint; "
        "both omitted: the bundled default model)",
    )
    parser.add_argument(
        "--checkpoint", help="weights of the model under test: official .pth.tar or .weights.h5"
    )
    parser.add_argument(
        "--data",
        required=True,
        help="a dataset root (its test/ split is evaluated), a folder of videos, or one video",
    )
    parser.add_argument(
        "-o",
        "--output",
        help="report folder: metrics.json, metrics.md, contact_sheet.png, l1_per_frame.png "
        "(written to a temporary folder, then renamed; without it only the numbers are printed)",
    )
    parser.add_argument(
        "--detector",
        choices=("auto", "synthetic", "face"),
        default="auto",
        help="landmark/identity detector for AKD, MKR, AED: synthetic (the network trained on "
        "the renderer's ground truth), face (MediaPipe face box + dlib 68 landmarks + dlib "
        "identity), auto (synthetic for videos with .landmarks.npz sidecars, else face)",
    )
    parser.add_argument(
        "--num-videos",
        type=int,
        default=None,
        help="evaluate at most this many videos (default: the config's "
        "reconstruction_params.num_videos, else all)",
    )
    parser.add_argument(
        "--max-frames", type=int, default=None, help="read at most this many frames per video"
    )
    parser.add_argument(
        "--batch-size", type=int, default=8, help="driving frames per network call (default 8)"
    )
    parser.add_argument(
        "--align-corners",
        action="store_true",
        default=None,
        help="grid_sample convention of torch <= 1.2 (the published checkpoints)",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="do not show the progress bar on stderr"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    add_precision_argument(parser)


def _load_models(args):
    from ..nets.models import load_models

    config, checkpoint = resolve_model(args.config, args.checkpoint)
    return load_models(
        checkpoint, config, align_corners=args.align_corners, precision=args.precision
    )


def run_evaluate(args) -> int:
    """``fomm evaluate``: L1, AKD, MKR, AED of the model and two baselines."""
    from ..eval.detectors import make_detector
    from ..evaluate import evaluate, list_videos
    from ..nets.layers.precision import check_precision

    check_precision(args.precision)  # before the data is listed: a quick error
    for name in ("num_videos", "max_frames"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise InputError(f"--{name.replace('_', '-')} must be >= 1 (got {value})")
    if args.batch_size < 1:
        raise InputError(f"--batch-size must be >= 1 (got {args.batch_size})")
    videos = list_videos(args.data)
    models = _load_models(args)
    num = args.num_videos
    if num is None:
        num = (models.config.raw.get("reconstruction_params") or {}).get("num_videos")
    videos = videos[: num or None]
    detector = make_detector(args.detector, videos)
    result = evaluate(
        models,
        videos,
        detector,
        batch_size=args.batch_size,
        max_frames=args.max_frames,
        progress=not args.no_progress,
    )
    if args.output:
        from ..eval.report import write_report

        write_report(args.output, result)
    if args.json:
        print(json.dumps(result.report))
    else:
        from ..eval.report import markdown_table

        print(markdown_table(result.report), file=sys.stdout)
    if args.output:
        print(f"wrote {args.output}", file=sys.stderr)
    return 0
