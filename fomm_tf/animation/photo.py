"""Real photos: a square crop around the subject for the model, and the result pasted back.

The networks only ever see model-resolution squares. This module turns a picture of any size
into such a square and the animated square back into the picture:

* :func:`prepare_source`: the picture is scaled down (area filter) so its long side is at most
  ``max_size`` — the *canvas*, the output's resolution; the crop is chosen on the canvas
  (``face``: a square around the detected face, ``center``: the largest centred square,
  ``none``: the square that holds the whole picture, padded) and the model's input is cut from
  the full-resolution picture, so no detail is lost for a small face in a large photo.
* :class:`PasteBack`: each animated frame is scaled to the crop's size and blended into the
  canvas with a feathered mask, so the rest of the picture stays exactly as it was.

A face crop is ``scale`` times the face box's side (``sqrt(w * h)`` of MediaPipe's box, which
spans brows to chin and cheek to cheek), centred a tenth of a face below the box's centre: at
the default 2.4 the crop holds the whole head, the neck and the top of the shoulders, as the
VoxCeleb frames the official face models were trained on do. A crop that would cross the
picture's edge is moved inside it; one larger than the picture in a direction is centred on
the face there and the missing part is padded by repeating the edge pixels.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import InputError
from ..media.images import as_rgb01, to_uint8
from .crop_rules import CROP
from .faces import FaceBox, too_small

__all__ = [
    "CROP_MODES",
    "DEFAULT_CROP_SCALE",
    "DEFAULT_MAX_SIZE",
    "Crop",
    "PasteBack",
    "PreparedSource",
    "center_crop",
    "face_crop",
    "prepare_source",
    "scale_to_max_size",
    "whole_crop",
]

log = logging.getLogger(__name__)

CROP_MODES = ("auto", "face", "center", "none")
# The numbers live in crop_rules.json, which the browser demo reads too.
#: Crop side over face box side: head, neck and top of the shoulders, as in VoxCeleb frames.
DEFAULT_CROP_SCALE = float(CROP["scale"])
#: The crop's centre lies this many face sizes below the face box's centre.
CENTER_DROP = float(CROP["center_drop"])
#: Longest side of the output picture when pasting back.
DEFAULT_MAX_SIZE = int(CROP["max_size"])
#: Width of the feathered edge of the paste-back mask, as a fraction of the crop's side.
DEFAULT_FEATHER = float(CROP["feather"])


@dataclass(frozen=True)
class Crop:
    """A square ``[x0, x0 + side) × [y0, y0 + side)`` in picture pixels; may cross the edges."""

    x0: int
    y0: int
    side: int

    def covers(self, height: int, width: int) -> bool:
        """True when the square holds the whole picture (nothing of it is cut away)."""
        return (
            self.x0 <= 0
            and self.y0 <= 0
            and self.x0 + self.side >= width
            and self.y0 + self.side >= height
        )

    def inside(self, height: int, width: int) -> tuple[int, int, int, int]:
        """The part of the square inside the picture: ``(x0, y0, x1, y1)``, x1/y1 exclusive."""
        return (
            max(self.x0, 0),
            max(self.y0, 0),
            min(self.x0 + self.side, width),
            min(self.y0 + self.side, height),
        )

    def scaled(self, factor: float) -> Crop:
        return Crop(
            round(self.x0 * factor), round(self.y0 * factor), max(1, round(self.side * factor))
        )

    def extract(self, picture: np.ndarray, size: int) -> np.ndarray:
        """The square cut from ``picture`` (edge pixels repeated outside it), ``size`` × ``size``.

        Only the part inside the picture is resized (area filter when shrinking, cubic when
        enlarging); the padding is added at the output size, so a huge crop costs nothing more.
        """
        h, w = picture.shape[:2]
        ix0, iy0, ix1, iy1 = self.inside(h, w)
        if ix1 <= ix0 or iy1 <= iy0:
            raise ValueError(f"crop {self} does not overlap the {w}x{h} picture")
        f = size / self.side
        ox0, oy0 = round((ix0 - self.x0) * f), round((iy0 - self.y0) * f)
        ox1, oy1 = round((ix1 - self.x0) * f), round((iy1 - self.y0) * f)
        ox1, oy1 = min(max(ox1, ox0 + 1), size), min(max(oy1, oy0 + 1), size)
        ox0, oy0 = min(ox0, ox1 - 1), min(oy0, oy1 - 1)
        part = as_rgb01(picture[iy0:iy1, ix0:ix1], "picture")
        pw, ph = ox1 - ox0, oy1 - oy0
        if part.shape[:2] != (ph, pw):
            shrink = part.shape[0] * part.shape[1] >= ph * pw
            interp = cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
            part = cv2.resize(part, (pw, ph), interpolation=interp)
        if (ox0, oy0, ox1, oy1) != (0, 0, size, size):
            part = cv2.copyMakeBorder(part, oy0, size - oy1, ox0, size - ox1, cv2.BORDER_REPLICATE)
        return np.ascontiguousarray(np.clip(part, 0.0, 1.0), dtype=np.float32)


def _place(center: float, side: int, length: int) -> int:
    """Start of a window of ``side`` around ``center`` kept inside ``[0, length)`` if it fits."""
    start = round(center - side / 2)
    if side <= length:
        return min(max(start, 0), length - side)
    return min(max(start, length - side), 0)  # larger than the picture: cover it, pad around


def face_crop(box: FaceBox, height: int, width: int, scale: float = DEFAULT_CROP_SCALE) -> Crop:
    """The square around ``box`` (see the module docstring), at most the picture's long side."""
    if not scale > 0:
        raise InputError(f"the crop scale must be positive, got {scale}")
    side = max(1, min(round(scale * box.size), max(height, width)))
    cx, cy = box.center
    cy += CENTER_DROP * box.size
    return Crop(_place(cx, side, width), _place(cy, side, height), side)


def center_crop(height: int, width: int) -> Crop:
    """The largest centred square inside the picture (what ``fit_frame`` cuts)."""
    side = min(height, width)
    return Crop((width - side) // 2, (height - side) // 2, side)


def whole_crop(height: int, width: int) -> Crop:
    """The smallest centred square that holds the whole picture (padded on the short sides)."""
    side = max(height, width)
    return Crop((width - side) // 2, (height - side) // 2, side)


def scale_to_max_size(picture: np.ndarray, max_size: int) -> tuple[np.ndarray, float]:
    """The picture as uint8 with its long side at most ``max_size`` (area filter), and the factor."""
    if max_size < 16:
        raise InputError(f"--max-size must be at least 16 pixels, got {max_size}")
    h, w = picture.shape[:2]
    factor = min(1.0, max_size / max(h, w))
    if factor < 1.0:
        size = (max(1, round(w * factor)), max(1, round(h * factor)))
        picture = cv2.resize(picture, size, interpolation=cv2.INTER_AREA)
        factor = size[0] / w
    return np.ascontiguousarray(to_uint8(picture)), factor


def _ramp(n: int, start: int, side: int, feather: int, soft_lo: bool, soft_hi: bool) -> np.ndarray:
    """Weights of ``n`` pixels starting ``start`` pixels into a crop of ``side``: smoothstep
    from 0 at a soft edge of the crop to 1 ``feather`` pixels inside it."""
    pos = start + np.arange(n, dtype=np.float32) + 0.5
    weight = np.ones(n, np.float32)
    if soft_lo:
        t = np.clip(pos / feather, 0.0, 1.0)
        weight *= t * t * (3 - 2 * t)
    if soft_hi:
        t = np.clip((side - pos) / feather, 0.0, 1.0)
        weight *= t * t * (3 - 2 * t)
    return weight


class PasteBack:
    """Blend animated crops into the canvas: ``frame (s, s, 3)`` → ``uint8 (H, W, 3)``.

    The mask is 1 inside the crop and falls smoothly to 0 over ``feather`` × side pixels at
    each crop edge that lies inside the picture (edges on the picture's border stay hard, there
    is nothing to blend with). Pixels outside the crop are the canvas's own, exactly.

    Args:
        canvas: the output picture, uint8 ``(H, W, 3)``.
        crop: the crop in canvas pixels.
        feather: soft edge width as a fraction of the crop's side.
    """

    def __init__(self, canvas: np.ndarray, crop: Crop, feather: float = DEFAULT_FEATHER):
        self.canvas = np.ascontiguousarray(to_uint8(canvas))
        self.crop = crop
        h, w = self.canvas.shape[:2]
        self.height, self.width = h, w
        self.box = crop.inside(h, w)
        ix0, iy0, ix1, iy1 = self.box
        if ix1 <= ix0 or iy1 <= iy0:
            raise ValueError(f"crop {crop} does not overlap the {w}x{h} canvas")
        fw = max(1, round(feather * crop.side))
        wx = _ramp(ix1 - ix0, ix0 - crop.x0, crop.side, fw, crop.x0 > 0, crop.x0 + crop.side < w)
        wy = _ramp(iy1 - iy0, iy0 - crop.y0, crop.side, fw, crop.y0 > 0, crop.y0 + crop.side < h)
        self.mask = np.ascontiguousarray(wy[:, None] * wx[None, :])
        self._inverse = np.ascontiguousarray(1.0 - self.mask)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        ix0, iy0, ix1, iy1 = self.box
        side, cx, cy = self.crop.side, ix0 - self.crop.x0, iy0 - self.crop.y0
        small = np.ascontiguousarray(to_uint8(frame))
        interp = cv2.INTER_CUBIC if side > small.shape[0] else cv2.INTER_AREA
        up = cv2.resize(small, (side, side), interpolation=interp)
        part = np.ascontiguousarray(up[cy : cy + iy1 - iy0, cx : cx + ix1 - ix0])
        out = self.canvas.copy()
        roi = np.ascontiguousarray(out[iy0:iy1, ix0:ix1])
        out[iy0:iy1, ix0:ix1] = cv2.blendLinear(part, roi, self.mask, self._inverse)
        return out

    def batch(self, frames: np.ndarray) -> np.ndarray:
        """``(n, s, s, 3)`` → ``(n, H, W, 3)`` uint8."""
        return np.stack([self(f) for f in frames])


@dataclass(frozen=True)
class PreparedSource:
    """What :func:`prepare_source` found and made.

    Attributes:
        canvas: the picture at the output resolution, uint8 ``(H, W, 3)``.
        crop: the crop in canvas pixels.
        face: the face box in canvas pixels, or None.
        mode: the crop actually used: ``face``, ``center`` or ``none``.
        factor: canvas pixels per picture pixel (<= 1).
    """

    canvas: np.ndarray
    crop: Crop
    face: FaceBox | None
    mode: str
    factor: float = 1.0

    def model_input(self, picture: np.ndarray, size: int) -> np.ndarray:
        """The crop cut from the full-resolution ``picture``, float32 ``(size, size, 3)``."""
        return self.crop.scaled(1.0 / self.factor).extract(picture, size)

    @property
    def crop_is_whole_picture(self) -> bool:
        return self.crop.covers(*self.canvas.shape[:2])


def prepare_source(
    picture: np.ndarray,
    mode: str = "auto",
    scale: float = DEFAULT_CROP_SCALE,
    max_size: int = DEFAULT_MAX_SIZE,
    detector: Callable[[], object] | None = None,
    name: str = "source",
) -> PreparedSource:
    """Choose the source crop (see the module docstring); ``model_input`` then cuts it.

    Args:
        picture: the full-resolution picture, float32 ``(h, w, 3)`` in ``[0, 1]`` (or uint8).
        mode: ``auto`` (the face when one is found, else centre), ``face`` (a face or an
            ``InputError``), ``center`` or ``none``.
        scale: face crop side over face box side.
        max_size: the canvas's longest side.
        detector: makes a :class:`fomm_tf.animation.faces.FaceDetector` (built only when needed).
        name: the picture's name for messages.
    """
    if mode not in CROP_MODES:
        raise InputError(f"--crop must be one of {', '.join(CROP_MODES)}, got {mode!r}")
    if not scale > 0:
        raise InputError(f"--crop-scale must be positive, got {scale}")
    canvas, factor = scale_to_max_size(picture, max_size)
    h, w = canvas.shape[:2]
    face = None
    used = mode
    small = too_small(name, h, w) if mode in ("auto", "face") else None
    if small and mode == "face":
        raise InputError(f"{small}; try --crop center or --crop none")
    if small:  # auto: the centre crop, as when no face is found
        log.warning("%s, using the centre crop", small)
        used = "center"
    elif mode in ("auto", "face"):
        if detector is None:
            from .faces import FaceDetector

            detector = FaceDetector
        face = detector().find(canvas)
        if face is None and mode == "face":
            raise InputError(f"{name}: no face found (try --crop center or --crop none)")
        if face is None:
            log.warning("%s: no face found, using the centre crop", name)
            used = "center"
        else:
            used = "face"
            log.info("%s: face at %s", name, face)
    if used == "face":
        crop = face_crop(face, h, w, scale)
    elif used == "center":
        crop = center_crop(h, w)
    else:
        crop = whole_crop(h, w)
    return PreparedSource(canvas=canvas, crop=crop, face=face, mode=used, factor=factor)
