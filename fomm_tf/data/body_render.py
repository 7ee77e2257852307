"""The annotated ``"body"`` kind: an articulated figure with 14 ground-truth joints.

See :mod:`fomm_tf.data.annotated` for what it renders and how visibility is decided.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import textures
from .drawing import Wave, aa_mask, background, colour, ellipse_poly, paste, skin_tone

__all__ = ["BODY_LANDMARKS", "Body"]

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


class Body:
    """An articulated figure: one identity's proportions and textures, one clip's motion."""

    def __init__(self, ident: np.random.Generator, motion: np.random.Generator, size: int):
        self.size = size
        self.background = background(ident, size)
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
        shirt, trousers = colour(ident, 0.1, 0.9), colour(ident, 0.05, 0.7)
        skin = skin_tone(ident)
        colours = dict(
            upper_arm=shirt, forearm=skin, thigh=trousers, shin=trousers * 0.85, torso=shirt
        )
        colours["head"] = skin
        self.textures = {}
        for part in _PARTS:
            base = colours[part.rsplit("_", 1)[0] if part[-2:] in ("_l", "_r") else part]
            detail = textures.gray_detail(ident, (32, 64), 0.18)
            self.textures[part] = np.clip(base + detail[..., None], 0, 1).astype(np.float32)
        self.hair = colour(ident, 0.02, 0.4)

        deg = np.deg2rad
        self.waves = dict(
            x=Wave(motion, size * motion.uniform(0.04, 0.1), (40, 90)),
            y=Wave(motion, size * motion.uniform(0.01, 0.03), (30, 70)),
            zoom=Wave(motion, motion.uniform(0.04, 0.1), (40, 90)),
            lean=Wave(motion, deg(motion.uniform(4, 12)), (30, 70)),
            head=Wave(motion, deg(motion.uniform(5, 15)), (20, 50)),
        )
        for side, sgn in (("l", -1), ("r", 1)):
            self.waves[f"shoulder_{side}"] = (
                deg(motion.uniform(20, 60)) * -sgn,
                Wave(motion, deg(motion.uniform(40, 80)), (24, 60)),
            )
            self.waves[f"elbow_{side}"] = (
                deg(motion.uniform(10, 60)) * -sgn,
                Wave(motion, deg(motion.uniform(20, 50)), (20, 50)),
            )
            self.waves[f"hip_{side}"] = (
                deg(motion.uniform(3, 15)) * -sgn,
                Wave(motion, deg(motion.uniform(8, 25)), (30, 70)),
            )
            self.waves[f"knee_{side}"] = (
                deg(motion.uniform(5, 20)) * sgn,
                Wave(motion, deg(motion.uniform(5, 20)), (30, 70)),
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
            return ellipse_poly(j["head"], (0.8 * r, r), lean)
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
            mask = aa_mask(size, [poly])
            paste(canvas, layer, mask)
            if part == "head":  # hair on the top half of the head
                s, lean = j["_scale"]
                r = self.lengths["head"] * s
                top = j["head"] - 0.45 * r * np.array([-np.sin(lean), np.cos(lean)])
                hair = aa_mask(size, [ellipse_poly(top, (0.78 * r, 0.6 * r), lean)]) * mask
                paste(canvas, np.broadcast_to(self.hair, canvas.shape), hair)
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
