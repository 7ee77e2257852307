"""The paper's evaluation protocol (sec. 4.1): first frame as source, every frame as driver.

For each test video, every frame is reconstructed from frame 0 and that frame's keypoints
(the official ``reconstruction.py``). The reconstruction and two baselines measured in the
same run (copy the source; the source warped by the best global affine fitted to
source → driving landmarks) are compared with the real frames by L1, AKD, MKR and AED
(:mod:`fomm_tf.eval.metrics`), with a landmark/identity detector independent of the model
(:mod:`fomm_tf.eval.detectors`). :func:`reconstruction_l1` is the L1-only protocol used
during training.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf

from .data.pipeline import _is_video, read_video, scan_split
from .errors import InputError
from .nets.models import Models

log = logging.getLogger(__name__)

METHODS = ("model", "copy_source", "global_affine")


def reconstruct_video(models: Models, video: np.ndarray, batch_size: int = 8, extras: bool = False):
    """Reconstructions (T, H, W, 3) of a (T, H, W, 3) [0, 1] video from its first frame.

    With ``extras``, returns ``(prediction, occlusion (T, H, W) or None, keypoints (T, K, 2)
    in pixels)``. The result does not depend on ``batch_size``.
    """
    if batch_size < 1:
        raise InputError(f"batch size must be >= 1, got {batch_size}")
    source = tf.constant(video[:1])
    kp_source = models.kp_detector(source, training=False)
    cache = models.generator.encode_source(source, training=False)
    out, occ, kps = [], [], []
    h, w = video.shape[1:3]
    for start in range(0, len(video), batch_size):
        driving = tf.constant(video[start : start + batch_size])
        kp_driving = models.kp_detector(driving, training=False)
        pred = models.generator.animate_cached(
            source, cache, kp_source, kp_driving, training=False, with_deformed=False
        )
        out.append(tf.cast(pred["prediction"], tf.float32).numpy())  # bfloat16 compute too
        if extras:
            if "occlusion_map" in pred:
                occlusion = tf.cast(pred["occlusion_map"], tf.float32)
                occ.append(tf.image.resize(occlusion, (h, w)).numpy()[..., 0])
            kp = kp_driving["value"].numpy()
            kps.append((kp + 1.0) / 2.0 * np.array([w, h]) - 0.5)
    prediction = np.concatenate(out)
    if not extras:
        return prediction
    return prediction, (np.concatenate(occ) if occ else None), np.concatenate(kps)


def list_videos(data: str | Path) -> list[Path]:
    """The videos to evaluate: ``data/test/`` of a dataset root, or a folder of videos.

    A single video file is accepted too. Nothing to evaluate is an :class:`InputError`.
    """
    data = Path(data)
    if not data.exists():
        raise InputError(f"{data}: no such dataset folder or video")
    if data.is_file():
        return [data]
    if (data / "test").is_dir():
        return scan_split(data, "test").videos
    videos = [p for p in sorted(data.iterdir()) if _is_video(p)]
    if not videos:
        raise InputError(
            f"{data}: holds no videos and no test/ folder (give a dataset root with test/ "
            "or a folder of .mp4/.gif files, frame folders or frame strips)"
        )
    return videos


def reconstruction_l1(
    models: Models, root: str | Path, num_videos: int | None = None, max_frames: int | None = None
) -> dict[str, float]:
    """Mean L1 of the reconstruction protocol over the test split of ``root``.

    Returns:
        ``{"l1": mean over frames, "videos": count, "frames": count, "skipped": count}``.
    """
    index = scan_split(root, "test")
    size = models.config.image_size
    total, frames, videos, skipped = 0.0, 0, 0, 0
    for path in index.videos[: num_videos or None]:
        try:
            video = read_video(path, size=size, max_frames=max_frames)
        except (InputError, OSError, ValueError) as exc:
            skipped += 1
            log.warning("reconstruction: skipping unreadable %s: %s", path, exc)
            continue
        pred = reconstruct_video(models, video)
        total += float(np.abs(pred - video).mean(axis=(1, 2, 3)).sum())
        frames += len(video)
        videos += 1
    if not videos:
        raise InputError(f"{root}/test: no readable test videos for the reconstruction")
    return {"l1": total / frames, "videos": videos, "frames": frames, "skipped": skipped}


@dataclass
class VideoVisual:
    """What the contact sheet shows of one video (a few frames)."""

    name: str
    source: np.ndarray
    driving: np.ndarray
    reconstruction: np.ndarray
    occlusion: np.ndarray | None
    keypoints: np.ndarray
    landmarks_real: np.ndarray
    visible_real: np.ndarray
    landmarks_model: np.ndarray
    visible_model: np.ndarray


@dataclass
class Evaluation:
    """The result of :func:`evaluate`: the report and what the figures need."""

    report: dict
    per_frame_l1: dict = field(default_factory=dict)  # method → list of (T,) arrays
    visuals: list = field(default_factory=list)


def evaluate(
    models: Models,
    videos: list[Path],
    detector,
    batch_size: int = 8,
    max_frames: int | None = None,
    num_visuals: int = 3,
    progress: bool = True,
) -> Evaluation:
    """Reconstruct every video and score the model and both baselines with ``detector``.

    Args:
        models: the networks under test (inference mode).
        videos: video paths (:func:`list_videos`).
        detector: an object with ``name`` and ``detect(frames) -> Detections``.
        batch_size: driving frames per network call (the numbers do not depend on it).
        max_frames: read at most this many frames per video.
        num_visuals: keep the frames of this many videos for the contact sheet.

    Unreadable videos are skipped and counted; none readable is an :class:`InputError`.
    """
    from tqdm import tqdm

    from .eval.baselines import copy_source, global_affine
    from .eval.metrics import MetricSums

    size = models.config.image_size
    sums = {m: MetricSums() for m in METHODS}
    per_frame = {m: [] for m in METHODS}
    visuals = []
    skipped = []
    for path in tqdm(videos, desc="evaluate", unit="video", disable=not progress):
        try:
            video = read_video(path, size=size, max_frames=max_frames)
        except (InputError, OSError, ValueError) as exc:
            skipped.append(path.name)
            log.warning("evaluate: skipping unreadable %s: %s", path, exc)
            continue
        pred, occlusion, keypoints = reconstruct_video(models, video, batch_size, extras=True)
        det_real = detector.detect(video)
        det_source = det_real.take(slice(0, 1))
        copy = copy_source(video[0], len(video))
        det_copy = det_source.take(np.zeros(len(video), int))  # the same frame every time
        affine = global_affine(video[0], det_source, det_real)
        outputs = {
            "model": (pred, detector.detect(pred)),
            "copy_source": (copy, det_copy),
            "global_affine": (affine, detector.detect(affine)),
        }
        for method, (frames, det) in outputs.items():
            per_frame[method].append(sums[method].add(video, frames, det_real, det))
        if len(visuals) < num_visuals:
            pick = np.unique(np.linspace(0, len(video) - 1, min(4, len(video))).round().astype(int))
            det_model = outputs["model"][1]
            visuals.append(
                VideoVisual(
                    name=path.name,
                    source=video[0],
                    driving=video[pick],
                    reconstruction=pred[pick],
                    occlusion=None if occlusion is None else occlusion[pick],
                    keypoints=keypoints[pick],
                    landmarks_real=det_real.landmarks[pick],
                    visible_real=det_real.visible[pick],
                    landmarks_model=det_model.landmarks[pick],
                    visible_model=det_model.visible[pick],
                )
            )
    count = len(per_frame["model"])
    if not count:
        raise InputError(
            f"no readable videos to evaluate ({len(skipped)} unreadable: "
            f"{', '.join(skipped[:3])}{', ...' if len(skipped) > 3 else ''})"
        )
    model = sums["model"].result()
    report = {
        "model": model,
        "baselines": {m: sums[m].result() for m in METHODS[1:]},
        "videos": count,
        "frames": sums["model"].frames,
        "detector": detector.name,
        "skipped": len(skipped),
        "l1": model["l1"],
    }
    return Evaluation(report, per_frame, visuals)
