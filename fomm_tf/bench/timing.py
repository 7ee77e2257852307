"""Timing helpers shared by every benchmark: medians and the matmul calibration unit.

Benchmarks report time in units of one float32 2048×2048 matmul measured in the same run
(the faster of numpy and TensorFlow), so figures compare across machines as ratios.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``), for the header of a benchmark's table."""
    import platform

    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "CPU"


def median_ms(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in milliseconds after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000.0 * float(np.median(times))


def matmul_2048_ms(repeats: int = 5) -> float:
    """Median ms of one float32 2048² @ 2048² product, the faster of numpy and TF."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    a = rng.random((2048, 2048), dtype=np.float32)
    b = rng.random((2048, 2048), dtype=np.float32)
    ta, tb = tf.constant(a), tf.constant(b)
    numpy_ms = median_ms(lambda: a @ b, repeats, warmup=2)
    tf_ms = median_ms(lambda: tf.linalg.matmul(ta, tb).numpy(), repeats, warmup=2)
    return min(numpy_ms, tf_ms)


def random_source(models, seed: int = 0) -> tuple[Any, dict, dict]:
    """A random source frame at the model's size, its keypoints and its encoder cache: the
    source-only work an animation does once, for benchmarks that time the per-frame part."""
    import tensorflow as tf

    h, w = models.config.image_size
    rng = np.random.default_rng(seed)
    source = tf.constant(rng.random((1, h, w, 3), np.float32))
    return source, models.kp_detector(source), models.generator.encode_source(source)


def random_trainer(cfg, batch: int, precision: str = "float32", xla: bool = False, seed: int = 0):
    """A :class:`~fomm_tf.training.Trainer` of config ``cfg`` (random VGG19 features, one
    device) and a random ``source``/``driving`` batch at its size: what the training
    benchmarks time a step of."""
    import tensorflow as tf

    from ..training import Trainer, TrainOptions, make_strategy

    opts = TrainOptions(
        config=cfg.name,
        data=None,
        log_dir="",
        vgg19_weights="random",
        batch_size=batch,
        progress=False,
        precision=precision,
        xla=xla,
    )
    trainer = Trainer(cfg, make_strategy(), opts, steps_per_epoch=10**6)
    h, w = cfg.image_size
    rng = np.random.default_rng(seed)
    data = {k: tf.constant(rng.random((batch, h, w, 3), np.float32)) for k in ("source", "driving")}
    return trainer, data
