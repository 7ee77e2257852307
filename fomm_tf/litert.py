"""A LiteRT interpreter for the small ``.tflite`` graphs fomm_tf itself runs (the face detector).

``ai_edge_litert`` first, then ``tflite_runtime``, then ``tf.lite``; :func:`make_interpreter`
is what the exporter and its runner (:mod:`fomm_tf.animation.tflite_backend`) use too.
"""

from __future__ import annotations

import os
from typing import Any


def interpreter_module() -> Any:
    """The first LiteRT Python module that imports."""
    try:
        from ai_edge_litert import interpreter as module
    except ImportError:
        try:
            from tflite_runtime import interpreter as module
        except ImportError:
            import tensorflow as tf

            module = tf.lite
    return module


def make_interpreter(
    model_path: str | os.PathLike | None = None,
    num_threads: int | None = None,
    *,
    model_content: bytes | None = None,
    delegates: bool = True,
) -> Any:
    """A LiteRT interpreter (tensors allocated) from ``ai_edge_litert``, ``tflite_runtime`` or
    ``tf.lite``, whichever imports first; XNNPACK is applied unless ``delegates`` is false."""
    module = interpreter_module()
    kwargs: dict[str, Any] = {"num_threads": num_threads}
    if not delegates:
        resolver = getattr(module, "OpResolverType", None)
        if resolver is None:  # tf.lite keeps it under experimental
            resolver = module.experimental.OpResolverType
        kwargs["experimental_op_resolver_type"] = resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    if model_content is not None:
        interpreter = module.Interpreter(model_content=model_content, **kwargs)
    else:
        interpreter = module.Interpreter(model_path=str(model_path), **kwargs)
    interpreter.allocate_tensors()
    return interpreter


def load_interpreter(model_path: str | os.PathLike, num_threads: int | None = None) -> Any:
    """An interpreter for ``model_path`` with its tensors allocated (and XNNPACK applied)."""
    return make_interpreter(model_path, num_threads)
