"""Deterministic synthetic "talking head" and "blob" videos for tests, demos and calibration.

Nothing is downloaded: every video is drawn with OpenCV (anti-aliased, sub-pixel precise
shapes) on a smooth random texture. ``render_video`` returns frames in memory;
``write_dataset`` writes a small dataset in the layouts the official FOMM datasets use.

Two random streams drive a video: the *identity* (``seed``: background texture, colours,
proportions, rest position) and the *motion* (``motion_seed``, default ``seed``: amplitudes,
frequencies and phases of translation, rotation, scale, blinking, mouth and gaze). So two
clips with the same ``seed`` and different ``motion_seed`` show the same "person" moving
differently, like two clips of one identity in VoxCeleb.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import cv2
import numpy as np

from fomm_tf.errors import InputError
from fomm_tf.media.atomic import atomic_dir
from fomm_tf.media.images import write_image
from fomm_tf.media.video_writer import VideoWriter

__all__ = ["KINDS", "LAYOUTS", "render_video", "write_dataset"]

logger = logging.getLogger(__name__)

#: What ``render_video`` can draw.
KINDS = ("face", "blobs")
#: Dataset layouts ``write_dataset`` can produce.
LAYOUTS = ("mp4", "gif", "frames", "strip")

_SHIFT = 4  # cv2 fixed-point bits: coordinates are given in 1/16 pixel
_ONE = 1 << _SHIFT


def _pt(x: float, y: float) -> tuple[int, int]:
    return int(round(x * _ONE)), int(round(y * _ONE))


def _len(v: float) -> int:
    return max(1, int(round(v * _ONE)))


def _colour(rng: np.random.Generator, low: float = 0.0, high: float = 1.0) -> tuple[int, ...]:
    return tuple(int(c) for c in (rng.uniform(low, high, size=3) * 255).round())


def _ellipse(
    img: np.ndarray,
    centre: tuple[float, float],
    axes: tuple[float, float],
    angle: float,
    colour: tuple[int, ...],
    thickness: int = -1,
) -> None:
    cv2.ellipse(
        img,
        _pt(*centre),
        (_len(axes[0]), _len(axes[1])),
        float(angle),
        0.0,
        360.0,
        colour,
        thickness,
        cv2.LINE_AA,
        _SHIFT,
    )


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A static textured background: smooth colour blotches plus finer grain, uint8."""
    base = rng.uniform(0.25, 0.75, size=3)
    coarse = cv2.resize(
        rng.uniform(-0.25, 0.25, size=(5, 5, 3)).astype(np.float32),
        (size, size),
        interpolation=cv2.INTER_CUBIC,
    )
    fine_n = max(2, size // 6)
    fine = cv2.resize(
        rng.uniform(-0.08, 0.08, size=(fine_n, fine_n, 3)).astype(np.float32),
        (size, size),
        interpolation=cv2.INTER_CUBIC,
    )
    ramp = np.linspace(-0.1, 0.1, size, dtype=np.float32)[:, None, None] * rng.uniform(
        -1, 1, size=3
    ).astype(np.float32)
    bg = np.clip(base[None, None, :] + coarse + fine + ramp, 0.0, 1.0)
    img = np.ascontiguousarray((bg * 255).round().astype(np.uint8))
    # a few static "objects" so the background has edges, not just blur
    for _ in range(int(rng.integers(2, 5))):
        x0, y0 = rng.uniform(0, size, size=2)
        w, h = rng.uniform(0.1, 0.35, size=2) * size
        cv2.rectangle(
            img,
            _pt(x0, y0),
            _pt(x0 + w, y0 + h),
            _colour(rng, 0.1, 0.9),
            -1,
            cv2.LINE_AA,
            _SHIFT,
        )
    return img


class _Wave:
    """``amp * sin(freq * t + phase)`` with random frequency (rad/frame) and phase."""

    def __init__(self, rng: np.random.Generator, amp: float, period: tuple[float, float]):
        self.amp = amp
        self.freq = 2 * np.pi / rng.uniform(*period)
        self.phase = rng.uniform(0, 2 * np.pi)

    def __call__(self, t: float) -> float:
        return float(self.amp * np.sin(self.freq * t + self.phase))


def _face_renderer(ident: np.random.Generator, motion: np.random.Generator, size: int):
    skin = _colour(ident, 0.45, 0.95)
    hair = _colour(ident, 0.0, 0.45)
    shirt = _colour(ident, 0.1, 0.9)
    iris = _colour(ident, 0.0, 0.6)
    lips = tuple(int(c) for c in (np.array([0.55, 0.1, 0.15]) * 255 * ident.uniform(0.7, 1.2)))
    lips = tuple(min(255, c) for c in lips)
    fa = size * ident.uniform(0.19, 0.25)  # half width of the face
    fb = fa * ident.uniform(1.15, 1.35)  # half height
    cx0 = size * (0.5 + ident.uniform(-0.05, 0.05))
    cy0 = size * (0.48 + ident.uniform(-0.03, 0.05))
    eye_dx = ident.uniform(0.32, 0.42)
    eye_dy = -ident.uniform(0.12, 0.25)
    eye_w = ident.uniform(0.17, 0.23)
    mouth_w = ident.uniform(0.25, 0.38)

    tx = _Wave(motion, size * motion.uniform(0.03, 0.08), (14, 40))
    ty = _Wave(motion, size * motion.uniform(0.02, 0.05), (14, 40))
    rot = _Wave(motion, motion.uniform(5, 15), (16, 48))
    scale = _Wave(motion, motion.uniform(0.03, 0.08), (20, 60))
    gaze = _Wave(motion, 0.06, (10, 30))
    brow = _Wave(motion, 0.05, (12, 36))
    blink_freq = 2 * np.pi / motion.uniform(10, 24)
    blink_phase = motion.uniform(0, 2 * np.pi)
    mouth = _Wave(motion, 1.0, (8, 20))

    def draw(img: np.ndarray, t: int) -> None:
        cx, cy = cx0 + tx(t), cy0 + ty(t)
        ang = rot(t)
        s = 1.0 + scale(t)
        a, b = fa * s, fb * s
        th = np.deg2rad(ang)
        cos, sin = np.cos(th), np.sin(th)

        def at(lx: float, ly: float) -> tuple[float, float]:  # face-local -> image coords
            return cx + lx * cos - ly * sin, cy + lx * sin + ly * cos

        eye_open = 0.1 + 0.9 * (0.5 + 0.5 * np.cos(blink_freq * t + blink_phase)) ** 0.3
        mouth_open = (0.5 + 0.5 * mouth(t)) ** 2

        # shoulders follow the head only partly; hair sits behind and above the face
        _ellipse(img, (cx0 + 0.4 * tx(t), cy0 + 2.3 * fb), (2.2 * fa, 1.2 * fb), 0.0, shirt)
        _ellipse(img, at(0, 0.5 * b), (0.45 * a, 0.9 * b), ang, skin)  # neck
        _ellipse(img, at(0, -0.18 * b), (1.1 * a, 1.0 * b), ang, hair)
        _ellipse(img, (cx, cy), (a, b), ang, skin)
        for side in (-1.0, 1.0):
            ex, ey = eye_dx * a * side, eye_dy * b
            _ellipse(img, at(ex, ey), (eye_w * a, 0.11 * b * eye_open), ang, (250, 250, 250))
            iris_r = 0.09 * a
            iris_h = min(iris_r, 0.11 * b * eye_open)
            _ellipse(img, at(ex + gaze(t) * a, ey), (iris_r, iris_h), ang, iris)
            brow_y = ey - (0.2 + brow(t)) * b
            cv2.line(
                img,
                _pt(*at(ex - 0.7 * eye_w * a, brow_y)),
                _pt(*at(ex + 0.7 * eye_w * a, brow_y)),
                hair,
                max(1, int(round(size / 48))),
                cv2.LINE_AA,
                _SHIFT,
            )
        nose = tuple(int(c * 0.8) for c in skin)
        _ellipse(img, at(0, 0.12 * b), (0.08 * a, 0.14 * b), ang, nose)
        _ellipse(img, at(0, 0.5 * b), (mouth_w * a, (0.03 + 0.14 * mouth_open) * b), ang, lips)

    return draw


def _blobs_renderer(ident: np.random.Generator, motion: np.random.Generator, size: int):
    blobs = []
    for _ in range(int(ident.integers(3, 6))):
        r = size * ident.uniform(0.06, 0.14)
        blobs.append(
            dict(
                colour=_colour(ident, 0.05, 0.95),
                dot=_colour(ident, 0.0, 1.0),
                r=r,
                aspect=ident.uniform(0.55, 1.0),
                x=size * ident.uniform(0.25, 0.75),
                y=size * ident.uniform(0.25, 0.75),
                dx=_Wave(motion, size * motion.uniform(0.04, 0.15), (12, 40)),
                dy=_Wave(motion, size * motion.uniform(0.04, 0.15), (12, 40)),
                spin=motion.uniform(-6, 6),  # degrees per frame
                angle=motion.uniform(0, 180),
                pulse=_Wave(motion, motion.uniform(0.05, 0.2), (10, 30)),
            )
        )

    def draw(img: np.ndarray, t: int) -> None:
        for bl in blobs:
            cx, cy = bl["x"] + bl["dx"](t), bl["y"] + bl["dy"](t)
            ang = bl["angle"] + bl["spin"] * t
            r = bl["r"] * (1.0 + bl["pulse"](t))
            _ellipse(img, (cx, cy), (r, r * bl["aspect"]), ang, bl["colour"])
            th = np.deg2rad(ang)
            dot = (cx + 0.55 * r * np.cos(th), cy + 0.55 * r * np.sin(th))
            _ellipse(img, dot, (0.25 * r, 0.25 * r), 0.0, bl["dot"])

    return draw


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def render_video(
    num_frames: int = 16,
    size: int = 64,
    seed: int = 0,
    kind: str = "face",
    motion_seed: int | None = None,
) -> np.ndarray:
    """Draw a deterministic synthetic video.

    Args:
        num_frames: number of frames ``T`` (>= 1).
        size: frame height and width in pixels (>= 16).
        seed: identity seed (>= 0): background, colours, proportions, rest position.
        kind: ``"face"`` (a head with blinking eyes, moving gaze and an opening mouth that
            translates, rotates and scales) or ``"blobs"`` (3-5 spinning, orbiting ellipses).
        motion_seed: motion seed (>= 0); defaults to ``seed``.

    Returns:
        float32 array ``(T, size, size, 3)`` in ``[0, 1]``; the same arguments always give the
        same array, and motion is smooth from frame to frame.
    """
    num_frames = _check_int("num_frames", num_frames, 1)
    size = _check_int("size", size, 16)
    seed = _check_int("seed", seed, 0)
    motion_seed = seed if motion_seed is None else _check_int("motion_seed", motion_seed, 0)
    if kind not in KINDS:
        raise InputError(f"kind must be one of {KINDS}, got {kind!r}")
    ident = np.random.default_rng([seed, 0 if kind == "face" else 1])
    motion = np.random.default_rng([motion_seed, 2])
    background = _background(ident, size)
    make = _face_renderer if kind == "face" else _blobs_renderer
    draw = make(ident, motion, size)
    out = np.empty((num_frames, size, size, 3), dtype=np.float32)
    for t in range(num_frames):
        canvas = background.copy()
        draw(canvas, t)
        out[t] = canvas.astype(np.float32) / 255.0
    return out


def _write_frames_folder(dest: Path, video: np.ndarray) -> None:
    """Write ``dest/0000.png ...`` via a temporary folder, replacing any previous ``dest``."""
    if dest.exists() and not dest.is_dir():
        dest.unlink()
    with atomic_dir(dest) as tmp:
        for k, frame in enumerate(video):
            write_image(tmp / f"{k:04d}.png", frame)


def write_dataset(
    root: str | os.PathLike,
    num_train: int = 4,
    num_test: int = 2,
    num_frames: int = 16,
    size: int = 64,
    layout: str = "mp4",
    seed: int = 0,
    kind: str = "face",
    fps: float = 25.0,
) -> Path:
    """Write a small synthetic dataset in one of the official FOMM layouts.

    Creates ``root/train`` and ``root/test``. Videos are named ``id00001#clip0001`` ... ; two
    consecutive clips share an identity (the part before ``#``), and train and test
    identities are disjoint. Layouts:

    * ``"mp4"``: ``<name>.mp4`` (H.264, ``fps``);
    * ``"gif"``: ``<name>.gif``;
    * ``"frames"``: a folder ``<name>/`` of ``0000.png``, ``0001.png``, ...;
    * ``"strip"``: ``<name>.png``, the frames side by side (width = ``num_frames * size``).

    Existing files with the same names are replaced; every file is written atomically.

    Returns:
        ``Path(root)``.
    """
    if layout not in LAYOUTS:
        raise InputError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    num_train = _check_int("num_train", num_train, 0)
    num_test = _check_int("num_test", num_test, 0)
    seed = _check_int("seed", seed, 0)
    root = Path(root)
    first_id = 1
    for split, count in (("train", num_train), ("test", num_test)):
        split_dir = root / split
        split_dir.mkdir(parents=True, exist_ok=True)
        for j in range(count):
            ident, clip = first_id + j // 2, j % 2 + 1
            name = f"id{ident:05d}#clip{clip:04d}"
            id_seed = seed * 1_000_003 + ident
            video = render_video(
                num_frames, size, seed=id_seed, kind=kind, motion_seed=id_seed * 1009 + clip
            )
            if layout in ("mp4", "gif"):
                with VideoWriter(split_dir / f"{name}.{layout}", fps=fps) as writer:
                    writer.write(video)
            elif layout == "strip":
                write_image(split_dir / f"{name}.png", np.concatenate(list(video), axis=1))
            else:
                _write_frames_folder(split_dir / name, video)
        first_id += (count + 1) // 2
    logger.info(
        "wrote synthetic dataset %s (%d train, %d test, layout %s)",
        root,
        num_train,
        num_test,
        layout,
    )
    return root
