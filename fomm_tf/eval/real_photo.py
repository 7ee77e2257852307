"""A real photo animated by a driving clip, judged as a person looks at it: does the animated
face stay the source's person, and does it keep its detail?

- identity: dlib's 128-D face embedding (``face_recognition_models``) of every output frame
  against the source photo's; dlib's own rule is "same person" below 0.6. A frame where no
  face is found counts as a miss.
- detail: the variance of the Laplacian inside the face box of each output frame over the
  same inside the source's face box (a blur scores near 0; a copy of the source 1). A model
  of N² pixels pasted back into a larger photo cannot keep more than the photo's crop resized
  to N² and back (:func:`resolution_ceiling`), so that ceiling is reported beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .metrics import laplacian_detail

#: dlib's threshold: two embeddings closer than this are the same person.
SAME_PERSON = 0.6


@dataclass(frozen=True)
class PhotoScore:
    """Per output frame: ``distance`` to the source face (NaN: no face found) and
    ``detail`` over the source face's (NaN: no face found)."""

    distance: np.ndarray
    detail: np.ndarray

    @property
    def same_person(self) -> float:
        """The share of frames whose face is the source's person (no face: not)."""
        return float(np.mean(np.nan_to_num(self.distance, nan=np.inf) < SAME_PERSON))

    @property
    def median_detail(self) -> float:
        found = self.detail[np.isfinite(self.detail)]
        return float(np.median(found)) if found.size else 0.0

    def summary(self) -> dict:
        found = np.isfinite(self.distance)
        return {
            "frames": int(self.distance.size),
            "faces_found": int(found.sum()),
            "same_person": self.same_person,
            "median_distance": float(np.median(self.distance[found])) if found.any() else None,
            "max_distance": float(self.distance[found].max()) if found.any() else None,
            "median_detail": self.median_detail,
        }


def box_detail(frame_u8: np.ndarray, box) -> float:
    """:func:`~fomm_tf.eval.metrics.laplacian_detail` inside ``box`` (left, top, right,
    bottom), on the uint8 scale (0 for a box under 3 pixels)."""
    h, w = frame_u8.shape[:2]
    x0, y0 = max(0, int(round(box[0]))), max(0, int(round(box[1])))
    x1, y1 = min(w, int(round(box[2]))), min(h, int(round(box[3])))
    if x1 - x0 < 3 or y1 - y0 < 3:
        return 0.0
    return 255.0**2 * laplacian_detail(frame_u8[y0:y1, x0:x1])


def resolution_ceiling(picture_u8: np.ndarray, crop, size: int, box) -> float:
    """The detail ratio a perfect ``size``² model would keep in the face ``box``: the photo
    with its square ``crop`` (``x0``, ``y0``, ``side``; inside the picture) resized to
    ``size``² and back (area down, cubic up, as the crop and the paste-back resample)."""
    import cv2

    x0, y0, side = int(crop.x0), int(crop.y0), int(crop.side)
    h, w = picture_u8.shape[:2]
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(w, x0 + side), min(h, y0 + side)
    region = picture_u8[y0:y1, x0:x1]
    small = cv2.resize(region, (size, size), interpolation=cv2.INTER_AREA)
    back = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_CUBIC)
    out = picture_u8.copy()
    out[y0:y1, x0:x1] = back
    return box_detail(out, box) / max(box_detail(picture_u8, box), 1e-12)


def score_animation(source_u8: np.ndarray, frames_u8, detector) -> PhotoScore:
    """Score ``frames_u8`` (uint8 RGB frames of the animation, any size) against the photo.

    ``detector``: :class:`fomm_tf.eval.detectors.FaceDetector` (MediaPipe box, dlib embedding:
    its ``face``). Raises ``ValueError`` when the source photo holds no face.
    """

    def face(img):
        found = detector.face(img)
        return (None, None) if found is None else (found[0], found[2])

    src_box, src_emb = face(source_u8)
    if src_box is None or not np.all(np.isfinite(src_emb)):
        raise ValueError("no face found in the source photo")
    src_detail = box_detail(source_u8, src_box)
    distance, detail = [], []
    for frame in frames_u8:
        box, emb = face(frame)
        if box is None or not np.all(np.isfinite(emb)):
            distance.append(np.nan)
            detail.append(np.nan)
            continue
        distance.append(float(np.linalg.norm(emb - src_emb)))
        detail.append(box_detail(frame, box) / max(src_detail, 1e-12))
    return PhotoScore(np.asarray(distance, np.float64), np.asarray(detail, np.float64))
