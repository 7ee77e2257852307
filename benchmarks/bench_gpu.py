"""Training and animation speed on one GPU: ``make bench-gpu`` (about 5 minutes).

Measures, on the first visible GPU:

* training images/s of ``fomm train``'s step (perceptual pyramid with a random VGG19,
  equivariance, Adam) at vox-256 and at the bundled model's size (face-128), in float32,
  float16 (``mixed_float16`` + loss scaling) and bfloat16 (``mixed_bfloat16``), each with and
  without XLA (``--xla``);
* one animated frame (vox-256, batch 1, source cached: keypoints of the driving frame +
  generator), float32, in ms.

Each case runs in its own process (so one case's memory or XLA cache does not help the
next) with a time limit; the first steps (tracing, XLA compilation) are not timed. Prints a
Markdown table; ``--json FILE`` also writes the rows. Without a GPU it exits 2 with one
line. Usage::

    python -m benchmarks.bench_gpu [--steps 10] [--case-timeout 60] [--budget 290]
        [--json rows.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

TRAIN = {"vox-256": 16, "face-128": 32}  # config: global batch
PRECISIONS = ("float32", "float16", "bfloat16")


def gpu_name() -> str | None:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    details = tf.config.experimental.get_device_details(gpus[0])
    cc = details.get("compute_capability")
    return f"{details.get('device_name', gpus[0].name)} (compute capability {cc[0]}.{cc[1]})"


def train_case(config: str, precision: str, xla: bool, steps: int) -> dict:
    from fomm_tf.bench.timing import random_trainer
    from fomm_tf.config import load_config

    batch = TRAIN[config]
    trainer, data = random_trainer(load_config(config), batch, precision, xla)
    t = time.perf_counter()
    for _ in range(2):  # tracing / compilation
        float(trainer.train_step(data)[0]["perceptual"])
    warmup = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(steps):
        losses, _ = trainer.train_step(data)
    float(losses["perceptual"])
    step = (time.perf_counter() - t) / steps
    return {"step_s": step, "images_per_s": batch / step, "warmup_s": warmup, "batch": batch}


def frame_case(repeat: int) -> dict:
    import numpy as np

    from fomm_tf.animation.keras_backend import KerasBackend
    from fomm_tf.nets.models import build_models

    models = build_models("vox-256", seed=0)
    rng = np.random.default_rng(0)
    backend = KerasBackend(models, batch_size=1)
    backend.prepare(rng.random((1, 256, 256, 3), np.float32))
    driving = rng.random((1, 256, 256, 3), np.float32)
    for _ in range(3):
        backend.generate(backend.kp(driving))
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        backend.generate(backend.kp(driving))
        times.append(time.perf_counter() - t)
    return {"ms": 1000 * float(np.median(times))}


def _one(spec: list[str], steps: int) -> dict:
    if spec[0] == "frame":
        return frame_case(max(steps, 10))
    config, precision, xla = spec[1], spec[2], spec[3] == "xla"
    return train_case(config, precision, xla, steps)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="timed training steps per case")
    parser.add_argument(
        "--case-timeout", type=int, default=60, help="seconds per case before it is given up"
    )
    parser.add_argument(
        "--budget", type=int, default=290, help="seconds for all cases together (default 290)"
    )
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument("--one", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from fomm_tf.native_log import filter_native_stderr

    filter_native_stderr()  # TensorFlow's start-up lines
    if args.one:
        print(json.dumps(_one(args.one, args.steps)))
        return 0
    name = gpu_name()
    if name is None:
        print(
            "bench_gpu: no GPU visible to TensorFlow (tf.config.list_physical_devices)",
            file=sys.stderr,
        )
        return 2
    specs = [["frame"]] + [
        ["train", config, precision, xla]
        for config in TRAIN
        for precision in PRECISIONS
        for xla in ("no-xla", "xla")
    ]
    rows, deadline = [], time.monotonic() + args.budget
    for spec in specs:
        left = deadline - time.monotonic()
        if left < 5:
            rows.append({"case": " ".join(spec), "error": "not run: the time budget is spent"})
            continue
        cmd = [sys.executable, "-m", "benchmarks.bench_gpu", "--steps", str(args.steps)]
        try:
            proc = subprocess.run(
                [*cmd, "--one", *spec],
                capture_output=True,
                text=True,
                timeout=min(args.case_timeout, left),
            )
            if proc.returncode:
                result = {"error": proc.stderr.strip().splitlines()[-1][:200]}
            else:
                result = json.loads(proc.stdout.strip().splitlines()[-1])
        except subprocess.TimeoutExpired:
            result = {"error": f"over {min(args.case_timeout, left):.0f} s"}
        rows.append({"case": " ".join(spec), **result})
        print(f"{rows[-1]}", file=sys.stderr, flush=True)
    print(f"\nfomm-tf on {name} ({time.strftime('%Y-%m-%d')}; {args.steps} timed steps)\n")
    print("| case | batch | images/s | s/step | first 2 steps |\n|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['case']} | | failed: {r['error']} | | |")
        elif "ms" in r:
            print(
                f"| animated frame vox-256 b1 float32 (source cached) | 1 | {1000 / r['ms']:.1f} frames/s | {r['ms']:.1f} ms | |"
            )
        else:
            print(
                f"| {r['case'][6:]} | {r['batch']} | {r['images_per_s']:.1f} | "
                f"{r['step_s']:.3f} | {r['warmup_s']:.1f} s |"
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"gpu": name, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
