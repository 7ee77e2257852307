"""Motion transfer at test time (paper sec. 3.4, eq. 14–15) and best-frame search.

Keypoint dicts hold ``value`` (B, K, 2) and optionally ``jacobian`` (B, K, 2, 2), as tensors
or arrays. A source or initial-driving batch of 1 is broadcast over a batch of driving frames.
"""

from __future__ import annotations

import cv2
import numpy as np
import tensorflow as tf

from .dense_motion import inverse_2x2


def hull_area(points_xy: np.ndarray) -> float:
    """Area of the convex hull of 2-D points (N, 2)."""
    pts = np.asarray(points_xy, dtype=np.float32).reshape(-1, 1, 2)
    return float(cv2.contourArea(cv2.convexHull(pts)))


def movement_scale(kp_source: dict, kp_driving_initial: dict) -> float:
    """sqrt(area(hull(source kp)) / area(hull(initial driving kp))) of batch item 0."""
    src = hull_area(np.asarray(kp_source["value"])[0])
    drv = hull_area(np.asarray(kp_driving_initial["value"])[0])
    return float(np.sqrt(src) / np.sqrt(drv)) if drv > 0 else 1.0


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
    (else 1), and, with ``use_relative_jacobian``, ``J = J_d · J_d0⁻¹ · J_s``. ``scale``
    overrides the computed ``s`` (an animation computes it once).
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
    return int(np.argmin(dists))
