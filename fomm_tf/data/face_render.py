"""The annotated ``"face"`` kind: a ray-cast ellipsoid head with 20 ground-truth landmarks.

See :mod:`fomm_tf.data.annotated` for what it renders and how visibility is decided.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import textures
from .drawing import Wave, aa_mask, background, colour, ellipse_poly, paste, rotation, skin_tone

__all__ = ["FACE_LANDMARKS", "Face"]

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
_VISIBLE_NORMAL = 0.15  # a face landmark counts as visible when its normal's z exceeds this


class Face:
    """One identity's head and one clip's motion; ``render(t)`` → (frame, landmarks, visible)."""

    UV_W, UV_H = 512, 256  # texture map: longitude [-pi, pi) × latitude [pi/2, -pi/2]

    def __init__(self, ident: np.random.Generator, motion: np.random.Generator, size: int):
        self.size = size
        self.background = background(ident, size)
        a = size * ident.uniform(0.16, 0.2)
        self.axes = np.array([a, a * ident.uniform(1.15, 1.3), a * ident.uniform(0.9, 1.05)])
        self.centre = size * np.array(
            [0.5 + ident.uniform(-0.04, 0.04), 0.45 + ident.uniform(-0.02, 0.04)]
        )
        self.skin = skin_tone(ident)
        self.hair = colour(ident, 0.02, 0.45)
        self.shirt = colour(ident, 0.1, 0.9)
        self.iris = colour(ident, 0.05, 0.6)
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

        self.tx = Wave(motion, size * motion.uniform(0.02, 0.06), (20, 60))
        self.ty = Wave(motion, size * motion.uniform(0.01, 0.04), (20, 60))
        self.yaw = Wave(motion, np.deg2rad(motion.uniform(25, 55)), (24, 70))
        self.pitch = Wave(motion, np.deg2rad(motion.uniform(8, 22)), (20, 60))
        self.roll = Wave(motion, np.deg2rad(motion.uniform(4, 12)), (24, 70))
        self.zoom = Wave(motion, motion.uniform(0.03, 0.08), (30, 80))
        self.gaze = Wave(motion, motion.uniform(0.03, 0.08), (12, 36))
        self.brow = Wave(motion, motion.uniform(0.02, 0.05), (12, 36))
        self.blink_period = motion.uniform(16, 40)
        self.blink_phase = motion.uniform(0, self.blink_period)
        self.talk = Wave(motion, 1.0, (6, 16))

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
        rot = rotation(self.yaw(t), self.pitch(t), self.roll(t))
        scale = 1.0 + self.zoom(t)
        centre = self.centre + np.array([self.tx(t), self.ty(t)])
        canvas = self.background.copy()
        a, b, c = self.axes * scale

        # shoulders and neck (2D, behind the head; they follow it only partly)
        sc = (self.centre[0] + 0.4 * self.tx(t), self.centre[1] + 2.35 * b)
        paste(canvas, self.shirt_tex, aa_mask(size, [ellipse_poly(sc, (2.3 * a, 1.25 * b), 0)]))
        roll = float(np.arctan2(rot[1, 0], rot[0, 0]))
        neck = (centre[0] - 0.55 * b * np.sin(roll), centre[1] + 0.55 * b * np.cos(roll))
        paste(canvas, self.skin_tex * 0.85, aa_mask(size, [ellipse_poly(neck, (0.5 * a, b), roll)]))
        # ears: ellipses at longitude ±pi/2, drawn behind the head so it hides them
        ears, _ = self._surface(np.array([-np.pi / 2, np.pi / 2]), np.array([0.0, 0.0]))
        ears2 = self._project(ears * np.array([1.08, 1, 1]) * scale, rot, 1.0, centre)
        paste(
            canvas,
            self.skin_tex * 0.9,
            aa_mask(size, [ellipse_poly(e, (0.16 * a, 0.3 * b), roll) for e in ears2]),
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
