"""fomm-tf: the First Order Motion Model for Image Animation on TensorFlow 2 / Keras 3.

The public API is imported lazily, so ``import fomm_tf.cli`` does not load TensorFlow
before the command line has been read.
"""

import importlib
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"

_API = {
    "FommConfig": "config",
    "load_config": "config",
    "CheckpointError": "errors",
    "ConfigError": "errors",
    "FommError": "errors",
    "InputError": "errors",
    "Models": "models",
    "build_models": "models",
    "load_models": "models",
    "load_official": "models",
    "save_weights": "models",
    "Animator": "animate",
    "KerasBackend": "animate",
    "MotionOptions": "animate",
}
_MODULES = ("motion", "layers", "media", "animate", "config", "models")

__all__ = sorted([*_API, *_MODULES])


def __getattr__(name):
    if name in _API:
        return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'fomm_tf' has no attribute {name!r}")
