"""Motion transfer at test time (paper sec. 3.4, eq. 14–15) and best-frame search.

Keypoint dicts hold ``value`` (B, K, 2) and optionally ``jacobian`` (B, K, 2, 2), as tensors
or arrays. A source or initial-driving batch of 1 is broadcast over a batch of driving frames.
"""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import tensorflow as tf

from .dense_motion import inverse_2x2


def hull_area(points_xy: np.ndarray) -> float:
    """Area of the convex hull of 2-D points (N, 2); 0 for non-finite points."""
    pts = np.asarray(points_xy, dtype=np.float32).reshape(-1, 1, 2)
    if not np.all(np.isfinite(pts)):
        return 0.0
    return float(cv2.contourArea(cv2.convexHull(pts)))


def keypoint_spread(points_xy: np.ndarray) -> float:
    """Root-mean-square distance of 2-D points (N, 2) from their mean; 0 if not finite."""
    pts = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
    if not np.all(np.isfinite(pts)):
        return 0.0
    return float(np.sqrt(np.mean(np.sum((pts - pts.mean(axis=0)) ** 2, axis=1))))


# A hull (or spread) at most this large, in normalised coordinates, counts as degenerate.
DEGENERATE_AREA = 1e-6
DEGENERATE_SPREAD = 1e-4


def movement_scale_rule(src_xy: np.ndarray, drv_xy: np.ndarray) -> tuple[float, str]:
    """Adapt-scale factor (eq. 14–15) and which rule gave it: ``"area"``, ``"spread"``, ``"one"``.

    1. ``area``: sqrt(hull area of the source keypoints / hull area of the initial driving
       keypoints), the official rule, when both hulls have area > ``DEGENERATE_AREA``.
    2. ``spread``: when a hull is degenerate (collinear or coincident keypoints) the ratio of
       the keypoints' RMS spreads around their mean, when both exceed ``DEGENERATE_SPREAD``
       (collinear points still have a size).
    3. ``one``: otherwise (coincident or non-finite keypoints) 1, i.e. no scaling.

    The result is always finite and > 0: a scale of 0 would freeze the animation.
    """
    a_s, a_d = hull_area(src_xy), hull_area(drv_xy)
    if a_s > DEGENERATE_AREA and a_d > DEGENERATE_AREA:
        return float(np.sqrt(a_s) / np.sqrt(a_d)), "area"
    r_s, r_d = keypoint_spread(src_xy), keypoint_spread(drv_xy)
    if r_s > DEGENERATE_SPREAD and r_d > DEGENERATE_SPREAD:
        return r_s / r_d, "spread"
    return 1.0, "one"


def movement_scale(kp_source: dict, kp_driving_initial: dict) -> float:
    """Adapt-scale factor of batch item 0; see :func:`movement_scale_rule` (warns on fallback)."""
    scale, rule = movement_scale_rule(
        np.asarray(kp_source["value"])[0], np.asarray(kp_driving_initial["value"])[0]
    )
    if rule != "area":
        warnings.warn(
            "adapt scale: degenerate keypoint hull (collinear, coincident or non-finite "
            f"keypoints); using the {rule} rule, scale {scale:.3f}",
            RuntimeWarning,
            stacklevel=2,
        )
    return scale


def normalize_kp(
    kp_source: dict,
    kp_driving: dict,
    kp_driving_initial: dict,
    adapt_movement_scale: bool = False,
    use_relative_movement: bool = False,
    use_relative_jacobian: bool = False,
    scale: float | None = None,
) -> dict:
    """Driving keypoints to feed the generator.

    Absolute mode returns ``kp_driving`` unchanged. Relative mode (eq. 14–15) moves the
    source keypoints by the driving motion since the initial frame,
    ``kp_s + s·(kp_d − kp_d0)`` with ``s`` the hull-area scale when ``adapt_movement_scale``
    (else 1; see :func:`movement_scale_rule` for degenerate hulls), and, with
    ``use_relative_jacobian``, ``J = J_d · J_d0⁻¹ · J_s``, where a singular ``J_d0`` has the
    identity as inverse (so ``J = J_d · J_s``, see :func:`~fomm_tf.dense_motion.inverse_2x2`).
    ``scale`` overrides the computed ``s`` (an animation computes it once).
    """
    kp_new = dict(kp_driving)
    if not use_relative_movement:
        return kp_new
    if scale is None:
        scale = movement_scale(kp_source, kp_driving_initial) if adapt_movement_scale else 1.0
    diff = tf.convert_to_tensor(kp_driving["value"]) - tf.convert_to_tensor(
        kp_driving_initial["value"]
    )
    kp_new["value"] = diff * scale + tf.convert_to_tensor(kp_source["value"])
    if use_relative_jacobian and "jacobian" in kp_driving:
        jac_diff = tf.matmul(
            kp_driving["jacobian"],
            inverse_2x2(tf.convert_to_tensor(kp_driving_initial["jacobian"])),
        )
        kp_new["jacobian"] = tf.matmul(jac_diff, kp_source["jacobian"])
    return kp_new


def _normalised_shape(kp_xy: np.ndarray) -> np.ndarray:
    """Keypoints centred on their mean and divided by sqrt(hull area)."""
    kp = kp_xy - kp_xy.mean(axis=0, keepdims=True)
    area = hull_area(kp)
    return kp / np.sqrt(area) if area > 0 else kp


def best_frame(kp_source_xy: np.ndarray, kp_driving_xy: np.ndarray) -> int:
    """Index of the driving frame whose keypoint layout is closest to the source's.

    Both layouts are normalised for position and size (centred, divided by the square root
    of their hull area) and compared by squared distance. Args: (K, 2) and (T, K, 2).
    """
    ref = _normalised_shape(np.asarray(kp_source_xy))
    dists = [float(np.sum((_normalised_shape(f) - ref) ** 2)) for f in np.asarray(kp_driving_xy)]
    return int(np.argmin(np.nan_to_num(dists, nan=np.inf)))  # a NaN frame never wins
