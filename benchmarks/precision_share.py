"""How much of a training step runs in bfloat16: multiply-adds by dtype in the traced step.

``python -m benchmarks.precision_share [--config tiny-64] [--batch 4]`` traces ``fomm
train``'s step (``Trainer.train_step``) under ``--precision bfloat16`` and counts the
multiply-adds of every convolution and matrix product in the graph (forward and backward,
including the functions it calls) by the dtype they run in. Prints the bfloat16 share and
the largest float32 islands.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

import numpy as np

_MAC_OPS = {
    "Conv2D",
    "Conv2DBackpropInput",
    "Conv2DBackpropFilter",
    "DepthwiseConv2dNative",
    "DepthwiseConv2dNativeBackpropInput",
    "DepthwiseConv2dNativeBackpropFilter",
    "MatMul",
    "BatchMatMulV2",
    "BatchMatMulV3",
    "_FusedConv2D",
    "_MklNativeConv2D",
}


def _macs(op) -> float:
    """Multiply-adds of one op from its static shapes (0 where unknown)."""
    try:
        if op.type.startswith(("Conv2D", "_FusedConv2D", "Depthwise", "_MklNativeConv2D")):
            out = (
                op.outputs[0].shape
                if op.type in ("Conv2D", "_FusedConv2D", "_MklNativeConv2D")
                or op.type.startswith("DepthwiseConv2dNative")
                and not op.type.endswith("Filter")
                and not op.type.endswith("Input")
                else None
            )
            if op.type == "Conv2DBackpropInput":  # dx = conv_transpose(dy, w): same MACs as fwd
                dy, w = op.inputs[2].shape, op.inputs[1].shape
                return float(np.prod(dy.as_list()) * np.prod(w.as_list()[:3]))
            if op.type == "Conv2DBackpropFilter":  # dw: same MACs as forward
                dy = op.inputs[2].shape
                w = op.outputs[0].shape
                return float(np.prod(dy.as_list()) * np.prod(w.as_list()[:3]))
            if out is not None:
                w = op.inputs[1].shape
                return float(np.prod(out.as_list()) * np.prod(w.as_list()[:3]))
            return 0.0
        if op.type == "MatMul":
            a, b = op.inputs[0].shape.as_list(), op.inputs[1].shape.as_list()
            ta, tb = op.get_attr("transpose_a"), op.get_attr("transpose_b")
            m, k = (a[1], a[0]) if ta else (a[0], a[1])
            n = b[0] if tb else b[1]
            return float(m * k * n)
        if op.type.startswith("BatchMatMul"):
            out = op.outputs[0].shape.as_list()
            a = op.inputs[0].shape.as_list()
            k = a[-2] if op.get_attr("adj_x") else a[-1]
            return float(np.prod(out) * k)
    except (TypeError, ValueError):  # a dimension unknown statically
        return 0.0
    return 0.0


def _walk(graph, seen: set, counts: Counter, islands: Counter) -> None:
    for op in graph.get_operations():
        if op.type in _MAC_OPS:
            dtype = op.outputs[0].dtype.name
            macs = _macs(op)
            counts[dtype] += macs
            if dtype != "bfloat16":
                islands[op.name.split("/")[-2] if "/" in op.name else op.name] += macs
        for attr in ("f", "then_branch", "else_branch", "body", "cond"):
            try:
                fn = op.get_attr(attr)
            except ValueError:
                continue
            name = getattr(fn, "name", None)
            if name and name not in seen:
                seen.add(name)
                sub = graph._get_function(name)  # noqa: SLF001 - the traced callee's graph
                if sub is not None and hasattr(sub, "graph"):
                    _walk(sub.graph, seen, counts, islands)


def main(argv: list[str] | None = None) -> int:
    import tensorflow as tf

    from fomm_tf.config import load_config
    from fomm_tf.training import Trainer, TrainOptions, make_strategy

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="tiny-64")
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args(argv)
    cfg = load_config(args.config)
    opts = TrainOptions(
        config=args.config,
        data=None,
        log_dir="",
        vgg19_weights="random",
        batch_size=args.batch,
        precision="bfloat16",
    )
    trainer = Trainer(cfg, make_strategy(), opts, steps_per_epoch=10**6)
    h, w = cfg.image_size
    spec = tf.TensorSpec((args.batch, h, w, 3), tf.float32)
    graph = trainer._step_fn.get_concrete_function({"source": spec, "driving": spec}).graph  # noqa: SLF001
    counts, islands = Counter(), Counter()
    _walk(graph, set(), counts, islands)
    total = sum(counts.values())
    if not total:
        print("precision_share: no convolution found in the traced step", file=sys.stderr)
        return 1
    print(f"{args.config} batch {args.batch}: {total / 1e9:.2f} G multiply-adds a step")
    for dtype, macs in counts.most_common():
        print(f"  {dtype:<9} {macs / total:7.2%}")
    print("largest non-bfloat16 parts:")
    for name, macs in islands.most_common(6):
        print(f"  {name:<40} {macs / total:7.3%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
