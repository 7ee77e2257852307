"""L1, AKD, MKR and AED as the paper defines them (sec. 4.1), pooled over frames of all videos.

For real frames ``x_t`` and generated frames ``y_t`` of the same size, and the detections of
one detector on both:

* **L1** — the mean absolute difference of pixel values in ``[0, 1]``, averaged over frames;
* **AKD** — average keypoint distance: the mean euclidean distance in pixels between a
  landmark detected in ``x_t`` and the same landmark detected in ``y_t``, over the landmarks
  visible (detected) in both;
* **MKR** — missing keypoint rate: of the landmarks visible in ``x_t``, the fraction not
  visible in ``y_t``;
* **AED** — average euclidean distance between the identity embeddings of ``x_t`` and
  ``y_t``, over frames where both have one.

A metric with nothing to average (no landmark ever visible, no embedding) is ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Detections", "MetricSums", "frame_l1", "split_l1", "still_pixels"]


@dataclass
class Detections:
    """What a detector found in ``T`` frames.

    Attributes:
        landmarks: ``(T, L, 2)`` float32, pixels ``(x, y)`` of the frames given to it.
        visible: ``(T, L)`` bool, the landmark was detected.
        embedding: ``(T, D)`` float32 identity embeddings; a row of NaN where none was found.
    """

    landmarks: np.ndarray
    visible: np.ndarray
    embedding: np.ndarray

    def __len__(self) -> int:
        return len(self.landmarks)

    def take(self, index) -> Detections:
        return Detections(self.landmarks[index], self.visible[index], self.embedding[index])


def frame_l1(real: np.ndarray, generated: np.ndarray) -> np.ndarray:
    """Per-frame mean absolute error ``(T,)`` of two ``(T, H, W, C)`` videos in [0, 1]."""
    diff = np.abs(np.asarray(real, np.float64) - np.asarray(generated, np.float64))
    return diff.reshape(len(diff), -1).mean(axis=1)


@dataclass
class MetricSums:
    """Running sums of the four metrics; :meth:`add` one video, :meth:`result` the means."""

    l1_sum: float = 0.0
    frames: int = 0
    akd_sum: float = 0.0
    akd_count: int = 0
    missing: int = 0
    real_visible: int = 0
    aed_sum: float = 0.0
    aed_count: int = 0
    per_frame_l1: list = field(default_factory=list)

    def add(
        self,
        real: np.ndarray,
        generated: np.ndarray,
        det_real: Detections,
        det_generated: Detections,
    ) -> np.ndarray:
        """Add one video; returns its per-frame L1."""
        if real.shape != generated.shape:
            raise ValueError(f"frame shapes differ: {real.shape} vs {generated.shape}")
        if len(det_real) != len(real) or len(det_generated) != len(real):
            raise ValueError("one detection per frame is needed")
        l1 = frame_l1(real, generated)
        self.l1_sum += float(l1.sum())
        self.frames += len(l1)
        self.per_frame_l1.append(l1)
        both = det_real.visible & det_generated.visible
        dist = np.linalg.norm(
            det_real.landmarks.astype(np.float64) - det_generated.landmarks.astype(np.float64),
            axis=-1,
        )
        self.akd_sum += float(dist[both].sum())
        self.akd_count += int(both.sum())
        self.real_visible += int(det_real.visible.sum())
        self.missing += int((det_real.visible & ~det_generated.visible).sum())
        er = det_real.embedding.astype(np.float64)
        eg = det_generated.embedding.astype(np.float64)
        ok = np.isfinite(er).all(axis=1) & np.isfinite(eg).all(axis=1)
        self.aed_sum += float(np.linalg.norm(er[ok] - eg[ok], axis=1).sum())
        self.aed_count += int(ok.sum())
        return l1

    def result(self) -> dict:
        """``{"l1", "akd", "mkr", "aed"}``: means (``None`` where nothing was measured)."""

        def mean(total, count):
            return float(total / count) if count else None

        return {
            "l1": mean(self.l1_sum, self.frames),
            "akd": mean(self.akd_sum, self.akd_count),
            "mkr": mean(self.missing, self.real_visible),
            "aed": mean(self.aed_sum, self.aed_count),
        }


def laplacian_detail(frame: np.ndarray) -> float:
    """Detail of an RGB picture (float in [0, 1] or uint8): the variance of the Laplacian of
    its grey image. A blur scores near 0; compare pictures of one kind and size by ratio."""
    import cv2

    img = np.asarray(frame)
    img = img.astype(np.float32) / 255.0 if img.dtype == np.uint8 else img.astype(np.float32)
    grey = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


def still_pixels(video: np.ndarray, threshold: float = 0.03, margin: int = 2) -> np.ndarray:
    """``(T, H, W)`` bool: the pixels of a ``(T, H, W, C)`` [0, 1] video that stay as they are
    in its first frame (mean absolute change over the channels ≤ ``threshold``), farther than
    ``margin`` pixels from any that change. In the reconstruction protocol (first frame as
    source) these are what copying the source gets right; the rest is the motion."""
    import cv2

    video = np.asarray(video, np.float32)
    change = np.abs(video - video[:1]).mean(axis=-1) > threshold
    kernel = np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)
    moving = np.stack([cv2.dilate(c.astype(np.uint8), kernel) > 0 for c in change])
    return ~moving


def split_l1(real: np.ndarray, generated: np.ndarray, still: np.ndarray) -> dict:
    """Sums and counts of the absolute error (mean over channels) on the ``still`` pixels and
    on the others, to pool over videos: ``{"still": (sum, n), "moving": (sum, n)}``."""
    err = np.abs(np.asarray(real, np.float64) - np.asarray(generated, np.float64)).mean(-1)
    return {
        "still": (float(err[still].sum()), int(still.sum())),
        "moving": (float(err[~still].sum()), int((~still).sum())),
    }
