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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@dataclass
class RunPlan:
    """What one run does: the config, its data and the steps to take."""

    cfg: Any
    data: str
    sampler: Any
    global_batch: int
    steps_per_epoch: int
    total_steps: int
    checkpoint_every: int
    eval_videos: int | None


def train(options: TrainOptions, keep_alive: list | None = None) -> dict:
    """Train (or resume) as ``options`` say; returns the last step's mean losses.

    ``keep_alive``: a list the input iterator is appended to, for a caller that ends the
    process without destroying it (:func:`fomm_tf.commands.train.run_train`).
    """
    strategy = make_strategy(options.cpu_replicas)
    _log_strategy(strategy, options)
    plan = plan_run(options, strategy)
    trainer = Trainer(plan.cfg, strategy, options, plan.steps_per_epoch)
    log_dir = Path(options.log_dir)
    out_dir = worker_dir(strategy, log_dir)
    manager = restore(trainer, out_dir, options.keep_checkpoints)
    start = int(trainer.step.numpy())
    log.info(
        "global batch %d (%d per replica), %d steps per epoch, steps %d → %d",
        plan.global_batch,
        plan.global_batch // strategy.num_replicas_in_sync,
        plan.steps_per_epoch,
        start,
        plan.total_steps,
    )
    if start >= plan.total_steps:
        log.info("nothing to do: already at step %d of %d", start, plan.total_steps)
        if is_chief(strategy):
            write_export(trainer.models, trainer.discriminator, plan.cfg, log_dir / "export")
        return {}
    iterator = iter(input_dataset(strategy, plan, start))
    if keep_alive is not None:
        keep_alive.append(iterator)
    return run_steps(trainer, plan, options, iterator, manager, start, log_dir, out_dir)


def _log_strategy(strategy, options: TrainOptions) -> None:
    import tensorflow as tf

    # tf.distribute.MultiWorkerMirroredStrategy's class is named CollectiveAllReduceStrategy.
    name = type(strategy).__name__
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        name = "MultiWorkerMirroredStrategy"
    log.info("strategy: %s, replicas: %d", name, strategy.num_replicas_in_sync)
    if options.precision_why:
        log.info(
            "precision: %s (%s; --precision to choose)", options.precision, options.precision_why
        )
    elif options.precision:
        log.info("precision: %s", options.precision)
    if strategy.num_replicas_in_sync > 1:
        log.info(
            "batch norm: %s",
            "synchronized across replicas"
            if options.sync_batch_norm
            else "per replica (--no-sync-batch-norm)",
        )


def plan_run(options: TrainOptions, strategy) -> RunPlan:
    """The config, the training split's sampler, the global batch and the step counts."""
    from ..config import load_config
    from ..data.pipeline import PairSampler, scan_split
    from ..errors import InputError

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
    eval_videos = options.eval_videos or (cfg.raw.get("reconstruction_params") or {}).get(
        "num_videos"
    )
    return RunPlan(
        cfg, data, sampler, global_batch, steps_per_epoch, total_steps, ckpt_every, eval_videos
    )


def restore(trainer: Trainer, out_dir: Path, keep: int):
    """The checkpoint manager of ``out_dir/checkpoints``, the newest checkpoint restored."""
    import tensorflow as tf

    manager = tf.train.CheckpointManager(
        trainer.checkpoint, str(out_dir / "checkpoints"), max_to_keep=keep
    )
    if manager.latest_checkpoint:
        trainer.checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        log.info("resumed from %s at step %d", manager.latest_checkpoint, int(trainer.step.numpy()))
    return manager


def input_dataset(strategy, plan: RunPlan, start: int):
    """The (distributed) dataset of batches from step ``start`` to the last."""
    import tensorflow as tf

    from ..data.pipeline import pair_dataset

    def make_dataset(ctx=None):
        return pair_dataset(plan.sampler, plan.global_batch, start, ctx, end_step=plan.total_steps)

    if strategy.num_replicas_in_sync == 1 and not tf.config.list_logical_devices("GPU"):
        # One CPU replica: batches go straight to the step. tf.distribute's input wrapper
        # builds a GeneratorDataset, whose kernel pins glibc's mmap threshold at 128 KiB for
        # the whole process (TF's "Python 3.11 memory patch"); every tensor above it is then
        # mapped and unmapped each step: 125 000 page faults and 1.3-1.6x the step time.
        return make_dataset()
    return strategy.distribute_datasets_from_function(make_dataset)


def run_steps(trainer, plan, options, iterator, manager, start, log_dir, out_dir) -> dict:
    """Steps ``start`` → ``plan.total_steps``: losses, summaries, evaluations, checkpoints."""
    import tensorflow as tf

    chief = is_chief(trainer.strategy)
    writer = tf.summary.create_file_writer(str(out_dir / "tensorboard")) if chief else None
    bar = None
    if options.progress and chief:
        from tqdm import tqdm

        bar = tqdm(total=plan.total_steps, initial=start, unit="step", dynamic_ncols=True)
    last: dict = {}
    skipped_logged = 0
    step = start
    t0 = time.perf_counter()
    first_done = last_done = None  # when the first and the latest step's losses were read
    first_cpu = last_cpu = 0.0  # the process's CPU time (all threads) at those moments
    try:
        while step < plan.total_steps:
            batch = next(iterator)
            losses, visuals = trainer.train_step(batch)
            values = {k: float(v) for k, v in losses.items()}
            step += 1
            last_done, last_cpu = time.perf_counter(), time.process_time()
            if first_done is None:
                first_done, first_cpu = last_done, last_cpu
            check_finite(values, step, manager)
            last = values
            if bar is not None:
                bar.update(1)
                bar.set_postfix({_short(k): f"{v:.3g}" for k, v in _ordered(values)})
            if plan.sampler.num_skipped > skipped_logged:
                skipped_logged = plan.sampler.num_skipped
                log.warning("%d unreadable videos skipped so far", skipped_logged)
            if writer is not None and (step % options.log_every == 0 or step == plan.total_steps):
                write_scalars(writer, trainer, values, step, (step - start) / (last_done - t0))
            if writer is not None and options.image_every:
                if step % options.image_every == 0 or step == start + 1:
                    write_images(writer, trainer, batch, visuals, step, log_dir if chief else None)
            if options.eval_every and step % options.eval_every == 0 and chief:
                _evaluate(trainer, plan.data, plan.eval_videos, writer, step)
            if step % plan.checkpoint_every == 0 or step == plan.total_steps:
                save(trainer, plan.cfg, manager, step, log_dir if chief else out_dir, chief)
    finally:
        if bar is not None:
            bar.close()
        if writer is not None:
            writer.flush()
    first = None if first_done is None else (first_done, first_cpu)
    _log_done(plan.sampler, step, start, last, t0, first, (last_done, last_cpu))
    return last


def check_finite(values: dict[str, float], step: int, manager) -> None:
    """A non-finite loss stops the run; the last good checkpoint is kept."""
    if all(math.isfinite(v) for v in values.values()):
        return
    bad = ", ".join(f"{k}={v}" for k, v in values.items() if not math.isfinite(v))
    kept = manager.latest_checkpoint or "none"
    raise NonFiniteLossError(
        f"non-finite loss at step {step} ({bad}); stopped. Last good checkpoint kept: {kept}"
    )


def write_scalars(writer, trainer: Trainer, values: dict, step: int, steps_per_s: float) -> None:
    """The losses, their generator total, the learning rate and the step rate."""
    with writer.as_default():
        for k, v in values.items():
            summary_scalar(f"loss/{k}", v, step)
        summary_scalar(
            "loss/total_generator", sum(v for k, v in values.items() if k != "disc_gan"), step
        )
        summary_scalar("lr/generator", np.asarray(trainer.opt_gen.learning_rate), step)
        summary_scalar("perf/steps_per_second", steps_per_s, step)


def write_images(writer, trainer: Trainer, batch, visuals, step: int, png_dir) -> None:
    """source | driving | prediction | occlusion of the first replica's batch; also a PNG in
    ``png_dir/samples`` (the chief), for a look without TensorBoard."""
    local = {k: trainer.strategy.experimental_local_results(v)[0].numpy() for k, v in batch.items()}
    grid = image_grid(local, trainer.local_visuals(visuals))
    with writer.as_default():
        summary_image("source|driving|prediction|occlusion", grid, step)
    if png_dir is not None:
        from ..media.images import write_image

        write_image(Path(png_dir) / "samples" / f"step-{step:07d}.png", grid)


def save(trainer: Trainer, cfg, manager, step: int, export_root: Path, chief: bool) -> None:
    """A checkpoint, and the export (``export_root/export``: the chief's log dir, or a
    worker's own folder)."""
    path = manager.save(checkpoint_number=step)
    write_export(trainer.models, trainer.discriminator, cfg, export_root / "export")
    if chief:
        log.info("step %d: checkpoint %s, export %s", step, path, export_root / "export")


def _log_done(sampler, step, start, last, t0, first, latest) -> None:
    """The end of the run in the log: skipped videos, last losses, and the loop's time per
    step; ``first`` and ``latest`` are (wall, CPU) times when the first and the latest step's
    losses were read (``first`` None: no step ran)."""
    if sampler.num_skipped:
        log.warning("%d unreadable videos were skipped", sampler.num_skipped)
    log.info("done at step %d: %s", step, ", ".join(f"{k} {v:.4g}" for k, v in _ordered(last)))
    if first is not None and step - start > 1:
        # Everything the loop does between steps counts (input, summaries, image grids,
        # checkpoints at their intervals); the first step (tracing) does not.
        # CPU time (all threads): the loop's cost even where other work shares the machine.
        log.info(
            "loop time: %.4f s/step, CPU %.4f s/step over steps %d-%d (first step %.1f s)",
            (latest[0] - first[0]) / (step - start - 1),
            (latest[1] - first[1]) / (step - start - 1),
            start + 2,
            step,
            first[0] - t0,
        )


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
