"""One official training step reproduced through the trainer's own code path
(:func:`official_step`), for parity tests against the official code's captured values."""

from __future__ import annotations

import contextlib

import numpy as np

from .options import TrainOptions
from .step import Trainer

OFFICIAL_INPUT_KEYS = ("source", "driving", "tps_theta", "tps_control_params", "tps_control_points")


def official_step(
    config, checkpoint, inputs: dict, vgg19_seed: int, dtype: str = "float64"
) -> tuple[dict, dict]:
    """One training step of this trainer, reported the way the official code reports it.

    Loads an official-format checkpoint, feeds one batch with a given equivariance transform
    and runs :meth:`Trainer.gradients` — the trainer's own losses and step
    (:meth:`Trainer.replica_work`) on one replica, without updating the weights — so the
    result can be compared number for number with the official ``GeneratorFullModel`` /
    ``DiscriminatorFullModel`` (see ``tests/data/official-train-small``).

    The step runs in float64 by default (Keras ``floatx`` and dtype policy ``float64`` while
    the networks are built and run, then restored): the official float32 gradients carry
    float32 noise of up to 2e-3 of each tensor's maximum, and a second float32
    implementation adds its own — including discontinuities, where two values inside a VGG
    max-pool window are closer than float32's rounding and the two implementations route the
    gradient differently (measured on the fixture: eight such windows make half of the
    keypoint detector's float32 gradient error of 1.3e-2 of a tensor's maximum). In float64
    only the official side's float32 error remains,
    which is what the fixture's tolerances are set from. ``dtype="float32"`` runs the step
    as float32 training does, ``dtype="bfloat16"`` as ``--precision bfloat16`` does (Keras
    ``mixed_bfloat16``: float32 weights and inputs, bfloat16 convolutions).

    Args:
        config: a config name, YAML path or :class:`~fomm_tf.config.FommConfig` with
            ``model_params`` and ``train_params`` (scales, transform_params, loss_weights).
        checkpoint: an official ``.pth.tar`` holding the ``kp_detector`` and ``generator``
            state dicts, and ``discriminator`` when ``loss_weights.generator_gan`` is non-zero.
        inputs: ``source``, ``driving`` (B, H, W, C) float32 in [0, 1] and the official
            ``Transform``'s draws ``tps_theta`` (B, 2, 3), ``tps_control_params`` (B, 1, P)
            and ``tps_control_points`` (1, p, p, 2) — the layout of the fixture's
            ``inputs.npz``. The transform is needed only with an equivariance loss, its TPS
            part only when ``transform_params`` has ``sigma_tps`` and ``points_tps``.
        vgg19_seed: seed of the perceptual loss's VGG19 (``--vgg19-weights random`` with
            this seed: He-normal weights drawn in torchvision's layer order and torch layout).
        dtype: ``"float64"`` (default), ``"float32"`` or ``"bfloat16"``.

    Returns:
        ``(losses, gradients)``. ``losses``: the official ``loss_values`` keys that are on
        (``perceptual``, ``gen_gan``, ``feature_matching``, ``equivariance_value``,
        ``equivariance_jacobian``), ``generator_total`` (their sum, the value
        back-propagated) and, with a discriminator, ``disc_gan``; float scalars.
        ``gradients``: ``{"<module>.<official state-dict name>": array}`` in torch layout
        (conv weights (out, in, kh, kw); spectral-normed convs under ``weight_orig``) for
        every trainable parameter: ``kp_detector.*`` and ``generator.*`` of
        ``generator_total``, ``discriminator.*`` of ``disc_gan`` only.

    Raises:
        InputError: missing or mis-shaped inputs, or a checkpoint that does not fit.
    """
    from ..nets.weights import torch_gradients

    with precision(dtype):
        trainer, feed, transform = official_trainer(config, checkpoint, inputs, vgg19_seed, dtype)
        losses, grads = trainer.gradients(feed, transform)
    out = {k: float(v) for k, v in losses.items() if k != "disc_gan"}
    out["generator_total"] = float(sum(out.values()))
    if "disc_gan" in losses:
        out["disc_gan"] = float(losses["disc_gan"])
    nets = {"kp_detector": trainer.models.kp_detector, "generator": trainer.models.generator}
    if trainer.discriminator is not None:
        nets["discriminator"] = trainer.discriminator
    gradients = {}
    for name, net in nets.items():
        for key, value in torch_gradients(net, grads[name]).items():
            gradients[f"{name}.{key}"] = value
    return out, gradients


@contextlib.contextmanager
def precision(dtype: str):
    """Keras ``floatx`` and dtype policy of ``dtype`` (``"float32"``, ``"float64"``, or
    ``"bfloat16"``: floatx float32, policy ``mixed_bfloat16``) inside the block, restored
    after: :func:`official_trainer`'s networks are built and run in it."""
    import keras

    from ..errors import InputError
    from ..nets.layers.precision import policy_name

    if dtype not in ("float32", "float64", "bfloat16"):
        raise InputError(
            f"official_step: dtype must be float32, float64 or bfloat16, not {dtype!r}"
        )
    floatx, policy = keras.config.floatx(), keras.config.dtype_policy()
    float_type = "float64" if dtype == "float64" else "float32"
    keras.config.set_floatx(float_type)
    keras.config.set_dtype_policy(policy_name(dtype) if dtype == "bfloat16" else dtype)
    try:
        yield
    finally:
        keras.config.set_floatx(floatx)
        keras.config.set_dtype_policy(policy)


def official_trainer(config, checkpoint, inputs: dict, vgg19_seed: int, dtype: str = "float64"):
    """The :class:`Trainer` of :func:`official_step` with the checkpoint loaded, and its
    feed: ``(trainer, {"source", "driving"} tensors, transform parameters or None)``.

    Build and run it inside :func:`precision` (``dtype``); the arguments are those of
    :func:`official_step`.
    """
    import tensorflow as tf

    from ..config import FommConfig, load_config
    from ..errors import CheckpointError, InputError
    from ..nets.checkpoint import read_torch_checkpoint
    from ..nets.weights import load_state_dict

    cfg = config if isinstance(config, FommConfig) else load_config(config)
    lw = (cfg.raw.get("train_params") or {}).get("loss_weights") or {}
    equivariance = bool(lw.get("equivariance_value", 0) or lw.get("equivariance_jacobian", 0))
    tp = (cfg.raw.get("train_params") or {}).get("transform_params") or {}
    # The official Transform has a TPS part only when both sigma_tps and points_tps are set.
    tps = equivariance and "sigma_tps" in tp and "points_tps" in tp
    required = OFFICIAL_INPUT_KEYS[: 2 + equivariance + 2 * tps]
    missing = [k for k in required if k not in inputs]
    if missing:
        raise InputError(f"official_step inputs: missing {', '.join(missing)}")
    float_type = "float64" if dtype == "float64" else "float32"  # bfloat16: float32 inputs
    arrays = {k: np.asarray(inputs[k], float_type) for k in required}
    h, w = cfg.image_size
    c = cfg.kp_detector.num_channels
    batch = arrays["source"].shape[0]
    for key in ("source", "driving"):
        if arrays[key].shape != (batch, h, w, c):
            raise InputError(
                f"official_step inputs: {key} has shape {arrays[key].shape}, "
                f"expected ({batch}, {h}, {w}, {c}) for this config"
            )
    transform = None
    if equivariance:
        if arrays["tps_theta"].shape != (batch, 2, 3):
            raise InputError(f"official_step inputs: tps_theta must be ({batch}, 2, 3)")
        transform = {"theta": tf.constant(arrays["tps_theta"])}
    if tps:
        points = arrays["tps_control_points"].reshape(-1, 2)
        if arrays["tps_control_params"].size != batch * len(points):
            raise InputError(
                "official_step inputs: tps_control_params must hold one weight per control "
                f"point and sample ({batch}×{len(points)})"
            )
        transform["control_params"] = tf.constant(arrays["tps_control_params"].reshape(batch, -1))
        transform["control_points"] = tf.constant(points)

    options = TrainOptions(
        config=str(config) if not isinstance(config, FommConfig) else "<config>",
        data=None,
        log_dir="",
        seed=int(vgg19_seed),
        vgg19_weights="random",
        batch_size=batch,
        progress=False,
    )
    trainer = Trainer(cfg, tf.distribute.get_strategy(), options, steps_per_epoch=1)
    tree = read_torch_checkpoint(checkpoint)
    nets = {"kp_detector": trainer.models.kp_detector, "generator": trainer.models.generator}
    if trainer.discriminator is not None:
        nets["discriminator"] = trainer.discriminator
    for name, net in nets.items():
        if not isinstance(tree.get(name), dict):
            raise CheckpointError(
                f"{checkpoint}: no '{name}' state dict in the checkpoint "
                f"(found: {', '.join(map(str, tree)) or 'nothing'})"
            )
        try:
            load_state_dict(net, tree[name], name)
        except CheckpointError as exc:
            raise CheckpointError(f"{checkpoint}: {exc}") from None

    feed = {k: tf.constant(arrays[k]) for k in ("source", "driving")}
    return trainer, feed, transform
