"""``make bench-export``: export vox-256 (random weights) in all four variants and print one
table of per-frame time in 2048² matmul units, sizes and XNNPACK partitions.

Usage: ``python benchmarks/bench_export.py [--config vox-256] [--out out/bench-export]
[--threads 2] [--frames 5] [--keras] [--json]``. Random weights: the accuracy floors are not
enforced (the figures are still printed), the timings are those of the real model.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from fomm_tf.bench.frame import bench_keras, bench_tflite
from fomm_tf.export.calibration import calibration_clips
from fomm_tf.export.contract import read_contract
from fomm_tf.export.convert import QUANT_MODES
from fomm_tf.export.exporter import (
    export_models,
    load_for_export,
)

TARGETS = {"fp32": 6.1, "int8": 2.35}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="vox-256")
    parser.add_argument("--out", default="out/bench-export")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--frames", type=int, default=5)
    parser.add_argument("--keras", action="store_true", help="also time the Keras graphs")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time the exports already in --out instead of exporting again",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    models = load_for_export(args.config, None, None)
    clips, held_out, described = calibration_clips(None, models.config.image_size)
    rows = []
    for quant in QUANT_MODES:
        t0 = time.perf_counter()
        if args.reuse:
            contract = read_contract(Path(args.out) / quant)
        else:
            contract = export_models(
                models,
                Path(args.out) / quant,
                quant,
                clips,
                enforce_floors=False,
                options={
                    "config": args.config,
                    "checkpoint": None,
                    "random_weights": True,
                    "calibration": described,
                    "size": None,
                },
                num_threads=args.threads,
                validation_clips=held_out,
            )
        export_s = time.perf_counter() - t0
        result = bench_tflite(Path(args.out) / quant, frames=args.frames, threads=args.threads)
        result["export_s"] = round(export_s, 1)
        result["validation"] = contract["validation"]
        result["xnnpack"] = {n: g["xnnpack"] for n, g in contract["graphs"].items()}
        result["ops"] = {n: g["ops"] for n, g in contract["graphs"].items()}
        rows.append(result)
        print(
            f"[{quant}] exported in {export_s:.0f} s, {result['ms_per_frame']:.0f} ms/frame",
            file=sys.stderr,
            flush=True,
        )
    if args.keras:
        rows.append(bench_keras(args.config, frames=max(2, args.frames // 2), threads=args.threads))

    # One calibration for the whole table: the median of every matmul timed during the run
    # (each row timed its own; a single one can land on a noisy moment).
    matmul = float(np.median([r["matmul_2048_ms"] for r in rows]))
    for r in rows:
        r["matmul_2048_ms"] = matmul
        r["matmul_units_per_frame"] = r["ms_per_frame"] / matmul
    fp32_bytes = rows[0]["model_bytes"]
    h, w = rows[0]["image_size"]
    print(
        f"\n{args.config} ({h}x{w}), {args.threads} threads, random weights; "
        "1 unit = one float32 2048² matmul in the same run (the official code side by side: "
        "make bench-official)"
    )
    print(
        "| variant | ms/frame | matmul ms | units/frame | target | kp ms | "
        "generator ms | encoder ms (once) | size MB | size ÷ fp32 | XNNPACK partitions "
        "(kp/enc/gen) | delegated FLOPs | PSNR vs Keras dB | kp error |"
    )
    print("|" + "---|" * 14)
    for r in rows:
        name = r.get("quant", "keras")
        g = r["graphs"]
        x = r.get("xnnpack", {})
        parts = "/".join(str(x[n]["partitions"]) for n in g) if x else "-"
        share = min(v["delegated_flops_share"] for v in x.values()) if x else None
        v = r.get("validation", {})
        target = TARGETS.get(name)
        print(
            f"| {name} | {r['ms_per_frame']:.0f} | {r['matmul_2048_ms']:.0f} | "
            f"{r['matmul_units_per_frame']:.2f} | "
            f"{f'≤ {target:.2f}' if target else '-'} | {g['kp_detector']['ms']:.0f} | "
            f"{g['generator']['ms']:.0f} | {g['source_encoder']['ms']:.0f} | "
            f"{r['model_bytes'] / 1e6:.1f} | {fp32_bytes / r['model_bytes']:.2f}× smaller | "
            f"{parts} | {f'{100 * share:.3f} %' if share is not None else '-'} | "
            f"{v.get('psnr_db', '-')} | {v.get('kp_error_mean', '-')} |"
        )
    if args.json:
        print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
