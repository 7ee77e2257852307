"""The training loop of ``fomm train`` / ``train_tf.py``: data, steps, checkpoints, exports.

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
is plain batch norm, see :mod:`fomm_tf.nets.layers.batchnorm`); ``--no-sync-batch-norm`` keeps
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

import logging
import math
import os
import time
from pathlib import Path

import numpy as np

from .distribute import is_chief, make_strategy, variables_by_name, worker_dir
from .options import TrainOptions
from .step import Trainer
from .summaries import image_grid, summary_image, summary_scalar

log = logging.getLogger(__name__)

LOSS_ORDER = (
    "perceptual",
    "gen_gan",
    "feature_matching",
    "equivariance_value",
    "equivariance_jacobian",
    "disc_gan",
)


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


def models_from_checkpoint(config, checkpoint: str | os.PathLike):
    """The inference networks (:class:`fomm_tf.nets.models.Models`) of a training checkpoint.

    ``checkpoint``: a ``LOG_DIR/checkpoints/ckpt-N`` prefix written by ``fomm train``, or the
    folder (its newest checkpoint). Optimizer slots and the discriminator are not read.
    """
    import tensorflow as tf

    from ..errors import InputError
    from ..nets.models import build_models

    path = str(checkpoint)
    if Path(path).is_dir():
        path = tf.train.latest_checkpoint(path)
        if path is None:
            raise InputError(f"{checkpoint}: no training checkpoint in this folder")
    models = build_models(config)
    ckpt = tf.train.Checkpoint(
        kp_detector=variables_by_name(models.kp_detector),
        generator=variables_by_name(models.generator),
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
    """Write ``export_dir`` (weights + config), replacing the previous one atomically."""
    from ..media.atomic import atomic_dir
    from ..nets.models import save_weights

    with atomic_dir(export_dir) as tmp:
        save_weights(models, tmp / "fomm.weights.h5")
        if discriminator is not None:
            discriminator.save_weights(str(tmp / "discriminator.weights.h5"))
        (tmp / "config.yaml").write_text(cfg.to_yaml())
    return Path(export_dir)


def train(options: TrainOptions, keep_alive: list | None = None) -> dict:
    """Train (or resume) as ``options`` say; returns the last step's mean losses.

    ``keep_alive``: a list the input iterator is appended to, for a caller that ends the
    process without destroying it (:func:`fomm_tf.commands.train.run_train`).
    """
    import tensorflow as tf

    from ..config import load_config
    from ..data.pipeline import PairSampler, pair_dataset, scan_split
    from ..errors import InputError

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
    out_dir = worker_dir(strategy, log_dir)
    chief = is_chief(strategy)
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

    def make_dataset(ctx=None):
        return pair_dataset(sampler, global_batch, start, ctx, end_step=total_steps)

    if strategy.num_replicas_in_sync == 1 and not tf.config.list_logical_devices("GPU"):
        # One CPU replica: batches go straight to the step. tf.distribute's input wrapper
        # builds a GeneratorDataset, whose kernel pins glibc's mmap threshold at 128 KiB for
        # the whole process (TF's "Python 3.11 memory patch"); every tensor above it is then
        # mapped and unmapped each step: 125 000 page faults and 1.3-1.6x the step time.
        dataset = make_dataset()
    else:
        dataset = strategy.distribute_datasets_from_function(make_dataset)
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
                    from ..media.images import write_image

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
    from ..evaluate import reconstruction_l1

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
