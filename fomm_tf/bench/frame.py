"""Per-frame timing of an animation (kp detector + generator, source cached), in ms and in
units of a float32 2048×2048 matmul measured in the same run, so numbers from different
machines compare. The official PyTorch model takes 9.4 such units per frame at vox-256.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from fomm_tf.bench.timing import matmul_2048_ms
from fomm_tf.bench.timing import median_ms as _median_ms

log = logging.getLogger(__name__)


def _finish(result: dict[str, Any]) -> dict[str, Any]:
    mm = matmul_2048_ms()
    per_frame = result["graphs"]["kp_detector"]["ms"] + result["graphs"]["generator"]["ms"]
    result.update(
        ms_per_frame=round(per_frame, 2),
        matmul_2048_ms=round(mm, 2),
        matmul_units_per_frame=round(per_frame / mm, 3),
    )
    return result


def bench_tflite(model_dir: str | os.PathLike, frames: int = 5, threads: int = 2) -> dict:
    """Time each exported graph through :class:`fomm_tf.animation.tflite_backend.TFLiteAnimator`."""
    from ..animation.tflite_backend import TFLiteAnimator

    anim = TFLiteAnimator(model_dir, num_threads=threads)
    h, w = anim.image_size
    rng = np.random.default_rng(0)
    frame = rng.random((1, h, w, anim.contract["num_channels"]), dtype=np.float32)
    kp_source = anim.prepare(frame)
    graphs = {
        "kp_detector": {"ms": _median_ms(lambda: anim.kp(frame), frames)},
        "source_encoder": {"ms": _median_ms(lambda: anim.prepare(frame), 1)},
        "generator": {"ms": _median_ms(lambda: anim.generate(kp_source), frames)},
    }
    total = 0
    for name, g in graphs.items():
        g["ms"] = round(
            g["ms"] - (graphs["kp_detector"]["ms"] if name == "source_encoder" else 0.0), 2
        )  # prepare() also runs the kp detector
        g["bytes"] = (Path(model_dir) / anim.contract["graphs"][name]["file"]).stat().st_size
        g["xnnpack_partitions"] = anim.contract["graphs"][name]["xnnpack"]["partitions"]
        total += g["bytes"]
    return _finish(
        {
            "backend": "tflite",
            "quant": anim.contract["quant"],
            "model_dir": str(model_dir),
            "image_size": list(anim.image_size),
            "threads": threads,
            "frames": frames,
            "graphs": graphs,
            "model_bytes": total,
        }
    )


def bench_keras(config: str, frames: int = 5, threads: int = 2, precision: str = "float32") -> dict:
    """Time the Keras graphs (``tf.function``, batch 1, random weights) in ``precision``."""
    import tensorflow as tf

    from fomm_tf.nets.models import build_models

    from ..export.graphs import build_graphs

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already ran something in this process
        log.warning("TensorFlow already initialised: keras bench uses its existing threads")
    models = build_models(config, seed=0, precision=precision)
    graphs_fn = build_graphs(models)
    h, w = models.config.image_size
    rng = np.random.default_rng(0)
    frame = {"image": rng.random((1, h, w, 3), dtype=np.float32)}
    kp = graphs_fn["kp_detector"].run(frame)
    cache = graphs_fn["source_encoder"].run({"source": frame["image"]})
    feed = dict(cache)
    for who in ("kp_source", "kp_driving"):
        feed.update({f"{who}_{k}": v for k, v in kp.items()})
    weights = {"kp_detector": models.kp_detector, "generator": models.generator}
    graphs = {
        "kp_detector": {"ms": _median_ms(lambda: graphs_fn["kp_detector"].run(frame), frames)},
        "source_encoder": {
            "ms": _median_ms(lambda: graphs_fn["source_encoder"].run({"source": frame["image"]}), 1)
        },
        "generator": {"ms": _median_ms(lambda: graphs_fn["generator"].run(feed), frames)},
    }
    total = 0
    for name, g in graphs.items():
        g["ms"] = round(g["ms"], 2)
        if name in weights:
            g["bytes"] = int(sum(np.prod(v.shape) * 4 for v in weights[name].weights))
            total += g["bytes"]
    return _finish(
        {
            "backend": "keras",
            "config": config,
            "precision": precision,
            "image_size": [h, w],
            "threads": threads,
            "frames": frames,
            "graphs": graphs,
            "model_bytes": total,
        }
    )


def format_result(r: dict[str, Any]) -> str:
    """A few human-readable lines for one benchmark result."""
    what = r.get("quant") or f"{r.get('config')} {r.get('precision', 'float32')}"
    lines = [
        f"{r['backend']} {what} {r['image_size'][0]}x{r['image_size'][1]}, "
        f"{r['threads']} threads: {r['ms_per_frame']:.1f} ms/frame = "
        f"{r['matmul_units_per_frame']:.2f} matmul units "
        f"(2048² matmul {r['matmul_2048_ms']:.1f} ms)"
    ]
    for name, g in r["graphs"].items():
        size = f"{g['bytes'] / 1e6:8.2f} MB" if "bytes" in g else ""
        lines.append(f"  {name:<15} {g['ms']:9.1f} ms {size}")
    lines.append(f"  model size {r['model_bytes'] / 1e6:.2f} MB")
    return "\n".join(lines)
