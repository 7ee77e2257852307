"""The training step (paper sec. 3.3): losses, gradients and optimizer updates of one global
batch, run on every replica by :class:`Trainer`."""

from __future__ import annotations

import logging

from ..nets.layers.precision import precision_policy
from .distribute import grappler_off, mean_aggregation_creator, tf_function, variables_by_name
from .loss_scale import DynamicLossScale
from .options import TrainOptions

log = logging.getLogger(__name__)


class Trainer:
    """Networks, optimizers, losses and the distributed step for one config."""

    def __init__(self, cfg, strategy, options: TrainOptions, steps_per_epoch: int):
        import tensorflow as tf

        from ..losses import (
            MultiScaleDiscriminator,
            PerceptualLoss,
            perceptual_features,
        )
        from ..nets.layers.batchnorm import set_batch_norm_sync
        from ..nets.models import build_models

        self.cfg, self.strategy, self.options = cfg, strategy, options
        tp = cfg.raw.get("train_params") or {}
        self.train_params = tp
        self.weights = tp.get("loss_weights") or {}
        self.replicas = strategy.num_replicas_in_sync
        self.global_batch = int(options.batch_size or tp.get("batch_size", 1))
        self.steps_per_epoch = steps_per_epoch
        w = self.weights
        self.use_gan = bool(w.get("generator_gan", 0))
        self.use_perceptual = bool(sum(w.get("perceptual") or [0]))
        self.use_equivariance = bool(
            w.get("equivariance_value", 0) or w.get("equivariance_jacobian", 0)
        )
        with (
            precision_policy(options.precision),  # layers take it when built; restored after
            strategy.scope(),
            tf.variable_creator_scope(mean_aggregation_creator),
        ):
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
                vgg = perceptual_features(
                    options.perceptual_features, options.vgg19_weights, seed=options.seed
                )
                if options.perceptual_features == "pixels":
                    log.info("perceptual loss: plain L1 image pyramid (--perceptual-features)")
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
            # float16 needs loss scaling (its exponent is 5 bits); bfloat16 has float32's range.
            self.loss_scale = DynamicLossScale() if options.precision == "float16" else None
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
            "kp_detector": variables_by_name(self.models.kp_detector),
            "generator": variables_by_name(self.models.generator),
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
                discriminator=variables_by_name(self.discriminator),
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

        from ..losses import equivariance_losses, generator_gan_losses
        from ..nets.layers.precision import float_dtype

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
            frame = tps.transform_frame(driving, self.cfg.align_corners, self.cfg.centred_grid)
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

        from ..losses import RandomTPS

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

        from ..losses import discriminator_loss
        from ..nets.layers.precision import float_dtype

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
            (:func:`fomm_tf.nets.weights.relative_path`).
        """
        from ..nets.weights import relative_path

        if getattr(self, "_gradients_fn", None) is None:
            self._gradients_fn = tf_function(self._distributed_gradients)
        with grappler_off():
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
        with grappler_off():
            return self._step_fn(batch)

    def local_visuals(self, visuals) -> dict:
        return {
            k: self.strategy.experimental_local_results(v)[0].numpy() for k, v in visuals.items()
        }
