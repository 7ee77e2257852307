"""Cross-identity animation scored against ground truth (synthetic faces only).

The paper can score only reconstruction (source and driver of one video): for another
person's motion there is no true frame. The synthetic renderer has one: identity A moving
exactly as identity B does in B's clip (:func:`fomm_tf.data.annotated.render_annotated` with
``motion_identity``). The source is A in the pose of B's first frame, so relative motion
(eq. 14–15) should turn A's picture into exactly that clip. Scored like the paper's
reconstruction: L1 and, with the synthetic landmark detector, AKD / MKR / AED, next to the
copy-source baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "CrossClip",
    "animate_clip",
    "cross_clip",
    "cross_identity_eval",
    "cross_sheet",
    "score_clip",
]


@dataclass
class CrossClip:
    """Source picture, driving clip and ground truth, all (…, H, W, 3) float32 in [0, 1]."""

    source: np.ndarray
    driving: np.ndarray
    truth: np.ndarray
    source_id: int
    driver_id: int


def cross_clip(size: int, frames: int, source_id: int, driver_id: int, clip: int = 0) -> CrossClip:
    """Identity ``source_id`` animated by clip ``clip`` of ``driver_id``, with the truth."""
    from ..data.annotated import render_annotated

    truth = render_annotated(frames, size, identity=source_id, clip=clip, motion_identity=driver_id)
    driving = render_annotated(frames, size, identity=driver_id, clip=clip)
    return CrossClip(truth.frames[0], driving.frames, truth.frames, source_id, driver_id)


def animate_clip(models, source: np.ndarray, driving: np.ndarray, batch_size: int = 8):
    """Animate with the config's motion options, relative motion forced (eq. 14–15)."""
    from ..animation.animator import Animator
    from ..animation.keras_backend import KerasBackend
    from ..animation.motion import MotionOptions

    options = MotionOptions.from_config(models.config.raw).override(relative=True)
    animator = Animator(KerasBackend(models, batch_size=batch_size), options)
    return np.concatenate(list(animator.animate(source, driving)))


def score_clip(sums: dict, clip: CrossClip, result: np.ndarray, detector) -> None:
    """Add one animation and its copy-source baseline to ``sums`` (``{"model",
    "copy_source"}`` of :class:`~fomm_tf.eval.metrics.MetricSums`), scored against the truth."""
    det_truth = detector.detect(clip.truth)
    copy = np.ascontiguousarray(np.broadcast_to(clip.source, clip.truth.shape))
    det_copy = detector.detect(clip.source[None]).take(np.zeros(len(clip.truth), int))
    sums["model"].add(clip.truth, result, det_truth, detector.detect(result))
    sums["copy_source"].add(clip.truth, copy, det_truth, det_copy)


def cross_identity_eval(
    models, seed: int, num_pairs: int, frames: int, detector, progress: bool = False
) -> dict:
    """Pairs ``(seed·100000 + 2i + 1) ← (seed·100000 + 2i + 2)``, ``i < num_pairs``.

    Returns ``{"report": {"model", "copy_source", "pairs", "frames"}, "clips": [...],
    "results": [...]}`` (the clips and animations, for :func:`cross_sheet`).
    """
    from tqdm import tqdm

    from .metrics import MetricSums

    size = models.config.image_size[0]
    sums = {"model": MetricSums(), "copy_source": MetricSums()}
    clips, results = [], []
    for i in tqdm(range(num_pairs), desc="cross-identity", unit="pair", disable=not progress):
        base = seed * 100_000 + 2 * i
        clip = cross_clip(size, frames, base + 1, base + 2)
        result = animate_clip(models, clip.source, clip.driving)
        score_clip(sums, clip, result, detector)
        clips.append(clip)
        results.append(result)
    report = {k: v.result() for k, v in sums.items()}
    report.update(pairs=num_pairs, frames=sums["model"].frames, detector=detector.name)
    return {"report": report, "clips": clips, "results": results}


def cross_sheet(clips, results, columns: int = 4) -> np.ndarray:
    """One row per pair: source | driving frames (top) over result frames (bottom), uint8."""
    from ..media.images import to_uint8

    rows = []
    for clip, result in zip(clips, results):
        pick = np.linspace(0, len(result) - 1, columns).round().astype(int)
        blank = np.ones_like(clip.source)
        top = np.concatenate([clip.source, *clip.driving[pick]], axis=1)
        bottom = np.concatenate([blank, *result[pick]], axis=1)
        rows.append(np.concatenate([top, bottom], axis=0))
        rows.append(np.ones((4, top.shape[1], 3), np.float32))
    return to_uint8(np.concatenate(rows[:-1], axis=0))
