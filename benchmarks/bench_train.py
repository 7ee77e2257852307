"""Training-step speed on this machine: seconds per step, frames/s, and in 2048² matmuls.

One step = keypoints of source and driving, generator forward, perceptual pyramid and
equivariance losses (and the GAN losses where the config has them), backward, Adam steps —
the same step ``fomm train`` runs, on a fixed in-memory batch (no data loading).

Each case runs in its own process so its peak RSS is its own. Usage::

    python benchmarks/bench_train.py [--steps 7] [--cases small,small-gan,vox-256]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    # name: (config, batch, generator_gan weight or None to keep the config's)
    "small": ("tiny-64", 4, None),
    "small-gan": ("tiny-64", 4, 1),
    "vox-256": ("vox-256", 1, None),
}
REFERENCE = {"small": 5.4, "small-gan": 5.7, "vox-256": 51.0}  # official PyTorch, matmuls


def run_case(name: str, steps: int) -> dict:
    import numpy as np
    import tensorflow as tf

    from fomm_tf.config import config_from_dict, load_config
    from fomm_tf.timing import matmul_2048_ms
    from fomm_tf.training import Trainer, TrainOptions, make_strategy

    config_name, batch, gan = CASES[name]
    cfg = load_config(config_name)
    if gan is not None:
        raw = json.loads(json.dumps(cfg.raw))
        raw["train_params"]["loss_weights"]["generator_gan"] = gan
        cfg = config_from_dict(raw, name=f"{config_name}+gan")
    strategy = make_strategy()
    opts = TrainOptions(
        config=config_name,
        data=None,
        log_dir="",
        vgg19_weights="random",
        batch_size=batch,
        progress=False,
    )
    trainer = Trainer(cfg, strategy, opts, steps_per_epoch=10**6)
    h, w = cfg.image_size
    rng = np.random.default_rng(0)
    data = {
        k: tf.constant(rng.uniform(size=(batch, h, w, 3)).astype("float32"))
        for k in ("source", "driving")
    }
    t = time.perf_counter()
    trainer.train_step(data)[0]["perceptual"].numpy()
    first = time.perf_counter() - t
    # Steps and matmuls interleaved, so both see the same state of a shared machine.
    times, matmuls = [], []
    for _ in range(steps):
        t = time.perf_counter()
        losses, _ = trainer.train_step(data)
        float(losses["perceptual"])
        times.append(time.perf_counter() - t)
        if len(times) == 1:  # training's peak, before the matmuls allocate their operands
            rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
        matmuls.append(matmul_2048_ms(repeats=3) / 1000)
    step, matmul = float(np.median(times)), float(np.median(matmuls))
    return {
        "case": name,
        "config": config_name,
        "batch": batch,
        "first_step_s": first,
        "step_s": step,
        "frames_per_s": batch / step,
        "matmul_s": matmul,
        "matmuls": step / matmul,
        "peak_rss_gb": rss_gb,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=7)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_case(args.one, args.steps)))
        return 0
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    rows = []
    for name in args.cases.split(","):
        proc = subprocess.run(
            [sys.executable, __file__, "--one", name, "--steps", str(args.steps)],
            capture_output=True,
            text=True,
            env=env,
        )
        if proc.returncode:
            print(f"{name}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
            return 1
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    print(
        f"{'case':<10} {'batch':>5} {'s/step':>8} {'frames/s':>9} {'matmul s':>9} "
        f"{'matmuls':>8} {'target':>7} {'ref':>5} {'peak RSS':>9} {'1st step':>9}"
    )
    for r in rows:
        ref = REFERENCE[r["case"]]
        print(
            f"{r['case']:<10} {r['batch']:>5} {r['step_s']:>8.3f} {r['frames_per_s']:>9.2f} "
            f"{r['matmul_s']:>9.4f} {r['matmuls']:>8.1f} {0.8 * ref:>7.1f} {ref:>5.1f} "
            f"{r['peak_rss_gb']:>7.2f}GB {r['first_step_s']:>8.1f}s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
