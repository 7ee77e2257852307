"""Batch normalisation with the official code's training statistics, synchronized across replicas.

The official networks use ``SynchronizedBatchNorm2d``: in training, batch statistics over every
device's share of the batch (biased variance for normalising, eps 1e-5), running statistics
updated with momentum 0.1 and the *unbiased* batch variance; in evaluation the running
statistics. :class:`BatchNorm` is a Keras ``BatchNormalization`` (same weights, same names,
same evaluation path, same normalisation arithmetic) whose training path does the same:

* statistics over the global batch when a ``tf.distribute`` strategy runs more than one
  replica in sync (``MirroredStrategy`` over GPUs, ``MultiWorkerMirroredStrategy``): the
  per-channel sums and counts are all-reduced, then the centred squares (two passes, as
  ``tf.nn.moments``, rather than ``E[x²] − E[x]²``, which loses precision in float32). The
  all-reduce is differentiable, so the gradients equal those of one replica on the whole
  batch. With one replica (or outside a strategy) nothing is all-reduced: the layer traces
  exactly the ops of plain batch norm, decided in Python at trace time;
* the moving variance follows torch: it is updated with the unbiased batch variance
  ``var·n/(n − 1)`` (``n`` values per channel over the global batch).
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="fomm_tf")
class BatchNorm(keras.layers.BatchNormalization):
    """``BatchNormalization`` with torch's training statistics, synchronized across replicas.

    Args:
        sync: all-reduce the batch statistics over the replicas of a ``tf.distribute``
            strategy (default True, as the official ``SynchronizedBatchNorm2d``); the
            trainer switches it off with ``--no-sync-batch-norm``.
        **kwargs: ``keras.layers.BatchNormalization`` arguments (``synchronized`` is not
            used: this layer does its own synchronisation).

    Examples:
        >>> bn = BatchNorm(epsilon=1e-5, momentum=0.9)
        >>> bn(tf.ones((2, 4, 4, 3)), training=True).shape
        TensorShape([2, 4, 4, 3])
    """

    def __init__(self, sync: bool = True, **kwargs):
        kwargs.pop("synchronized", None)
        super().__init__(**kwargs)
        self.sync = bool(sync)

    def _statistics(self, x: tf.Tensor):
        """Per-channel (mean, biased variance, values per channel) of the (global) batch."""
        axes = list(self._reduction_axes)
        ctx = tf.distribute.get_replica_context()
        local_n = tf.cast(tf.reduce_prod(tf.gather(tf.shape(x), axes)), x.dtype)
        if not self.sync or ctx is None or ctx.num_replicas_in_sync == 1:
            mean, var = tf.nn.moments(x, axes)
            return mean, var, local_n
        total, n = ctx.all_reduce(tf.distribute.ReduceOp.SUM, [tf.reduce_sum(x, axes), local_n])
        mean = total / n
        squares = tf.reduce_sum(tf.square(x - mean), axes)
        var = ctx.all_reduce(tf.distribute.ReduceOp.SUM, squares) / n
        return mean, var, n

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable) or mask is not None or self.renorm:
            return super().call(inputs, training=training, mask=mask)
        compute_dtype = keras.backend.result_type(inputs.dtype, "float32")
        x = tf.cast(inputs, compute_dtype)
        mean, var, n = self._statistics(x)
        mean_s, var_s = tf.stop_gradient(mean), tf.stop_gradient(var)
        unbiased = var_s * n / tf.maximum(n - 1.0, 1.0)
        m = self.momentum
        self.moving_mean.assign(tf.cast(self.moving_mean, compute_dtype) * m + mean_s * (1.0 - m))
        self.moving_variance.assign(
            tf.cast(self.moving_variance, compute_dtype) * m + unbiased * (1.0 - m)
        )
        out = keras.ops.batch_normalization(
            x,
            mean,
            var,
            axis=self.axis,
            offset=tf.cast(self.beta, compute_dtype) if self.center else None,
            scale=tf.cast(self.gamma, compute_dtype) if self.scale else None,
            epsilon=self.epsilon,
        )
        return tf.cast(out, self.compute_dtype)

    def get_config(self):
        cfg = super().get_config()
        cfg["sync"] = self.sync
        return cfg


def set_batch_norm_sync(model, enabled: bool) -> int:
    """Switch cross-replica statistics of every :class:`BatchNorm` in ``model``; returns how
    many layers were set."""
    count = 0
    for layer in model._flatten_layers(include_self=True, recursive=True):
        if isinstance(layer, BatchNorm):
            layer.sync = bool(enabled)
            count += 1
    return count
