"""Convolutional building blocks of FOMM: same/down/up/residual blocks and the hourglass.

Every block mirrors one module of the official PyTorch code and exposes ``torch_children()``,
the mapping from the official sub-module names to the Keras layers that hold the same
weights; :mod:`fomm_tf.nets.weights` walks it to import official checkpoints.

All tensors are NHWC. Batch norm uses the PyTorch eval semantics (eps 1e-5, running stats).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .batchnorm import BatchNorm

BN_EPSILON = 1e-5  # PyTorch's default; Keras defaults to 1e-3.
BN_MOMENTUM = 0.9  # Keras momentum = 1 - PyTorch momentum (0.1).


def conv2d(
    filters: int, kernel_size: int, padding: int, name: str, dtype=None
) -> keras.layers.Conv2D:
    """A stride-1 convolution with PyTorch-style symmetric zero padding.

    ``padding`` is the official integer padding: ``(k - 1) // 2`` is Keras ``"same"``,
    ``0`` is ``"valid"``; other values go through an explicit ``ZeroPadding2D``. ``dtype``:
    a dtype policy for this layer (``None``: the global one), see
    :func:`fomm_tf.nets.layers.precision.island_dtype`.
    """
    if padding == 0:
        mode = "valid"
    elif 2 * padding == kernel_size - 1:
        mode = "same"
    else:
        raise ValueError(f"unsupported padding {padding} for kernel size {kernel_size}")
    return keras.layers.Conv2D(filters, kernel_size, padding=mode, name=name, dtype=dtype)


def batch_norm(name: str) -> keras.layers.BatchNormalization:
    """The official ``SynchronizedBatchNorm2d`` (see :mod:`fomm_tf.nets.layers.batchnorm`)."""
    return BatchNorm(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=name)


class TorchMapped(keras.layers.Layer):
    """A layer whose weights map onto an official PyTorch module tree."""

    def torch_children(self) -> dict[str, keras.layers.Layer]:
        raise NotImplementedError


class SameBlock2d(TorchMapped):
    """Conv → BN → ReLU, keeping the spatial size (official ``SameBlock2d``)."""

    def __init__(self, out_features: int, kernel_size: int = 3, padding: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.out_features, self.kernel_size, self.padding = out_features, kernel_size, padding
        self.conv = conv2d(out_features, kernel_size, padding, name="conv")
        self.norm = batch_norm("norm")

    def call(self, x, training=False):
        return tf.nn.relu(self.norm(self.conv(x), training=training))

    def torch_children(self):
        return {"conv": self.conv, "norm": self.norm}

    def get_config(self):
        cfg = super().get_config()
        cfg.update(
            out_features=self.out_features, kernel_size=self.kernel_size, padding=self.padding
        )
        return cfg


def avg_pool_2x2(x: tf.Tensor) -> tf.Tensor:
    """2×2 average pooling, stride 2, as a depthwise convolution with weights 1/4.

    Same values as ``tf.nn.avg_pool2d``; written as DEPTHWISE_CONV_2D because XNNPACK runs
    int8 depthwise convolutions but not int8 AVERAGE_POOL_2D (1/4 is exact in int8).
    """
    kernel = tf.constant(0.25, x.dtype, shape=[2, 2, x.shape[-1], 1])
    return tf.nn.depthwise_conv2d(x, kernel, strides=[1, 2, 2, 1], padding="VALID")


class DownBlock2d(SameBlock2d):
    """Conv → BN → ReLU → 2×2 average pooling (official ``DownBlock2d``)."""

    def call(self, x, training=False):
        return avg_pool_2x2(super().call(x, training=training))


def upsample_nearest_2x(x: tf.Tensor) -> tf.Tensor:
    """Nearest-neighbour ×2 upsampling of an NHWC tensor with static H, W, C.

    Written as concat + reshape (each pixel doubled along W, then each row along H) rather
    than ``tf.image.resize(..., "nearest")``: same values, but the TFLite graph holds only
    CONCATENATION/RESHAPE, which XNNPACK delegates, instead of RESIZE_NEAREST_NEIGHBOR,
    which it does not.
    """
    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    x = tf.reshape(tf.concat([x, x], axis=-1), [-1, h, 2 * w, c])
    return tf.reshape(tf.concat([x, x], axis=2), [-1, 2 * h, 2 * w, c])


# Nearest ×2 upsampling followed by a 3-tap convolution (zero padding 1) is, for each output
# parity, a 2-tap convolution of the low-resolution input: an even output pixel 2i sees input
# pixels (i-1, i, i) through taps (w0, w1, w2), i.e. (i-1, i) through (w0, w1+w2); an odd one
# 2i+1 sees (i, i, i+1), i.e. (i, i+1) through (w0+w1, w2). Row ``a`` of this table maps the
# three taps onto the two taps of parity ``a``.
_PARITY_TAPS = np.array([[[1, 0, 0], [0, 1, 1]], [[1, 1, 0], [0, 0, 1]]], np.float32)


def upsample_conv_kernel(kernel: tf.Tensor) -> tf.Tensor:
    """The 2×2 kernel, ``(2, 2, C_in, 4·C_out)``, equivalent to upsample ×2 + ``kernel``.

    ``kernel`` is a ``(3, 3, C_in, C_out)`` convolution kernel; output channel ``(2a + b)·C_out
    + o`` holds channel ``o`` of the output pixels with row parity ``a`` and column parity
    ``b`` (the channel order :func:`tf.nn.depth_to_space` expects).
    """
    taps = tf.constant(_PARITY_TAPS, kernel.dtype)
    merged = tf.einsum("apk,bql,klio->pqiabo", taps, taps, kernel)
    c_in, c_out = kernel.shape[2], kernel.shape[3]
    return tf.reshape(merged, [2, 2, c_in, 4 * c_out])


def upsample_conv_phases(x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor) -> tf.Tensor:
    """Nearest ×2 upsampling + 3×3 convolution (padding 1), before the pixel shuffle.

    Returns ``(B, H, W, 4·C_out)``: ``tf.nn.depth_to_space(result, 2)`` equals
    ``conv3x3(upsample_nearest_2x(x)) + bias``. Computing the four output parities as 2×2
    convolutions at the input resolution takes 4/9 of the multiply-adds of convolving the
    upsampled tensor, and never materializes it. One 2×2 convolution over the padded input
    yields every parity; parity ``(a, b)`` is its window shifted by ``(a, b)``.
    """
    c_out = kernel.shape[3]
    h = x.shape[1] if x.shape[1] is not None else tf.shape(x)[1]
    w = x.shape[2] if x.shape[2] is not None else tf.shape(x)[2]
    padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
    y = tf.nn.conv2d(padded, upsample_conv_kernel(kernel), 1, "VALID")
    parts = [
        y[:, a : a + h, b : b + w, (2 * a + b) * c_out : (2 * a + b + 1) * c_out]
        for a in (0, 1)
        for b in (0, 1)
    ]
    return tf.concat(parts, axis=-1) + tf.tile(bias, [4])


# Below this many input pixels an up block convolves the upsampled tensor (see UpBlock2d).
PARITY_MIN_PIXELS = 32 * 32


class UpBlock2d(SameBlock2d):
    """Nearest ×2 upsampling → Conv → BN → ReLU (official ``UpBlock2d``).

    With the official 3×3 kernel and an input of at least :data:`PARITY_MIN_PIXELS` pixels it
    runs as :func:`upsample_conv_phases` (same weights, 4/9 of the work). Smaller inputs (the
    hourglass levels at 2×2 … 16×16, where the widest kernels sit) keep the plain path: there
    the work is small, and a frozen graph would store the 16/9 larger 2×2 parity kernel.

    In inference the batch norm (per channel, so it commutes with the pixel shuffle) and the
    ReLU are applied before the shuffle, where a converter folds them into the convolution; in
    training the batch norm sees the shuffled tensor, for its batch statistics.
    """

    def build(self, input_shape):
        batch, h, w, c = input_shape
        up = (batch, None if h is None else 2 * h, None if w is None else 2 * w)
        self.conv.build((*up, c))
        self.norm.build((*up, self.out_features))

    def call(self, x, training=False):
        h, w = x.shape[1], x.shape[2]
        small = h is not None and w is not None and h * w < PARITY_MIN_PIXELS
        if small or (self.kernel_size, self.padding) != (3, 1):
            return super().call(upsample_nearest_2x(x), training=training)
        kernel = tf.cast(self.conv.kernel, x.dtype)
        phases = upsample_conv_phases(x, kernel, tf.cast(self.conv.bias, x.dtype))
        if training:
            return tf.nn.relu(self.norm(tf.nn.depth_to_space(phases, 2), training=True))
        norm = self.norm
        scale = norm.gamma * tf.math.rsqrt(norm.moving_variance + norm.epsilon)
        shift = norm.beta - norm.moving_mean * scale
        scale, shift = tf.cast(tf.tile(scale, [4]), x.dtype), tf.cast(tf.tile(shift, [4]), x.dtype)
        return tf.nn.depth_to_space(tf.nn.relu(phases * scale + shift), 2)


class ResBlock2d(TorchMapped):
    """Pre-activation residual block: (BN → ReLU → conv) twice, plus the input."""

    def __init__(self, in_features: int, kernel_size: int = 3, padding: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.in_features, self.kernel_size, self.padding = in_features, kernel_size, padding
        self.norm1 = batch_norm("norm1")
        self.conv1 = conv2d(in_features, kernel_size, padding, name="conv1")
        self.norm2 = batch_norm("norm2")
        self.conv2 = conv2d(in_features, kernel_size, padding, name="conv2")

    def call(self, x, training=False):
        out = self.conv1(tf.nn.relu(self.norm1(x, training=training)))
        out = self.conv2(tf.nn.relu(self.norm2(out, training=training)))
        return out + x

    def torch_children(self):
        return {"conv1": self.conv1, "conv2": self.conv2, "norm1": self.norm1, "norm2": self.norm2}

    def get_config(self):
        cfg = super().get_config()
        cfg.update(in_features=self.in_features, kernel_size=self.kernel_size, padding=self.padding)
        return cfg


def hourglass_widths(block_expansion: int, num_blocks: int, max_features: int) -> list[int]:
    """Channel count after each encoder level: ``min(max_features, e·2^(i+1))``."""
    return [min(max_features, block_expansion * 2 ** (i + 1)) for i in range(num_blocks)]


class Hourglass(TorchMapped):
    """U-Net used by the keypoint detector and the dense motion network.

    The encoder returns every level (the raw input first); the decoder upsamples and
    concatenates ``[upsampled, skip]``, the last skip being the raw input, so the output has
    ``block_expansion + in_features`` channels.
    """

    def __init__(
        self,
        block_expansion: int,
        in_features: int,
        num_blocks: int = 3,
        max_features: int = 256,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.block_expansion, self.in_features = block_expansion, in_features
        self.num_blocks, self.max_features = num_blocks, max_features
        widths = hourglass_widths(block_expansion, num_blocks, max_features)
        self.down_blocks = [DownBlock2d(w, name=f"down_block_{i}") for i, w in enumerate(widths)]
        ups = [min(max_features, block_expansion * 2**i) for i in range(num_blocks)][::-1]
        self.up_blocks = [UpBlock2d(w, name=f"up_block_{j}") for j, w in enumerate(ups)]
        self.out_filters = block_expansion + in_features

    def call(self, x, training=False):
        skips = [x]
        for block in self.down_blocks:
            skips.append(block(skips[-1], training=training))
        out = skips.pop()
        for block in self.up_blocks:
            out = tf.concat([block(out, training=training), skips.pop()], axis=-1)
        return out

    def torch_children(self):
        children = {f"encoder.down_blocks.{i}": b for i, b in enumerate(self.down_blocks)}
        children.update({f"decoder.up_blocks.{i}": b for i, b in enumerate(self.up_blocks)})
        return children

    def get_config(self):
        cfg = super().get_config()
        cfg.update(
            block_expansion=self.block_expansion,
            in_features=self.in_features,
            num_blocks=self.num_blocks,
            max_features=self.max_features,
        )
        return cfg
