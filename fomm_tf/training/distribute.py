"""Strategy and replicas: which ``tf.distribute`` strategy runs, who is chief, where each
worker writes, and how variables are mirrored and checkpointed."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path


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
        from ..errors import InputError

        raise InputError("TF_CONFIG is not valid JSON") from None
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


@contextlib.contextmanager
def grappler_off():
    """Grappler's graph rewrites off, on CPU only, for the graphs run inside the block.

    Measured on CPU: Grappler doubles the first-step compile time of the training step for no
    step-time gain, and two traces of the same step then round differently (the replica-split
    and sync-batch-norm tests compare such traces exactly). The trainer runs its step
    functions inside this block; everything else in the process keeps TF's defaults.
    """
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        yield
        return
    before = tf.config.optimizer.get_experimental_options().get("disable_meta_optimizer", False)
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": before})


def make_strategy(cpu_replicas: int = 0):
    """MultiWorkerMirroredStrategy from TF_CONFIG, else MirroredStrategy (GPUs, CPU, or N CPUs)."""
    import tensorflow as tf

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


def is_chief(strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    return task_type == "chief" or (
        task_type == "worker" and task_id == 0 and "chief" not in resolver.cluster_spec().as_dict()
    )


def worker_dir(strategy, log_dir: Path) -> Path:
    """The chief writes into LOG_DIR; other workers into LOG_DIR/worker-<id> (all must save)."""
    if is_chief(strategy):
        return log_dir
    resolver = strategy.cluster_resolver
    return log_dir / f"{resolver.task_type}-{resolver.task_id}"


def mean_aggregation_creator(next_creator, **kwargs):
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


def variables_by_name(model) -> dict:
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
