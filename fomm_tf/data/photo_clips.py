"""Talking-head clips made from a real photo: a face that moves with known motion.

No video can be downloaded here, so a real face clip is made from the astronaut portrait
that ships inside scikit-image (``skimage.data.astronaut``, public domain): a square view
centred on the face that zooms, rotates, pans and nods smoothly (a similarity transform plus
a small vertical squeeze, like a nod, per frame). The transform of every frame is returned,
so landmarks found in frame 0 can be carried to any frame exactly.

The same motion moves every other real photograph that ships in scikit-image
(:data:`BUNDLED_PHOTOS`: a cat, a cameraman, a rocket, the moon, textures …), each around a
crop centre drawn from the clip's seed (no face coordinates are known there):
:func:`write_photo_clips` adds such clips to a training split, beside the synthetic heads
(``fomm make-dataset synthetic --photo-clips N``).
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import InputError
from .textures import photo

__all__ = [
    "BUNDLED_PHOTOS",
    "PHOTO_FACES",
    "photo_clip",
    "write_photo_clips",
    "write_photo_dataset",
]

#: Bundled photos with a face: name → (face centre x, y, face width) in the photo's pixels.
PHOTO_FACES = {"astronaut": (222.0, 128.0, 95.0)}
#: The real photographs inside scikit-image's wheel (``skimage.data``, no download): colour,
#: then grayscale (shown as gray RGB). Left out: drawings and renderings (logo, horse,
#: colorwheel, phantom, checkerboard), and photos under 128 pixels (microaneurysms, the
#: 25-pixel LFW faces, a 25x14 GIF).
BUNDLED_PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "motorcycle",
    "hubble_deep_field",
    "retina",
    "immunohistochemistry",
    "camera",
    "moon",
    "coins",
    "clock",
    "cell",
    "brick",
    "grass",
    "gravel",
    "text",
    "page",
)


def _subject(name: str, seed: int, size: int) -> tuple[float, float, float]:
    """``(x, y, width)`` the clip's view is centred on, in the photo's pixels: the face where
    one is known, else a seeded spot whose view (2.6 × width) lies inside the photo."""
    if name in PHOTO_FACES:
        return PHOTO_FACES[name]
    h, w = photo(name).shape[:2]
    rng = np.random.default_rng([seed, 37])
    short = min(h, w)
    lo = min(max(size, 0.3 * short), short)  # the view: no upsampling where the photo allows
    view = rng.uniform(lo, max(lo, 0.9 * short))
    cx = rng.uniform(view / 2, w - view / 2)
    cy = rng.uniform(view / 2, h - view / 2)
    return float(cx), float(cy), float(view / 2.6)


def photo_clip(
    num_frames: int = 32, size: int = 128, seed: int = 0, name: str = "astronaut"
) -> tuple[np.ndarray, np.ndarray]:
    """``(frames (T, S, S, 3) float32, transforms (T, 2, 3))``; ``transforms[t]`` maps photo
    pixels to frame-``t`` pixels (centres at integers). ``name``: one of
    :data:`BUNDLED_PHOTOS`; the view is centred on the face in :data:`PHOTO_FACES`, else on
    a spot drawn from ``seed``."""
    if name not in BUNDLED_PHOTOS:
        raise InputError(f"no bundled photo {name!r} (have: {', '.join(BUNDLED_PHOTOS)})")
    if num_frames < 1 or size < 32:
        raise InputError("a photo clip needs >= 1 frame and a size >= 32")
    img = np.ascontiguousarray(photo(name))
    cx, cy, fw = _subject(name, seed, size)
    rng = np.random.default_rng([seed, 31])
    amp = dict(x=0.06, y=0.05, rot=8.0, zoom=0.08, nod=0.06)
    waves = {
        k: (rng.uniform(0.5, 1.0) * a, 2 * np.pi / rng.uniform(16, 40), rng.uniform(0, 6.3))
        for k, a in amp.items()
    }

    def w(key, t):
        a, f, p = waves[key]
        return a * np.sin(f * t + p)

    frames = np.empty((num_frames, size, size, 3), np.float32)
    mats = np.empty((num_frames, 2, 3), np.float64)
    base = size / (2.6 * fw)  # the face spans ~40 % of the frame
    for t in range(num_frames):
        s = base * (1 + w("zoom", t))
        th = np.deg2rad(w("rot", t))
        squeeze = 1 - abs(w("nod", t))
        rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
        lin = s * rot @ np.diag([1.0, squeeze])
        centre = np.array([size / 2 + w("x", t) * size, size / 2 + w("y", t) * size])
        off = centre - lin @ np.array([cx, cy])
        m = np.concatenate([lin, off[:, None]], axis=1)
        mats[t] = m
        frames[t] = cv2.warpAffine(
            img,
            m,
            (size, size),
            flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT,
        )
    return np.clip(frames, 0, 1), mats


def write_photo_dataset(
    root,
    num_train: int,
    num_test: int,
    num_frames: int,
    size: int = 128,
    seed: int = 0,
    overwrite: bool = False,
    layout: str = "mp4",
    fps: float = 25.0,
    progress: bool = True,
):
    """``root/train`` and ``root/test`` of photo clips (``photo#clipNN``), each a different
    motion (seed ``seed * 100000 + k``). No sidecars: the face's landmarks are not known, so
    ``fomm evaluate`` uses the ``face`` detector on them."""
    from tqdm import tqdm

    from .writing import _check_int, dataset_folder, write_video

    num_train = _check_int("train videos", num_train, 0)
    num_test = _check_int("test videos", num_test, 1)
    num_frames = _check_int("frames", num_frames, 1)
    seed = _check_int("seed", seed, 0)
    with dataset_folder(root, overwrite) as tmp:
        k = 0
        for split, count in (("train", num_train), ("test", num_test)):
            (tmp / split).mkdir()
            for j in tqdm(range(count), desc=f"photo clips ({split})", disable=not progress):
                frames, _ = photo_clip(num_frames, size, seed=seed * 100_000 + k)
                write_video(tmp / split, f"astronaut#clip{j + 1:02d}", frames, layout, fps)
                k += 1
    return root


def write_photo_clips(
    folder,
    num_clips: int,
    num_frames: int,
    size: int = 128,
    seed: int = 0,
    layout: str = "mp4",
    fps: float = 25.0,
    progress: bool = True,
) -> int:
    """Write ``num_clips`` clips of every photo in :data:`BUNDLED_PHOTOS` into ``folder``,
    named ``photo-<name>#clipNN`` (one identity per photo); clip ``c`` of photo ``i`` has
    seed ``seed * 100000 + 50000 + 100 * i + c``. No sidecars (no landmarks are known).
    Returns the number of videos written."""
    from pathlib import Path

    from tqdm import tqdm

    from .writing import _check_int, write_video

    num_clips = _check_int("photo clips", num_clips, 0)
    if num_clips > 100:
        raise InputError(f"at most 100 clips per photo, got {num_clips}")
    jobs = [(i, name, c) for i, name in enumerate(BUNDLED_PHOTOS) for c in range(num_clips)]
    for i, name, c in tqdm(jobs, desc="photo clips", unit="video", disable=not progress):
        frames, _ = photo_clip(
            num_frames, size, seed=seed * 100_000 + 50_000 + 100 * i + c, name=name
        )
        write_video(Path(folder), f"photo-{name}#clip{c + 1:02d}", frames, layout, fps)
    return len(jobs)
