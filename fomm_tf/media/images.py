"""Image I/O and frame fitting (videos: :mod:`.video_reader`, :mod:`.video_writer`; atomic
writes: :mod:`.atomic`); no network, no torch.

Conventions used everywhere in fomm-tf:

* A *frame* is a ``float32`` RGB array of shape ``(h, w, 3)`` with values in ``[0, 1]``.
  Readers always return frames in this form; writers also accept ``uint8`` frames.
* Grayscale images are repeated to three channels. Images with an alpha channel are
  **composited on a white background** (``rgb * a + (1 - a)``) and the alpha is dropped,
  so transparent regions of a PNG or GIF become white, as most viewers show them.
* 16-bit images are scaled by ``1 / 65535``; floating point images are clipped to ``[0, 1]``.

Every problem with a user's file surfaces as :class:`fomm_tf.errors.InputError` with one line
that names the file; ffmpeg's own complaint is kept, shortened to one line
(:func:`.messages.one_line`), in the message. :func:`write_image` never leaves a partial
file behind (:mod:`.atomic`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import FommError, InputError
from .atomic import atomic_path
from .messages import one_line

__all__ = [
    "DEFAULT_FPS",
    "IMAGE_SUFFIXES",
    "as_rgb01",
    "batched",
    "fit_frame",
    "fit_long_side",
    "list_frame_files",
    "normalize_size",
    "read_image",
    "to_uint8",
    "write_image",
]

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike

#: Frame rate assumed when the source does not store one (frame folders, strips, some files).
DEFAULT_FPS = 25.0
#: Still-image suffixes: read as single images, frame-folder members, or frame strips.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")

_PILLOW_CONVERT_MODES = {"CMYK", "YCbCr", "LAB", "HSV"}

# --------------------------------------------------------------------------------------------
# small helpers


def batched(frames, batch_size: int, dtype=None) -> Iterator[np.ndarray]:
    """Stacks of ``batch_size`` items of ``frames`` (any iterable), the last one shorter;
    each item converted with ``np.asarray(item, dtype)`` first. Holds one batch at a time."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise InputError(f"batch_size must be a positive int, got {batch_size!r}")
    if batch_size < 1:
        raise InputError(f"batch_size must be a positive int, got {batch_size!r}")
    buf: list[np.ndarray] = []
    for frame in frames:
        buf.append(np.asarray(frame, dtype))
        if len(buf) == batch_size:
            yield np.stack(buf)
            buf = []
    if buf:
        yield np.stack(buf)


def _natural_key(name: str) -> list[Any]:
    """Sort key that orders ``frame2.png`` before ``frame10.png``."""
    return [int(tok) if tok.isdigit() else tok.lower() for tok in re.split(r"(\d+)", name)]


def list_frame_files(folder: PathLike) -> list[Path]:
    """The frame images of a folder in natural order (``2.png`` before ``10.png``).

    The one listing every reader of frame folders uses (animate, training, evaluation).
    """
    files = (
        f
        for f in Path(folder).iterdir()
        if f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith(".")
    )
    return sorted(files, key=lambda f: _natural_key(f.name))


def as_rgb01(img: np.ndarray, source: str) -> np.ndarray:
    """Convert any decoded image array to a float32 ``(h, w, 3)`` RGB frame in ``[0, 1]``.

    Grayscale is repeated to RGB; gray+alpha and RGBA are composited on white.
    """
    arr = np.asarray(img)
    if arr.dtype == np.uint8:
        x = arr.astype(np.float32) / 255.0
    elif arr.dtype == np.uint16:
        x = arr.astype(np.float32) / 65535.0
    elif arr.dtype == np.bool_:
        x = arr.astype(np.float32)
    elif np.issubdtype(arr.dtype, np.floating):
        x = arr.astype(np.float32)
    elif np.issubdtype(arr.dtype, np.integer):
        # e.g. pillow's 32-bit "I" mode for 16-bit PNGs
        scale = 65535.0 if arr.size and int(arr.max()) > 255 else 255.0
        x = arr.astype(np.float32) / scale
    else:
        raise InputError(f"{source}: unsupported pixel type {arr.dtype}")
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3 or x.shape[0] == 0 or x.shape[1] == 0:
        raise InputError(f"{source}: expected an image of shape (h, w[, c]), got {arr.shape}")
    channels = x.shape[2]
    if channels == 1:
        rgb = np.repeat(x, 3, axis=2)
    elif channels == 2:
        alpha = np.clip(x[:, :, 1:2], 0.0, 1.0)
        rgb = np.repeat(x[:, :, 0:1] * alpha + (1.0 - alpha), 3, axis=2)
    elif channels == 3:
        rgb = x
    elif channels == 4:
        alpha = np.clip(x[:, :, 3:4], 0.0, 1.0)
        rgb = x[:, :, :3] * alpha + (1.0 - alpha)
    else:
        raise InputError(f"{source}: expected 1 to 4 colour channels, got {channels}")
    return np.ascontiguousarray(np.clip(rgb, 0.0, 1.0), dtype=np.float32)


def fit_long_side(hw: tuple[int, int], max_side: int) -> tuple[int, int]:
    """``(h, w)`` scaled so the long side is at most ``max_side`` (never enlarged)."""
    h, w = hw
    f = min(1.0, max_side / max(h, w))
    return max(1, round(h * f)), max(1, round(w * f))


def normalize_size(size: int | tuple[int, int]) -> tuple[int, int]:
    """``64`` -> ``(64, 64)``; ``(h, w)`` -> ``(h, w)``; anything else -> InputError."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        hw = (int(size), int(size))
    elif (
        isinstance(size, (tuple, list))
        and len(size) == 2
        and all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in size)
    ):
        hw = (int(size[0]), int(size[1]))
    else:
        raise InputError(f"frame size must be an int or a (height, width) pair, got {size!r}")
    if hw[0] < 1 or hw[1] < 1:
        raise InputError(f"frame size must be positive, got {size!r}")
    return hw


# --------------------------------------------------------------------------------------------
# images


def _is_deep_colour_png(path: Path) -> bool:
    """True for a PNG whose header says 16-bit RGB or RGBA."""
    try:
        with open(path, "rb") as f:
            head = f.read(26)
    except OSError:
        return False
    return (
        head[:8] == b"\x89PNG\r\n\x1a\n"
        and len(head) == 26
        and head[24] == 16
        and head[25] in (2, 6)
    )


def read_image(path: PathLike) -> np.ndarray:
    """Read one image of any size as a float32 RGB ``(h, w, 3)`` frame in ``[0, 1]``.

    Decoded with imageio's pillow plugin (EXIF orientation applied; for animated files the
    first frame), falling back to OpenCV for formats pillow cannot read (e.g. EXR, some TIFF).
    Grayscale becomes RGB, alpha is composited on white, 16-bit data keeps its precision.

    Raises:
        InputError: ``"<path>: not a readable image (<reason>)"`` for a missing or empty file,
            a folder, or bytes that no decoder understands.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: not a readable image (no such file)")
    if p.is_dir():
        raise InputError(f"{p}: not a readable image (it is a folder)")
    if p.stat().st_size == 0:
        raise InputError(f"{p}: not a readable image (empty file)")
    if _is_deep_colour_png(p):  # pillow would reduce 16-bit RGB(A) to 8 bits; OpenCV does not
        arr = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        if arr is not None and arr.ndim == 3 and arr.shape[2] in (3, 4):
            code = cv2.COLOR_BGR2RGB if arr.shape[2] == 3 else cv2.COLOR_BGRA2RGBA
            return as_rgb01(cv2.cvtColor(arr, code), str(p))
    try:
        import imageio.v3 as iio

        with iio.imopen(p, "r", plugin="pillow") as file:
            mode = file.metadata(index=0, exclude_applied=False).get("mode")
            want = "RGB" if mode in _PILLOW_CONVERT_MODES else None
            arr = file.read(index=0, rotate=True, mode=want)
    except Exception as err:  # any decoder failure: try the fallback
        arr = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        if arr is None:
            raise InputError(f"{p}: not a readable image ({one_line(str(err), 160)})") from None
        if arr.ndim == 3 and arr.shape[2] == 3:
            arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
        elif arr.ndim == 3 and arr.shape[2] == 4:
            arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA)
    return as_rgb01(arr, str(p))


def fit_frame(frame: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Centre-crop ``frame`` to the aspect ratio of ``size`` and resize it to exactly ``size``.

    ``size`` is an int (square output) or ``(height, width)``. The crop keeps the middle of the
    image and removes equal amounts from both sides of the longer dimension. The resize uses
    ``cv2.INTER_AREA`` when shrinking (no aliasing) and ``cv2.INTER_CUBIC`` when enlarging;
    the result is clipped to ``[0, 1]`` since cubic interpolation overshoots.

    Args:
        frame: an image array (float ``[0, 1]``, uint8, grayscale or RGB(A) all accepted).
        size: target size.

    Returns:
        float32 array of shape ``(height, width, 3)``.
    """
    th, tw = normalize_size(size)
    frame = np.asarray(frame)
    if frame.ndim < 2:
        raise InputError(f"frame: expected an image array, got shape {frame.shape}")
    h, w = frame.shape[:2]
    target_ratio = tw / th
    if w / h > target_ratio:  # too wide: crop columns
        cw, ch = max(1, min(w, round(h * target_ratio))), h
    else:  # too tall: crop rows
        cw, ch = w, max(1, min(h, round(w / target_ratio)))
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    # Crop before converting to float: a large frame is converted only where it is kept.
    img = as_rgb01(frame[y0 : y0 + ch, x0 : x0 + cw], "frame")
    if (ch, cw) != (th, tw):
        interp = cv2.INTER_AREA if ch * cw >= th * tw else cv2.INTER_CUBIC
        img = cv2.resize(img, (tw, th), interpolation=interp)
        if img.ndim == 2:  # pragma: no cover - cv2 keeps 3 channels, but be safe
            img = img[:, :, None].repeat(3, axis=2)
    return np.ascontiguousarray(np.clip(img, 0.0, 1.0), dtype=np.float32)


def to_uint8(frames01: np.ndarray) -> np.ndarray:
    """Map float frames in ``[0, 1]`` (any shape) to ``uint8`` with rounding and clipping.

    ``uint8`` input is returned unchanged.
    """
    arr = np.asarray(frames01)
    if arr.dtype == np.uint8:
        return arr
    return (np.clip(arr.astype(np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def write_image(path: PathLike, frame01: np.ndarray) -> None:
    """Write one frame (float ``[0, 1]`` or uint8, gray or RGB) as ``.png``/``.jpg``/``.bmp``.

    Atomic, like :func:`atomic_path`. JPEG quality is 95.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise InputError(f"{p}: cannot write '{suffix}' images (use one of {IMAGE_SUFFIXES})")
    arr = np.asarray(frame01)
    if not (arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3):
        arr = to_uint8(as_rgb01(arr, str(p)))
    bgr = cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if suffix in (".jpg", ".jpeg") else []
    with atomic_path(p) as tmp:
        if not cv2.imwrite(str(tmp), bgr, params):
            raise FommError(f"{p}: OpenCV could not write the image")
