"""``fomm export``: flags → :func:`fomm_tf.export.exporter.export_models` (+ the apps' assets
and golden vectors), and a one-screen summary.

``run_export`` returns an exit code and raise :class:`fomm_tf.errors.InputError`
for bad input (the CLI turns it into one line on stderr and exit code 2). Options are
validated here rather than with argparse ``choices`` so that a bad value is one line too.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..errors import InputError
from ..export.convert import QUANT_MODES
from .options import check_positive, resolve_model

log = logging.getLogger(__name__)


def add_export_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Options of ``fomm export``."""
    parser.add_argument(
        "--config",
        default=None,
        help="shipped config name (vox-256, tiny-64, ...) or an official YAML; omit it and "
        "--checkpoint to export the bundled default model (face-128)",
    )
    weights = parser.add_mutually_exclusive_group()
    weights.add_argument("--checkpoint", help="official .pth.tar or our .weights.h5")
    weights.add_argument(
        "--random-weights",
        action="store_true",
        help="random weights (benchmarks); accuracy floors are not enforced",
    )
    parser.add_argument(
        "-o",
        "--out-dir",
        help="directory to write the .tflite graphs and model_contract.json "
        "(default with --android-assets: ASSETS/model)",
    )
    parser.add_argument(
        "--quant",
        default="fp32",
        metavar="{" + ",".join(QUANT_MODES) + "}",
        help="weights/activations: fp32, fp16, dynamic (int8 weights), "
        "int8 (selective full integer); default fp32",
    )
    parser.add_argument(
        "--calibration",
        metavar="VIDEO_OR_DIR",
        help="video or frame folder: its first half calibrates int8, its second half "
        "validates (default: synthetic clips, validated on identities calibration never saw)",
    )
    parser.add_argument(
        "--relative",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="motion option recorded in the contract for the apps: relative motion "
        "(default: the config's animate_params)",
    )
    parser.add_argument(
        "--adapt-scale",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="motion option recorded in the contract: adapt the movement scale "
        "(default: the config's animate_params)",
    )
    parser.add_argument(
        "--relative-jacobian",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="motion option recorded in the contract: relative Jacobians "
        "(default: the config's animate_params)",
    )
    parser.add_argument(
        "--golden",
        metavar="DIR",
        help="also write golden vectors for the Android core's JUnit tests into DIR "
        "(android_demo/core; see fomm_tf/apps/golden.py)",
    )
    parser.add_argument(
        "--golden-seed",
        type=int,
        default=None,
        help="seed of the golden vectors' random motion cases (default: fresh every run)",
    )
    parser.add_argument(
        "--android-assets",
        metavar="DIR",
        help="write the export for the Android app: graphs + contract into DIR/model (unless "
        "-o says otherwise, then copied there), a driving clip DIR/driving.png (a strip of "
        "frames) and a default source DIR/source.png",
    )
    parser.add_argument("--size", type=int, help="frame size N (N×N) instead of the config's")
    parser.add_argument("--seed", type=int, default=0, help="seed of --random-weights")
    parser.add_argument("--threads", type=int, default=None, help="LiteRT threads (validation)")
    return parser


def run_export(args: argparse.Namespace) -> int:
    """``fomm export``: convert, validate, write; prints a one-screen summary."""
    from ..animation.motion import MotionOptions
    from ..export.calibration import calibration_clips
    from ..export.contract import describe_input
    from ..export.exporter import export_models, load_for_export, model_info

    if args.quant not in QUANT_MODES:
        raise InputError(f"--quant {args.quant!r}: expected one of {', '.join(QUANT_MODES)}")
    check_positive(args.size, "--size")
    check_positive(args.threads, "--threads")
    if args.size is not None and args.size % 64:
        raise InputError(f"--size {args.size}: must be a multiple of 64")
    if not args.out_dir and not args.android_assets:
        raise InputError("fomm export needs -o DIR (or --android-assets DIR)")
    out_dir = args.out_dir or str(Path(args.android_assets) / "model")
    args.config, args.checkpoint = resolve_model(args.config, args.checkpoint, args.random_weights)
    models = load_for_export(args.config, args.checkpoint, args.size, args.seed)
    clips, held_out, described = calibration_clips(args.calibration, models.config.image_size)
    options = {  # inputs by base name and SHA-256: nothing of the exporting machine
        "config": describe_input(args.config),
        "checkpoint": None if args.random_weights else describe_input(args.checkpoint),
        "random_weights": bool(args.random_weights),
        "calibration": described,
        "size": args.size,
    }
    motion = MotionOptions.from_config(models.config.raw).override(
        relative=args.relative,
        adapt_movement_scale=args.adapt_scale,
        relative_jacobian=args.relative_jacobian,
    )
    model, card = model_info(args.config, args.checkpoint, args.random_weights)
    contract = export_models(
        models,
        out_dir,
        args.quant,
        clips,
        enforce_floors=not args.random_weights,
        options=options,
        num_threads=args.threads,
        motion=motion,
        validation_clips=held_out,
        model=model,
        card=card,
    )
    v = contract["validation"]
    print(
        f"exported {args.quant} to {out_dir}: PSNR {v['psnr_db']:.1f} dB "
        f"(floor {v['psnr_floor_db']:g}), keypoint error {v['kp_error_mean']:.4g}"
        + ("" if v["floors_enforced"] else " (random weights: floors not enforced)")
    )
    for g in contract["graphs"].values():
        x = g["xnnpack"]
        print(
            f"  {g['file']:<22} {g['bytes'] / 1e6:8.2f} MB  {x['partitions']} XNNPACK "
            f"partition(s), {100 * x['delegated_flops_share']:.2f} % of FLOPs delegated"
        )
    if args.android_assets:
        from ..apps.android import write_android_assets

        assets = write_android_assets(out_dir, args.android_assets)
        print(f"  Android assets: {assets}")
    if args.golden:
        from ..apps.golden import write_golden

        write_golden(out_dir, args.golden, seed=args.golden_seed)
        print(f"  golden vectors for android_demo/core: {args.golden}")
    return 0
