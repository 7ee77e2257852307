"""``make bench-paste``: what pasting the animated crop back into a 1080p picture costs per frame.

Times, interleaved in one run (model, paste, model, paste, ...; so load changes on the machine
hit both alike):

* the model's frame: vox-256 (random weights) keypoint detector + generator with the source
  cached, one ``tf.function``, batch 1 — what ``fomm animate`` runs per frame;
* paste-back (``fomm_tf.animation.photo.PasteBack``) of one 256² frame into a 1920×1080 canvas, for a
  face crop (side 600 px) and the largest crop (side 1080 px: the whole picture height).

Reports the median of per-round ratios paste / model (target ≤ 15 %). For reference it also
times encoding one frame with ``VideoWriter`` at 1080p and at 256² (H.264, not interleaved):
the writer's cost grows with the output size whether it is pasted or not.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

import fomm_tf
from fomm_tf.animation.photo import Crop, PasteBack
from fomm_tf.bench.timing import random_source
from fomm_tf.media.video_writer import VideoWriter


def _encode_ms(frames: np.ndarray) -> float:
    with tempfile.TemporaryDirectory() as tmp, VideoWriter(Path(tmp) / "b.mp4", fps=25) as w:
        w.write(frames[:2])  # start ffmpeg
        t0 = time.perf_counter()
        w.write(frames[2:])
        elapsed = time.perf_counter() - t0
    return 1000 * elapsed / (len(frames) - 2)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="vox-256", help="model config (default vox-256)")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    args = parser.parse_args(argv)

    models = fomm_tf.build_models(args.config, seed=0)
    h, w = models.config.image_size
    source, kp_src, cache = random_source(models)
    rng = np.random.default_rng(1)  # driving frames

    @tf.function
    def frame(d):
        kp_d = models.kp_detector(d)
        out = models.generator.animate_cached(source, cache, kp_src, kp_d, with_deformed=False)
        return out["prediction"]

    driving = tf.constant(rng.random((1, h, w, 3), np.float32))
    frame(driving).numpy()  # trace
    canvas = rng.integers(0, 256, (1080, 1920, 3), np.uint8)
    animated = rng.random((h, w, 3)).astype(np.float32)
    pastes = {
        "face crop 600": PasteBack(canvas, Crop(900, 200, 600)),
        "crop 1080": PasteBack(canvas, Crop(420, 0, 1080)),
    }
    for paste in pastes.values():
        paste(animated)  # warm-up
    times = {"model": [], **{k: [] for k in pastes}}
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        frame(driving).numpy()
        times["model"].append(time.perf_counter() - t0)
        for name, paste in pastes.items():
            t0 = time.perf_counter()
            paste(animated)
            times[name].append(time.perf_counter() - t0)
    model = np.array(times["model"])
    print(
        f"{args.config} {h}x{w}, keras tf.function batch 1; canvas 1920x1080; "
        f"{args.rounds} interleaved rounds; {os.cpu_count()} cores"
    )
    print(f"  model frame      median {1000 * np.median(model):8.1f} ms")
    for name in pastes:
        t = np.array(times[name])
        ratio = t / model
        print(
            f"  paste {name:<15}median {1000 * np.median(t):8.2f} ms  = "
            f"{100 * np.median(ratio):.2f} % of the model frame (per-round quartiles "
            f"{100 * np.quantile(ratio, 0.25):.2f}-{100 * np.quantile(ratio, 0.75):.2f} %; "
            "target <= 15 %)"
        )
    big = np.stack([pastes["face crop 600"](animated)] * 12)
    small = np.stack([(animated * 255).astype(np.uint8)] * 12)
    print(
        f"  for reference, H.264 encoding per frame: 1920x1080 {_encode_ms(big):.1f} ms, "
        f"{w}x{h} {_encode_ms(small):.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
