"""Coordinate grids and bilinear warping in plain TF ops (TFLite builtins only).

Coordinates follow the official code: (x, y) order, in [-1, 1].

``make_coordinate_grid`` spans [-1, 1] as ``2·i/(n−1) − 1``; ``grid_sample`` reads them like
``torch.nn.functional.grid_sample(..., mode="bilinear", padding_mode="zeros")`` with
``align_corners=False`` (today's official code) or ``True`` (torch ≤ 1.2, which trained the
published checkpoints).

With ``centred=True`` (the ``fomm_tf.centred_grid`` option, ours) the grid holds pixel centres,
``(2·i + 1)/n − 1``: the convention ``grid_sample`` reads with ``align_corners=False``, in which
one coordinate is one place in the picture at every resolution. The official grid is not: a
32×32 grid of it, upsampled and read at 128×128, is the picture zoomed by 32/31 (the
background "identity" of the dense motion moves a still background by up to 2 pixels).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .guards import finite_or
from .precision import float_dtype

# Name scope of the numerically sensitive ops (coordinates, soft-argmax, sampling): the
# int8 TFLite export keeps every op under it in float (``fomm_tf.export.convert``). Each island has
# its own sub-scope (``keep_float/<island>``, see :func:`float_scope`) so its quantization
# error can be measured alone (``benchmarks/int8_islands.py``).
FLOAT_SCOPE = "keep_float"
FLOAT_ISLANDS = (
    "kp_softargmax",  # heatmap softmax at temperature 0.1 + keypoint averaging
    "jacobian_average",  # heatmap-weighted Jacobian averaging
    "heatmap_gaussians",  # keypoint Gaussians of the dense motion input
    "sparse_motion",  # coordinates of the K+1 sparse motions, 2x2 Jacobian inverse
    "grid_sample",  # bilinear sampling: pixel coordinates, corner indices, weights
    "mask_flow",  # mask softmax and the flow it mixes
)


def float_scope(island: str):
    """``tf.name_scope`` of one float island, ``keep_float/<island>``."""
    if island not in FLOAT_ISLANDS:
        raise ValueError(f"unknown float island {island!r}")
    return tf.name_scope(f"{FLOAT_SCOPE}/{island}")


# Zero border around the sampled image. Coordinates are clipped to [-1.5, size + 0.5] pixels,
# where every bilinear corner already reads zero, so all indices stay inside the padded image
# (TFLite GATHER rejects out-of-range indices instead of clamping them).
_PAD = 2


def make_coordinate_grid(
    height: int, width: int, centred: bool = False, frame: tuple[int, int] | None = None
) -> tf.Tensor:
    """(height, width, 2) grid of (x, y) in [-1, 1], corners included (float32, or float64
    in float64 mode, see :mod:`fomm_tf.nets.layers.precision`).

    ``centred``: the pixel centres instead, ``(2·i + 1)/n − 1``; with ``frame`` (H, W) the
    centres of the height×width window in the middle of an H×W map (a valid convolution's
    output over that map).
    """
    dtype = float_dtype().as_numpy_dtype
    if centred:
        fh, fw = frame or (height, width)
        x = (2.0 * (np.arange(width, dtype=dtype) + (fw - width) / 2) + 1.0) / fw - 1.0
        y = (2.0 * (np.arange(height, dtype=dtype) + (fh - height) / 2) + 1.0) / fh - 1.0
    else:
        x = 2.0 * np.arange(width, dtype=dtype) / max(width - 1, 1) - 1.0
        y = 2.0 * np.arange(height, dtype=dtype) / max(height - 1, 1) - 1.0
    xx, yy = np.meshgrid(x, y)
    return tf.constant(np.stack([xx, yy], axis=-1).astype(dtype))


def resize_flow(flow: tf.Tensor, height: int, width: int) -> tf.Tensor:
    """A (B, h, w, 2) field of pixel-centre coordinates at ``height``×``width``, resized as a
    displacement from the identity (so the identity stays the identity, borders included)."""
    h, w = flow.shape[1], flow.shape[2]
    if (h, w) == (height, width):
        return flow
    small = tf.cast(make_coordinate_grid(h, w, centred=True), flow.dtype)
    big = tf.cast(make_coordinate_grid(height, width, centred=True), flow.dtype)
    return resize_bilinear(flow - small, height, width) + big


def to_pixels(coord: tf.Tensor, size: int, align_corners: bool) -> tf.Tensor:
    """Normalised coordinates in [-1, 1] → pixel coordinates (pixel centres at integers),
    torch's convention for ``align_corners`` (the one mapping of warps and losses)."""
    if align_corners:
        return (coord + 1.0) * (0.5 * (size - 1))
    return ((coord + 1.0) * size - 1.0) * 0.5


def from_pixels(pix: tf.Tensor, size: int, align_corners: bool) -> tf.Tensor:
    """The inverse of :func:`to_pixels` (a one-pixel axis maps to -1 with ``align_corners``)."""
    if align_corners:
        return pix / (0.5 * max(size - 1, 1)) - 1.0
    return (2.0 * pix + 1.0) / size - 1.0


def grid_sample(image: tf.Tensor, grid: tf.Tensor, align_corners: bool = False) -> tf.Tensor:
    """Bilinear sampling with zero padding.

    Args:
        image: (B, H, W, C) or (1, H, W, C); a batch of 1 is shared by every grid item.
        grid: (B, ..., 2) sampling positions (x, y) in [-1, 1]; any number of middle dims,
            so one image can be sampled by several flows without being copied.
        align_corners: the torch ``grid_sample`` convention.

    Returns:
        (B, ..., C) samples.
    """
    with float_scope("grid_sample"):
        return _grid_sample(tf.convert_to_tensor(image), tf.convert_to_tensor(grid), align_corners)


def _grid_sample(image: tf.Tensor, grid: tf.Tensor, align_corners: bool) -> tf.Tensor:
    height, width, channels = image.shape[1], image.shape[2], image.shape[3]
    grid = tf.cast(grid, float_dtype())  # coordinates stay float32 under mixed precision
    img_batch = tf.shape(image)[0]
    grid_shape = tf.shape(grid)
    batch = grid_shape[0]
    padded = tf.pad(image, [[0, 0], [_PAD, _PAD], [_PAD, _PAD], [0, 0]])
    hp, wp = height + 2 * _PAD, width + 2 * _PAD
    table = tf.reshape(padded, [-1, channels])

    # NaN coordinates → far outside the image (zero contribution) before any index is
    # formed; ±Inf and far-out values are clipped to the zero border, so corner indices
    # always fall inside the padded table.
    flat = finite_or(tf.reshape(grid, [batch, -1, 2]), -4.0)
    gx, gy = tf.split(flat, 2, axis=-1)  # (B, N, 1) each
    px = tf.clip_by_value(to_pixels(gx, width, align_corners), -1.5, width + 0.5)
    py = tf.clip_by_value(to_pixels(gy, height, align_corners), -1.5, height + 0.5)
    x0, y0 = tf.floor(px), tf.floor(py)
    wx1, wy1 = px - x0, py - y0
    wx0, wy0 = 1.0 - wx1, 1.0 - wy1

    # Row-major index of the top-left corner in the padded table; +0.5 makes the cast
    # robust to values a hair below an integer.
    base = (y0 + _PAD) * wp + (x0 + _PAD)
    offsets = tf.constant([0.0, 1.0, float(wp), float(wp + 1)], dtype=base.dtype)
    corner = tf.cast(base + offsets + 0.5, tf.int32)  # (B, N, 4)
    image_offset = tf.reshape(tf.range(batch) * (hp * wp), [-1, 1, 1])
    image_offset = image_offset * tf.cast(img_batch > 1, tf.int32)
    values = tf.gather(table, corner + image_offset)  # (B, N, 4, C)
    weights = tf.concat([wx0 * wy0, wx1 * wy0, wx0 * wy1, wx1 * wy1], axis=-1)
    weights = tf.cast(weights, values.dtype)
    out = tf.reduce_sum(values * weights[..., None], axis=2)
    out_shape = tf.concat([grid_shape[:-1], [channels]], axis=0)
    return tf.reshape(out, out_shape)


def resize_bilinear(x: tf.Tensor, height: int, width: int) -> tf.Tensor:
    """``F.interpolate(mode="bilinear", align_corners=False)`` on an NHWC tensor."""
    return tf.image.resize(x, (height, width), method="bilinear")
