"""Band-limited (Gaussian anti-aliased) downsampling, as the official ``AntiAliasInterpolation2d``.

For a scale ``s`` the Gaussian has sigma ``(1/s − 1)/2`` and size ``2·round(4σ)+1`` (13 at
s = 0.25), normalised over the 2-D kernel. The input is zero-padded on every side and every
``1/s``-th pixel is kept starting at index 0, which is a strided depthwise convolution: we
compute only the kept pixels instead of filtering the whole image and throwing most away.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def gaussian_kernel(scale: float) -> np.ndarray:
    """The normalised 2-D Gaussian kernel (k, k) the official code uses for ``scale``."""
    sigma = (1.0 / scale - 1.0) / 2.0
    size = 2 * round(sigma * 4) + 1
    mean = (size - 1) / 2.0
    axis = np.arange(size, dtype=np.float64)
    one_d = np.exp(-((axis - mean) ** 2) / (2.0 * sigma**2))
    kernel = np.outer(one_d, one_d)
    return (kernel / kernel.sum()).astype(np.float32)


class AntiAliasDownsample(keras.layers.Layer):
    """Downsample an NHWC image by ``scale`` (≤ 1) with a Gaussian pre-filter.

    Args:
        channels: number of input channels (the filter is depthwise).
        scale: output/input size ratio; ``1/scale`` must be an integer.
    """

    def __init__(self, channels: int, scale: float, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.scale = channels, float(scale)
        self.stride = int(round(1.0 / scale))
        if self.scale != 1.0 and abs(self.stride * self.scale - 1.0) > 1e-6:
            raise ValueError(f"scale_factor {scale} must be 1/n for an integer n")
        if self.scale != 1.0:
            kernel = gaussian_kernel(self.scale)
            self.pad = kernel.shape[0] // 2
            depthwise = np.tile(kernel[:, :, None, None], (1, 1, channels, 1))
            self.kernel = tf.constant(depthwise)

    def call(self, x):
        if self.scale == 1.0:
            return x
        p = self.pad
        x = tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]])
        strides = [1, self.stride, self.stride, 1]
        kernel = tf.cast(self.kernel, x.dtype)  # float16 under mixed precision
        return tf.nn.depthwise_conv2d(x, kernel, strides=strides, padding="VALID")

    def get_config(self):
        cfg = super().get_config()
        cfg.update(channels=self.channels, scale=self.scale)
        return cfg
