"""Reconstructions that need no motion model: the paper's yardsticks for L1, AKD, MKR, AED.

* ``copy_source`` — every frame is the source frame (no motion at all);
* ``global_affine`` — the source warped by the affine transform that best maps (least
  squares) the source's landmarks onto the driving frame's, both detected by the same
  detector used for the metrics; frames with fewer than three common landmarks fall back to
  the identity (the source itself).
"""

from __future__ import annotations

import cv2
import numpy as np

from .metrics import Detections

__all__ = ["copy_source", "fit_affine", "global_affine"]


def copy_source(source: np.ndarray, num_frames: int) -> np.ndarray:
    """``(T, H, W, 3)``: the ``(H, W, 3)`` source repeated."""
    return np.repeat(np.asarray(source, np.float32)[None], num_frames, axis=0)


def fit_affine(src: np.ndarray, dst: np.ndarray) -> np.ndarray | None:
    """The 2×3 matrix ``A`` minimising ``Σ |A [src; 1] − dst|²``; ``None`` under 3 points or
    when the points are (nearly) collinear."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    if len(src) < 3:
        return None
    design = np.concatenate([src, np.ones((len(src), 1))], axis=1)
    if np.linalg.matrix_rank(design, tol=1e-3 * max(1.0, np.abs(src).max())) < 3:
        return None
    sol, *_ = np.linalg.lstsq(design, dst, rcond=None)
    return sol.T


def global_affine(source: np.ndarray, det_source: Detections, det_driving: Detections):
    """Warp ``source`` (H, W, 3) by the best affine fit, source → each driving frame."""
    h, w = source.shape[:2]
    out = np.empty((len(det_driving), h, w, 3), np.float32)
    src_pts, src_vis = det_source.landmarks[0], det_source.visible[0]
    for t in range(len(det_driving)):
        common = src_vis & det_driving.visible[t]
        m = fit_affine(src_pts[common], det_driving.landmarks[t][common])
        if m is None:
            out[t] = source
            continue
        out[t] = cv2.warpAffine(
            np.asarray(source, np.float32),
            m,
            (w, h),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
    return out
