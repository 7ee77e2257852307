"""Keras graphs → TFLite flatbuffers in four flavours, builtin ops only.

- ``fp32``: float weights and activations (the reference).
- ``fp16``: float16 weights, float32 compute (half the size, same speed on CPU).
- ``dynamic``: int8 weights of convolutions, float activations.
- ``int8``: *selective* full-integer quantization. Calibrated on real or synthetic frames,
  then every op is int8 except those under :data:`fomm_tf.nets.layers.warp.FLOAT_SCOPE`: the
  coordinate grids, heatmap softmax and keypoint averaging, Jacobian inverse, sparse motions,
  grid sampling and the mask softmax that mixes the flow. Those stay float (the converter
  inserts QUANTIZE/DEQUANTIZE around them): quantizing sampling coordinates to int8 moves
  the warp by whole pixels, and an int8 softmax at temperature 0.1 loses keypoint precision.
  Each island has its own sub-scope (:data:`fomm_tf.nets.layers.warp.FLOAT_ISLANDS`), so one can
  be quantized alone to measure what keeping it float buys (``benchmarks/int8_islands.py``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterable, Sequence

import numpy as np
import tensorflow as tf

from fomm_tf.errors import InputError
from fomm_tf.nets.layers.warp import FLOAT_SCOPE

from .graphs import GraphFunction

log = logging.getLogger(__name__)

QUANT_MODES = ("fp32", "fp16", "dynamic", "int8")


def _converter(graph: GraphFunction) -> tf.lite.TFLiteConverter:
    converter = tf.lite.TFLiteConverter.from_concrete_functions([graph.function])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    converter.allow_custom_ops = False
    return converter


# ``keep_float/<island>/`` (TF may suffix either scope with ``_<n>`` when it repeats).
_ISLAND = re.compile(rf"{FLOAT_SCOPE}(?:_\d+)?/([A-Za-z_]+?)(?:_\d+)?/")


def islands_of(tensor_name: str) -> set[str]:
    """Float islands an op output belongs to (fused names join several ops with ``;``).

    Each fused part counts for its innermost island; a part under the bare
    :data:`FLOAT_SCOPE` with no island sub-scope counts as ``""``.
    """
    found = set()
    for part in tensor_name.split(";"):
        if FLOAT_SCOPE in part:
            matches = _ISLAND.findall(part)
            found.add(matches[-1] if matches else "")
    return found


def float_island_nodes(model: bytes, quantize: Collection[str] = ()) -> list[str]:
    """Output tensor names of the ops that run in float in the selective int8 graph.

    Args:
        model: a calibrated (not yet quantized) flatbuffer.
        quantize: islands to quantize anyway (only for measuring what each island buys); an
            op stays float while it belongs to any other island.
    """
    from .flatbuffer import ops_details, tensor_names

    names = tensor_names(model)
    nodes = []
    for op in ops_details(model):
        outs = [names[i] for i in op["outputs"]]
        if any(set().union(*(islands_of(n) for n in outs)) - set(quantize)):
            nodes.extend(outs)
    return nodes


def convert_graph(
    graph: GraphFunction,
    quant: str,
    calibration: Sequence[dict[str, np.ndarray]] | None = None,
    keep_float: bool = True,
    quantize_islands: Collection[str] = (),
) -> bytes:
    """Convert one frozen graph to a TFLite flatbuffer.

    Args:
        graph: from :func:`fomm_tf.export.graphs.build_graphs`.
        quant: one of :data:`QUANT_MODES`.
        calibration: for ``int8``, feeds (input name → batch-1 array) covering the inputs'
            real range; ignored otherwise.
        keep_float: for ``int8``, keep the float islands (``False`` quantizes everything the
            converter can: only for measuring what the islands buy).
        quantize_islands: for ``int8`` with ``keep_float``, islands to quantize anyway
            (only for measuring what each island buys alone).

    Returns:
        The ``.tflite`` bytes.
    """
    if quant not in QUANT_MODES:
        raise InputError(f"--quant {quant!r}: expected one of {', '.join(QUANT_MODES)}")
    converter = _converter(graph)
    if quant == "fp32":
        return converter.convert()
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quant == "fp16":
        converter.target_spec.supported_types = [tf.float16]
        return converter.convert()
    if quant == "dynamic":
        return converter.convert()
    if not calibration:
        raise InputError(f"{graph.name}: int8 export needs calibration frames")
    calibrated = calibrate(graph, calibration, converter)
    return quantize_calibrated(graph.name, calibrated, keep_float, quantize_islands)


def _representative(graph: GraphFunction, feeds: Iterable[dict[str, np.ndarray]]):
    def gen():
        for feed in feeds:
            yield [np.asarray(feed[name], np.float32) for name, _ in graph.inputs]

    return gen


def calibrate(
    graph: GraphFunction,
    calibration: Sequence[dict[str, np.ndarray]],
    converter: tf.lite.TFLiteConverter | None = None,
) -> bytes:
    """The float flatbuffer with the activation ranges of ``calibration`` recorded."""
    converter = converter or _converter(graph)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = _representative(graph, calibration)
    converter._experimental_calibrate_only = True  # noqa: SLF001 - documented debugger path
    return converter.convert()


def quantize_calibrated(
    name: str,
    calibrated: bytes,
    keep_float: bool = True,
    quantize_islands: Collection[str] = (),
) -> bytes:
    """Selective int8 of a :func:`calibrate` output: every op int8 but the float islands.

    ``keep_float=False`` quantizes everything; ``quantize_islands`` quantizes those islands
    and keeps the others float (both only for measuring what the islands buy).
    """
    from tensorflow.lite.python import convert as tflite_convert

    denylisted = float_island_nodes(calibrated, quantize_islands) if keep_float else []
    log.info("%s: %d op outputs kept in float", name, len(denylisted))
    return tflite_convert.mlir_quantize(
        calibrated,
        disable_per_channel=False,
        fully_quantize=False,
        input_data_type=tf.float32,
        output_data_type=tf.float32,
        denylisted_nodes=denylisted,
    )
