"""A LiteRT interpreter for the small ``.tflite`` graphs fomm_tf itself runs (the face detector).

``ai_edge_litert`` first, then ``tflite_runtime``, then ``tf.lite`` — the same order as the
export package's runner, which fomm_tf must not import.
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


def load_interpreter(model_path: str | os.PathLike, num_threads: int | None = None) -> Any:
    """An interpreter for ``model_path`` with its tensors allocated."""
    interpreter = interpreter_module().Interpreter(
        model_path=str(model_path), num_threads=num_threads
    )
    interpreter.allocate_tensors()
    return interpreter
