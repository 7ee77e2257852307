"""Dynamic loss scaling for ``--mixed-precision`` (float16 compute), agreed across replicas."""

from __future__ import annotations


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
