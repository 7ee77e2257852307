"""Drawing helpers shared by the annotated renderers: smooth random signals, colours, the
photo background, rotations, anti-aliased polygon masks and layer compositing."""

from __future__ import annotations

import cv2
import numpy as np

from . import textures

__all__ = [
    "Wave",
    "aa_mask",
    "background",
    "colour",
    "ellipse_poly",
    "paste",
    "rotation",
    "skin_tone",
]


class Wave:
    """A smooth random signal: the sum of two sines with random periods (frames) and phases."""

    def __init__(self, rng: np.random.Generator, amp: float, period: tuple[float, float]):
        self.amp = float(amp)
        self.freq = 2 * np.pi / rng.uniform(*period, size=2)
        self.phase = rng.uniform(0, 2 * np.pi, size=2)
        self.mix = rng.uniform(0.25, 0.45)

    def __call__(self, t: float) -> float:
        a, b = np.sin(self.freq * t + self.phase)
        return float(self.amp * ((1 - self.mix) * a + self.mix * b))


def colour(rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    return rng.uniform(low, high, size=3).astype(np.float32)


def skin_tone(rng: np.random.Generator) -> np.ndarray:
    """A skin colour between a light and a dark tone, slightly jittered per channel."""
    light, dark = np.array([0.96, 0.8, 0.68]), np.array([0.36, 0.24, 0.17])
    mix = rng.uniform(0, 1)
    return np.clip((mix * light + (1 - mix) * dark) * rng.uniform(0.92, 1.08, 3), 0, 1).astype(
        np.float32
    )


def background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A photo crop, softened and tinted, with procedural colour noise on top."""
    img = textures.photo_crop(rng, (size, size))
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.2))
    tint = colour(rng, 0.7, 1.2)
    mixed = img * tint * rng.uniform(0.7, 1.0) + textures.noise(rng, (size, size), 5, 0.12)[
        ..., None
    ] * colour(rng, 0.5, 1.0)
    return np.clip(mixed, 0, 1).astype(np.float32)


def rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Head → camera rotation ``Rz(roll) Rx(pitch) Ry(yaw)`` (radians; x right, y down, z out)."""
    cy, sy = np.cos(yaw), np.sin(yaw)
    cp, sp = np.cos(pitch), np.sin(pitch)
    cr, sr = np.cos(roll), np.sin(roll)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return rz @ rx @ ry


def aa_mask(size: int, polys: list[np.ndarray], scale: int = 16) -> np.ndarray:
    """An anti-aliased float mask of filled polygons (pixel coordinates, centres at integers)."""
    mask = np.zeros((size, size), np.uint8)
    pts = [np.round(p * scale).astype(np.int32) for p in polys]
    cv2.fillPoly(mask, pts, 255, cv2.LINE_AA, 4)
    return mask.astype(np.float32) / 255.0


def ellipse_poly(centre, axes, angle_rad: float, n: int = 40) -> np.ndarray:
    th = np.linspace(0, 2 * np.pi, n, endpoint=False)
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    x, y = axes[0] * np.cos(th), axes[1] * np.sin(th)
    return np.stack([centre[0] + c * x - s * y, centre[1] + s * x + c * y], axis=1)


def paste(canvas: np.ndarray, layer: np.ndarray, mask: np.ndarray) -> None:
    m = mask[..., None]
    canvas *= 1.0 - m
    canvas += layer * m
