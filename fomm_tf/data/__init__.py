"""Datasets: the ``tf.data`` training pipeline, the TFDS builder and synthetic test videos."""
