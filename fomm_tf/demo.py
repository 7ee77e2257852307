"""``fomm demo`` / ``make demo``: the bundled default model animating a face it never saw.

Offline and self-contained: the synthetic renderer draws a source identity and a driving clip
of another identity, both from a seed no training set uses (:data:`DEMO_SEED`). The source is
animated with relative motion (paper eq. 14–15); because the renderer can also draw the
source identity moving exactly as the driver does, the result is scored against that ground
truth: L1 and AKD (synthetic landmark detector), next to the copy-source baseline (the
still source picture), and the result's detail over the source's (variance of the Laplacian). Writes ``OUT/demo.mp4`` and ``OUT/demo.gif`` (source | driving |
result, each panel at the model resolution) and the inputs ``OUT/demo-source.png`` and
``OUT/demo-driving.mp4`` for trying ``fomm animate`` by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEMO_SEED = 9  # identities 900001, 900002: never in a training or evaluation set of the card


@dataclass(frozen=True)
class DemoResult:
    out: Path
    source_id: int
    driver_id: int
    frames: int
    size: int
    rows: dict  # "animation" / "copy source" → {"l1": ..., "akd": ...}
    detail: float  # the result panel's detail over the source panel's (frame mean)


def make_demo(
    config: str, checkpoint: str | None, out: str | Path, frames: int, seed: int, fps: float
) -> DemoResult:
    """Write the demo's videos and inputs to ``out`` and score the animation (``frames`` >= 2,
    ``seed`` >= 0, ``fps`` > 0)."""
    from .eval.cross import animate_clip, cross_clip, score_clip
    from .eval.detectors import SyntheticDetector
    from .eval.metrics import MetricSums, laplacian_detail
    from .media.images import to_uint8, write_image
    from .media.video_writer import VideoWriter
    from .nets.models import load_models

    models = load_models(checkpoint, config)
    size = models.config.image_size[0]
    base = seed * 100_000
    clip = cross_clip(size, frames, base + 1, base + 2)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_image(out / "demo-source.png", clip.source)
    with VideoWriter(out / "demo-driving.mp4", fps=fps) as writer:
        writer.write(clip.driving)

    result = animate_clip(models, clip.source, clip.driving)
    panels = np.concatenate(
        [np.broadcast_to(clip.source, result.shape), clip.driving, result], axis=2
    )
    for name in ("demo.mp4", "demo.gif"):
        with VideoWriter(out / name, fps=fps) as writer:
            writer.write(to_uint8(panels))

    sums = {"model": MetricSums(), "copy_source": MetricSums()}
    score_clip(sums, clip, result, SyntheticDetector("face"))
    rows = {"animation": sums["model"].result(), "copy source": sums["copy_source"].result()}
    detail = np.mean([laplacian_detail(f) for f in result]) / laplacian_detail(clip.source)
    return DemoResult(out, clip.source_id, clip.driver_id, frames, size, rows, float(detail))
