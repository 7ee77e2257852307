"""What the keypoint guards (``fomm_tf.nets.layers.guards``) cost per animated frame.

Exports the generator twice at the config's size (fp32, LiteRT + XNNPACK, random weights):
once as shipped and once with every guard replaced by the identity (``finite_or``, the value
sanitizer and the Jacobian clip) and the plain ``adj/det`` inverse. Then times both
*interleaved* (A, B, A, B, ...) so a load change on the machine hits both alike, and reports
the median per-frame ratio. Run: ``make bench-guards`` (vox-256) or with ``--config tiny-64``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from fomm_tf.export.convert import convert_graph
from fomm_tf.export.exporter import load_for_export
from fomm_tf.export.flatbuffer import delegation_report
from fomm_tf.export.graphs import build_graphs
from fomm_tf.litert import make_interpreter


@contextlib.contextmanager
def guards_off():
    """Every guard the identity and the inverse plain ``adj/det``, while the graph is traced."""
    import fomm_tf.nets.dense_motion as dm
    import fomm_tf.nets.layers.warp as warp

    def plain_inverse(m):
        a, b, c, d = tf.split(tf.reshape(m, tf.concat([tf.shape(m)[:-2], [4]], 0)), 4, axis=-1)
        det = a * d - b * c
        return tf.reshape(tf.concat([d, -b, -c, a], axis=-1) / det, tf.shape(m))

    saved = (warp.finite_or, dm.sanitize_keypoint_values, dm.clip_jacobian, dm.inverse_2x2)
    warp.finite_or = lambda x, fallback: x
    dm.sanitize_keypoint_values = lambda *v: [tf.convert_to_tensor(x, tf.float32) for x in v]
    dm.clip_jacobian = lambda j: j
    dm.inverse_2x2 = plain_inverse
    try:
        yield
    finally:
        warp.finite_or, dm.sanitize_keypoint_values, dm.clip_jacobian, dm.inverse_2x2 = saved


def _generator_runner(flat: bytes, graph, threads: int):
    interp = make_interpreter(model_content=flat, num_threads=threads)
    rng = np.random.default_rng(0)
    details = {d["name"]: d for d in interp.get_input_details()}
    for name, shape in graph.inputs:  # ordinary inputs: keypoints in the frame, J near I
        if name.endswith("_value"):
            value = rng.uniform(-0.8, 0.8, shape)
        elif name.endswith("_jacobian"):
            value = np.eye(2) + rng.normal(0, 0.1, shape)
        else:
            value = rng.random(shape)
        interp.set_tensor(details[name]["index"], value.astype(np.float32))
    interp.invoke()  # warm-up
    return interp.invoke


def isolated_guard_ms(models, threads: int, repeats: int = 200) -> float:
    """LiteRT time of the guard ops alone at this model's shapes: the value guard on 2×K
    keypoints and the NaN guard of both grid_samples (K+1 motions at the dense-motion size,
    one flow at the feature size), in one small graph. Robust to load: it runs for microseconds.
    """
    from fomm_tf.nets.layers.guards import finite_or, sanitize_keypoint_values

    cfg = models.config
    k = cfg.num_kp
    h, w = cfg.image_size
    scale = cfg.generator.dense_motion_params.scale_factor
    dh, dw = int(h * scale), int(w * scale)
    fh, fw = h // 2**cfg.generator.num_down_blocks, w // 2**cfg.generator.num_down_blocks
    specs = [
        tf.TensorSpec([1, k, 2], tf.float32, name="kp_s"),
        tf.TensorSpec([1, k, 2], tf.float32, name="kp_d"),
        tf.TensorSpec([1, dh * dw * (k + 1), 2], tf.float32, name="motions"),
        tf.TensorSpec([1, fh * fw, 2], tf.float32, name="flow"),
    ]

    @tf.function(input_signature=specs)
    def guard_ops(kp_s, kp_d, motions, flow):
        a, b = sanitize_keypoint_values(kp_s, kp_d)
        return {"a": a, "b": b, "m": finite_or(motions, -4.0), "f": finite_or(flow, -4.0)}

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [guard_ops.get_concrete_function()], guard_ops
    )
    interp = make_interpreter(model_content=converter.convert(), num_threads=threads)
    rng = np.random.default_rng(0)
    for d in interp.get_input_details():
        interp.set_tensor(d["index"], rng.uniform(-1, 1, d["shape"]).astype(np.float32))
    interp.invoke()
    t0 = time.perf_counter()
    for _ in range(repeats):
        interp.invoke()
    return 1000 * (time.perf_counter() - t0) / repeats


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="vox-256", help="model config (default vox-256)")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    parser.add_argument("--threads", type=int, default=2, help="LiteRT threads (default 2)")
    args = parser.parse_args(argv)

    models = load_for_export(args.config, None, None)
    with guards_off():
        plain = build_graphs(models)["generator"]
    guarded = build_graphs(models)["generator"]
    runs = {}
    for name, graph in (("guarded", guarded), ("plain", plain)):
        flat = convert_graph(graph, "fp32", None)
        report = delegation_report(flat, num_threads=args.threads)
        runs[name] = (_generator_runner(flat, graph, args.threads), report)
    times = {name: [] for name in runs}
    order = list(runs)
    for _ in range(args.rounds):
        order.reverse()  # A B, B A, ...: neither variant always runs first
        for name in order:
            invoke = runs[name][0]
            t0 = time.perf_counter()
            invoke()
            times[name].append(1000 * (time.perf_counter() - t0))
    ratios = np.array(times["guarded"]) / np.array(times["plain"])
    print(f"generator, {args.config}, fp32 LiteRT, {args.threads} threads, {args.rounds} rounds")
    for name, (_invoke, report) in runs.items():
        t = np.array(times[name])
        print(
            f"  {name:<8} median {np.median(t):8.1f} ms  (min {t.min():.1f}, max {t.max():.1f}); "
            f"{report['partitions']} XNNPACK partitions, not delegated {report['not_delegated']}"
        )
    alone = isolated_guard_ms(models, args.threads)
    print(
        f"  the guard ops alone: {alone:.3f} ms = {100 * alone / np.median(times['guarded']):.3f} %"
        " of a guarded frame"
    )
    print(
        f"  guarded / plain per round: median {np.median(ratios):.4f} "
        f"(quartiles {np.quantile(ratios, 0.25):.4f}-{np.quantile(ratios, 0.75):.4f}); "
        f"guard cost {100 * (np.median(ratios) - 1):+.2f} % (target <= +2 %)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
