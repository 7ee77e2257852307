"""Does bfloat16 train the same model? Held-out L1 curves of float32 and bfloat16 runs.

``make precision-curves`` (``python -m benchmarks.precision_curves --out DIR``): a synthetic
face dataset at 64² (``fomm make-dataset synthetic``, seed 1: 100 training videos, 8 test
videos no training step sees), then ``fomm train --config tiny-64`` (batch 4, the random
VGG19 perceptual pyramid, equivariance; its learning rate held at 2e-4 — the shipped config
drops it at epochs 6 and 9, which at 25 steps an epoch would be step 150) for ``--steps``
steps (default 2000) three times:

* float32, seed 0;
* bfloat16, seed 0 (same weights, data order and equivariance draws as the float32 run);
* float32, seed 1 — the noise floor: how far two float32 runs that differ only in their seed
  drift apart.

Each run evaluates the reconstruction L1 on the 8 test videos every ``--eval-every`` steps.
Writes ``precision_curves.png`` (the three curves in one plot) and ``precision_curves.json``
into ``--out`` and prints a table. Runs live under ``--runs`` (default
``~/runs/precision``) and resume when rerun. Nothing here is timed: the step times are
``make bench-official`` and ``make bench-train``'s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

RUNS = {
    "float32 seed 0": ("float32", 0),
    "bfloat16 seed 0": ("bfloat16", 0),
    "float32 seed 1": ("float32", 1),
}


def _fomm(*args: str, env=None) -> None:
    subprocess.run([sys.executable, "-m", "fomm_tf.cli", *args], check=True, env=env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for the plot and the JSON")
    parser.add_argument(
        "--runs",
        default=os.path.expanduser("~/runs/precision"),
        help="folder of the dataset and the three training runs (default ~/runs/precision)",
    )
    parser.add_argument("--steps", type=int, default=2000, help="training steps per run")
    parser.add_argument("--eval-every", type=int, default=100, help="steps between L1 checks")
    parser.add_argument(
        "--only", choices=sorted(RUNS), action="append", help="train only these runs"
    )
    args = parser.parse_args(argv)
    runs = Path(args.runs)
    data = runs / "data64"
    if not (data / "test").is_dir():
        _fomm(
            *("make-dataset", "synthetic", "--out", str(data), "--kind", "face"),
            *("--train-videos", "100", "--test-videos", "8", "--frames", "32"),
            *("--size", "64", "--seed", "1"),
        )
    config = runs / "tiny-64-constant-lr.yaml"
    if not config.is_file():
        import yaml

        from fomm_tf.config import load_config

        raw = load_config("tiny-64").raw
        raw["train_params"]["epoch_milestones"] = []
        config.write_text(yaml.safe_dump(raw, sort_keys=False))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    for name, (precision, seed) in RUNS.items():
        if args.only and name not in args.only:
            continue
        _fomm(
            *("train", "--config", str(config), "--data", str(data)),
            *("--log-dir", str(runs / name.replace(" ", "-"))),
            *("--precision", precision, "--seed", str(seed), "--vgg19-weights", "random"),
            *("--max-steps", str(args.steps), "--eval-every", str(args.eval_every)),
            *("--eval-videos", "8", "--checkpoint-every", "500", "--image-every", "0"),
            *("--no-progress",),
            env=env,
        )
    return report(runs, Path(args.out))


def report(runs: Path, out: Path) -> int:
    import numpy as np

    from fomm_tf.eval.report import line_plot
    from fomm_tf.media.images import write_image
    from fomm_tf.training.summaries import read_scalars

    curves = {}
    for name in RUNS:
        rows = read_scalars(runs / name.replace(" ", "-")).get("eval/reconstruction_l1", [])
        if rows:
            curves[name] = {int(s): float(v) for s, v, _ in rows}
    if not curves:
        print(f"precision_curves: no evaluations under {runs}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    short = {n: n.replace("float32", "fp32").replace("bfloat16", "bf16") for n in curves}
    series = {
        short[name]: (np.array(sorted(c)), np.array([c[s] for s in sorted(c)]), None)
        for name, c in curves.items()
    }
    img = line_plot(series, "held-out reconstruction L1 (tiny-64, 64x64, batch 4)", "step")
    write_image(out / "precision_curves.png", img)
    steps = sorted(set.intersection(*(set(c) for c in curves.values())))
    table = {"steps": steps, "l1": {n: [c[s] for s in steps] for n, c in curves.items()}}
    a, b, noise = "float32 seed 0", "bfloat16 seed 0", "float32 seed 1"
    if {a, b, noise} <= set(curves) and steps:
        last = steps[len(steps) // 2 :]  # the second half of training
        gap = float(np.mean([abs(curves[a][s] - curves[b][s]) for s in last]))
        floor = float(np.mean([abs(curves[a][s] - curves[noise][s]) for s in last]))
        table["second_half_mean_abs_gap"] = {"bfloat16 vs float32": gap, "seed 1 vs 0": floor}
    (out / "precision_curves.json").write_text(json.dumps(table, indent=1))
    print(f"{'step':>6} " + " ".join(f"{n:>16}" for n in curves))
    for i, s in enumerate(steps):
        print(f"{s:>6} " + " ".join(f"{table['l1'][n][i]:>16.4f}" for n in curves))
    for k, v in table.get("second_half_mean_abs_gap", {}).items():
        print(f"mean |L1 difference| over the second half, {k}: {v:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
