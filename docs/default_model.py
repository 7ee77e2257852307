"""Make the bundled default model (``fomm_tf/default_model/``): data, training, model card.

The whole recipe, step by step (also in ``docs/default-model.md``)::

    python docs/default_model.py data      # data/face128 (seed 1), data/face128-heldout (seed 2)
    # how the recipe was chosen: each lever for the same wall time (docs/levers.md)
    python -m benchmarks.bench_levers --root runs/levers2 time
    python -m benchmarks.bench_levers --root runs/levers2 train --budget-min 6.3 --measure wall
    python -m benchmarks.bench_levers --root runs/levers2 table
    # the shipped run: face-128 (warped skips + source blend), pixels, bfloat16, the config's
    # 6 epochs (7500 steps; learning rate ÷10 at 5000 and 6250)
    python docs/default_model.py train --features pixels --log-dir runs/face128-sharp
    python docs/default_model.py card --run runs/face128-sharp --levers runs/levers2/levers.json
    python docs/default_model.py photo     # the real-photo check alone (any --checkpoint)

``train`` is ``fomm train`` with the flags below; rerun it to resume exactly where it stopped
(``--max-steps`` to stop earlier or go on). ``card`` evaluates the run (and ``--other``, a
second run, at equal steps and equal training time, if given), writes the weights, config,
card JSON, figures and ``MODEL_CARD.md`` into ``fomm_tf/default_model/``. ``fomm evaluate
--data data/face128-heldout`` reproduces the card's table from the shipped weights.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]

CONFIG = "face-128"
TRAIN_DATA = {"train": 400, "test": 12, "frames": 48, "size": 128, "seed": 1}
HELDOUT_DATA = {"train": 0, "test": 12, "frames": 32, "size": 128, "seed": 2}
CROSS_SEED, CROSS_PAIRS, CROSS_FRAMES = 3, 6, 32
TRAIN_FLAGS = [
    *("--config", CONFIG, "--vgg19-weights", "random", "--seed", "0", "--precision", "bfloat16"),
    *("--checkpoint-every", "250", "--keep-checkpoints", "1000"),
    *("--eval-every", "500", "--eval-videos", "4", "--image-every", "500"),
]
OUT = ROOT / "fomm_tf" / "default_model"


def _make_dataset(out: Path, spec: dict) -> None:
    if (out / "test").is_dir():
        print(f"{out}: exists, kept", file=sys.stderr)
        return
    cmd = [
        *(sys.executable, "-m", "fomm_tf.cli", "make-dataset", "synthetic", "--out", str(out)),
        *("--train-videos", str(spec["train"]), "--test-videos", str(spec["test"])),
        *("--frames", str(spec["frames"]), "--size", str(spec["size"])),
        *("--seed", str(spec["seed"]), "--kind", "face"),
    ]
    subprocess.run(cmd, check=True)


def cmd_data(args) -> int:
    _make_dataset(Path(args.root) / "face128", TRAIN_DATA)
    _make_dataset(Path(args.root) / "face128-heldout", HELDOUT_DATA)
    return 0


def cmd_train(args) -> int:
    log_dir = args.log_dir or f"runs/face128-{args.features}"
    cmd = [
        *(sys.executable, "-m", "fomm_tf.cli", "train", *TRAIN_FLAGS),
        *("--data", str(Path(args.root) / "face128"), "--log-dir", log_dir),
        *("--perceptual-features", args.features),
    ]
    if args.max_steps:
        cmd += ["--max-steps", str(args.max_steps)]
    if args.precision:
        cmd += ["--precision", args.precision]
    if args.cores:  # e.g. "0": one run per core, as the card's two runs were made
        os.sched_setaffinity(0, {int(c) for c in args.cores.split(",")})
    print(" ".join(cmd), file=sys.stderr)
    return subprocess.run(cmd).returncode


# ------------------------------------------------------------------------------------------
# the card


def checkpoints(run: Path) -> dict[int, str]:
    import tensorflow as tf

    state = tf.train.get_checkpoint_state(str(run / "checkpoints"))
    paths = list(state.all_model_checkpoint_paths) if state else []
    return {int(p.rsplit("-", 1)[1]): p for p in paths}


def evaluate_checkpoint(path: str, heldout: Path, progress=True) -> dict:
    from fomm_tf.eval.detectors import SyntheticDetector
    from fomm_tf.evaluate import evaluate, list_videos
    from fomm_tf.training import models_from_checkpoint

    models = models_from_checkpoint(CONFIG, path)
    return evaluate(models, list_videos(heldout), SyntheticDetector("face"), progress=progress)


def _row(name: str, m: dict) -> str:
    def f(v, d=4):
        return "n/a" if v is None else f"{v:.{d}f}"

    return f"| {name} | {f(m['l1'])} | {f(m['akd'], 2)} | {f(m['mkr'], 3)} | {f(m['aed'], 3)} |"


HEADER = "| method | L1 ↓ | AKD (px) ↓ | MKR ↓ | AED ↓ |\n|---|---|---|---|---|"


def cmd_card(args) -> int:
    import numpy as np

    out = Path(args.out)

    from fomm_tf.bench import timing
    from fomm_tf.eval.cross import cross_identity_eval, cross_sheet
    from fomm_tf.eval.detectors import SyntheticDetector
    from fomm_tf.eval.report import contact_sheet, l1_plot, line_plot
    from fomm_tf.evaluate import evaluate, list_videos
    from fomm_tf.media.images import write_image
    from fomm_tf.nets.models import load_models, save_weights
    from fomm_tf.training import models_from_checkpoint
    from fomm_tf.training.summaries import read_scalars, training_hours

    run, other = Path(args.run), Path(args.other) if args.other else None
    heldout = Path(args.root) / "face128-heldout"
    ckpts = checkpoints(run)
    if not ckpts:
        raise SystemExit(f"{run}: no checkpoints")
    step = args.step or max(ckpts)
    scalars = {"run": read_scalars(run)}
    if other:
        scalars["other"] = read_scalars(other)
    hours = {k: dict(training_hours(v)) for k, v in scalars.items()}

    def hours_at(key, s):
        known = [h for st, h in hours[key].items() if st <= s]
        return max(known) if known else 0.0

    out.mkdir(parents=True, exist_ok=True)
    # 1. the shipped weights, then everything else measured from the shipped file
    models = models_from_checkpoint(CONFIG, ckpts[step])
    weights = save_weights(models, out / f"{CONFIG}.weights.h5", dtype="float16")
    shutil.copyfile(ROOT / "fomm_tf" / "configs" / f"{CONFIG}.yaml", out / f"{CONFIG}.yaml")
    models = load_models(weights, out / f"{CONFIG}.yaml")
    detector = SyntheticDetector("face")
    started = time.perf_counter()
    main = evaluate(models, list_videos(heldout), detector)
    eval_seconds = time.perf_counter() - started
    write_image(out / "contact_sheet.jpg", contact_sheet(main.visuals))
    write_image(out / "l1_per_frame.png", l1_plot(main.per_frame_l1))
    still_moving = still_and_moving_l1(models, heldout)
    cross = cross_identity_eval(models, CROSS_SEED, CROSS_PAIRS, CROSS_FRAMES, detector, True)
    write_image(out / "cross_identity.jpg", cross_sheet(cross["clips"][:4], cross["results"][:4]))

    # 2. learning curves (held-out L1 of the training's own evaluations) by step and by time
    names = {"run": run.name, "other": other.name if other else ""}
    by_step, by_time = {}, {}
    for key, sc in scalars.items():
        curve = sc.get("eval/reconstruction_l1", [])
        if curve:
            steps = np.array([r[0] for r in curve])
            values = np.array([r[1] for r in curve])
            by_step[names[key]] = (steps, values, None)
            by_time[names[key]] = (
                np.array([hours_at(key, s) * 60 for s in steps]),
                values,
                None,
            )
    losses = {}
    for tag, short in (
        ("loss/perceptual", "perceptual"),
        ("loss/equivariance_value", "eq. value"),
        ("loss/equivariance_jacobian", "eq. jacobian"),
    ):
        rows = scalars["run"].get(tag, [])
        if len(rows) > 10:
            values = np.array([r[1] for r in rows])
            smooth = np.convolve(values, np.ones(10) / 10, mode="valid")
            losses[short] = (np.array([r[0] for r in rows])[9:], smooth, None)
    if by_step:
        panels = [
            line_plot(by_step, "test-split L1 during training", "step"),
            line_plot(by_time, "test-split L1 during training", "minutes of training"),
        ]
        if losses:
            panels.append(
                line_plot(losses, f"{run.name}: training losses (mean of 10 logs)", "step")
            )
        write_image(out / "learning_curve.png", np.concatenate(panels, axis=1))

    # 3. the other perceptual features at equal steps and at equal training time
    compare = []
    if other:
        other_ckpts = checkpoints(other)
        equal_step = max(s for s in other_ckpts if s <= step) if other_ckpts else None
        if equal_step is not None:
            t_other = hours_at("other", max(other_ckpts))
            time_step = min(ckpts, key=lambda s: abs(hours_at("run", s) - t_other))
            cases = [
                (run.name, equal_step, ckpts.get(equal_step), "run"),
                (other.name, equal_step, other_ckpts[equal_step], "other"),
                (run.name, time_step, ckpts[time_step], "run"),
                (other.name, max(other_ckpts), other_ckpts[max(other_ckpts)], "other"),
            ]
            seen = set()
            for name, s, path, key in cases:
                if path is None or (name, s) in seen:
                    continue
                seen.add((name, s))
                ev = evaluate(models_from_checkpoint(CONFIG, path), list_videos(heldout), detector)
                compare.append((name, s, hours_at(key, s), ev.report["model"]))

    # 4. a real photo driven by a talking head; 5. speed of the shipped networks at 128²
    with tempfile.TemporaryDirectory(prefix="fomm-card-") as tmp:
        photo = real_photo(
            models, heldout_clip(Path(args.root)), Path(tmp), panel=out / "real_photo.jpg"
        )
        speed = card_speed(models, out / f"{CONFIG}.yaml", Path(tmp))
    levers = json.loads(Path(args.levers).read_text()) if args.levers else None

    card = {
        "config": CONFIG,
        "real_photo": photo,
        "image_size": models.config.image_size[0],
        "speed": speed,
        "levers": levers,
        "precision": TRAIN_FLAGS[TRAIN_FLAGS.index("--precision") + 1],
        "features": args.features,
        "command": card_command(run, args),
        "step": step,
        "training_hours": hours_at("run", step),
        "heldout": main.report,
        "still_moving_l1": still_moving,
        "heldout_data": HELDOUT_DATA,
        "train_data": TRAIN_DATA,
        "train_flags": TRAIN_FLAGS,
        "cross_identity": cross["report"],
        "comparison": [{"run": n, "step": s, "hours": h, "metrics": m} for n, s, h, m in compare],
        "hardware": f"{timing.cpu_name()}, {os.cpu_count()} cores",
        "first_phase_steps": args.first_phase_steps,
        "last_step": max(ckpts),
        "note": args.note,
        "weights_bytes": weights.stat().st_size,
        "eval_seconds": eval_seconds,
    }
    (out / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    (out / "MODEL_CARD.md").write_text(model_card(card, run, other))
    print(f"wrote {out}", file=sys.stderr)
    return 0


def still_and_moving_l1(models, heldout: Path) -> dict:
    """Held-out L1 of the model and of copying the source, split into the pixels that stay
    as the source has them and the rest (:func:`fomm_tf.eval.metrics.still_pixels`):
    ``{method: {"still": l1, "moving": l1, "moving_share": fraction}}``."""
    from fomm_tf.data.pipeline import read_video
    from fomm_tf.eval.baselines import copy_source
    from fomm_tf.eval.metrics import split_l1, still_pixels
    from fomm_tf.evaluate import list_videos, reconstruct_video

    sums = {m: {"still": [0.0, 0], "moving": [0.0, 0]} for m in ("model", "copy_source")}
    for path in list_videos(heldout):
        video = read_video(path, size=models.config.image_size)
        still = still_pixels(video)
        outputs = {
            "model": reconstruct_video(models, video),
            "copy_source": copy_source(video[0], len(video)),
        }
        for method, generated in outputs.items():
            for part, (total, n) in split_l1(video, generated, still).items():
                sums[method][part][0] += total
                sums[method][part][1] += n
    out = {}
    for method, parts in sums.items():
        n_all = parts["still"][1] + parts["moving"][1]
        out[method] = {part: total / max(n, 1) for part, (total, n) in parts.items()}
        out[method]["moving_share"] = parts["moving"][1] / max(n_all, 1)
    return out


def card_speed(models, config: Path, tmp: Path) -> dict:
    """Frames/s of one animated frame at 128² on this CPU (2 threads): the Keras networks
    (``fomm bench``'s timing) and the LiteRT graphs of the shipped weights as ``dynamic`` (what
    the apps ship) and ``int8``, with each export's held-out PSNR against the Keras model.
    The int8 graphs are written with their floor recorded, not enforced, to time them."""
    from fomm_tf.bench.frame import bench_keras, bench_tflite
    from fomm_tf.export.calibration import calibration_clips
    from fomm_tf.export.exporter import export_models

    clips, held_out, _ = calibration_clips(None, models.config.image_size)
    out = {"keras_ms": bench_keras(str(config), frames=20, threads=2)["ms_per_frame"]}
    for quant in ("dynamic", "int8"):
        contract = export_models(
            models, tmp / quant, quant, clips, enforce_floors=False, validation_clips=held_out
        )
        v = contract["validation"]
        out[quant] = {
            "ms": bench_tflite(tmp / quant, frames=50, threads=2)["ms_per_frame"],
            "psnr_db": v["psnr_db"],
            "psnr_floor_db": v["psnr_floor_db"],
            "kp_error": v["kp_error_mean"],
        }
    out["threads"] = 2
    return out


def card_command(run: Path, args) -> str:
    """The training command as ``train`` ran it (and how many times it started: resumes)."""
    starts = len(list((run / "tensorboard").glob("events.out.tfevents.*")))
    return (
        f"python docs/default_model.py train --features {args.features} "
        f"--log-dir runs/{run.name}` (started {starts} time(s); every start after the first "
        "resumed from the newest checkpoint)"
    )


def still_moving_lines(split: dict | None) -> list[str]:
    """The held-out L1 split into still and moving pixels, as card text."""
    if not split:
        return []
    m, c = split["model"], split["copy_source"]
    return [
        "",
        f"Where the error is: on the {1 - m['moving_share']:.0%} of held-out pixels that stay "
        "as the source frame has them (`fomm_tf.eval.metrics.still_pixels`) the model's L1 is "
        f"{m['still']:.4f} (copy source {c['still']:.4f}); on the "
        f"{m['moving_share']:.0%} that move, {m['moving']:.4f} (copy source "
        f"{c['moving']:.4f}).",
    ]


def model_card(card: dict, run: Path, other: Path | None) -> str:
    h, c = card["heldout"], card["cross_identity"]
    copy = h["baselines"]["copy_source"]
    ratio_l1 = h["model"]["l1"] / copy["l1"]
    ratio_akd = h["model"]["akd"] / copy["akd"]
    lines = [
        f"# Model card: `{CONFIG}`, fomm-tf's bundled default model",
        "",
        "What `fomm animate`, `fomm evaluate` and `fomm demo` use when no "
        "`--config/--checkpoint` is given. Generated by `python docs/default_model.py card`; "
        "every number below was measured from the shipped file.",
        "",
        "## What it is",
        f"- FOMM (10 keypoints with Jacobians, occlusion-aware generator) at 128×128, config "
        f"[`{CONFIG}.yaml`]({CONFIG}.yaml): widths 32 → 256, 2 down blocks, 3 bottleneck "
        f"blocks; {card['weights_bytes'] / 2**20:.1f} MB of weights, stored as float16 (read into "
        "float32 networks; every figure here is measured from the float16 file).",
        "- Trained by `fomm train` on fomm-tf's synthetic talking heads "
        "(`fomm make-dataset synthetic --kind face`: textured 3-D heads that turn, nod, "
        f"blink and talk over textured backgrounds): {TRAIN_DATA['train']} training videos "
        f"(200 identities) × {TRAIN_DATA['frames']} frames at 128², dataset seed "
        f"{TRAIN_DATA['seed']}.",
        f"- {card['step']} steps at batch 4, {card['training_hours']:.2f} h of training on "
        f"{card['hardware']}"
        + (
            f": the first {card['first_phase_steps']} steps on one core (the comparison run "
            "had the other), the rest on both."
            if card.get("first_phase_steps")
            else f", in {card['precision']}; the command: `{card['command']}."
        ),
        *(
            [
                f"- Shipped at step {card['step']} of the run's {card['last_step']}: "
                + (card.get("note") or "")
            ]
            if card.get("last_step", card["step"]) > card["step"]
            else []
        ),
        f"- Perceptual loss: `{card['features']}` features "
        "(no ImageNet VGG19 weights can be downloaded here; see the levers).",
        "- Three options of ours (the `fomm_tf` section of the config; no extra weights): "
        "the encoder's maps warped into the decoder at every scale (`warped_skips`) and the "
        "output blended with the warped source by the occlusion map (`source_blend`), so "
        "what the source shows passes through at full resolution; and coordinates at pixel "
        "centres (`centred_grid`), so the background's identity motion leaves a still "
        "background where it is and keypoints move one for one with the picture.",
        "",
        f"## Held-out evaluation (dataset seed {HELDOUT_DATA['seed']}: "
        f"{h['videos']} videos × {HELDOUT_DATA['frames']} frames, identities never seen)",
        "",
        "Reconstruction, the paper's protocol (sec. 4.1): the first frame is the source, "
        "every frame drives. Detector: the synthetic landmark network "
        "(`fomm evaluate --detector synthetic`).",
        "",
        HEADER,
        _row("model", h["model"]),
        _row("copy source", copy),
        _row("global affine", h["baselines"]["global_affine"]),
        "",
        f"Model / copy source: L1 {ratio_l1:.2f}× (bar ≤ 0.5×), AKD {ratio_akd:.2f}× "
        f"(bar ≤ 0.35×), MKR {h['model']['mkr']:.3f} vs {copy['mkr']:.3f}.",
        *still_moving_lines(card.get("still_moving_l1")),
        "Reproduce: `fomm make-dataset synthetic --out data/face128-heldout --train-videos 0 "
        "--test-videos 12 --frames 32 --size 128 --seed 2`, then "
        "`fomm evaluate --data data/face128-heldout`.",
        "",
        "![contact sheet](contact_sheet.jpg)",
        "",
        "![L1 per frame](l1_per_frame.png)",
        "",
        f"## Cross-identity animation ({c['pairs']} pairs, seed {CROSS_SEED}, "
        f"{CROSS_FRAMES} frames each)",
        "",
        "Identity A animated by identity B's clip, with relative motion (eq. 14–15); the "
        "renderer draws A moving exactly as B as the ground truth (`fomm_tf/eval/cross.py`).",
        "",
        HEADER,
        _row("model", c["model"]),
        _row("copy source", c["copy_source"]),
        "",
        "Top row of each pair: source, driving frames; bottom row: the animation.",
        "",
        "![cross identity](cross_identity.jpg)",
        "",
    ]
    if card.get("real_photo"):
        r, sp = card["real_photo"], card["speed"]
        lines += [
            "## A real photo",
            "",
            f"scikit-image's `{r['photo']}` animated by `fomm animate` (face crop, paste-back) "
            "with a held-out synthetic talking head as the driver (no real talking-head clip "
            "can be downloaded here). dlib's identity distance of the animated face to the "
            f"photo's (same person below 0.6): {r['same_person']:.0%} of {r['frames']} frames "
            f"the same person (faces found in {r['faces_found']}), median distance "
            f"{r['median_distance'] if r['median_distance'] is None else round(r['median_distance'], 3)}"
            f"; detail in the face box {r['median_detail']:.2f}× the photo's (median), where "
            f"the photo itself cut to {card['image_size']}² and pasted back keeps "
            f"{r['detail_ceiling']:.2f}× (a {card['image_size']}² model's ceiling here): "
            f"{r['detail_of_ceiling']:.2f}× of that ceiling. "
            "Reproduce: `python docs/default_model.py photo`.",
            "",
            "![real photo](real_photo.jpg)",
            "",
            "## Speed (one animated frame at 128², 2 threads)",
            "",
            f"Keras (float32): {sp['keras_ms']:.1f} ms ({1000 / sp['keras_ms']:.0f} frames/s).",
            "",
            "| LiteRT graphs | ms/frame | frames/s | PSNR vs Keras (held out) | floor |",
            "|---|---|---|---|---|",
            *(
                f"| {q} | {sp[q]['ms']:.1f} | {1000 / sp[q]['ms']:.0f} | "
                f"{sp[q]['psnr_db']:.1f} dB | {sp[q]['psnr_floor_db']:g} dB |"
                for q in ("dynamic", "int8")
            ),
            "",
            "The apps ship `dynamic` (int8 weights, float activations): about as fast, with "
            "far more margin; int8's 8-bit activations move this sharp model's edges by a "
            "fraction of a pixel"
            + (
                ", below int8's floor: `fomm export --quant int8` of this model stops there."
                if sp["int8"]["psnr_db"] < sp["int8"]["psnr_floor_db"]
                else f" ({sp['int8']['psnr_db'] - sp['int8']['psnr_floor_db']:.1f} dB above "
                "its floor here; other checkpoints of this run fell below it)."
            ),
            "",
        ]
    if card.get("levers"):
        lv = card["levers"]
        lines += [
            "## Levers (equal training time, from scratch)",
            "",
            "How this recipe was chosen: each lever trained for the same wall time on a quiet "
            "machine from the same seed, evaluated on the held-out set "
            "(`benchmarks/bench_levers.py`; [docs/levers.md](../../docs/levers.md)).",
            "",
            "| recipe | steps | s/step | L1 ↓ | AKD (px) ↓ | MKR ↓ | detail ↑ |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, m in lv["runs"].items():
            lines.append(
                f"| {name} | {m['steps']} | {m['s_per_step']:.3f} | {m['l1']:.4f} | "
                f"{m['akd']:.2f} | {m['mkr']:.3f} | {m['detail']:.2f} |"
            )
        c = lv["copy_source"]
        lines += [
            f"| copy source | – | – | {c['l1']:.4f} | {c['akd']:.2f} | {c['mkr']:.3f} | 1.00 |"
        ]
        lines += ["", "![learning curves](learning_curve.png)", ""]
    if card["comparison"]:
        lines += [
            "## Perceptual features: random-VGG19 pyramid vs plain L1 pyramid",
            "",
            "Both runs: same config, data, seed and flags but `--perceptual-features`, "
            "trained side by side, one core each. Held-out reconstruction:",
            "",
            "| run | step | hours | L1 ↓ | AKD (px) ↓ | MKR ↓ | AED ↓ |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in card["comparison"]:
            m = row["metrics"]
            lines.append(
                f"| {row['run']} | {row['step']} | {row['hours']:.2f} | {m['l1']:.4f} | "
                f"{m['akd']:.2f} | {m['mkr']:.3f} | {m['aed']:.3f} |"
            )
        lines += ["", "![learning curves](learning_curve.png)", ""]
    lines += [
        "## Good for / not good for",
        "- Good for: trying fomm-tf end to end offline (`make demo`), the apps' default "
        "model, smoke-testing exports, synthetic-face research baselines.",
        "- Real photos: the photo's own pixels pass through where the occlusion map sees "
        "them (source blend), so the face stays the photo's and sharp where it moves little "
        + (
            f"(the same person in {card['real_photo']['same_person']:.0%} of the frames above); "
            if card.get("real_photo")
            else "; "
        )
        + "what it must paint (a mouth opening, a turned cheek) is smooth. It never saw a "
        "real face, and its motion is rough (AKD above). For real faces use an official "
        "checkpoint (`--config vox-256 --checkpoint vox-cpk.pth.tar`) or train on real videos.",
        "- 128×128 only; faces centred as in the synthetic set (use `--crop face`).",
        "",
    ]
    return "\n".join(lines)


def real_photo(models, driving: Path, out: Path, photo: str = "astronaut", panel=None):
    """``fomm animate`` (Keras, face crop, paste-back) with ``models`` of scikit-image's
    ``photo`` driven by
    ``driving``; the animation scored by :mod:`fomm_tf.eval.real_photo`. Writes
    ``OUT/real_photo.mp4`` and a panel (photo, driving and animated frames; default
    ``OUT/real_photo.jpg``); returns the score summary."""
    import numpy as np
    from skimage import data as skimage_data

    from fomm_tf.animation.keras_backend import KerasBackend
    from fomm_tf.animation.photo import prepare_source
    from fomm_tf.animation.pipeline import CropOptions, animate_file
    from fomm_tf.eval.detectors import FaceDetector
    from fomm_tf.eval.real_photo import resolution_ceiling, score_animation
    from fomm_tf.media.images import fit_frame, to_uint8, write_image
    from fomm_tf.media.video_reader import VideoReader

    out.mkdir(parents=True, exist_ok=True)
    picture = getattr(skimage_data, photo)()
    source = out / f"{photo}.png"
    write_image(source, picture.astype(np.float32) / 255.0)
    video = out / "real_photo.mp4"
    animate_file(
        source,
        driving,
        video,
        lambda: KerasBackend(models),
        crop=CropOptions(source="face", driving="center"),
        audio=False,
        progress=False,
    )
    frames = [to_uint8(f) for f in VideoReader(video)]
    detector = FaceDetector()
    score = score_animation(picture, frames, detector)
    crop = prepare_source(picture.astype(np.float32) / 255.0, "face", name=photo).crop
    size = models.config.image_size[0]
    ceiling = resolution_ceiling(picture, crop, size, detector.box(picture))
    drive = list(VideoReader(driving, size=256))
    picks = np.linspace(0, len(frames) - 1, 4).round().astype(int)
    top = [fit_frame(picture.astype(np.float32) / 255.0, 256)]
    top += [drive[min(i, len(drive) - 1)] for i in picks]
    bottom = [np.zeros((256, 256, 3), np.float32)]
    bottom += [fit_frame(frames[i].astype(np.float32) / 255.0, 256) for i in picks]
    panel = panel or out / "real_photo.jpg"
    write_image(panel, np.concatenate([np.hstack(top), np.hstack(bottom)], 0))
    return {
        "photo": photo,
        "driving": Path(driving).name,  # by name: nothing of the machine it ran on
        **score.summary(),
        "detail_ceiling": ceiling,
        "detail_of_ceiling": score.median_detail / ceiling,
    }


def cmd_photo(args) -> int:
    from fomm_tf.bundled import default_model_paths
    from fomm_tf.nets.models import load_models

    config, weights = (args.config, args.checkpoint) if args.checkpoint else default_model_paths()
    driving = Path(args.driving) if args.driving else heldout_clip(Path(args.root))
    models = load_models(str(weights), str(config))
    result = real_photo(models, driving, Path(args.out), args.photo)
    print(json.dumps(result, indent=2))
    return 0


def heldout_clip(root: Path) -> Path:
    """The driving clip of the real-photo check: the first held-out talking head (no real
    talking-head clip can be downloaded here)."""
    clips = sorted((root / "face128-heldout" / "test").glob("*.mp4"))
    if not clips:
        raise SystemExit(f"{root}/face128-heldout: no clips; run `data` first")
    return clips[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="data", help="datasets folder (default: data)")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("data", help="render the training and held-out datasets")
    t = sub.add_parser("train", help="fomm train with the card's flags (resumes)")
    t.add_argument("--features", choices=("pixels", "vgg19", "hed-vgg16"), default="pixels")
    t.add_argument(
        "--precision", help="fomm train --precision (default float32, as the shipped run)"
    )
    t.add_argument("--log-dir", help="default: runs/face128-FEATURES")
    t.add_argument("--max-steps", type=int, help="default: the config's 14 epochs (17500 steps)")
    t.add_argument("--cores", help="pin to these CPU cores, e.g. 0 (default: all)")
    c = sub.add_parser("card", help="evaluate, write the weights, figures and MODEL_CARD.md")
    c.add_argument("--run", required=True, help="the run to ship")
    c.add_argument("--other", help="the run with the other perceptual features")
    c.add_argument("--step", type=int, help="checkpoint step to ship (default: the newest)")
    c.add_argument("--levers", help="bench_levers' levers.json, for the card's lever table")
    c.add_argument("--note", help="why --step, when it is not the run's last (card text)")
    c.add_argument("--features", default="pixels", help="the run's --perceptual-features (pixels)")
    c.add_argument("--out", default=str(OUT), help=f"where to write (default: {OUT})")
    c.add_argument(
        "--first-phase-steps",
        type=int,
        default=0,
        help="steps the shipped run made on one core, beside a comparison run (default 0)",
    )
    ph = sub.add_parser("photo", help="a real photo animated by a clip: identity and detail")
    ph.add_argument("--config", help="config of --checkpoint (default: the bundled model)")
    ph.add_argument("--checkpoint", help=".weights.h5 (default: the bundled model)")
    ph.add_argument("--driving", help="driving clip (default: the first held-out clip)")
    ph.add_argument("--photo", default="astronaut", help="scikit-image picture (astronaut)")
    ph.add_argument("--out", default="runs/real-photo", help="where to write the video and panel")
    args = parser.parse_args()
    commands = {"data": cmd_data, "train": cmd_train, "card": cmd_card, "photo": cmd_photo}
    return commands[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
