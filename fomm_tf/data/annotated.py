"""Synthetic videos with ground truth: per-frame landmarks, their visibility, the identity.

Two kinds, both deterministic functions of ``(identity, clip)``:

* ``"face"``: a head rendered by ray casting an ellipsoid (orthographic camera), so yaw,
  pitch and roll foreshorten and hide the features exactly. Its surface is a texture map in
  (longitude, latitude): skin and hair modulated by grayscale photo detail, eyes that blink
  and gaze, brows that rise, a nose, lips that open; Lambert shading; ears, neck and
  shoulders behind it; a background cropped from a colour photo. 20 landmarks (pupils, eye
  corners, brows, nose tip, mouth corners and lips, chin, face outline); a landmark is
  visible when its surface faces the camera (a pupil also needs an open eye) and it lies in
  the frame.
* ``"body"``: an articulated figure (head, torso, upper/lower arms and legs: textured rigid
  parts joined at 14 known joints) with smooth random joint angles, a global sway,
  translation and scale. Parts are painted back to front; a joint is visible when the
  front-most part at its pixel is one of the parts it joins (self-occlusion) and it lies in
  the frame.

Textures come from photos bundled with scikit-image (:mod:`fomm_tf.data.textures`). The
dataset writer stores each video's ground truth in a sidecar ``<video-stem>.landmarks.npz``
(:func:`write_sidecar`, :func:`read_sidecar`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from ..media import atomic_dir, write_image
from ..video import VideoWriter
from . import textures

__all__ = [
    "ANNOTATED_KINDS",
    "BODY_LANDMARKS",
    "FACE_LANDMARKS",
    "AnnotatedVideo",
    "Sidecar",
    "read_sidecar",
    "render_annotated",
    "renderer",
    "sidecar_path",
    "write_annotated_dataset",
    "write_sidecar",
]

log = logging.getLogger(__name__)

ANNOTATED_KINDS = ("face", "body")
SIDECAR_SUFFIX = ".landmarks.npz"


FACE_LANDMARKS = (
    "pupil_l",
    "pupil_r",
    "eye_outer_l",
    "eye_inner_l",
    "eye_inner_r",
    "eye_outer_r",
    "brow_outer_l",
    "brow_inner_l",
    "brow_inner_r",
    "brow_outer_r",
    "nose_tip",
    "mouth_l",
    "mouth_r",
    "lip_upper",
    "lip_lower",
    "chin",
    "cheek_l",
    "cheek_r",
    "jaw_l",
    "jaw_r",
)
BODY_LANDMARKS = (
    "head",
    "neck",
    "shoulder_l",
    "shoulder_r",
    "elbow_l",
    "elbow_r",
    "wrist_l",
    "wrist_r",
    "hip_l",
    "hip_r",
    "knee_l",
    "knee_r",
    "ankle_l",
    "ankle_r",
)
_VISIBLE_NORMAL = 0.15  # a face landmark counts as visible when its normal's z exceeds this


@dataclass
class AnnotatedVideo:
    """A rendered video and its ground truth."""

    frames: np.ndarray  # (T, S, S, 3) float32 [0, 1]
    landmarks: np.ndarray  # (T, L, 2) float32 pixels (x, y); pixel centres at integers
    visible: np.ndarray  # (T, L) bool
    identity: int
    landmark_names: tuple[str, ...]


@dataclass
class Sidecar:
    """The ground truth stored beside a video."""

    landmarks: np.ndarray
    visible: np.ndarray
    identity: int
    landmark_names: tuple[str, ...]


class _Wave:
    """A smooth random signal: the sum of two sines with random periods (frames) and phases."""

    def __init__(self, rng: np.random.Generator, amp: float, period: tuple[float, float]):
        self.amp = float(amp)
        self.freq = 2 * np.pi / rng.uniform(*period, size=2)
        self.phase = rng.uniform(0, 2 * np.pi, size=2)
        self.mix = rng.uniform(0.25, 0.45)

    def __call__(self, t: float) -> float:
        a, b = np.sin(self.freq * t + self.phase)
        return float(self.amp * ((1 - self.mix) * a + self.mix * b))


def _colour(rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    return rng.uniform(low, high, size=3).astype(np.float32)


def _skin_tone(rng: np.random.Generator) -> np.ndarray:
    """A skin colour between a light and a dark tone, slightly jittered per channel."""
    light, dark = np.array([0.96, 0.8, 0.68]), np.array([0.36, 0.24, 0.17])
    mix = rng.uniform(0, 1)
    return np.clip((mix * light + (1 - mix) * dark) * rng.uniform(0.92, 1.08, 3), 0, 1).astype(
        np.float32
    )


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A photo crop, softened and tinted, with procedural colour noise on top."""
    img = textures.photo_crop(rng, (size, size))
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.2))
    tint = _colour(rng, 0.7, 1.2)
    mixed = img * tint * rng.uniform(0.7, 1.0) + textures.noise(rng, (size, size), 5, 0.12)[
        ..., None
    ] * _colour(rng, 0.5, 1.0)
    return np.clip(mixed, 0, 1).astype(np.float32)


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Head → camera rotation ``Rz(roll) Rx(pitch) Ry(yaw)`` (radians; x right, y down, z out)."""
    cy, sy = np.cos(yaw), np.sin(yaw)
    cp, sp = np.cos(pitch), np.sin(pitch)
    cr, sr = np.cos(roll), np.sin(roll)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return rz @ rx @ ry


def _aa_mask(size: int, polys: list[np.ndarray], scale: int = 16) -> np.ndarray:
    """An anti-aliased float mask of filled polygons (pixel coordinates, centres at integers)."""
    mask = np.zeros((size, size), np.uint8)
    pts = [np.round(p * scale).astype(np.int32) for p in polys]
    cv2.fillPoly(mask, pts, 255, cv2.LINE_AA, 4)
    return mask.astype(np.float32) / 255.0


def _ellipse_poly(centre, axes, angle_rad: float, n: int = 40) -> np.ndarray:
    th = np.linspace(0, 2 * np.pi, n, endpoint=False)
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    x, y = axes[0] * np.cos(th), axes[1] * np.sin(th)
    return np.stack([centre[0] + c * x - s * y, centre[1] + s * x + c * y], axis=1)


def _paste(canvas: np.ndarray, layer: np.ndarray, mask: np.ndarray) -> None:
    m = mask[..., None]
    canvas *= 1.0 - m
    canvas += layer * m


# ------------------------------------------------------------------------------------------
# face


class _Face:
    """One identity's head and one clip's motion; ``render(t)`` → (frame, landmarks, visible)."""

    UV_W, UV_H = 512, 256  # texture map: longitude [-pi, pi) × latitude [pi/2, -pi/2]

    def __init__(self, ident: np.random.Generator, motion: np.random.Generator, size: int):
        self.size = size
        self.background = _background(ident, size)
        a = size * ident.uniform(0.16, 0.2)
        self.axes = np.array([a, a * ident.uniform(1.15, 1.3), a * ident.uniform(0.9, 1.05)])
        self.centre = size * np.array(
            [0.5 + ident.uniform(-0.04, 0.04), 0.45 + ident.uniform(-0.02, 0.04)]
        )
        self.skin = _skin_tone(ident)
        self.hair = _colour(ident, 0.02, 0.45)
        self.shirt = _colour(ident, 0.1, 0.9)
        self.iris = _colour(ident, 0.05, 0.6)
        self.lips = np.clip(np.array([0.6, 0.18, 0.2]) * ident.uniform(0.7, 1.2), 0, 1)
        self.eye_lon = ident.uniform(0.36, 0.46)
        self.eye_lat = ident.uniform(0.1, 0.2)
        self.eye_w = ident.uniform(0.15, 0.2)  # half width, radians of longitude
        self.brow_lat = self.eye_lat + ident.uniform(0.14, 0.2)
        self.nose_lat = -ident.uniform(0.08, 0.16)
        self.mouth_lat = -ident.uniform(0.4, 0.48)
        self.mouth_w = ident.uniform(0.26, 0.36)
        self.hair_lat = ident.uniform(0.5, 0.8)
        self.hair_wave = ident.uniform(-0.08, 0.08, size=3)
        self.light = np.array([ident.uniform(-0.5, 0.5), -ident.uniform(0.2, 0.6), 1.0])
        self.light /= np.linalg.norm(self.light)
        self.uv_base = self._base_texture(ident)
        self.shirt_tex = np.clip(
            self.shirt + textures.gray_detail(ident, (size, size), 0.12)[..., None], 0, 1
        )
        self.skin_tex = np.clip(
            self.skin + textures.gray_detail(ident, (size, size), 0.06)[..., None], 0, 1
        )

        self.tx = _Wave(motion, size * motion.uniform(0.02, 0.06), (20, 60))
        self.ty = _Wave(motion, size * motion.uniform(0.01, 0.04), (20, 60))
        self.yaw = _Wave(motion, np.deg2rad(motion.uniform(25, 55)), (24, 70))
        self.pitch = _Wave(motion, np.deg2rad(motion.uniform(8, 22)), (20, 60))
        self.roll = _Wave(motion, np.deg2rad(motion.uniform(4, 12)), (24, 70))
        self.zoom = _Wave(motion, motion.uniform(0.03, 0.08), (30, 80))
        self.gaze = _Wave(motion, motion.uniform(0.03, 0.08), (12, 36))
        self.brow = _Wave(motion, motion.uniform(0.02, 0.05), (12, 36))
        self.blink_period = motion.uniform(16, 40)
        self.blink_phase = motion.uniform(0, self.blink_period)
        self.talk = _Wave(motion, 1.0, (6, 16))

    # texture map ----------------------------------------------------------------------
    def _uv(self, lon, lat):
        return (
            (np.asarray(lon) + np.pi) / (2 * np.pi) * self.UV_W,
            (np.pi / 2 - np.asarray(lat)) / np.pi * self.UV_H,
        )

    def _base_texture(self, rng: np.random.Generator) -> np.ndarray:
        w, h = self.UV_W, self.UV_H
        skin = self.skin + textures.gray_detail(rng, (h, w), 0.07)[..., None]
        strands = cv2.resize(
            rng.uniform(-0.12, 0.12, size=(8, 96)).astype(np.float32),
            (w, h),
            interpolation=cv2.INTER_CUBIC,
        )
        hair = self.hair + (strands + textures.gray_detail(rng, (h, w), 0.05))[..., None]
        lon = (np.arange(w) + 0.5) / w * 2 * np.pi - np.pi
        lat = np.pi / 2 - (np.arange(h) + 0.5) / h * np.pi
        hairline = self.hair_lat + sum(
            c * np.cos((k + 1) * lon) for k, c in enumerate(self.hair_wave)
        )
        is_hair = (lat[:, None] > hairline[None, :]) | (
            (np.abs(lon)[None, :] > 1.75) & (lat[:, None] > -0.35)
        )
        tex = np.where(is_hair[..., None], hair, skin)
        return np.clip(tex, 0, 1).astype(np.float32)

    def _state(self, t: int) -> dict:
        phase = ((t + self.blink_phase) % self.blink_period) / self.blink_period
        blink = np.clip(abs(phase - 0.5) * 12 - 0.2, 0, 1)  # closes briefly once a period
        return dict(
            open=0.08 + 0.92 * blink,
            gaze=self.gaze(t),
            brow=self.brow(t),
            mouth=max(0.0, self.talk(t)) ** 1.5,
        )

    def _points(self, st: dict) -> np.ndarray:
        """Landmarks as (lon, lat) on the head surface, in FACE_LANDMARKS order."""
        el, et, ew = self.eye_lon, self.eye_lat, self.eye_w
        bl = self.brow_lat + st["brow"]
        mw, ml = self.mouth_w, self.mouth_lat
        lower = ml - 0.035 - 0.14 * st["mouth"]
        pts = [
            (-el + st["gaze"], et),
            (el + st["gaze"], et),
            (-el - ew, et),
            (-el + ew, et),
            (el - ew, et),
            (el + ew, et),
            (-el - 0.9 * ew, bl - 0.02),
            (-el + 0.8 * ew, bl),
            (el - 0.8 * ew, bl),
            (el + 0.9 * ew, bl - 0.02),
            (0.0, self.nose_lat),
            (-mw, ml),
            (mw, ml),
            (0.0, ml + 0.035),
            (0.0, lower),
            (0.0, -1.1 - 0.1 * st["mouth"]),
            (-1.2, -0.15),
            (1.2, -0.15),
            (-0.8, -0.78),
            (0.8, -0.78),
        ]
        return np.array(pts, np.float64)

    def _texture(self, st: dict) -> np.ndarray:
        tex = self.uv_base.copy()
        uv = self._uv
        ppr = self.UV_W / (2 * np.pi)  # texture pixels per radian (both axes)
        sh = 4

        def ell(lon, lat, ax_lon, ax_lat, colour, angle=0.0):
            u, v = uv(lon, lat)
            cv2.ellipse(
                tex,
                (int(round(u * 16)), int(round(v * 16))),
                (max(1, int(ax_lon * ppr * 16)), max(1, int(ax_lat * ppr * 16))),
                angle,
                0,
                360,
                tuple(float(c) for c in colour),
                -1,
                cv2.LINE_AA,
                sh,
            )

        dark = self.skin * 0.72
        # nose: a shaded ridge and two nostrils
        ell(0.0, (self.eye_lat + self.nose_lat) / 2, 0.05, 0.16, self.skin * 0.86)
        ell(0.0, self.nose_lat + 0.01, 0.09, 0.04, self.skin * 0.8)
        for s in (-1, 1):
            ell(0.045 * s, self.nose_lat - 0.01, 0.025, 0.014, dark * 0.6)
        for s in (-1, 1):
            lon = s * self.eye_lon
            ell(lon, self.eye_lat, self.eye_w, 0.075 * st["open"], (0.95, 0.95, 0.93))
            iris_v = min(0.055, 0.075 * st["open"])
            ell(lon + st["gaze"], self.eye_lat, 0.055, iris_v, self.iris)
            ell(lon + st["gaze"], self.eye_lat, 0.022, min(0.022, iris_v), (0.02, 0.02, 0.02))
            ell(lon, self.eye_lat + 0.075 * st["open"] + 0.015, self.eye_w, 0.015, dark)
            blat = self.brow_lat + st["brow"]
            ell(lon + s * 0.05 * self.eye_w, blat - 0.01, 0.95 * self.eye_w, 0.03, self.hair, 0)
        mouth = st["mouth"]
        ell(0.0, self.mouth_lat - 0.07 * mouth, self.mouth_w, 0.035 + 0.07 * mouth, self.lips)
        if mouth > 0.05:
            ell(
                0.0,
                self.mouth_lat - 0.07 * mouth,
                0.8 * self.mouth_w,
                0.06 * mouth,
                (0.15, 0.02, 0.04),
            )
        ell(0.0, -1.1 - 0.1 * mouth, 0.16, 0.05, self.skin * 0.9)
        return tex

    def _project(self, pts3: np.ndarray, rot: np.ndarray, scale: float, centre) -> np.ndarray:
        cam = pts3 @ rot.T
        return np.stack([centre[0] + scale * cam[:, 0], centre[1] + scale * cam[:, 1]], 1)

    def _surface(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        a, b, c = self.axes
        p = np.stack(
            [a * np.sin(lon) * np.cos(lat), -b * np.sin(lat), c * np.cos(lon) * np.cos(lat)], -1
        )
        n = p / self.axes**2
        return p, n / np.linalg.norm(n, axis=-1, keepdims=True)

    def render(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        size = self.size
        st = self._state(t)
        rot = _rotation(self.yaw(t), self.pitch(t), self.roll(t))
        scale = 1.0 + self.zoom(t)
        centre = self.centre + np.array([self.tx(t), self.ty(t)])
        canvas = self.background.copy()
        a, b, c = self.axes * scale

        # shoulders and neck (2D, behind the head; they follow it only partly)
        sc = (self.centre[0] + 0.4 * self.tx(t), self.centre[1] + 2.35 * b)
        _paste(canvas, self.shirt_tex, _aa_mask(size, [_ellipse_poly(sc, (2.3 * a, 1.25 * b), 0)]))
        roll = float(np.arctan2(rot[1, 0], rot[0, 0]))
        neck = (centre[0] - 0.55 * b * np.sin(roll), centre[1] + 0.55 * b * np.cos(roll))
        _paste(
            canvas, self.skin_tex * 0.85, _aa_mask(size, [_ellipse_poly(neck, (0.5 * a, b), roll)])
        )
        # ears: ellipses at longitude ±pi/2, drawn behind the head so it hides them
        ears, _ = self._surface(np.array([-np.pi / 2, np.pi / 2]), np.array([0.0, 0.0]))
        ears2 = self._project(ears * np.array([1.08, 1, 1]) * scale, rot, 1.0, centre)
        _paste(
            canvas,
            self.skin_tex * 0.9,
            _aa_mask(size, [_ellipse_poly(e, (0.16 * a, 0.3 * b), roll) for e in ears2]),
        )

        # the head: ray-cast the ellipsoid at 2x resolution, sample the texture map
        ss = 2
        coords = (np.arange(size * ss) + 0.5) / ss - 0.5
        gx, gy = np.meshgrid(coords, coords)
        q = np.stack([(gx - centre[0]), (gy - centre[1]), np.zeros_like(gx)], -1).reshape(-1, 3)
        origin = q @ rot  # rot.T applied to row vectors: camera → head frame
        direction = np.array([0.0, 0.0, 1.0]) @ rot
        o, d = origin / (a, b, c), direction / (a, b, c)
        dd = float(d @ d)
        od = o @ d
        disc = od**2 - dd * (np.einsum("ij,ij->i", o, o) - 1.0)
        hit = disc > 0
        tt = (-od + np.sqrt(np.maximum(disc, 0))) / dd  # the intersection nearest the viewer
        p = origin + tt[:, None] * direction
        lon = np.arctan2(p[:, 0] / a, p[:, 2] / c)
        lat = np.arcsin(np.clip(-p[:, 1] / b, -1, 1))
        normal = p / np.array([a, b, c]) ** 2
        normal = (normal / np.linalg.norm(normal, axis=1, keepdims=True)) @ rot.T
        shade = 0.55 + 0.5 * np.clip(normal @ self.light, 0, 1)
        tex = self._texture(st)
        u, v = self._uv(lon, lat)
        hh = size * ss
        head = cv2.remap(
            tex,
            (u - 0.5).reshape(hh, hh).astype(np.float32),
            (v - 0.5).reshape(hh, hh).astype(np.float32),
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_WRAP,
        )
        head *= shade.reshape(hh, hh, 1).astype(np.float32)
        mask = hit.reshape(hh, hh).astype(np.float32)
        head = cv2.resize(head * mask[..., None], (size, size), interpolation=cv2.INTER_AREA)
        mask = cv2.resize(mask, (size, size), interpolation=cv2.INTER_AREA)
        canvas *= 1.0 - mask[..., None]
        canvas += head

        # landmarks
        pts = self._points(st)
        p3, n3 = self._surface(pts[:, 0], pts[:, 1])
        xy = self._project(p3 * scale, rot, 1.0, centre)
        facing = (n3 @ rot.T)[:, 2] > _VISIBLE_NORMAL
        facing[:2] &= st["open"] > 0.35  # a closed eye hides its pupil
        inside = np.all((xy >= 0) & (xy <= size - 1), axis=1)
        return np.clip(canvas, 0, 1), xy.astype(np.float32), facing & inside


# ------------------------------------------------------------------------------------------
# body

# part name → (start joint, end joint, half width as a fraction of the torso length)
_PARTS = {
    "upper_arm_l": ("shoulder_l", "elbow_l", 0.11),
    "forearm_l": ("elbow_l", "wrist_l", 0.09),
    "thigh_l": ("hip_l", "knee_l", 0.14),
    "shin_l": ("knee_l", "ankle_l", 0.11),
    "torso": ("neck", "pelvis", 0.0),
    "head": ("head", "head", 0.0),
    "thigh_r": ("hip_r", "knee_r", 0.14),
    "shin_r": ("knee_r", "ankle_r", 0.11),
    "upper_arm_r": ("shoulder_r", "elbow_r", 0.11),
    "forearm_r": ("elbow_r", "wrist_r", 0.09),
}
# the parts a joint belongs to: it is visible when one of them is front-most at its pixel
_JOINT_PARTS = {
    "head": ("head",),
    "neck": ("torso", "head"),
    "shoulder_l": ("torso", "upper_arm_l"),
    "shoulder_r": ("torso", "upper_arm_r"),
    "elbow_l": ("upper_arm_l", "forearm_l"),
    "elbow_r": ("upper_arm_r", "forearm_r"),
    "wrist_l": ("forearm_l",),
    "wrist_r": ("forearm_r",),
    "hip_l": ("torso", "thigh_l"),
    "hip_r": ("torso", "thigh_r"),
    "knee_l": ("thigh_l", "shin_l"),
    "knee_r": ("thigh_r", "shin_r"),
    "ankle_l": ("shin_l",),
    "ankle_r": ("shin_r",),
}


def _capsule(p0, p1, r0: float, r1: float, n: int = 12) -> np.ndarray:
    """Polygon of a tapered capsule from ``p0`` (radius r0) to ``p1`` (radius r1)."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    ang = np.arctan2(*(p1 - p0)[::-1])
    a0 = ang + np.linspace(np.pi / 2, 3 * np.pi / 2, n)
    a1 = ang + np.linspace(-np.pi / 2, np.pi / 2, n)
    return np.concatenate(
        [
            p0 + r0 * np.stack([np.cos(a0), np.sin(a0)], 1),
            p1 + r1 * np.stack([np.cos(a1), np.sin(a1)], 1),
        ]
    )


class _Body:
    """An articulated figure: one identity's proportions and textures, one clip's motion."""

    def __init__(self, ident: np.random.Generator, motion: np.random.Generator, size: int):
        self.size = size
        self.background = _background(ident, size)
        self.torso = size * ident.uniform(0.2, 0.25)
        t = self.torso
        self.lengths = dict(
            upper_arm=t * ident.uniform(0.55, 0.7),
            forearm=t * ident.uniform(0.5, 0.65),
            thigh=t * ident.uniform(0.75, 0.9),
            shin=t * ident.uniform(0.7, 0.85),
            shoulder=t * ident.uniform(0.32, 0.42),
            hip=t * ident.uniform(0.2, 0.28),
            neck=t * ident.uniform(0.18, 0.25),
            head=t * ident.uniform(0.22, 0.28),
        )
        self.root = size * np.array([0.5 + ident.uniform(-0.05, 0.05), 0.53])
        shirt, trousers = _colour(ident, 0.1, 0.9), _colour(ident, 0.05, 0.7)
        skin = _skin_tone(ident)
        colours = dict(
            upper_arm=shirt, forearm=skin, thigh=trousers, shin=trousers * 0.85, torso=shirt
        )
        colours["head"] = skin
        self.textures = {}
        for part in _PARTS:
            base = colours[part.rsplit("_", 1)[0] if part[-2:] in ("_l", "_r") else part]
            detail = textures.gray_detail(ident, (32, 64), 0.18)
            self.textures[part] = np.clip(base + detail[..., None], 0, 1).astype(np.float32)
        self.hair = _colour(ident, 0.02, 0.4)

        deg = np.deg2rad
        self.waves = dict(
            x=_Wave(motion, size * motion.uniform(0.04, 0.1), (40, 90)),
            y=_Wave(motion, size * motion.uniform(0.01, 0.03), (30, 70)),
            zoom=_Wave(motion, motion.uniform(0.04, 0.1), (40, 90)),
            lean=_Wave(motion, deg(motion.uniform(4, 12)), (30, 70)),
            head=_Wave(motion, deg(motion.uniform(5, 15)), (20, 50)),
        )
        for side, sgn in (("l", -1), ("r", 1)):
            self.waves[f"shoulder_{side}"] = (
                deg(motion.uniform(20, 60)) * -sgn,
                _Wave(motion, deg(motion.uniform(40, 80)), (24, 60)),
            )
            self.waves[f"elbow_{side}"] = (
                deg(motion.uniform(10, 60)) * -sgn,
                _Wave(motion, deg(motion.uniform(20, 50)), (20, 50)),
            )
            self.waves[f"hip_{side}"] = (
                deg(motion.uniform(3, 15)) * -sgn,
                _Wave(motion, deg(motion.uniform(8, 25)), (30, 70)),
            )
            self.waves[f"knee_{side}"] = (
                deg(motion.uniform(5, 20)) * sgn,
                _Wave(motion, deg(motion.uniform(5, 20)), (30, 70)),
            )

    def _joints(self, t: int) -> dict[str, np.ndarray]:
        w, ln = self.waves, self.lengths
        s = 1.0 + w["zoom"](t)
        pelvis = self.root + np.array([w["x"](t), w["y"](t)])
        lean = w["lean"](t)

        def vec(angle, length):  # angle 0 = straight down
            return s * length * np.array([-np.sin(angle), np.cos(angle)])

        def rel(name):
            rest, wave = w[name]
            return rest + wave(t)

        up = -vec(lean, self.torso)
        neck = pelvis + up
        across = np.array([np.cos(lean), np.sin(lean)]) * s
        j = dict(pelvis=pelvis, neck=neck)
        j["head"] = neck - vec(lean + w["head"](t), ln["neck"] + ln["head"])
        for side, sgn in (("l", -1), ("r", 1)):
            sh = neck + sgn * across * ln["shoulder"] + 0.08 * self.torso * s * np.array([0, 1])
            a1 = lean + rel(f"shoulder_{side}")
            el = sh + vec(a1, ln["upper_arm"])
            wr = el + vec(a1 + rel(f"elbow_{side}"), ln["forearm"])
            hp = pelvis + sgn * across * ln["hip"]
            a2 = rel(f"hip_{side}")
            kn = hp + vec(a2, ln["thigh"])
            an = kn + vec(a2 + rel(f"knee_{side}"), ln["shin"])
            j.update(
                {
                    f"shoulder_{side}": sh,
                    f"elbow_{side}": el,
                    f"wrist_{side}": wr,
                    f"hip_{side}": hp,
                    f"knee_{side}": kn,
                    f"ankle_{side}": an,
                }
            )
        j["_scale"] = np.array([s, lean])
        return j

    def _part_poly(self, part: str, j: dict) -> np.ndarray:
        s, lean = j["_scale"]
        if part == "head":
            r = self.lengths["head"] * s
            return _ellipse_poly(j["head"], (0.8 * r, r), lean)
        if part == "torso":
            sl, sr = j["shoulder_l"], j["shoulder_r"]
            hl, hr = j["hip_l"], j["hip_r"]
            pad = 0.1 * self.torso * s
            out_l = np.array([-np.cos(lean), -np.sin(lean)]) * pad
            up = (j["neck"] - j["pelvis"]) / np.linalg.norm(j["neck"] - j["pelvis"]) * pad
            return np.array(
                [
                    sl + out_l + up * 0.6,
                    sr - out_l + up * 0.6,
                    hr - out_l * 1.3 - up * 0.8,
                    hl + out_l * 1.3 - up * 0.8,
                ]
            )
        a, b, half = _PARTS[part]
        r = half * self.torso * s
        return _capsule(j[a], j[b], r, r * 0.85)

    def render(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        size = self.size
        j = self._joints(t)
        canvas = self.background.copy()
        labels = np.zeros((size, size), np.int32)
        names = list(_PARTS)
        for k, part in enumerate(names, start=1):
            poly = self._part_poly(part, j)
            a, b, _ = _PARTS[part]
            tex = self.textures[part]
            th, tw = tex.shape[:2]
            # the texture's long axis runs from joint a to joint b (rigid with the part)
            pa = j[a] if a != b else j["head"] - np.array([0, self.lengths["head"]])
            pb = j[b] if a != b else j["head"] + np.array([0, self.lengths["head"]])
            axis = pb - pa
            normal = np.array([-axis[1], axis[0]]) * (th / tw)
            src = np.float32([[0, th / 2], [tw, th / 2], [0, 0]])
            dst = np.float32([pa, pb, pa - normal / 2])
            m = cv2.getAffineTransform(src, dst)
            layer = cv2.warpAffine(
                tex, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
            )
            if part == "head":
                layer = layer.copy()
            mask = _aa_mask(size, [poly])
            _paste(canvas, layer, mask)
            if part == "head":  # hair on the top half of the head
                s, lean = j["_scale"]
                r = self.lengths["head"] * s
                top = j["head"] - 0.45 * r * np.array([-np.sin(lean), np.cos(lean)])
                hair = _aa_mask(size, [_ellipse_poly(top, (0.78 * r, 0.6 * r), lean)]) * mask
                _paste(canvas, np.broadcast_to(self.hair, canvas.shape), hair)
            labels[mask > 0.5] = k
        xy = np.array([j[n] for n in BODY_LANDMARKS], np.float64)
        inside = np.all((xy >= 0) & (xy <= size - 1), axis=1)
        visible = np.zeros(len(BODY_LANDMARKS), bool)
        for i, name in enumerate(BODY_LANDMARKS):
            if inside[i]:
                x, y = (int(round(v)) for v in xy[i])
                front = labels[y, x]
                visible[i] = front > 0 and names[front - 1] in _JOINT_PARTS[name]
        return np.clip(canvas, 0, 1), xy.astype(np.float32), visible


# ------------------------------------------------------------------------------------------
# public API


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def renderer(kind: str, identity: int, clip: int, size: int, motion_identity: int | None = None):
    """The object behind :func:`render_annotated`: ``.render(t)`` → (frame, landmarks, visible)
    for any frame index ``t`` (frames need not be rendered in order). ``motion_identity``
    (default ``identity``) picks whose clip ``clip`` the motion is: identity A moving exactly
    as B does in B's clip is the ground truth of animating A with B's video."""
    k = ANNOTATED_KINDS.index(kind)
    ident = np.random.default_rng([identity, 17, k])
    mover = identity if motion_identity is None else motion_identity
    motion = np.random.default_rng([mover, clip, 23, k])
    return (_Face if kind == "face" else _Body)(ident, motion, size)


def render_annotated(
    num_frames: int = 16,
    size: int = 128,
    identity: int = 0,
    clip: int = 0,
    kind: str = "face",
    motion_identity: int | None = None,
) -> AnnotatedVideo:
    """Render clip ``clip`` of identity ``identity`` with its ground truth.

    Args:
        num_frames: frames ``T`` (>= 1).
        size: frame side in pixels (>= 32).
        identity: identity id (>= 0): background, textures, colours, proportions.
        clip: motion id (>= 0): the same identity moves differently in each clip.
        kind: ``"face"`` or ``"body"`` (see the module doc).
        motion_identity: whose clip ``clip`` the motion is (default: ``identity``'s own).

    Returns:
        :class:`AnnotatedVideo`; landmarks are in pixels with pixel centres at integer
        coordinates, so ``(0, 0)`` is the centre of the top-left pixel.
    """
    num_frames = _check_int("num_frames", num_frames, 1)
    size = _check_int("size", size, 32)
    identity = _check_int("identity", identity, 0)
    clip = _check_int("clip", clip, 0)
    if motion_identity is not None:
        motion_identity = _check_int("motion identity", motion_identity, 0)
    if kind not in ANNOTATED_KINDS:
        raise InputError(f"kind must be one of {ANNOTATED_KINDS}, got {kind!r}")
    model = renderer(kind, identity, clip, size, motion_identity)
    names = FACE_LANDMARKS if kind == "face" else BODY_LANDMARKS
    frames = np.empty((num_frames, size, size, 3), np.float32)
    landmarks = np.empty((num_frames, len(names), 2), np.float32)
    visible = np.empty((num_frames, len(names)), bool)
    for t in range(num_frames):
        frames[t], landmarks[t], visible[t] = model.render(t)
    return AnnotatedVideo(frames, landmarks, visible, identity, names)


def sidecar_path(video: str | os.PathLike) -> Path:
    """``<video-stem>.landmarks.npz`` beside ``video`` (a file or a folder of frames)."""
    p = Path(video)
    stem = p.name if p.is_dir() or not p.suffix else p.stem
    return p.with_name(stem + SIDECAR_SUFFIX)


def write_sidecar(path: str | os.PathLike, video: AnnotatedVideo) -> None:
    """Write the ground truth as an ``.npz`` whose bytes depend only on the arrays.

    (``numpy.savez`` stamps the current time into the zip entries; this does not.)
    """
    arrays = {
        "landmarks": np.ascontiguousarray(video.landmarks, np.float32),
        "visible": np.ascontiguousarray(video.visible, bool),
        "identity": np.asarray(video.identity, np.int64),
        "landmark_names": np.asarray(video.landmark_names, dtype="U"),
    }
    with open(path, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
        for key, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, arr, allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue())


def read_sidecar(video: str | os.PathLike) -> Sidecar | None:
    """The ground truth beside ``video``, ``None`` without a sidecar; a bad one is an InputError."""
    path = sidecar_path(video)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            lm = np.asarray(z["landmarks"], np.float32)
            vis = np.asarray(z["visible"], bool)
            ident = int(z["identity"])
            names = tuple(str(n) for n in z["landmark_names"])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: unreadable landmark sidecar ({exc})") from None
    if lm.ndim != 3 or lm.shape[2] != 2 or vis.shape != lm.shape[:2] or len(names) != lm.shape[1]:
        raise InputError(f"{path}: landmark sidecar arrays have inconsistent shapes")
    return Sidecar(lm, vis, ident, names)


@contextlib.contextmanager
def dataset_folder(root: str | os.PathLike, overwrite: bool):
    """Yield a temporary folder beside ``root`` that replaces ``root`` when the block ends.

    A non-empty ``root`` is an :class:`InputError` unless ``overwrite``; if the block
    raises, the temporary folder is removed and ``root`` is left as it was.
    """
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise InputError(f"{root}: exists and is not a folder")
    if root.is_dir() and any(root.iterdir()) and not overwrite:
        raise InputError(f"{root}: folder is not empty (pass --overwrite to replace it)")
    with atomic_dir(root) as tmp:
        yield tmp


def write_video(folder: Path, name: str, frames: np.ndarray, layout: str, fps: float) -> Path:
    """``folder/name.mp4`` (H.264) or ``folder/name/0000.png …``; returns the video's path."""
    if layout == "mp4":
        target = folder / f"{name}.mp4"
        with VideoWriter(target, fps=fps) as writer:
            writer.write(frames)
    else:
        target = folder / name
        target.mkdir()
        for k, frame in enumerate(frames):
            write_image(target / f"{k:04d}.png", frame)
    return target


def write_annotated_dataset(
    root: str | os.PathLike,
    num_train: int,
    num_test: int,
    num_frames: int,
    size: int = 128,
    kind: str = "face",
    seed: int = 0,
    overwrite: bool = False,
    layout: str = "mp4",
    fps: float = 25.0,
    clips_per_identity: int = 2,
    progress: bool = True,
) -> Path:
    """Write ``root/train`` and ``root/test`` with a ground-truth sidecar for every video.

    Videos are named ``id{identity:07d}#clip{k:02d}``; ``clips_per_identity`` consecutive
    videos share an identity and the identities of the two splits are disjoint. Identity ids
    are ``seed * 100000 + 1, 2, …`` (train first), so different seeds give different people.
    Everything is written into a temporary folder beside ``root`` that is renamed onto it
    at the end: an interrupted run leaves nothing; an existing non-empty ``root`` is
    replaced only with ``overwrite``.

    Args:
        layout: ``"mp4"`` (H.264, ``fps``) or ``"frames"`` (a folder of PNGs per video).
    """
    from tqdm import tqdm

    num_train = _check_int("train videos", num_train, 0)
    num_test = _check_int("test videos", num_test, 1)
    num_frames = _check_int("frames", num_frames, 1)
    seed = _check_int("seed", seed, 0)
    clips_per_identity = _check_int("clips per identity", clips_per_identity, 1)
    if layout not in ("mp4", "frames"):
        raise InputError(f"layout must be 'mp4' or 'frames', got {layout!r}")
    if kind not in ANNOTATED_KINDS:
        raise InputError(f"kind must be one of {ANNOTATED_KINDS}, got {kind!r}")
    with dataset_folder(root, overwrite) as tmp:
        next_id = seed * 100_000 + 1
        jobs = []
        for split, count in (("train", num_train), ("test", num_test)):
            (tmp / split).mkdir()
            for j in range(count):
                jobs.append((split, next_id + j // clips_per_identity, j % clips_per_identity))
            next_id += -(-count // clips_per_identity)
        for split, ident, clip in tqdm(
            jobs, desc=f"render {kind}", unit="video", disable=not progress
        ):
            video = render_annotated(num_frames, size, identity=ident, clip=clip, kind=kind)
            name = f"id{ident:07d}#clip{clip + 1:02d}"
            target = write_video(tmp / split, name, video.frames, layout, fps)
            write_sidecar(sidecar_path(target), video)
    log.info("wrote %s: %d train, %d test %s videos", root, num_train, num_test, kind)
    return root
