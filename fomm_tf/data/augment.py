"""The official ``augmentation.py`` on a clip: flips, time flip, colour jitter (numpy + OpenCV)."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np


def _gray(img: np.ndarray) -> np.ndarray:
    return (0.299 * img[..., 0] + 0.587 * img[..., 1] + 0.114 * img[..., 2])[..., None]


def _adjust(clip: np.ndarray, kind: str, factor: float) -> np.ndarray:
    if kind == "brightness":
        out = clip * factor
    elif kind == "contrast":
        mean = _gray(clip).mean(axis=(1, 2, 3), keepdims=True)
        out = (clip - mean) * factor + mean
    elif kind == "saturation":
        gray = _gray(clip)
        out = clip * factor + gray * (1.0 - factor)
    else:  # hue: rotate the hue angle by factor·360°
        out = np.empty_like(clip)
        for k, img in enumerate(clip):
            hsv = cv2.cvtColor(np.ascontiguousarray(img, np.float32), cv2.COLOR_RGB2HSV)
            hsv[..., 0] = np.mod(hsv[..., 0] + factor * 360.0, 360.0)
            out[k] = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def augment(
    clip: np.ndarray, params: dict[str, Any] | None, rng: np.random.Generator
) -> np.ndarray:
    """Apply ``dataset_params.augmentation_params`` to a (T, H, W, 3) clip, same for all frames.

    ``flip_param``: ``time_flip`` and ``horizontal_flip`` each with probability ½;
    ``jitter_param``: brightness/contrast/saturation factors uniform in ``[1 − a, 1 + a]``,
    hue shift uniform in ``[−h, h]`` turns, applied in a random order.
    """
    params = params or {}
    flip = params.get("flip_param") or {}
    if flip.get("time_flip") and rng.random() < 0.5:
        clip = clip[::-1]
    if flip.get("horizontal_flip") and rng.random() < 0.5:
        clip = clip[:, :, ::-1]
    jitter = params.get("jitter_param") or {}
    ops = []
    for kind in ("brightness", "contrast", "saturation"):
        a = float(jitter.get(kind, 0) or 0)
        if a > 0:
            ops.append((kind, rng.uniform(max(0.0, 1.0 - a), 1.0 + a)))
    h = float(jitter.get("hue", 0) or 0)
    if h > 0:
        ops.append(("hue", rng.uniform(-h, h)))
    for j in rng.permutation(len(ops)):
        clip = _adjust(clip, *ops[j])
    return np.ascontiguousarray(clip, np.float32)


# ------------------------------------------------------------------------------------------
# the sampler and the tf.data pipeline
