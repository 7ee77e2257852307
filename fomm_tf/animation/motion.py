"""Motion transfer at test time (paper sec. 3.4, eq. 14–15) and best-frame search.

Keypoint dicts hold ``value`` (B, K, 2) and optionally ``jacobian`` (B, K, 2, 2), as tensors
or arrays. A source or initial-driving batch of 1 is broadcast over a batch of driving frames.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, replace

import cv2
import numpy as np
import tensorflow as tf

from ..nets.dense_motion import inverse_2x2
from ..nets.layers import guards


@dataclass(frozen=True)
class MotionOptions:
    """How driving motion is transferred (sec. 3.4): relative (eq. 14–15) or absolute.

    The one source of truth is the config's ``animate_params.normalization_params``
    (:meth:`from_config`); the CLI's flags override it, and the export contract records the
    options actually used (:meth:`to_contract`), so the CLI and the apps apply one rule.
    """

    relative: bool = True
    adapt_movement_scale: bool = True
    relative_jacobian: bool = True

    @classmethod
    def from_config(cls, raw_config: dict | None) -> MotionOptions:
        """Options from an official-format config dict (``animate_params``)."""
        norm = ((raw_config or {}).get("animate_params") or {}).get("normalization_params") or {}
        return cls(
            relative=bool(norm.get("use_relative_movement", cls.relative)),
            adapt_movement_scale=bool(norm.get("adapt_movement_scale", cls.adapt_movement_scale)),
            relative_jacobian=bool(norm.get("use_relative_jacobian", cls.relative_jacobian)),
        )

    @classmethod
    def from_contract(cls, contract: dict) -> MotionOptions:
        """Options recorded in an export contract's ``motion`` section."""
        motion = contract["motion"]
        return cls(
            **{
                f: bool(motion[f])
                for f in ("relative", "adapt_movement_scale", "relative_jacobian")
            }
        )

    def override(self, **flags: bool | None) -> MotionOptions:
        """These options with every flag that is not ``None`` replacing its field."""
        return replace(self, **{k: bool(v) for k, v in flags.items() if v is not None})

    def to_contract(self) -> dict:
        """The contract's ``motion`` section: the options and the degenerate-input rules."""
        return {**asdict(self), "rules": motion_rules()}


def motion_rules() -> dict:
    """The numeric rules every implementation (Python, on-device cores) applies alike."""
    return {
        "degenerate_area": DEGENERATE_AREA,
        "degenerate_spread": DEGENERATE_SPREAD,
        "adapt_scale": "sqrt(hull_area(src) / hull_area(drv0)) when both > degenerate_area; "
        "else rms_spread(src) / rms_spread(drv0) when both > degenerate_spread; else 1",
        "singular_det": guards.SINGULAR_DET,
        "inverse_2x2": "adj(M) * det / (det^2 + singular_det^2): the inverse of a regular "
        "matrix, zero for a singular one",
        "relative_jacobian": "J_d * inv(J_d0) * J_s; a keypoint with |det J_d0| <= "
        "singular_det (or not finite) keeps J_s",
        "kp_limit": guards.KP_LIMIT,
        "jacobian_limit": guards.JACOBIAN_LIMIT,
        "nan_value": 0.0,
        "nan_coordinate": "outside the image (samples zero)",
    }


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
    ``use_relative_jacobian``, ``J = J_d · J_d0⁻¹ · J_s`` (:func:`relative_jacobian`: a singular
    ``J_d0`` keeps ``J_s``).
    ``scale`` overrides the computed ``s`` (an animation computes it once).
    """
    kp_new = dict(kp_driving)
    if not use_relative_movement:
        return kp_new
    if scale is None:
        scale = movement_scale(kp_source, kp_driving_initial) if adapt_movement_scale else 1.0
    kp_new["value"] = relative_keypoints(
        kp_source["value"], kp_driving["value"], kp_driving_initial["value"], scale
    )
    if use_relative_jacobian and "jacobian" in kp_driving:
        kp_new["jacobian"] = relative_jacobian(
            kp_source["jacobian"], kp_driving["jacobian"], kp_driving_initial["jacobian"]
        )
    return kp_new


def relative_keypoints(value_source, value_driving, value_driving_initial, scale) -> tf.Tensor:
    """Eq. 14's keypoints: ``T_{S←R}(p_k) + s·(T_{D_t←R}(p_k) − T_{D_1←R}(p_k))``, (B, K, 2).

    The source keypoints moved by the driving motion since the initial frame, ``s`` the
    adapt-scale factor (:func:`movement_scale`; 1 without it).
    """
    diff = tf.convert_to_tensor(value_driving) - tf.convert_to_tensor(value_driving_initial)
    return diff * scale + tf.convert_to_tensor(value_source)


def relative_jacobian(jac_source, jac_driving, jac_driving_initial) -> tf.Tensor:
    """Eq. 15's Jacobian ``J_d · J_d0⁻¹ · J_s`` per keypoint, (B, K, 2, 2).

    A keypoint whose initial driving Jacobian is singular (``|det J_d0| ≤ SINGULAR_DET``, or
    not finite) has no defined relative change: it keeps the source Jacobian ``J_s``.
    """
    j_s = tf.convert_to_tensor(jac_source, tf.float32)
    j_d = tf.convert_to_tensor(jac_driving, tf.float32)
    j_d0 = tf.convert_to_tensor(jac_driving_initial, tf.float32)
    relative = tf.matmul(tf.matmul(j_d, inverse_2x2(j_d0)), j_s)
    det = tf.linalg.det(j_d0)
    regular = tf.logical_and(tf.abs(det) > guards.SINGULAR_DET, tf.math.is_finite(det))
    regular = tf.broadcast_to(regular[..., None, None], tf.shape(relative))
    return tf.where(regular, relative, tf.broadcast_to(j_s, tf.shape(relative)))


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
