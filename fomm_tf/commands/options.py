"""Flags that several sub-commands share, each declared once here, and the bundled model's
announcement."""

from __future__ import annotations

import argparse
import sys

from ..animation.crop_rules import TRACKING
from ..animation.photo import DEFAULT_CROP_SCALE


def add_model_arguments(p: argparse.ArgumentParser, checkpoint_required: bool = False) -> None:
    p.add_argument(
        "--config",
        default=None,
        help="model config: a shipped name (vox-256, taichi-256, bair-256, mgif-256, "
        "nemo-256, tiny-64, ...) or the path of an official-format YAML file; omit it "
        "and --checkpoint for the bundled default model (face-128, see its MODEL_CARD.md)",
    )
    p.add_argument(
        "--checkpoint",
        required=checkpoint_required,
        help="weights: an official PyTorch .pth.tar checkpoint (zip or legacy "
        "format, read without torch) or a fomm-tf .weights.h5 file",
    )
    p.add_argument(
        "--align-corners",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="grid_sample convention: --no-align-corners is today's official code "
        "(default unless the config's fomm_tf.align_corners says otherwise); "
        "--align-corners reproduces torch <= 1.2, which trained the published "
        "checkpoints",
    )


def add_face_tracking_arguments(p: argparse.ArgumentParser) -> None:
    """``--crop-scale``, ``--detect-every`` and ``--audio`` (``animate``, ``crop-video``)."""
    p.add_argument(
        "--crop-scale",
        type=float,
        default=DEFAULT_CROP_SCALE,
        help="face crop side as a multiple of the detected face box's side (default "
        f"{DEFAULT_CROP_SCALE}: whole head and the top of the shoulders, as the VoxCeleb "
        "frames the official face models were trained on)",
    )
    p.add_argument(
        "--detect-every",
        type=int,
        default=TRACKING["every"],
        help="video face crop: run the face detector on every n-th frame of a shot "
        f"(default {TRACKING['every']})",
    )
    p.add_argument(
        "--audio",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep the (driving) video's sound, cut to the output's length (default: keep; "
        "a video without sound gives a silent one; a GIF output has no sound)",
    )


def resolve_model(
    config: str | None, checkpoint: str | None, random_weights: bool = False
) -> tuple[str, str | None]:
    """:func:`fomm_tf.bundled.resolve_model`, announcing the bundled model in one line."""
    from .. import bundled

    resolved = bundled.resolve_model(config, checkpoint, random_weights)
    if config is None:
        print(f"fomm: {bundled.DESCRIPTION}", file=sys.stderr)
    return resolved


def check_positive(value: int | None, name: str) -> None:
    """A flag that must be a positive integer when given (one line, exit 2, otherwise)."""
    from ..errors import InputError

    if value is not None and value < 1:
        raise InputError(f"{name} {value}: must be a positive integer")
