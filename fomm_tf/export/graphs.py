"""The three fixed-shape graphs a phone runs, built around the same Keras network objects.

- ``kp_detector``: frame → keypoints (``value``) and Jacobians (``jacobian``);
- ``source_encoder``: source → everything that depends on the source alone (``features``,
  the encoder output, and ``source_small``, the downscaled source the dense motion network
  warps), run once per source;
- ``generator``: the cached source tensors + source and driving keypoints → ``prediction``.

Each graph is a ``tf.function`` with a batch-1 input signature whose variables are frozen into
constants (``convert_variables_to_constants_v2``), so the TFLite converter sees a pure graph:
no variable ops can survive into the ``.tflite`` file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from fomm_tf.nets.models import Models

GRAPH_NAMES = ("kp_detector", "source_encoder", "generator")


@dataclass
class GraphFunction:
    """A frozen batch-1 graph and the names of its inputs and outputs.

    Attributes:
        name: one of :data:`GRAPH_NAMES`.
        function: the frozen concrete function (no variables).
        inputs: ``(name, shape)`` per input, in the graph's input order.
        outputs: ``(name, shape)`` per output, in the graph's output order (the flattened
            order of the function's output dict, which the TFLite model keeps).
    """

    name: str
    function: tf.types.experimental.ConcreteFunction
    inputs: list[tuple[str, tuple[int, ...]]]
    outputs: list[tuple[str, tuple[int, ...]]]

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the frozen graph in TensorFlow (reference for validation)."""
        args = [tf.constant(feeds[name], tf.float32) for name, _ in self.inputs]
        values = self.function(*args)
        values = values if isinstance(values, list | tuple) else [values]
        return {name: np.asarray(v) for (name, _), v in zip(self.outputs, values)}


def _freeze(name: str, fn: tf.types.experimental.PolymorphicFunction) -> GraphFunction:
    concrete = fn.get_concrete_function()
    structured = concrete.structured_outputs
    keys = sorted(structured)  # tf.nest flattens dicts in sorted-key order
    outputs = [(k, tuple(int(d) for d in structured[k].shape)) for k in keys]
    inputs = [(spec.name, tuple(int(d) for d in spec.shape)) for spec in fn.input_signature]
    return GraphFunction(name, convert_variables_to_constants_v2(concrete), inputs, outputs)


def _kp_dict(value: tf.Tensor, jacobian: tf.Tensor | None) -> dict[str, tf.Tensor]:
    return {"value": value} if jacobian is None else {"value": value, "jacobian": jacobian}


def build_graphs(
    models: Models, image_size: tuple[int, int] | None = None
) -> dict[str, GraphFunction]:
    """The three frozen graphs of ``models`` for frames of ``image_size`` (default: config's).

    Returns:
        ``{"kp_detector": ..., "source_encoder": ..., "generator": ...}``.
    """
    kp_net, gen = models.kp_detector, models.generator
    h, w = image_size or models.config.image_size
    c = models.config.kp_detector.num_channels
    k = models.config.num_kp
    with_jacobian = models.config.kp_detector.estimate_jacobian
    frame = tf.TensorSpec([1, h, w, c], tf.float32)

    @tf.function(input_signature=[tf.TensorSpec(frame.shape, tf.float32, name="image")])
    def kp_detector(image):
        return dict(kp_net(image, training=False))

    @tf.function(input_signature=[tf.TensorSpec(frame.shape, tf.float32, name="source")])
    def source_encoder(source):
        cache = dict(gen.encode_source(source, training=False))
        if "source_image" in cache:  # source_blend: the source itself, for the generator
            # A graph output that is its input tensor comes back as garbage from LiteRT.js
            # (measured: 10 dB against Python), so it goes through a clip to [0, 1] the
            # converter keeps (a no-op on a source, which is in [0, 1]).
            cache["source_image"] = tf.clip_by_value(cache["source_image"], 0.0, 1.0)
        return cache

    graphs = {
        "kp_detector": _freeze("kp_detector", kp_detector),
        "source_encoder": _freeze("source_encoder", source_encoder),
    }
    cache_specs = [
        tf.TensorSpec(shape, tf.float32, name=name)
        for name, shape in graphs["source_encoder"].outputs
    ]
    kp_specs = []
    for who in ("kp_source", "kp_driving"):
        kp_specs.append(tf.TensorSpec([1, k, 2], tf.float32, name=f"{who}_value"))
        if with_jacobian:
            kp_specs.append(tf.TensorSpec([1, k, 2, 2], tf.float32, name=f"{who}_jacobian"))
    signature = cache_specs + kp_specs
    names = [spec.name for spec in signature]

    @tf.function(input_signature=signature)
    def generator(*args):
        feeds = dict(zip(names, args))
        cache = {spec.name: feeds[spec.name] for spec in cache_specs}
        kp_s = _kp_dict(feeds["kp_source_value"], feeds.get("kp_source_jacobian"))
        kp_d = _kp_dict(feeds["kp_driving_value"], feeds.get("kp_driving_jacobian"))
        out = gen.animate_cached(None, cache, kp_s, kp_d, training=False, with_deformed=False)
        return {"prediction": out["prediction"]}

    graphs["generator"] = _freeze("generator", generator)
    return graphs
