"""Build the FOMM networks from a config and load weights into them.

``build_models`` makes randomly initialised networks; ``load_models`` fills them from an
official ``.pth.tar`` checkpoint or from our own ``.weights.h5``; ``save_weights`` writes the
latter atomically.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from ..config import FommConfig, load_config
from ..errors import CheckpointError, InputError
from .generator import OcclusionAwareGenerator
from .keypoint_detector import KeypointDetector
from .layers.precision import precision_policy

log = logging.getLogger(__name__)


class _Bundle(keras.Model):
    """Holds both networks so one ``.weights.h5`` file carries them together."""

    def __init__(self, kp_detector, generator):
        super().__init__(name="fomm")
        self.kp_detector = kp_detector
        self.generator = generator
        self.built = kp_detector.built and generator.built


@dataclass
class Models:
    """The two inference networks of FOMM and the config that built them."""

    kp_detector: KeypointDetector
    generator: OcclusionAwareGenerator
    config: FommConfig

    def bundle(self) -> keras.Model:
        return _Bundle(self.kp_detector, self.generator)


def _as_config(config: FommConfig | str | os.PathLike) -> FommConfig:
    return config if isinstance(config, FommConfig) else load_config(config)


def build_models(
    config: FommConfig | str | os.PathLike,
    align_corners: bool | None = None,
    seed: int | None = None,
    precision: str | None = None,
) -> Models:
    """Randomly initialised, built networks for a shipped config name or a YAML path.

    ``precision``: ``float32``, ``bfloat16`` or ``float16`` compute (float32 weights either
    way, see :mod:`fomm_tf.nets.layers.precision`); ``None``: Keras's current dtype policy.
    """
    cfg = _as_config(config)
    if align_corners is not None:
        cfg = cfg.with_align_corners(align_corners)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    with precision_policy(precision):
        kp = KeypointDetector.from_dataclass(cfg.kp_detector)
        gen = OcclusionAwareGenerator.from_dataclass(cfg.generator)
    h, w = cfg.image_size
    dummy = np.zeros((1, h, w, cfg.kp_detector.num_channels), keras.config.floatx())
    kp_out = kp(dummy)
    gen(dummy, kp_source=kp_out, kp_driving=kp_out)
    return Models(kp, gen, cfg)


def load_official(
    checkpoint: str | os.PathLike,
    config: FommConfig | str | os.PathLike,
    align_corners: bool | None = None,
    precision: str | None = None,
) -> Models:
    """Networks holding the weights of an official PyTorch ``.pth.tar`` checkpoint."""
    from .checkpoint import read_torch_checkpoint
    from .weights import load_state_dict

    models = build_models(config, align_corners=align_corners, precision=precision)
    tree = read_torch_checkpoint(checkpoint)
    for part in ("kp_detector", "generator"):
        if part not in tree or not isinstance(tree[part], dict):
            raise CheckpointError(
                f"{checkpoint}: no '{part}' state dict in the checkpoint "
                f"(found: {', '.join(map(str, tree)) or 'nothing'})"
            )
    try:
        load_state_dict(models.kp_detector, tree["kp_detector"], "kp_detector")
        load_state_dict(models.generator, tree["generator"], "generator")
    except CheckpointError as exc:
        raise CheckpointError(f"{checkpoint}: {exc}") from None
    return models


def load_models(
    checkpoint: str | os.PathLike | None,
    config: FommConfig | str | os.PathLike,
    align_corners: bool | None = None,
    precision: str | None = None,
) -> Models:
    """Networks from an official ``.pth.tar``, our ``.weights.h5``, or random (``None``);
    ``precision`` as :func:`build_models`."""
    if checkpoint is None:
        return build_models(config, align_corners=align_corners, precision=precision)
    path = Path(checkpoint)
    if not path.is_file():
        raise InputError(f"{path}: checkpoint not found")
    if path.name.endswith(".weights.h5"):
        models = build_models(config, align_corners=align_corners, precision=precision)
        try:
            models.bundle().load_weights(str(path))
        except (ValueError, OSError, KeyError) as exc:
            msg = " ".join(str(exc).split())[:300]
            raise CheckpointError(f"{path}: does not fit the config ({msg})") from None
        return models
    return load_official(path, config, align_corners=align_corners, precision=precision)


def save_weights(models: Models, path: str | os.PathLike, dtype: str = "float32") -> Path:
    """Write both networks to one ``.weights.h5`` file (temp file, then rename).

    ``dtype="float16"`` stores float32 arrays as float16 (half the file); an array that
    float16 cannot hold within 1e-3 of its largest value (beyond its range, or tiny values in
    its subnormals) stays float32. :func:`load_models` reads either into float32 networks.
    """
    path = Path(path)
    if not path.name.endswith(".weights.h5"):
        raise InputError(f"{path}: weights file name must end in .weights.h5")
    if dtype not in ("float32", "float16"):
        raise InputError(f"weights dtype must be float32 or float16, got {dtype!r}")
    from ..media.atomic import atomic_path

    with atomic_path(path) as tmp:
        models.bundle().save_weights(str(tmp))
        if dtype == "float16":
            _store_float16(tmp)
    return path


def _store_float16(path: Path) -> None:
    """Rewrite a ``.weights.h5`` file with float16 arrays (same groups, attributes, names)."""
    import h5py

    half = path.with_name(path.name + ".f16")
    with h5py.File(path, "r") as src, h5py.File(half, "w") as dst:

        def copy(group_in, group_out):
            group_out.attrs.update(dict(group_in.attrs))
            for name, item in group_in.items():
                if isinstance(item, h5py.Group):
                    copy(item, group_out.create_group(name))
                    continue
                data = item[()]
                if item.dtype == np.float32 and data.size:
                    half = data.astype(np.float16)
                    err = np.max(np.abs(half.astype(np.float32) - data))
                    if np.all(np.isfinite(half)) and err <= 1e-3 * np.max(np.abs(data)):
                        data = half
                group_out.create_dataset(name, data=data)
                group_out[name].attrs.update(dict(item.attrs))

        copy(src, dst)
    os.replace(half, path)
