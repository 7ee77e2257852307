"""Guards that keep any keypoint input from crashing a graph or poisoning a frame.

A camera frame can make the keypoint detector emit NaN, ±Inf, huge values or a zero
(singular) Jacobian. Each rule here is defined for every float input, uses only TFLite
builtins (EQUAL, ABS, GREATER, SELECT_V2, MINIMUM, MAXIMUM) and costs a few element-wise
ops on (B, K, 2) / (B, K, 2, 2) tensors. The same rules are written down in the export
contract (``motion_rules``) and implemented again by the on-device cores.

- ``finite_or(x, fallback)``: NaN → ``fallback`` (±Inf is left to the caller's clip).
- ``sanitize_keypoints``: keypoint values NaN → 0, clipped to ±``KP_LIMIT``; Jacobian entries
  NaN → the identity's entry, clipped to ±``JACOBIAN_LIMIT``.
- ``inverse_2x2`` (``fomm_tf.dense_motion``) returns the identity for a singular matrix
  (``|det| ≤ SINGULAR_DET`` or NaN), see :func:`safe_reciprocal_det`.
"""

from __future__ import annotations

import tensorflow as tf

from .precision import float_dtype

# Keypoints live in [-1, 1]; anything past ±KP_LIMIT maps outside every frame anyway.
KP_LIMIT = 100.0
# Jacobian entries of trained models stay within a few units; ±1e3 keeps every product finite.
JACOBIAN_LIMIT = 1.0e3
# A 2×2 matrix whose |determinant| is at most this counts as singular.
SINGULAR_DET = 1.0e-6


def finite_or(x: tf.Tensor, fallback) -> tf.Tensor:
    """``x`` with NaN entries replaced by ``fallback`` (``x == x`` is false only for NaN)."""
    fallback = tf.cast(tf.broadcast_to(fallback, tf.shape(x)), x.dtype)
    return tf.where(tf.equal(x, x), x, fallback)


def sanitize_keypoints(kp: dict) -> dict:
    """Keypoint dict with every entry finite and bounded (identity for valid keypoints).

    ``value``: NaN → 0 (the frame centre), clipped to ±KP_LIMIT. ``jacobian``: NaN entries →
    the identity's entries, clipped to ±JACOBIAN_LIMIT.
    """
    out = dict(kp)
    value = tf.convert_to_tensor(kp["value"], float_dtype())
    out["value"] = tf.clip_by_value(finite_or(value, 0.0), -KP_LIMIT, KP_LIMIT)
    if "jacobian" in kp:
        jac = tf.convert_to_tensor(kp["jacobian"], float_dtype())
        eye = tf.constant([[1.0, 0.0], [0.0, 1.0]], jac.dtype)
        out["jacobian"] = tf.clip_by_value(finite_or(jac, eye), -JACOBIAN_LIMIT, JACOBIAN_LIMIT)
    return out


def nonsingular(det: tf.Tensor) -> tf.Tensor:
    """True where a determinant is usable: ``|det| > SINGULAR_DET`` (false for NaN)."""
    return tf.greater(tf.abs(det), SINGULAR_DET)
