"""``fomm export`` and ``fomm bench``: argument definitions and entry points for ``fomm_tf.cli``.

``run_export`` / ``run_bench`` return an exit code and raise :class:`fomm_tf.errors.InputError`
for bad input (the CLI turns it into one line on stderr and exit code 2). Options are
validated here rather than with argparse ``choices`` so that a bad value is one line too.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from pathlib import Path

from fomm_tf.bundled import resolve_model
from fomm_tf.errors import InputError
from fomm_tf.nets.layers.precision import add_precision_argument, check_precision

from ..export.convert import QUANT_MODES

log = logging.getLogger(__name__)

BACKENDS = ("keras", "tflite")


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
        "(android_demo/core; see export/golden.py)",
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


def _positive(value: int | None, name: str) -> None:
    if value is not None and value < 1:
        raise InputError(f"{name} {value}: must be a positive integer")


def load_for_export(config: str, checkpoint: str | None, size: int | None, seed: int = 0):
    """The Keras models to export, their config's image size overridden by ``size``."""
    from fomm_tf.config import load_config
    from fomm_tf.nets.models import build_models, load_models

    cfg = load_config(config)
    if size is not None:
        cfg = dataclasses.replace(cfg, image_size=(size, size))
    if checkpoint is None:
        return build_models(cfg, seed=seed)
    return load_models(checkpoint, cfg)


def run_export(args: argparse.Namespace) -> int:
    """``fomm export``: convert, validate, write; prints a one-screen summary."""
    from fomm_tf.animation.motion import MotionOptions

    from ..export.calibration import calibration_clips
    from ..export.exporter import export_models

    if args.quant not in QUANT_MODES:
        raise InputError(f"--quant {args.quant!r}: expected one of {', '.join(QUANT_MODES)}")
    _positive(args.size, "--size")
    _positive(args.threads, "--threads")
    if args.size is not None and args.size % 64:
        raise InputError(f"--size {args.size}: must be a multiple of 64")
    if not args.out_dir and not args.android_assets:
        raise InputError("fomm export needs -o DIR (or --android-assets DIR)")
    out_dir = args.out_dir or str(Path(args.android_assets) / "model")
    args.config, args.checkpoint = resolve_model(args.config, args.checkpoint, args.random_weights)
    models = load_for_export(args.config, args.checkpoint, args.size, args.seed)
    clips, held_out, described = calibration_clips(args.calibration, models.config.image_size)
    options = {
        "config": str(args.config),
        "checkpoint": None if args.random_weights else str(args.checkpoint),
        "random_weights": bool(args.random_weights),
        "calibration": described,
        "size": args.size,
    }
    motion = MotionOptions.from_config(models.config.raw).override(
        relative=args.relative,
        adapt_movement_scale=args.adapt_scale,
        relative_jacobian=args.relative_jacobian,
    )
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
    _positive(args.frames, "--frames")
    _positive(args.threads, "--threads")
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
