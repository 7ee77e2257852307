"""``make bench``: ms per animated frame of the Keras networks, in matmul units.

One animated frame = one keypoint-detector call + one generator call, the source's own work
(its keypoints, encoder features, downscaled image) cached as ``fomm animate`` does. Measured
at vox-256 (256×256, random weights) for batch 1 and 8, eager vs ``tf.function`` with and
without XLA, plus the uncached generator for reference. A float32 2048×2048 matmul timed in
the same run calibrates the CPU, so figures compare across machines as ratios. The
comparison with the official code is measured side by side by ``make bench-official``.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import fomm_tf  # noqa: E402
from fomm_tf.bench.timing import matmul_2048_ms, median_ms, random_source  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="vox-256", help="model config (default vox-256)")
    parser.add_argument("--repeat", type=int, default=5, help="timed repeats (default 5)")
    parser.add_argument("--batches", default="1,8", help="batch sizes to time (default 1,8)")
    args = parser.parse_args()

    models = fomm_tf.build_models(args.config, seed=0)
    h, w = models.config.image_size
    source, kp_src, cache = random_source(models)
    rng = np.random.default_rng(1)  # driving frames
    mm = matmul_2048_ms()
    print(
        f"config {args.config} {h}x{w}; float32 2048² matmul: {mm:.1f} ms "
        f"(TF {tf.__version__}, {os.cpu_count()} cores)"
    )
    print(f"{'mode':<22}{'batch':>6}{'ms/frame':>10}{'matmuls':>9}")

    def frame_fn(batch):
        kp_d = models.kp_detector(batch)
        return models.generator.animate_cached(source, cache, kp_src, kp_d, with_deformed=False)[
            "prediction"
        ]

    modes = {
        "eager": frame_fn,
        "tf.function": tf.function(frame_fn),
        "tf.function+XLA": tf.function(frame_fn, jit_compile=True),
    }
    for n in [int(b) for b in args.batches.split(",")]:
        driving = tf.constant(rng.random((n, h, w, 3), np.float32))
        for name, fn in modes.items():
            ms = median_ms(lambda fn=fn, d=driving: fn(d).numpy(), args.repeat) / n
            print(f"{name:<22}{n:>6}{ms:>10.1f}{ms / mm:>9.2f}")
    full = tf.function(
        lambda d: models.generator(source, kp_source=kp_src, kp_driving=models.kp_detector(d))[
            "prediction"
        ]
    )
    driving = tf.constant(rng.random((1, h, w, 3), np.float32))
    ms = median_ms(lambda: full(driving).numpy(), args.repeat)
    print(f"{'uncached tf.function':<22}{1:>6}{ms:>10.1f}{ms / mm:>9.2f}")
    print("against the official code on this machine: make bench-official OFFICIAL=...")


if __name__ == "__main__":
    main()
