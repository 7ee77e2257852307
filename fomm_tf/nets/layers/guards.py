"""Guards that keep any keypoint input from crashing a graph or poisoning a frame.

A camera frame can make the keypoint detector emit NaN, ±Inf, huge values or a zero
(singular) Jacobian. Each rule here is defined for every float input and uses only TFLite
builtins. The same rules are written into the export contract (``motion.rules``) and
implemented again by the on-device cores.

- :func:`finite_or`: NaN → a fallback (EQUAL + SELECT_V2; ±Inf is left to a clip).
- :func:`sanitize_keypoint_values`: keypoint values NaN → 0 (the frame centre), clipped to
  ±``KP_LIMIT``. Jacobians are only clipped to ±``JACOBIAN_LIMIT``: a NaN Jacobian makes NaN
  sampling coordinates, which :func:`fomm_tf.nets.layers.warp.grid_sample` maps outside the image.
- :func:`regularized_inverse_2x2`: ``adj(M)·det/(det² + SINGULAR_DET²)``, the inverse of every
  regular matrix (relative error ≤ (SINGULAR_DET/det)²) and the zero matrix for a singular one.

Only :func:`finite_or` adds ops XNNPACK does not take (EQUAL, SELECT_V2): once on the
keypoint values and once per ``grid_sample``.
"""

from __future__ import annotations

import tensorflow as tf

from .precision import float_dtype

# Keypoints live in [-1, 1]; anything past ±KP_LIMIT maps outside every frame anyway.
KP_LIMIT = 100.0
# Jacobian entries of trained models stay within a few units; ±1e3 keeps every product finite.
JACOBIAN_LIMIT = 1.0e3
# Determinant scale below which a 2×2 matrix counts as singular (its inverse goes to 0).
SINGULAR_DET = 1.0e-6


def finite_or(x: tf.Tensor, fallback: float) -> tf.Tensor:
    """``x`` with NaN entries replaced by ``fallback`` (``x == x`` is false only for NaN)."""
    return tf.where(tf.equal(x, x), x, tf.constant(fallback, x.dtype))


def sanitize_keypoint_values(*values: tf.Tensor) -> list[tf.Tensor]:
    """Keypoint value tensors (B, K, 2) with NaN → 0 and every entry in ±KP_LIMIT.

    Several tensors are guarded with one EQUAL/SELECT_V2 pair (concatenated along K).
    """
    values = [tf.convert_to_tensor(v, float_dtype()) for v in values]
    batch = tf.reduce_max(tf.stack([tf.shape(v)[0] for v in values]))
    joined = tf.concat([tf.broadcast_to(v, [batch, v.shape[1], 2]) for v in values], axis=1)
    joined = tf.clip_by_value(finite_or(joined, 0.0), -KP_LIMIT, KP_LIMIT)
    out, start = [], 0
    for v in values:  # slices, not SPLIT_V (which XNNPACK does not take)
        out.append(joined[:, start : start + v.shape[1]])
        start += v.shape[1]
    return out


def clip_jacobian(jacobian: tf.Tensor) -> tf.Tensor:
    """Jacobian entries clipped to ±JACOBIAN_LIMIT (NaN passes; see the module docstring)."""
    return tf.clip_by_value(jacobian, -JACOBIAN_LIMIT, JACOBIAN_LIMIT)


def regularized_inverse_2x2(m: tf.Tensor) -> tf.Tensor:
    """``adj(M)·det/(det² + SINGULAR_DET²)`` of (..., 2, 2) matrices: M⁻¹, or 0 when singular.

    Closed form because TFLite has no MatrixInverse; no select, so XNNPACK takes all of it.
    """
    # tf.split/concat rather than unstack/stack: XNNPACK delegates SPLIT and CONCATENATION.
    a, b, c, d = tf.split(tf.reshape(m, tf.concat([tf.shape(m)[:-2], [4]], 0)), 4, axis=-1)
    det = a * d - b * c
    scale = det / (det * det + SINGULAR_DET * SINGULAR_DET)
    return tf.reshape(tf.concat([d, -b, -c, a], axis=-1) * scale, tf.shape(m))
