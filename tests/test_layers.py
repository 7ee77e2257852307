"""The export-friendly rewrites in fomm_tf/nets/layers equal the plain TensorFlow ops they replace."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from fomm_tf.nets.keypoint_detector import jacobians_from_heatmap, keypoints_from_heatmap
from fomm_tf.nets.layers.blocks import avg_pool_2x2, upsample_conv_phases, upsample_nearest_2x
from fomm_tf.nets.layers.guards import regularized_inverse_2x2
from fomm_tf.nets.layers.warp import make_coordinate_grid

RNG = np.random.default_rng(0)


def test_avg_pool_2x2_is_average_pooling():
    x = RNG.normal(size=(2, 8, 12, 5)).astype("float32")
    want = tf.nn.avg_pool2d(x, ksize=2, strides=2, padding="VALID")
    np.testing.assert_allclose(avg_pool_2x2(tf.constant(x)), want, rtol=1e-6, atol=1e-6)


def test_upsample_nearest_2x_is_nearest_resize():
    x = RNG.normal(size=(2, 5, 7, 3)).astype("float32")
    want = tf.image.resize(x, (10, 14), method="nearest")
    np.testing.assert_array_equal(upsample_nearest_2x(tf.constant(x)), want)


def test_upsample_conv_phases_is_upsample_then_conv():
    x = RNG.normal(size=(2, 6, 5, 4)).astype("float32")
    kernel = RNG.normal(size=(3, 3, 4, 7)).astype("float32")
    bias = RNG.normal(size=(7,)).astype("float32")
    up = tf.image.resize(x, (12, 10), method="nearest")
    want = tf.nn.conv2d(up, kernel, 1, [[0, 0], [1, 1], [1, 1], [0, 0]]) + bias
    got = tf.nn.depth_to_space(upsample_conv_phases(tf.constant(x), kernel, bias), 2)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_regularized_inverse_is_the_inverse_of_regular_matrices():
    m = RNG.normal(size=(3, 10, 2, 2)).astype("float32") + 2 * np.eye(2, dtype="float32")
    np.testing.assert_allclose(regularized_inverse_2x2(m), tf.linalg.inv(m), rtol=1e-4, atol=1e-5)


def test_soft_argmax_weighted_sums_are_the_matmuls():
    h, w, k = 6, 5, 4
    logits = RNG.normal(size=(2, h * w, k)).astype("float32")
    heat = tf.nn.softmax(logits, axis=1)[..., None]
    grid = tf.reshape(make_coordinate_grid(h, w), [h * w, 2])
    want = tf.einsum("bnk,nc->bkc", heat[..., 0], grid)
    np.testing.assert_allclose(keypoints_from_heatmap(heat, h, w), want, rtol=1e-5, atol=1e-6)
    maps = RNG.normal(size=(2, h, w, 4 * k)).astype("float32")
    want_j = tf.einsum("bnk,bnkc->bkc", heat[..., 0], tf.reshape(maps, [2, h * w, k, 4]))
    got_j = jacobians_from_heatmap(heat, tf.constant(maps), k)
    np.testing.assert_allclose(got_j, tf.reshape(want_j, [2, k, 2, 2]), rtol=1e-5, atol=1e-6)
