"""Keras graphs → TFLite flatbuffers in four flavours, builtin ops only.

- ``fp32``: float weights and activations (the reference).
- ``fp16``: float16 weights, float32 compute (half the size, same speed on CPU).
- ``dynamic``: int8 weights of convolutions, float activations.
- ``int8``: *selective* full-integer quantization. Calibrated on real or synthetic frames,
  then every op is int8 except those under :data:`fomm_tf.layers.warp.FLOAT_SCOPE`: the
  coordinate grids, heatmap softmax and keypoint averaging, Jacobian inverse, sparse motions,
  grid sampling and the mask softmax that mixes the flow. Those stay float (the converter
  inserts QUANTIZE/DEQUANTIZE around them): quantizing sampling coordinates to int8 moves
  the warp by whole pixels, and an int8 softmax at temperature 0.1 loses keypoint precision.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import numpy as np
import tensorflow as tf

from fomm_tf.errors import InputError
from fomm_tf.layers.warp import FLOAT_SCOPE

from .graphs import GraphFunction

log = logging.getLogger(__name__)

QUANT_MODES = ("fp32", "fp16", "dynamic", "int8")


def _converter(graph: GraphFunction) -> tf.lite.TFLiteConverter:
    converter = tf.lite.TFLiteConverter.from_concrete_functions([graph.function])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    converter.allow_custom_ops = False
    return converter


def float_island_nodes(model: bytes) -> list[str]:
    """Output tensor names of the ops that run in float in the selective int8 graph."""
    from .runtime import ops_details, tensor_names

    names = tensor_names(model)
    nodes = []
    for op in ops_details(model):
        outs = [names[i] for i in op["outputs"]]
        if any(FLOAT_SCOPE in n for n in outs):
            nodes.extend(outs)
    return nodes


def convert_graph(
    graph: GraphFunction,
    quant: str,
    calibration: Sequence[dict[str, np.ndarray]] | None = None,
    keep_float: bool = True,
) -> bytes:
    """Convert one frozen graph to a TFLite flatbuffer.

    Args:
        graph: from :func:`export.graphs.build_graphs`.
        quant: one of :data:`QUANT_MODES`.
        calibration: for ``int8``, feeds (input name → batch-1 array) covering the inputs'
            real range; ignored otherwise.
        keep_float: for ``int8``, keep the float islands (``False`` quantizes everything the
            converter can: only for measuring what the islands buy).

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
    return _selective_int8(graph, converter, calibration, keep_float)


def _representative(graph: GraphFunction, feeds: Iterable[dict[str, np.ndarray]]):
    def gen():
        for feed in feeds:
            yield [np.asarray(feed[name], np.float32) for name, _ in graph.inputs]

    return gen


def _selective_int8(
    graph: GraphFunction,
    converter: tf.lite.TFLiteConverter,
    calibration: Sequence[dict[str, np.ndarray]],
    keep_float: bool = True,
) -> bytes:
    from tensorflow.lite.python import convert as tflite_convert

    converter.representative_dataset = _representative(graph, calibration)
    converter._experimental_calibrate_only = True  # noqa: SLF001 - documented debugger path
    calibrated = converter.convert()
    denylisted = float_island_nodes(calibrated) if keep_float else []
    log.info("%s: %d op outputs kept in float", graph.name, len(denylisted))
    return tflite_convert.mlir_quantize(
        calibrated,
        disable_per_channel=False,
        fully_quantize=False,
        input_data_type=tf.float32,
        output_data_type=tf.float32,
        denylisted_nodes=denylisted,
    )
