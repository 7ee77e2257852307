"""Training FOMM with a custom loop under ``tf.distribute`` (``fomm train`` / ``train_tf.py``).

One step (as the official ``train.py``): keypoints of source and driving, the generator's
prediction, the losses of :mod:`fomm_tf.losses` (perceptual pyramid, equivariance, and with a
non-zero ``generator_gan`` weight the LSGAN and feature-matching losses), one Adam step for the
keypoint detector and the generator, then, with a discriminator, one Adam step for it on the
detached prediction.

Distribution: ``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` names several workers,
otherwise ``MirroredStrategy`` over all local GPUs (or the CPU; ``--cpu-replicas N`` splits the
CPU into N logical devices, for tests). The global batch is ``train_params.batch_size`` and is
split over the replicas. Batch norm statistics are taken over the global batch (all-reduced
across replicas and workers, as the official ``SynchronizedBatchNorm2d``; with one replica it
is plain batch norm, see :mod:`fomm_tf.layers.batchnorm`); ``--no-sync-batch-norm`` keeps
them per replica. The equivariance transforms of a step are drawn for the global batch, so a
step does not depend on how the batch is split.

State and resumption: ``LOG_DIR/checkpoints`` holds ``tf.train.CheckpointManager`` checkpoints
of the three networks, the three optimizers (slots and iteration counts, which drive the
epoch-milestone schedule) and the global step. The data stream and every random transform are
functions of ``(seed, step)``, so re-running the same command resumes exactly where the last
checkpoint left off. ``LOG_DIR/export`` holds ``fomm.weights.h5`` (what ``fomm animate
--checkpoint`` reads), ``discriminator.weights.h5`` and ``config.yaml``, replaced atomically.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

LOSS_ORDER = (
    "perceptual",
    "gen_gan",
    "feature_matching",
    "equivariance_value",
    "equivariance_jacobian",
    "disc_gan",
)


class DynamicLossScale:
    """Loss scaling for ``mixed_float16``: start at 2^15, halve on overflow, double after
    ``growth_interval`` finite steps in a row. Replicas agree on every decision (the
    finiteness test is all-reduced).
    """

    def __init__(self, initial: float = 2.0**15, growth_interval: int = 2000):
        import tensorflow as tf

        first = tf.VariableAggregation.ONLY_FIRST_REPLICA
        self.scale = tf.Variable(
            initial, trainable=False, dtype=tf.float32, aggregation=first, name="loss_scale"
        )
        self.good_steps = tf.Variable(
            0, trainable=False, dtype=tf.int64, aggregation=first, name="loss_scale_good_steps"
        )
        self.growth_interval = int(growth_interval)

    @property
    def value(self):
        return self.scale.read_value()

    def all_finite(self, grads):
        import tensorflow as tf

        ok = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in grads if g is not None])
        ctx = tf.distribute.get_replica_context()
        bad = tf.cast(tf.logical_not(ok), tf.float32)
        if ctx is not None:
            bad = ctx.all_reduce(tf.distribute.ReduceOp.SUM, bad)
        return bad == 0.0

    def update(self, finite) -> None:
        import tensorflow as tf

        grow = tf.logical_and(finite, self.good_steps + 1 >= self.growth_interval)
        new_scale = tf.where(
            finite, tf.where(grow, self.scale * 2.0, self.scale), tf.maximum(self.scale * 0.5, 1.0)
        )
        new_good = tf.where(
            tf.logical_and(finite, tf.logical_not(grow)),
            self.good_steps + 1,
            tf.zeros_like(self.good_steps),
        )
        self.scale.assign(new_scale)
        self.good_steps.assign(new_good)


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class TrainOptions:
    """Everything ``fomm train`` takes (see :func:`add_train_arguments`)."""

    config: str
    data: str | None
    log_dir: str
    max_steps: int | None = None
    checkpoint_every: int | None = None
    seed: int = 0
    eval_every: int | None = None
    eval_videos: int | None = None
    log_every: int = 50
    image_every: int = 500
    vgg19_weights: str = "imagenet"
    perceptual_features: str = "vgg19"
    batch_size: int | None = None
    mixed_precision: bool = False
    xla: bool = False
    cpu_replicas: int = 0
    sync_batch_norm: bool = True
    keep_checkpoints: int = 3
    progress: bool = True
    cache_mb: int = 2048


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``fomm train`` flags to ``parser``."""
    parser.add_argument(
        "--config",
        required=True,
        help="shipped config name (vox-256, vox-adv-256, …) or a YAML path",
    )
    parser.add_argument(
        "--data",
        default=None,
        help="dataset root with train/ and test/ (default: dataset_params.root_dir of the config)",
    )
    parser.add_argument(
        "--log-dir",
        required=True,
        help="checkpoints, TensorBoard logs and export/; rerun to resume",
    )
    parser.add_argument(
        "--max-steps",
        type=int,
        default=None,
        help="stop after this many steps (default: num_epochs of the config)",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=int,
        default=None,
        help="steps between checkpoints (default: checkpoint_freq epochs)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of weights, data and noise")
    parser.add_argument(
        "--eval-every",
        type=int,
        default=None,
        help="steps between reconstruction L1 evaluations on the test split",
    )
    parser.add_argument(
        "--eval-videos",
        type=int,
        default=None,
        help="test videos per evaluation (default: reconstruction_params)",
    )
    parser.add_argument(
        "--log-every", type=int, default=50, help="steps between TensorBoard scalar summaries"
    )
    parser.add_argument(
        "--image-every", type=int, default=500, help="steps between TensorBoard image grids"
    )
    parser.add_argument(
        "--vgg19-weights",
        default="imagenet",
        help="perceptual-loss VGG19: imagenet (default: torchvision's vgg19-dcbb9e9d.pth from "
        "torch's cache $TORCH_HOME/hub/checkpoints or ~/.cache/torch/hub/checkpoints, the "
        "official network; else Keras's Caffe-converted cache file, with a warning: its loss "
        "scale differs), torchvision, keras, random (seeded, for tests), or a .pth/.h5 path",
    )
    parser.add_argument(
        "--perceptual-features",
        choices=("vgg19", "pixels"),
        default="vgg19",
        help="features of the multi-scale perceptual loss: vgg19 (default, the paper's; "
        "weights from --vgg19-weights) or pixels (a plain L1 image pyramid, first weight of "
        "loss_weights.perceptual; no VGG19 needed)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="global batch size (default: train_params.batch_size)",
    )
    parser.add_argument(
        "--mixed-precision",
        action="store_true",
        help="mixed_float16 compute with dynamic loss scaling",
    )
    parser.add_argument("--xla", action="store_true", help="compile the step with XLA")
    parser.add_argument(
        "--cpu-replicas",
        type=int,
        default=0,
        help="split the CPU into N logical devices (testing distribution)",
    )
    parser.add_argument(
        "--no-sync-batch-norm",
        dest="sync_batch_norm",
        action="store_false",
        help="batch-norm statistics per replica instead of over the global batch (default: "
        "synchronized across all replicas and workers, as the official code's "
        "SynchronizedBatchNorm2d; one replica is plain batch norm either way)",
    )
    parser.add_argument(
        "--keep-checkpoints",
        type=int,
        default=3,
        help="how many of the newest checkpoints to keep in LOG_DIR/checkpoints (default 3)",
    )
    parser.add_argument(
        "--cache-mb",
        type=int,
        default=2048,
        help="memory for decoded training videos, in MB (default 2048): each video is "
        "decoded once and later samples read it from memory; 0 decodes every sample",
    )
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress bar"
    )


def options_from_args(args: argparse.Namespace) -> TrainOptions:
    names = TrainOptions.__dataclass_fields__
    return TrainOptions(**{k: v for k, v in vars(args).items() if k in names})


# Input iterators of finished runs, kept alive until the process ends (see exit_now).
_LIVE_ITERATORS: list = []


def run_train(args: argparse.Namespace) -> int:
    """Entry point of ``fomm train``; returns the exit status (InputError propagates).

    The command line ends the process with :func:`exit_now` after it: destroying a
    distributed tf.data iterator can wait up to a minute for a tf.data model thread that
    cancellation does not wake (measured: 19–110 s idle after the last export in about half
    of the runs), so the iterator is never destroyed.
    """
    # TF's distribution INFO lines ("Reduce to …") drown the progress; keep warnings.
    logging.getLogger("tensorflow").setLevel(logging.WARNING)
    try:
        train(options_from_args(args), keep_alive=_LIVE_ITERATORS)
    except NonFiniteLossError as exc:
        log.error("%s", exc)
        return 3
    return 0


def exit_now(code: int) -> None:
    """Flush everything and end the process without running destructors (after training:
    checkpoints, exports and summaries are already written and flushed)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    logging.shutdown()
    os._exit(code)


# ------------------------------------------------------------------------------------------
# strategy


def tf_function(fn):
    """``tf.function`` with retracing kept down (the trainer's step functions)."""
    import tensorflow as tf

    return tf.function(fn, reduce_retracing=True)


def _tf_config_workers() -> int:
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return 0
    try:
        cluster = json.loads(raw).get("cluster", {})
    except (ValueError, AttributeError):
        from .errors import InputError

        raise InputError("TF_CONFIG is not valid JSON") from None
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def make_strategy(cpu_replicas: int = 0):
    """MultiWorkerMirroredStrategy from TF_CONFIG, else MirroredStrategy (GPUs, CPU, or N CPUs)."""
    import tensorflow as tf

    if not tf.config.list_physical_devices("GPU"):
        # On CPU Grappler's rewrites double the first-step compile time for no step-time gain
        # and make two traces of the same step round differently; plain graphs are exact.
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    if _tf_config_workers() > 1:
        return tf.distribute.MultiWorkerMirroredStrategy()
    if cpu_replicas and cpu_replicas > 1 and not tf.config.list_physical_devices("GPU"):
        cpu = tf.config.list_physical_devices("CPU")[0]
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration()] * cpu_replicas
            )
        except RuntimeError:  # runtime already initialised: use what exists
            pass
        devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices[:cpu_replicas])
    return tf.distribute.MirroredStrategy()


def _is_chief(strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    return task_type == "chief" or (
        task_type == "worker" and task_id == 0 and "chief" not in resolver.cluster_spec().as_dict()
    )


def _worker_dir(strategy, log_dir: Path) -> Path:
    """The chief writes into LOG_DIR; other workers into LOG_DIR/worker-<id> (all must save)."""
    if _is_chief(strategy):
        return log_dir
    resolver = strategy.cluster_resolver
    return log_dir / f"{resolver.task_type}-{resolver.task_id}"


# ------------------------------------------------------------------------------------------
# the trainer


def _mean_aggregation_creator(next_creator, **kwargs):
    """Non-trainable variables (batch-norm statistics) are averaged across replicas."""
    import tensorflow as tf

    dtype = kwargs.get("dtype")
    floating = dtype is None or tf.as_dtype(dtype).is_floating
    if (
        floating
        and not kwargs.get("trainable", True)
        and kwargs.get("aggregation") in (None, tf.VariableAggregation.NONE)
    ):
        kwargs["aggregation"] = tf.VariableAggregation.MEAN
    return next_creator(**kwargs)


def _variables_by_name(model) -> dict:
    """Every weight of ``model`` (batch-norm statistics and spectral-norm vectors included)
    keyed by its path below the model, for ``tf.train.Checkpoint``.

    Keras 3 keeps sub-layers held in lists out of TF's object graph, so checkpointing the
    model object itself would silently drop their non-trainable weights.
    """
    out = {}
    for w in model.weights:
        key = w.path.split("/", 1)[-1].replace("/", ".")
        if key in out:
            raise ValueError(f"duplicate weight path {w.path} in {model.name}")
        out[key] = w
    return out


class Trainer:
    """Networks, optimizers, losses and the distributed step for one config."""

    def __init__(self, cfg, strategy, options: TrainOptions, steps_per_epoch: int):
        import keras
        import tensorflow as tf

        from .layers.batchnorm import set_batch_norm_sync
        from .losses import (
            MultiScaleDiscriminator,
            PerceptualLoss,
            PixelFeatures,
            VGG19Features,
        )
        from .models import build_models

        self.cfg, self.strategy, self.options = cfg, strategy, options
        tp = cfg.raw.get("train_params") or {}
        self.train_params = tp
        self.weights = tp.get("loss_weights") or {}
        self.replicas = strategy.num_replicas_in_sync
        self.global_batch = int(options.batch_size or tp.get("batch_size", 1))
        self.steps_per_epoch = steps_per_epoch
        if options.mixed_precision:
            keras.mixed_precision.set_dtype_policy("mixed_float16")
        w = self.weights
        self.use_gan = bool(w.get("generator_gan", 0))
        self.use_perceptual = bool(sum(w.get("perceptual") or [0]))
        self.use_equivariance = bool(
            w.get("equivariance_value", 0) or w.get("equivariance_jacobian", 0)
        )
        with strategy.scope(), tf.variable_creator_scope(_mean_aggregation_creator):
            self.models = build_models(cfg, seed=options.seed)
            if not options.sync_batch_norm:
                for net in (self.models.kp_detector, self.models.generator):
                    set_batch_norm_sync(net, False)
            self.discriminator = None
            h, w_ = cfg.image_size
            if self.use_gan:
                dp = dict((cfg.raw.get("model_params") or {}).get("discriminator_params") or {})
                self.discriminator = MultiScaleDiscriminator(
                    num_channels=cfg.kp_detector.num_channels,
                    num_kp=cfg.num_kp,
                    name="discriminator",
                    **dp,
                )
                self.discriminator(
                    tf.zeros((1, h, w_, cfg.kp_detector.num_channels)), tf.zeros((1, cfg.num_kp, 2))
                )
            self.perceptual = None
            if self.use_perceptual:
                if options.perceptual_features == "pixels":
                    vgg = PixelFeatures()
                    log.info("perceptual loss: plain L1 image pyramid (--perceptual-features)")
                else:
                    vgg = VGG19Features(options.vgg19_weights, seed=options.seed)
                self.perceptual = PerceptualLoss(
                    tp.get("scales", [1]),
                    w["perceptual"],
                    vgg,
                    cfg.image_size,
                    cfg.kp_detector.num_channels,
                )
            milestones = [int(m) * steps_per_epoch for m in tp.get("epoch_milestones") or []]
            self.opt_kp = self._adam(tp.get("lr_kp_detector", 2e-4), milestones)
            self.opt_gen = self._adam(tp.get("lr_generator", 2e-4), milestones)
            self.opt_kp.build(self.models.kp_detector.trainable_variables)
            self.opt_gen.build(self.models.generator.trainable_variables)
            self.opt_disc = None
            self.loss_scale = DynamicLossScale() if options.mixed_precision else None
            if self.discriminator is not None:
                self.opt_disc = self._adam(tp.get("lr_discriminator", 2e-4), milestones)
                self.opt_disc.build(self.discriminator.trainable_variables)
            self.step = tf.Variable(
                0,
                dtype=tf.int64,
                trainable=False,
                name="step",
                aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
            )
        parts = {
            "kp_detector": _variables_by_name(self.models.kp_detector),
            "generator": _variables_by_name(self.models.generator),
            "optimizer_kp_detector": self.opt_kp,
            "optimizer_generator": self.opt_gen,
            "step": self.step,
        }
        if self.loss_scale is not None:
            parts.update(
                loss_scale=self.loss_scale.scale, loss_scale_steps=self.loss_scale.good_steps
            )
        if self.discriminator is not None:
            parts.update(
                discriminator=_variables_by_name(self.discriminator),
                optimizer_discriminator=self.opt_disc,
            )
        self.checkpoint = tf.train.Checkpoint(**parts)
        self._step_fn = tf.function(
            self._distributed_step, jit_compile=bool(options.xla), reduce_retracing=True
        )

    def _adam(self, lr: float, milestones: list[int]):
        import keras

        schedule = float(lr)
        if milestones:
            values = [float(lr) * 0.1**i for i in range(len(milestones) + 1)]
            schedule = keras.optimizers.schedules.PiecewiseConstantDecay(milestones, values)
        return keras.optimizers.Adam(schedule, beta_1=0.5, beta_2=0.999)

    # -- one replica's work

    def generator_losses(self, batch, step, transform=None):
        """Forward pass and the generator-side losses of one replica; returns (losses, out).

        ``transform``: ``None`` draws the equivariance transform from ``(seed, step)``;
        otherwise a dict of the global batch's transform parameters (``theta``,
        ``control_params``, ``control_points``, see :meth:`RandomTPS.from_params`).
        """
        import tensorflow as tf

        from .layers.precision import float_dtype
        from .losses import equivariance_losses, generator_gan_losses

        kp_net, gen = self.models.kp_detector, self.models.generator
        source, driving = batch["source"], batch["driving"]
        kp_source = kp_net(source, training=True)
        kp_driving = kp_net(driving, training=True)
        out = gen(source, kp_source=kp_source, kp_driving=kp_driving, training=True)
        out["kp_source"], out["kp_driving"] = kp_source, kp_driving
        prediction = tf.cast(out["prediction"], float_dtype())
        losses = {}
        w = self.weights
        if self.perceptual is not None:
            losses["perceptual"] = self.perceptual(prediction, driving)
        if self.discriminator is not None:
            kp_xy = tf.stop_gradient(kp_driving["value"])
            fake = self.discriminator(prediction, kp_xy, training=True)
            real = self.discriminator(driving, kp_xy, training=True)
            losses.update(
                generator_gan_losses(
                    fake, real, float(w["generator_gan"]), w.get("feature_matching")
                )
            )
        if self.use_equivariance:
            tps = self._replica_transform(driving, step, transform)
            frame = tps.transform_frame(driving, self.cfg.align_corners)
            kp_t = kp_net(frame, training=True)
            kp_t = {k: tf.cast(v, float_dtype()) for k, v in kp_t.items()}
            kp_d = {k: tf.cast(v, float_dtype()) for k, v in kp_driving.items()}
            losses.update(
                equivariance_losses(
                    kp_d,
                    kp_t,
                    tps,
                    float(w.get("equivariance_value", 0)),
                    float(w.get("equivariance_jacobian", 0)),
                )
            )
        return losses, out

    def _replica_transform(self, driving, step, transform=None):
        """This replica's share of the global batch's equivariance transforms.

        The transforms of a step are drawn for the whole global batch from ``(seed, step)``
        and each replica takes the rows of its own samples, so a step does not depend on how
        the batch is split over replicas or workers.
        """
        import tensorflow as tf

        from .losses import RandomTPS

        local = tf.shape(driving)[0]
        if transform is None:
            tparams = self.train_params.get("transform_params") or {}
            seed = tf.stack([tf.cast(self.options.seed, tf.int64), tf.cast(step, tf.int64)])
            tps = RandomTPS(
                local * self.replicas,
                tparams.get("sigma_affine", 0.05),
                tparams.get("sigma_tps"),
                tparams.get("points_tps"),
                seed,
            )
        else:
            tps = RandomTPS.from_params(**transform)
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        return tps.slice(tf.cast(replica, tf.int32) * local, local)

    def _apply(self, tape, loss, groups, apply: bool = True):
        """One backward pass for ``loss``; each (optimizer, variables) group takes its share.
        Returns the gradients (variables in group order); ``apply=False`` only computes them.

        Asking the tape once per optimizer would run the whole backward pass once per
        optimizer (the keypoint detector's gradients flow through the generator). Under mixed
        precision the loss is scaled by :class:`DynamicLossScale`.
        """
        import tensorflow as tf

        variables = [v for _, vs in groups for v in vs]
        if self.loss_scale is None:
            grads = tape.gradient(loss, variables)
        else:
            scale = self.loss_scale.value
            # Seeding the backward pass with the scale == differentiating loss·scale.
            grads = tape.gradient(loss, variables, output_gradients=scale)
            grads = [None if g is None else tf.cast(g, tf.float32) / scale for g in grads]
        if not apply:
            return grads

        if self.loss_scale is not None:
            # Optimizers all-reduce through merge_call, which cannot run inside tf.cond, so an
            # overflowing step is not skipped: its gradients are zeroed (Adam then moves by
            # its decayed momentum only) and the scale halves.
            finite = self.loss_scale.all_finite(grads)
            grads = [None if g is None else tf.where(finite, g, tf.zeros_like(g)) for g in grads]
            self.loss_scale.update(finite)
        start = 0
        for optimizer, vs in groups:
            optimizer.apply_gradients(zip(grads[start : start + len(vs)], vs))
            start += len(vs)
        return grads

    def replica_step(self, batch, step):
        """One replica's training step (see :meth:`replica_work`); returns (losses, visuals)."""
        return self.replica_work(batch, step)

    def replica_work(self, batch, step, transform=None, apply: bool = True):
        """One replica's training step: generator-side losses, one backward pass and the
        keypoint-detector and generator updates, then the discriminator's loss and update.

        With ``apply=False`` nothing is updated but the batch-norm statistics and the
        spectral-norm vectors (which the forward passes advance, as in the official code) and
        the gradients come back as a third value: ``{"kp_detector" | "generator" |
        "discriminator": [gradient per trainable variable]}``, each of this replica's loss
        divided by the number of replicas (their sum over replicas is the step's gradient).
        """
        import tensorflow as tf

        from .layers.precision import float_dtype
        from .losses import discriminator_loss

        kp_vars = self.models.kp_detector.trainable_variables
        gen_vars = self.models.generator.trainable_variables
        with tf.GradientTape() as tape:
            losses, out = self.generator_losses(batch, step, transform)
            total = tf.add_n(list(losses.values())) / self.replicas
        groups = [(self.opt_gen, gen_vars), (self.opt_kp, kp_vars)]
        grads = self._apply(tape, total, groups, apply)
        gradients = {"generator": grads[: len(gen_vars)], "kp_detector": grads[len(gen_vars) :]}
        if self.discriminator is not None:
            kp_xy = tf.stop_gradient(out["kp_driving"]["value"])
            pred = tf.stop_gradient(tf.cast(out["prediction"], float_dtype()))
            d_vars = self.discriminator.trainable_variables
            with tf.GradientTape() as tape:
                fake = self.discriminator(pred, kp_xy, training=True)
                real = self.discriminator(batch["driving"], kp_xy, training=True)
                d_loss = discriminator_loss(
                    fake, real, float(self.weights.get("discriminator_gan", 1))
                )
                scaled = d_loss / self.replicas
            gradients["discriminator"] = self._apply(tape, scaled, [(self.opt_disc, d_vars)], apply)
            losses["disc_gan"] = d_loss
        if not apply:
            zeros = {
                "generator": gen_vars,
                "kp_detector": kp_vars,
                "discriminator": self.discriminator.trainable_variables
                if self.discriminator is not None
                else [],
            }
            gradients = {
                k: [tf.zeros_like(v) if g is None else g for g, v in zip(gs, zeros[k])]
                for k, gs in gradients.items()
            }
            return losses, out, gradients
        visuals = {
            "prediction": tf.cast(out["prediction"], tf.float32),
            "kp_source": out["kp_source"]["value"],
            "kp_driving": out["kp_driving"]["value"],
        }
        if "occlusion_map" in out:
            visuals["occlusion_map"] = tf.cast(out["occlusion_map"], tf.float32)
        return losses, visuals

    def _distributed_step(self, batch):
        import tensorflow as tf

        step = self.step.read_value()
        losses, visuals = self.strategy.run(self.replica_step, args=(batch, step))
        mean = {
            k: self.strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None)
            for k, v in losses.items()
        }
        self.step.assign_add(1)
        return mean, visuals

    def _distributed_gradients(self, batch, transform):
        import tensorflow as tf

        step = self.step.read_value()

        def replica(batch, step, transform):
            losses, _, grads = self.replica_work(batch, step, transform, apply=False)
            return losses, grads

        losses, grads = self.strategy.run(replica, args=(batch, step, transform))
        mean = {
            k: self.strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None)
            for k, v in losses.items()
        }
        total = tf.nest.map_structure(
            lambda g: self.strategy.reduce(tf.distribute.ReduceOp.SUM, g, axis=None), grads
        )
        return mean, total

    def gradients(self, batch, transform=None) -> tuple[dict, dict]:
        """One step's losses and gradients, without updating the weights.

        Runs :meth:`replica_work` on every replica (the same code as :meth:`train_step`, with
        ``apply=False``); batch-norm statistics and spectral-norm vectors advance as in a
        training step, the step counter does not.

        Args:
            batch: ``{"source", "driving"}`` of the global batch (a distributed batch under
                several replicas, or plain (B, H, W, C) tensors).
            transform: ``None`` (draw from ``(seed, step)``) or the global batch's transform
                parameters ``{"theta", "control_params", "control_points"}``.

        Returns:
            ``(losses, gradients)``: the replica-mean losses and, per network, a
            ``{weight path below the network: gradient}`` dict of the summed gradients
            (:func:`fomm_tf.weights.relative_path`).
        """
        from .weights import relative_path

        if getattr(self, "_gradients_fn", None) is None:
            self._gradients_fn = tf_function(self._distributed_gradients)
        losses, grads = self._gradients_fn(batch, transform)
        nets = {"kp_detector": self.models.kp_detector, "generator": self.models.generator}
        if self.discriminator is not None:
            nets["discriminator"] = self.discriminator
        out = {
            name: {
                relative_path(v): g.numpy() for v, g in zip(net.trainable_variables, grads[name])
            }
            for name, net in nets.items()
        }
        return {k: v.numpy() for k, v in losses.items()}, out

    def train_step(self, batch) -> tuple[dict, dict]:
        return self._step_fn(batch)

    def local_visuals(self, visuals) -> dict:
        return {
            k: self.strategy.experimental_local_results(v)[0].numpy() for k, v in visuals.items()
        }


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
    gradient differently (measured on the fixture: one such window moves the keypoint
    detector's gradients by 1e-2). In float64 only the official side's float32 error remains,
    which is what the fixture's tolerances are set from. ``dtype="float32"`` runs the step
    as training does.

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
        dtype: ``"float64"`` (default) or ``"float32"``.

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
    import keras

    from .errors import InputError

    if dtype not in ("float32", "float64"):
        raise InputError(f"official_step: dtype must be float32 or float64, not {dtype!r}")
    floatx, policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx(dtype)
    keras.config.set_dtype_policy(dtype)
    try:
        return _official_step(config, checkpoint, inputs, vgg19_seed, dtype)
    finally:
        keras.config.set_floatx(floatx)
        keras.config.set_dtype_policy(policy)


def _official_step(config, checkpoint, inputs, vgg19_seed, dtype):
    import tensorflow as tf

    from .checkpoint import read_torch_checkpoint
    from .config import FommConfig, load_config
    from .errors import CheckpointError, InputError
    from .weights import load_state_dict, torch_gradients

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
    arrays = {k: np.asarray(inputs[k], dtype) for k in required}
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
    losses, grads = trainer.gradients(feed, transform)
    out = {k: float(v) for k, v in losses.items() if k != "disc_gan"}
    out["generator_total"] = float(sum(out.values()))
    if "disc_gan" in losses:
        out["disc_gan"] = float(losses["disc_gan"])
    gradients = {}
    for name, net in nets.items():
        for key, value in torch_gradients(net, grads[name]).items():
            gradients[f"{name}.{key}"] = value
    return out, gradients


# ------------------------------------------------------------------------------------------
# logging helpers


def summary_scalar(name: str, value: float, step: int) -> None:
    """A TensorBoard scalar, written with core TF only (no ``tensorboard`` package needed)."""
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2

    meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
        data_class=summary_pb2.DATA_CLASS_SCALAR,
    )
    tf.summary.write(name, tf.constant(float(value), tf.float32), step=step, metadata=meta)


def summary_image(name: str, image01: np.ndarray, step: int) -> None:
    """A TensorBoard image (H, W, 3) in [0, 1], written with core TF only."""
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2

    h, w = image01.shape[:2]
    png = tf.io.encode_png(np.round(np.clip(image01, 0, 1) * 255).astype(np.uint8))
    meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="images"),
        data_class=summary_pb2.DATA_CLASS_BLOB_SEQUENCE,
    )
    tensor = tf.stack([tf.constant(str(w)), tf.constant(str(h)), png])
    tf.summary.write(name, tensor, step=step, metadata=meta)


def draw_keypoints(image: np.ndarray, kp_xy: np.ndarray, radius: int = 2) -> np.ndarray:
    """Dots at (K, 2) keypoints in [-1, 1] on an (H, W, 3) [0, 1] image, rainbow colours."""
    import cv2

    img = np.ascontiguousarray(image.copy())
    h, w = img.shape[:2]
    k = len(kp_xy)
    for i, (x, y) in enumerate(kp_xy):
        hue = np.uint8([[[int(180 * i / max(k, 1)), 255, 255]]])
        colour = cv2.cvtColor(hue, cv2.COLOR_HSV2RGB)[0, 0] / 255.0
        centre = (int(round((x + 1) * 0.5 * (w - 1))), int(round((y + 1) * 0.5 * (h - 1))))
        cv2.circle(img, centre, radius, tuple(float(c) for c in colour), -1)
    return img


def image_grid(batch: dict, visuals: dict, rows: int = 4) -> np.ndarray:
    """Rows of [source+kp, driving+kp, prediction, occlusion map] as one (H', W', 3) image."""
    import cv2

    out = []
    for i in range(min(rows, len(visuals["prediction"]))):
        pred = np.clip(visuals["prediction"][i], 0, 1)
        h, w = pred.shape[:2]
        cells = [
            draw_keypoints(batch["source"][i], visuals["kp_source"][i]),
            draw_keypoints(batch["driving"][i], visuals["kp_driving"][i]),
            pred,
        ]
        if "occlusion_map" in visuals:
            occ = cv2.resize(visuals["occlusion_map"][i][..., 0], (w, h))
            cells.append(np.repeat(occ[..., None], 3, axis=-1))
        out.append(np.concatenate(cells, axis=1))
    return np.concatenate(out, axis=0).astype(np.float32)


def models_from_checkpoint(config, checkpoint: str | os.PathLike):
    """The inference networks (:class:`fomm_tf.models.Models`) of a training checkpoint.

    ``checkpoint``: a ``LOG_DIR/checkpoints/ckpt-N`` prefix written by ``fomm train``, or the
    folder (its newest checkpoint). Optimizer slots and the discriminator are not read.
    """
    import tensorflow as tf

    from .errors import InputError
    from .models import build_models

    path = str(checkpoint)
    if Path(path).is_dir():
        path = tf.train.latest_checkpoint(path)
        if path is None:
            raise InputError(f"{checkpoint}: no training checkpoint in this folder")
    models = build_models(config)
    ckpt = tf.train.Checkpoint(
        kp_detector=_variables_by_name(models.kp_detector),
        generator=_variables_by_name(models.generator),
    )
    try:
        ckpt.restore(path).expect_partial().assert_existing_objects_matched()
    except (tf.errors.NotFoundError, AssertionError, ValueError) as exc:
        msg = " ".join(str(exc).split())[:200]
        raise InputError(
            f"{checkpoint}: not a fomm train checkpoint of this config ({msg})"
        ) from None
    return models


def write_export(models, discriminator, cfg, export_dir: Path) -> Path:
    """Write ``export_dir`` (weights + config) through a temp dir and a rename."""
    from .models import save_weights

    export_dir = Path(export_dir)
    export_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".export-tmp-", dir=export_dir.parent))
    try:
        save_weights(models, tmp / "fomm.weights.h5")
        if discriminator is not None:
            discriminator.save_weights(str(tmp / "discriminator.weights.h5"))
        (tmp / "config.yaml").write_text(cfg.to_yaml())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        for f in tmp.iterdir():
            os.chmod(f, 0o666 & ~umask)
        old = None
        if export_dir.exists():
            old = export_dir.parent / f".export-old-{os.getpid()}-{time.time_ns()}"
            os.replace(export_dir, old)
        os.replace(tmp, export_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return export_dir


# ------------------------------------------------------------------------------------------
# the loop


def train(options: TrainOptions, keep_alive: list | None = None) -> dict:
    """Train (or resume) as ``options`` say; returns the last step's mean losses.

    ``keep_alive``: a list the input iterator is appended to, for a caller that ends the
    process without destroying it (:func:`run_train`).
    """
    import tensorflow as tf

    from .config import load_config
    from .data.pipeline import PairSampler, pair_dataset, scan_split
    from .errors import InputError

    strategy = make_strategy(options.cpu_replicas)
    # tf.distribute.MultiWorkerMirroredStrategy's class is named CollectiveAllReduceStrategy.
    name = type(strategy).__name__
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        name = "MultiWorkerMirroredStrategy"
    log.info("strategy: %s, replicas: %d", name, strategy.num_replicas_in_sync)
    if strategy.num_replicas_in_sync > 1:
        log.info(
            "batch norm: %s",
            "synchronized across replicas"
            if options.sync_batch_norm
            else "per replica (--no-sync-batch-norm)",
        )
    cfg = load_config(options.config)
    dp = cfg.raw.get("dataset_params") or {}
    tp = cfg.raw.get("train_params") or {}
    data = options.data or dp.get("root_dir")
    if not data:
        raise InputError("no dataset: pass --data or set dataset_params.root_dir")
    index = scan_split(data, "train", bool(dp.get("id_sampling", False)))
    sampler = PairSampler(
        index,
        dp.get("frame_shape", [*cfg.image_size, 3]),
        dp.get("augmentation_params"),
        tp.get("num_repeats", 1),
        options.seed,
        cache_bytes=max(0, int(options.cache_mb)) << 20,
    )
    global_batch = int(options.batch_size or tp.get("batch_size", 1))
    if global_batch % strategy.num_replicas_in_sync:
        raise InputError(
            f"batch size {global_batch} is not a multiple of the "
            f"{strategy.num_replicas_in_sync} replicas"
        )
    steps_per_epoch = max(1, sampler.epoch_length // global_batch)
    total_steps = int(tp.get("num_epochs", 1)) * steps_per_epoch
    if options.max_steps is not None:
        total_steps = int(options.max_steps)
    ckpt_every = options.checkpoint_every or int(tp.get("checkpoint_freq", 1)) * steps_per_epoch

    trainer = Trainer(cfg, strategy, options, steps_per_epoch)
    log_dir = Path(options.log_dir)
    out_dir = _worker_dir(strategy, log_dir)
    chief = _is_chief(strategy)
    manager = tf.train.CheckpointManager(
        trainer.checkpoint, str(out_dir / "checkpoints"), max_to_keep=options.keep_checkpoints
    )
    if manager.latest_checkpoint:
        trainer.checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        log.info("resumed from %s at step %d", manager.latest_checkpoint, int(trainer.step.numpy()))
    start = int(trainer.step.numpy())
    log.info(
        "global batch %d (%d per replica), %d steps per epoch, steps %d → %d",
        global_batch,
        global_batch // strategy.num_replicas_in_sync,
        steps_per_epoch,
        start,
        total_steps,
    )
    if start >= total_steps:
        log.info("nothing to do: already at step %d of %d", start, total_steps)
        if chief:
            write_export(trainer.models, trainer.discriminator, cfg, log_dir / "export")
        return {}

    dataset = strategy.distribute_datasets_from_function(
        lambda ctx: pair_dataset(sampler, global_batch, start, ctx, end_step=total_steps)
    )
    writer = tf.summary.create_file_writer(str(out_dir / "tensorboard")) if chief else None
    bar = None
    if options.progress and chief:
        from tqdm import tqdm

        bar = tqdm(total=total_steps, initial=start, unit="step", dynamic_ncols=True)
    eval_videos = options.eval_videos or (cfg.raw.get("reconstruction_params") or {}).get(
        "num_videos"
    )
    last: dict = {}
    skipped_logged = 0
    step = start
    iterator = iter(dataset)
    if keep_alive is not None:
        keep_alive.append(iterator)
    t0 = time.perf_counter()
    first_done = last_done = None  # when the first and the latest step's losses were read
    try:
        while step < total_steps:
            batch = next(iterator)
            losses, visuals = trainer.train_step(batch)
            values = {k: float(v) for k, v in losses.items()}
            step += 1
            last_done = time.perf_counter()
            first_done = first_done or last_done
            if not all(math.isfinite(v) for v in values.values()):
                bad = ", ".join(f"{k}={v}" for k, v in values.items() if not math.isfinite(v))
                kept = manager.latest_checkpoint or "none"
                raise NonFiniteLossError(
                    f"non-finite loss at step {step} ({bad}); stopped. "
                    f"Last good checkpoint kept: {kept}"
                )
            last = values
            if bar is not None:
                bar.update(1)
                bar.set_postfix({_short(k): f"{v:.3g}" for k, v in _ordered(values)})
            if sampler.num_skipped > skipped_logged:
                skipped_logged = sampler.num_skipped
                log.warning("%d unreadable videos skipped so far", skipped_logged)
            if writer is not None and (step % options.log_every == 0 or step == total_steps):
                with writer.as_default():
                    for k, v in values.items():
                        summary_scalar(f"loss/{k}", v, step)
                    summary_scalar(
                        "loss/total_generator",
                        sum(v for k, v in values.items() if k != "disc_gan"),
                        step,
                    )
                    lr = trainer.opt_gen.learning_rate
                    summary_scalar("lr/generator", np.asarray(lr), step)
                    elapsed = time.perf_counter() - t0
                    summary_scalar("perf/steps_per_second", (step - start) / elapsed, step)
            if (
                writer is not None
                and options.image_every
                and (step % options.image_every == 0 or step == start + 1)
            ):
                local = {
                    k: strategy.experimental_local_results(v)[0].numpy() for k, v in batch.items()
                }
                grid = image_grid(local, trainer.local_visuals(visuals))
                with writer.as_default():
                    summary_image("source|driving|prediction|occlusion", grid, step)
                if chief:  # also a PNG, for a look without TensorBoard
                    from .media import write_image

                    write_image(log_dir / "samples" / f"step-{step:07d}.png", grid)
            if options.eval_every and step % options.eval_every == 0 and chief:
                _evaluate(trainer, data, eval_videos, writer, step)
            if step % ckpt_every == 0 or step == total_steps:
                path = manager.save(checkpoint_number=step)
                if chief:
                    write_export(trainer.models, trainer.discriminator, cfg, log_dir / "export")
                    log.info("step %d: checkpoint %s, export %s", step, path, log_dir / "export")
                else:
                    write_export(trainer.models, trainer.discriminator, cfg, out_dir / "export")
    finally:
        if bar is not None:
            bar.close()
        if writer is not None:
            writer.flush()
    if sampler.num_skipped:
        log.warning("%d unreadable videos were skipped", sampler.num_skipped)
    log.info("done at step %d: %s", step, ", ".join(f"{k} {v:.4g}" for k, v in _ordered(last)))
    if last_done is not None and step - start > 1:
        # Everything the loop does between steps counts (input, summaries, image grids,
        # checkpoints at their intervals); the first step (tracing) does not.
        log.info(
            "loop time: %.4f s/step over steps %d-%d (first step %.1f s)",
            (last_done - first_done) / (step - start - 1),
            start + 2,
            step,
            first_done - t0,
        )
    return last


def _evaluate(trainer: Trainer, data, num_videos, writer, step: int) -> None:
    from .evaluate import reconstruction_l1

    try:
        result = reconstruction_l1(trainer.models, data, num_videos)
    except Exception as exc:  # evaluation must not kill a long training run
        log.warning("step %d: reconstruction evaluation failed: %s", step, exc)
        return
    log.info(
        "step %d: reconstruction L1 %.4f over %d videos (%d frames)",
        step,
        result["l1"],
        result["videos"],
        result["frames"],
    )
    if writer is not None:
        with writer.as_default():
            summary_scalar("eval/reconstruction_l1", result["l1"], step)


def _ordered(values: dict):
    return sorted(
        values.items(),
        key=lambda kv: (LOSS_ORDER.index(kv[0]) if kv[0] in LOSS_ORDER else 99, kv[0]),
    )


def _short(name: str) -> str:
    return {
        "perceptual": "perc",
        "equivariance_value": "eq_v",
        "equivariance_jacobian": "eq_j",
        "feature_matching": "fm",
    }.get(name, name)
