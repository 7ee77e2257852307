"""Export a FOMM model to TFLite: convert, validate against Keras, write graphs + contract.

Everything is written into a temporary directory next to the target and renamed into place
at the end, so a failed export (bad checkpoint, no calibration frames, accuracy below its
floor) leaves the target untouched.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fomm_tf.animation.motion import MotionOptions
from fomm_tf.errors import InputError
from fomm_tf.media.atomic import atomic_dir
from fomm_tf.nets.models import Models

from .contract import CARD_NAME, CONTRACT_NAME, build_contract, write_contract
from .convert import QUANT_MODES, convert_graph
from .graphs import GRAPH_NAMES, build_graphs

log = logging.getLogger(__name__)

#: Minimum frame PSNR (dB) of the exported pipeline against the Keras float model.
PSNR_FLOOR_DB = {"fp32": 60.0, "fp16": 45.0, "dynamic": 35.0, "int8": 30.0}
#: Maximum mean keypoint error ([-1, 1] units) of the exported keypoint detector, measured on
#: held-out clips (identities int8 calibration never saw: 0.010-0.015 for the official-small
#: test model at 64², against 0.005 on the calibration clips themselves).
KP_ERROR_FLOOR = {"int8": 0.02}
#: PSNR reported for identical frames (JSON has no infinity).
PSNR_CAP_DB = 200.0


def _np(tree: dict) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, np.float32) for k, v in tree.items()}


def keras_reference(models: Models, clips: Sequence[np.ndarray]) -> list[dict[str, Any]]:
    """Per clip: the Keras float model's keypoints, source cache and predictions.

    The clip's first frame is the source; every frame (the source included) drives it with
    absolute keypoints.
    """
    refs = []
    for clip in clips:
        source = clip[:1]
        kp = _np(models.kp_detector(clip, training=False))
        cache = _np(models.generator.encode_source(source, training=False))
        kp_source = {k: v[:1] for k, v in kp.items()}
        preds = []
        for i in range(len(clip)):
            kp_d = {k: v[i : i + 1] for k, v in kp.items()}
            out = models.generator.animate_cached(
                source, cache, kp_source, kp_d, with_deformed=False
            )
            preds.append(np.asarray(out["prediction"]))
        refs.append(
            {"kp": kp, "cache": cache, "kp_source": kp_source, "prediction": np.concatenate(preds)}
        )
    return refs


def calibration_feeds(clips: Sequence[np.ndarray], refs: Sequence[dict]) -> dict[str, list]:
    """Per graph, the batch-1 feeds (input name → array) the int8 calibration runs."""
    feeds: dict[str, list] = {name: [] for name in GRAPH_NAMES}
    for clip, ref in zip(clips, refs):
        for i, frame in enumerate(clip):
            feeds["kp_detector"].append({"image": frame[None]})
            feeds["source_encoder"].append({"source": frame[None]})
            gen = dict(ref["cache"])
            for who, kp in (
                ("kp_source", ref["kp_source"]),
                ("kp_driving", {k: v[i : i + 1] for k, v in ref["kp"].items()}),
            ):
                for key, value in kp.items():
                    gen[f"{who}_{key}"] = value
            feeds["generator"].append(gen)
    return feeds


def _psnr(mse: float) -> float:
    return PSNR_CAP_DB if mse <= 10 ** (-PSNR_CAP_DB / 10) else float(-10.0 * np.log10(mse))


def validate(
    model_dir: Path,
    clips: Sequence[np.ndarray],
    refs: Sequence[dict],
    num_threads: int | None = None,
) -> dict[str, Any]:
    """Run the exported graphs through :class:`fomm_tf.animation.tflite_backend.TFLiteAnimator` on the clips and
    compare with the Keras reference: frame PSNR (dB) and keypoint error ([-1, 1] units)."""
    from ..animation.tflite_backend import TFLiteAnimator

    animator = TFLiteAnimator(model_dir, num_threads=num_threads)
    sq_errors, frame_psnr, kp_err, jac_err = [], [], [], []
    for clip, ref in zip(clips, refs):
        animator.prepare(clip[:1])
        kp = animator.kp(clip)
        kp_err.append(np.abs(kp["value"] - ref["kp"]["value"]).ravel())
        if "jacobian" in kp:
            jac_err.append(np.abs(kp["jacobian"] - ref["kp"]["jacobian"]).ravel())
        pred = animator.generate(kp)
        mse = np.mean((pred.astype(np.float64) - ref["prediction"]) ** 2, axis=(1, 2, 3))
        sq_errors.append(mse)
        frame_psnr.extend(_psnr(float(m)) for m in mse)
    kp_all = np.concatenate(kp_err)
    figures = {
        "frames": int(sum(len(c) for c in clips)),
        "psnr_db": round(_psnr(float(np.mean(np.concatenate(sq_errors)))), 3),
        "psnr_min_db": round(float(min(frame_psnr)), 3),
        "kp_error_mean": float(f"{kp_all.mean():.6g}"),
        "kp_error_max": float(f"{kp_all.max():.6g}"),
    }
    if jac_err:
        figures["jacobian_error_mean"] = float(f"{np.concatenate(jac_err).mean():.6g}")
    return figures


def check_floors(quant: str, figures: dict[str, Any]) -> list[str]:
    """The accuracy floors ``figures`` misses (empty when it passes)."""
    failures = []
    if figures["psnr_db"] < PSNR_FLOOR_DB[quant]:
        failures.append(f"frame PSNR {figures['psnr_db']:.1f} dB < {PSNR_FLOOR_DB[quant]:g} dB")
    if quant in KP_ERROR_FLOOR and figures["kp_error_mean"] > KP_ERROR_FLOOR[quant]:
        failures.append(
            f"keypoint error {figures['kp_error_mean']:.4f} > {KP_ERROR_FLOOR[quant]:g}"
        )
    return failures


def _check_target(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / CONTRACT_NAME).exists():
        raise InputError(f"{out_dir}: not empty and not an earlier export; refusing to replace it")


def export_models(
    models: Models,
    out_dir: str | os.PathLike,
    quant: str,
    clips: Sequence[np.ndarray],
    *,
    enforce_floors: bool = True,
    options: dict[str, Any] | None = None,
    num_threads: int | None = None,
    motion: MotionOptions | None = None,
    validation_clips: Sequence[np.ndarray] | None = None,
    model: dict[str, Any] | None = None,
    card: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Convert, validate and write ``kp_detector``/``source_encoder``/``generator`` ``.tflite``
    and ``model_contract.json`` into ``out_dir`` (replaced atomically).

    Args:
        models: the Keras networks (their config's ``image_size`` fixes the graph shapes).
        out_dir: target directory; an existing earlier export there is replaced.
        quant: one of :data:`fomm_tf.export.convert.QUANT_MODES`.
        clips: calibration clips, each (T, H, W, C) float32 in [0, 1].
        enforce_floors: raise :class:`InputError` when validation misses its floor (off for
            random weights, whose figures are still recorded).
        options: export options recorded verbatim in the contract.
        num_threads: LiteRT threads used for validation.
        motion: motion options recorded in the contract (default: the config's).
        validation_clips: held-out clips the recorded accuracy figures are measured on
            (``None``: the calibration clips, and the contract says so).
        model: the contract's ``model`` section (``name``, ``trained_on``); default: the
            config's name, training data not recorded.
        card: a model card (Markdown) copied into ``out_dir`` as ``MODEL_CARD.md`` and named
            by ``model.card``.

    Returns:
        The contract written.
    """
    if quant not in QUANT_MODES:
        raise InputError(f"--quant {quant!r}: expected one of {', '.join(QUANT_MODES)}")
    out_dir = Path(out_dir).absolute()
    _check_target(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    graphs = build_graphs(models)
    held_out = validation_clips is not None
    validation_clips = list(validation_clips) if held_out else list(clips)
    feeds = calibration_feeds(clips, keras_reference(models, clips)) if quant == "int8" else {}
    refs = keras_reference(models, validation_clips)
    with atomic_dir(out_dir) as tmp:  # out_dir is replaced only when everything passed
        files = {}
        for name, graph in graphs.items():
            t0 = time.perf_counter()
            flat = convert_graph(graph, quant, feeds.get(name))
            (tmp / f"{name}.tflite").write_bytes(flat)
            files[name] = flat
            log.info(
                "%s: %s converted in %.1f s (%.2f MB)",
                name,
                quant,
                time.perf_counter() - t0,
                len(flat) / 1e6,
            )
        info = dict(model or {"name": models.config.name, "trained_on": None})
        info["card"] = None
        if card is not None:
            shutil.copyfile(card, tmp / CARD_NAME)
            info["card"] = CARD_NAME
        contract = build_contract(
            models.config, graphs, files, quant, options or {}, motion, model=info
        )
        write_contract(tmp, contract)
        figures = validate(tmp, validation_clips, refs, num_threads=num_threads)
        figures["held_out"] = held_out  # measured on clips calibration never saw
        failures = check_floors(quant, figures)
        figures.update(
            psnr_floor_db=PSNR_FLOOR_DB[quant],
            kp_error_floor=KP_ERROR_FLOOR.get(quant),
            floors_enforced=bool(enforce_floors),
            passed=not failures,
        )
        contract["validation"] = figures
        write_contract(tmp, contract)
        if failures and enforce_floors:
            raise InputError(f"{quant} export below its accuracy floor: {'; '.join(failures)}")
    log.info("exported %s to %s in %.1f s", quant, out_dir, time.perf_counter() - start)
    return contract


def load_for_export(config: str, checkpoint: str | None, size: int | None, seed: int = 0):
    """The Keras models to export, their config's image size overridden by ``size``."""
    from ..config import load_config
    from ..nets.models import build_models, load_models

    cfg = load_config(config)
    if size is not None:
        cfg = dataclasses.replace(cfg, image_size=(size, size))
    if checkpoint is None:
        return build_models(cfg, seed=seed)
    return load_models(checkpoint, cfg)


def model_info(
    config: str, checkpoint: str | None, random_weights: bool = False
) -> tuple[dict, Path | None]:
    """The contract's ``model`` section and the card to ship: the bundled model says what it
    was trained on and carries its card; random weights say so; another checkpoint records its
    config's name (what it was trained on is not known here)."""
    from .. import bundled

    name = Path(str(config)).stem
    if random_weights:
        return {"name": name, "trained_on": "nothing: random weights"}, None
    paths = bundled.default_model_paths()
    if paths is not None and Path(checkpoint).resolve() == paths[1].resolve():
        card = bundled.CARD if bundled.CARD.is_file() else None
        return {"name": bundled.NAME, "trained_on": bundled.TRAINED_ON}, card
    return {"name": name, "trained_on": None}, None
