"""The float type of the numerically sensitive parts (coordinates, soft-argmax, sampling, losses).

It is float32 — also under ``mixed_float16``, where only convolutions run in float16 — unless
Keras's ``floatx`` is ``float64``: then the whole computation runs in float64 (used to check
training against the official code below float32's noise, see
:func:`fomm_tf.training.official_step`).
"""

from __future__ import annotations

import contextlib

import keras
import tensorflow as tf


def float_dtype() -> tf.DType:
    """``tf.float64`` when ``keras.config.floatx()`` is ``"float64"``, else ``tf.float32``."""
    return tf.float64 if keras.config.floatx() == "float64" else tf.float32


@contextlib.contextmanager
def dtype_policy(policy):
    """Keras's global dtype policy set to ``policy`` inside the block, restored after it."""
    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)
