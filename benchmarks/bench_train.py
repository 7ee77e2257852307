"""Training speed on this machine: the in-memory step, and the real loop on datasets on disk.

1. **Step** (``--cases``): one step = keypoints of source and driving, generator forward,
   perceptual pyramid and equivariance losses (and the GAN losses where the config has them),
   backward, Adam — the step ``fomm train`` runs, on a fixed in-memory batch. Each case runs
   in its own process so its peak RSS is its own.
2. **Loop** (``--layouts``): ``fomm train`` itself on a small synthetic dataset written in
   each layout (mp4, gif, frame folders, frame strips), tiny-64 at batch 4; its own
   ``loop time`` line (everything between the first and the last step: input pipeline,
   summaries, checkpoints at their intervals) divided by the in-memory step of the same
   config, measured in the same round. Rounds interleave the cases so that all of them see
   the same state of the machine; the ratio is the median over rounds. Target: ≤ 1.15.

Comparisons with the official code are ``make bench-official``'s job (measured side by side
there), not constants typed in here. Usage::

    python benchmarks/bench_train.py [--steps 7] [--cases small,small-gan,vox-256]
        [--layouts mp4,gif,frames,strip] [--loop-steps 40] [--rounds 3]
        [--precisions float32,bfloat16]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    # name: (config, batch, generator_gan weight or None to keep the config's)
    "small": ("tiny-64", 4, None),
    "small-gan": ("tiny-64", 4, 1),
    "vox-256": ("vox-256", 1, None),
}
LOOP_CASE = "small"  # the loop runs tiny-64 at batch 4, as the in-memory "small" case
LOOP_TARGET = 1.15


def run_case(name: str, steps: int, precision: str = "float32") -> dict:
    import numpy as np

    from fomm_tf.bench.timing import matmul_2048_ms, random_trainer
    from fomm_tf.config import config_from_dict, load_config

    config_name, batch, gan = CASES[name]
    cfg = load_config(config_name)
    if gan is not None:
        raw = json.loads(json.dumps(cfg.raw))
        raw["train_params"]["loss_weights"]["generator_gan"] = gan
        cfg = config_from_dict(raw, name=f"{config_name}+gan")
    trainer, data = random_trainer(cfg, batch, precision)
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
        "precision": precision,
        "config": config_name,
        "batch": batch,
        "first_step_s": first,
        "step_s": step,
        "frames_per_s": batch / step,
        "matmul_s": matmul,
        "matmuls": step / matmul,
        "peak_rss_gb": rss_gb,
    }


def _env() -> dict:
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))


def step_case(name: str, steps: int, precision: str = "float32") -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--one", name, "--steps", str(steps), "--precision", precision],
        capture_output=True,
        text=True,
        env=_env(),
    )
    if proc.returncode:
        raise RuntimeError(f"{name}: failed\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_layout(root: Path, layout: str) -> Path:
    from fomm_tf.data.synthetic import write_dataset

    config, _, _ = CASES[LOOP_CASE]
    size = 64 if config == "tiny-64" else 256
    return write_dataset(root / layout, 16, 2, 32, size, layout=layout, seed=0)


LOOP_LINE = re.compile(r"loop time: ([0-9.]+) s/step")


def loop_case(data: Path, log_dir: Path, steps: int, precision: str = "float32") -> float:
    """``fomm train`` for ``steps`` steps from scratch; its own loop time per step."""
    config, batch, _ = CASES[LOOP_CASE]
    cmd = [
        *(sys.executable, "-m", "fomm_tf.cli", "train", "--config", config),
        *("--precision", precision),
        *("--data", str(data), "--log-dir", str(log_dir), "--max-steps", str(steps)),
        *("--vgg19-weights", "random", "--batch-size", str(batch), "--no-progress"),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env())
    found = LOOP_LINE.search(proc.stderr)
    if proc.returncode or not found:
        raise RuntimeError(f"fomm train on {data} failed\n{proc.stderr[-2000:]}")
    return float(found.group(1))


def main() -> int:
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=7, help="timed in-memory steps per case")
    parser.add_argument("--cases", default=",".join(CASES), help="in-memory cases (empty: none)")
    parser.add_argument(
        "--layouts",
        default="mp4,gif,frames,strip",
        help="dataset layouts for the loop benchmark (empty: none)",
    )
    parser.add_argument("--loop-steps", type=int, default=40, help="steps of each `fomm train` run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved loop rounds")
    parser.add_argument(
        "--precisions",
        default=None,
        help="comma-separated --precision values (default: float32, and bfloat16 where the "
        "CPU has AVX512_BF16/AMX)",
    )
    parser.add_argument("--precision", default="float32", help=argparse.SUPPRESS)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_case(args.one, args.steps, args.precision)))
        return 0
    if args.precisions is None:
        from fomm_tf.nets.layers.precision import missing_hardware

        precisions = ["float32"] + (["bfloat16"] if missing_hardware("bfloat16") is None else [])
    else:
        precisions = list(filter(None, args.precisions.split(",")))
    rows = [
        step_case(name, args.steps, p)
        for name in filter(None, args.cases.split(","))
        for p in precisions
    ]
    if rows:
        print(
            f"{'case':<10} {'precision':>9} {'batch':>5} {'s/step':>8} {'frames/s':>9} "
            f"{'matmul s':>9} {'matmuls':>8} {'peak RSS':>9} {'1st step':>9}"
        )
        for r in rows:
            print(
                f"{r['case']:<10} {r['precision']:>9} {r['batch']:>5} {r['step_s']:>8.3f} "
                f"{r['frames_per_s']:>9.2f} {r['matmul_s']:>9.4f} {r['matmuls']:>8.1f} "
                f"{r['peak_rss_gb']:>7.2f}GB {r['first_step_s']:>8.1f}s"
            )
    layouts = list(filter(None, args.layouts.split(",")))
    if not layouts:
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        tmp = Path(tmp)
        data = {layout: write_layout(tmp / "data", layout) for layout in layouts}
        memory = {p: [] for p in precisions}
        loops = {(p, layout): [] for p in precisions for layout in layouts}
        for r in range(args.rounds):
            for p in precisions:
                memory[p].append(step_case(LOOP_CASE, args.steps, p)["step_s"])
                for layout in layouts:
                    log_dir = tmp / f"log-{p}-{layout}-{r}"
                    loops[p, layout].append(loop_case(data[layout], log_dir, args.loop_steps, p))
    config, batch, _ = CASES[LOOP_CASE]
    print(
        f"\nfomm train loop vs in-memory step ({config}, batch {batch}, {args.loop_steps} steps "
        f"per run, median of {args.rounds} interleaved rounds; target <= {LOOP_TARGET}x)"
    )
    print(f"{'layout':<8} {'precision':>9} {'loop s/step':>12} {'memory s/step':>14} {'ratio':>7}")
    for p in precisions:
        for layout in layouts:
            ratios = np.array(loops[p, layout]) / np.array(memory[p])
            print(
                f"{layout:<8} {p:>9} {np.median(loops[p, layout]):>12.3f} "
                f"{np.median(memory[p]):>14.3f} {np.median(ratios):>6.2f}x"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
