"""Textures for the annotated synthetic renderer: crops of real photos plus procedural noise.

The photos are the ones scikit-image ships inside its wheel (``skimage.data``: no download);
scikit-image is in the ``[eval]`` extra. Every crop is drawn from a seeded generator, so the
same generator state gives the same texture on every machine.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from ..errors import InputError

__all__ = ["COLOUR_PHOTOS", "GRAY_PHOTOS", "photo", "photo_crop", "noise", "gray_detail"]

#: Colour photos used for backgrounds (all bundled inside the scikit-image wheel).
COLOUR_PHOTOS = ("coffee", "chelsea", "rocket", "astronaut", "immunohistochemistry", "retina")
#: Grayscale photos used as surface detail (skin, cloth, hair).
GRAY_PHOTOS = ("brick", "grass", "gravel", "moon", "camera", "coins")


@functools.cache
def photo(name: str) -> np.ndarray:
    """A bundled scikit-image photo as float32 ``(H, W, 3)`` in ``[0, 1]`` (read-only)."""
    try:
        import skimage.data as data
    except ImportError:  # pragma: no cover - depends on the install
        raise InputError(
            "the annotated synthetic renderer needs scikit-image (pip install 'fomm-tf[eval]')"
        ) from None
    if name == "motorcycle":  # the left view of the stereo pair
        img = np.asarray(data.stereo_motorcycle()[0])
    else:
        img = np.asarray(getattr(data, name)())
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = img[..., :3].astype(np.float32) / 255.0
    img.setflags(write=False)
    return img


def photo_crop(
    rng: np.random.Generator, shape: tuple[int, int], names=COLOUR_PHOTOS, zoom=(0.25, 0.8)
) -> np.ndarray:
    """A random crop of one of ``names``, resized to ``shape`` (h, w); float32 RGB in [0, 1]."""
    img = photo(names[int(rng.integers(len(names)))])
    h, w = shape
    side = min(img.shape[0], img.shape[1]) * rng.uniform(*zoom)
    ch, cw = (side, side * w / h) if w <= h else (side * h / w, side)
    ch, cw = min(ch, img.shape[0]), min(cw, img.shape[1])
    y0 = rng.uniform(0, img.shape[0] - ch)
    x0 = rng.uniform(0, img.shape[1] - cw)
    crop = img[int(y0) : int(y0 + ch), int(x0) : int(x0 + cw)]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    interp = cv2.INTER_AREA if crop.shape[0] > h else cv2.INTER_CUBIC
    return np.clip(cv2.resize(np.ascontiguousarray(crop), (w, h), interpolation=interp), 0, 1)


def noise(rng: np.random.Generator, shape: tuple[int, int], cells: int, amp: float) -> np.ndarray:
    """Smooth noise ``(h, w)`` float32: ``cells``² random values, cubic-interpolated, ±amp."""
    h, w = shape
    grid = rng.uniform(-amp, amp, size=(cells, cells)).astype(np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)


def gray_detail(rng: np.random.Generator, shape: tuple[int, int], amp: float) -> np.ndarray:
    """Zero-mean surface detail ``(h, w)`` from a grayscale photo crop plus fine noise, ±~amp."""
    crop = photo_crop(rng, shape, GRAY_PHOTOS, zoom=(0.15, 0.5)).mean(axis=2)
    crop = (crop - crop.mean()) / (crop.std() + 1e-6)
    fine = noise(rng, shape, max(4, min(shape) // 4), 1.0)
    return (amp * (0.7 * np.clip(crop, -2.5, 2.5) / 2.5 + 0.3 * fine)).astype(np.float32)
