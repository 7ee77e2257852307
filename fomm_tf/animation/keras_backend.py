"""The Keras backend of :class:`~.animator.Animator`: the networks, compiled for a fixed batch."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from ..nets.models import Models
from .motion import MotionOptions

KpDict = dict[str, np.ndarray]


class KerasBackend:
    """Runs the Keras networks, compiled with ``tf.function`` for a fixed batch size.

    Args:
        models: the networks.
        batch_size: frames per call; shorter batches are padded so nothing retraces.
        jit_compile: compile with XLA.
    """

    def __init__(self, models: Models, batch_size: int = 8, jit_compile: bool = False):
        self.models = models
        self.batch_size = int(batch_size)
        self.image_size = models.config.image_size
        self._kp_fn = tf.function(
            lambda x: models.kp_detector(x, training=False),
            jit_compile=jit_compile,
            reduce_retracing=True,
        )
        self._gen_fn = tf.function(self._generate, jit_compile=jit_compile, reduce_retracing=True)
        self._source = self._cache = self._kp_source = None

    def _generate(self, source, cache, kp_source, kp_driving):
        out = self.models.generator.animate_cached(
            source, cache, kp_source, kp_driving, with_deformed=False
        )
        return tf.cast(out["prediction"], tf.float32)  # bfloat16 / float16 compute → float32

    def prepare(self, source: np.ndarray) -> KpDict:
        self._source = tf.convert_to_tensor(source, tf.float32)
        self._cache = self.models.generator.encode_source(self._source)
        self._kp_source = self.models.kp_detector(self._source)
        return {k: v.numpy() for k, v in self._kp_source.items()}

    def motion_options(self) -> MotionOptions:
        """The model config's motion options (``animate_params``)."""
        return MotionOptions.from_config(self.models.config.raw)

    def _padded(self, fn: Callable, batch: dict | np.ndarray, n: int):
        pad = self.batch_size - n
        if pad > 0:
            batch = tf.nest.map_structure(
                lambda a: np.concatenate([a, np.repeat(a[-1:], pad, axis=0)]), batch
            )
        return tf.nest.map_structure(lambda t: np.asarray(t)[:n], fn(batch))

    def kp(self, frames: np.ndarray) -> KpDict:
        return self._padded(self._kp_fn, np.asarray(frames, np.float32), len(frames))

    def generate(self, kp_driving: KpDict) -> np.ndarray:
        if self._cache is None:
            raise RuntimeError("call prepare(source) first")
        fn = lambda kp: self._gen_fn(self._source, self._cache, self._kp_source, kp)  # noqa: E731
        kp = {k: np.asarray(v, np.float32) for k, v in kp_driving.items()}
        return self._padded(fn, kp, len(kp["value"]))

    @classmethod
    def load(
        cls,
        config: str,
        checkpoint: str | None,
        *,
        align_corners: bool | None = None,
        precision: str | None = None,
        batch_size: int = 8,
        jit_compile: bool = False,
    ) -> KerasBackend:
        """The networks of ``config`` with the weights of ``checkpoint`` (``None``: random)."""
        from ..nets.models import load_models

        models = load_models(checkpoint, config, align_corners=align_corners, precision=precision)
        return cls(models, batch_size=batch_size, jit_compile=jit_compile)
