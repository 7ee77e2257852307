"""What is inside an exported ``.tflite`` flatbuffer: its ops, tensor names, op histogram,
and how XNNPACK partitions it (the contract's ``delegation`` figures).

The op list comes from the interpreter's ``_get_ops_details()``: LiteRT has no public API
for the ops of a graph. It is pinned by ``tests/test_export.py`` (every exported graph's op
histogram is read through it and checked against the builtin-ops allow-list).
"""

from __future__ import annotations

import collections
from typing import Any

import numpy as np

from fomm_tf.litert import make_interpreter


def ops_details(model: bytes) -> list[dict]:
    """The ops of a flatbuffer, in execution order, before any delegate touches it."""
    return make_interpreter(model_content=model, delegates=False)._get_ops_details()  # noqa: SLF001


def tensor_names(model: bytes) -> dict[int, str]:
    interpreter = make_interpreter(model_content=model, delegates=False)
    return {t["index"]: t["name"] for t in interpreter.get_tensor_details()}


def op_histogram(model: bytes) -> dict[str, int]:
    """``{op name: count}`` of every op in the graph, most frequent first."""
    counts = collections.Counter(op["op_name"] for op in ops_details(model))
    return dict(counts.most_common())


def _op_flops(op: dict, shapes: dict[int, tuple[int, ...]]) -> float:
    """Multiply-adds ×2 of convolutions and matmuls; one FLOP per output element otherwise."""
    out = shapes.get(op["outputs"][0], ()) if len(op["outputs"]) else ()
    out_elems = float(np.prod(out)) if out else 0.0
    name = op["op_name"]
    if name == "CONV_2D":
        _, kh, kw, cin = shapes[op["inputs"][1]]
        return 2.0 * out_elems * kh * kw * cin
    if name == "DEPTHWISE_CONV_2D":
        _, kh, kw, _ = shapes[op["inputs"][1]]
        return 2.0 * out_elems * kh * kw
    if name == "TRANSPOSE_CONV":
        _, kh, kw, cin = shapes[op["inputs"][1]]
        return 2.0 * out_elems * kh * kw * cin
    if name in ("FULLY_CONNECTED", "BATCH_MATMUL"):
        return 2.0 * out_elems * shapes[op["inputs"][0]][-1]
    return out_elems


def delegation_report(model: bytes, num_threads: int = 2) -> dict[str, Any]:
    """How XNNPACK partitions a graph.

    A DELEGATE node replaces a partition: the ops inside it are those reached walking back
    from its outputs to its inputs. Returns ``partitions`` (DELEGATE nodes), ``ops``,
    ``delegated_ops``, ``not_delegated`` (op histogram of the rest), ``flops`` and
    ``delegated_flops_share`` (FLOPs: 2× multiply-adds of conv/matmul, 1 per output element
    of anything else).
    """
    interpreter = make_interpreter(model_content=model, num_threads=num_threads)
    shapes = {}
    for t in interpreter.get_tensor_details():
        shapes[t["index"]] = tuple(int(d) for d in t["shape"])
    nodes = interpreter._get_ops_details()  # noqa: SLF001
    originals = [n for n in nodes if n["op_name"] != "DELEGATE"]
    delegates = [n for n in nodes if n["op_name"] == "DELEGATE"]
    by_index = {n["index"]: n for n in originals}
    producer = {}
    for node in originals:
        for t in node["outputs"]:
            producer[t] = node["index"]
    delegated: set[int] = set()
    for node in delegates:
        stop = set(int(t) for t in node["inputs"])
        todo = [int(t) for t in node["outputs"]]
        seen: set[int] = set()
        while todo:
            t = todo.pop()
            if t in seen or t in stop or t not in producer:
                continue
            seen.add(t)
            idx = producer[t]
            if idx in delegated:
                continue
            delegated.add(idx)
            todo.extend(int(i) for i in by_index[idx]["inputs"] if i >= 0)
    flops = {n["index"]: _op_flops(n, shapes) for n in originals}
    total = sum(flops.values()) or 1.0
    rest = collections.Counter(n["op_name"] for n in originals if n["index"] not in delegated)
    return {
        "partitions": len(delegates),
        "ops": len(originals),
        "delegated_ops": len(delegated),
        "not_delegated": dict(rest.most_common()),
        "gflops": round(total / 1e9, 4),
        "delegated_flops_share": round(sum(flops[i] for i in delegated) / total, 5),
    }
