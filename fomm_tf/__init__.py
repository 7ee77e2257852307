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
    "Models": "nets.models",
    "build_models": "nets.models",
    "load_models": "nets.models",
    "load_official": "nets.models",
    "save_weights": "nets.models",
    "Animator": "animation.animator",
    "KerasBackend": "animation.keras_backend",
    "MotionOptions": "animation.motion",
    "animate_file": "animation.pipeline",
}
# Short names for the modules the documentation refers to (``fomm_tf.motion.normalize_kp``).
_MODULES = {
    "motion": "animation.motion",
    "layers": "nets.layers",
    "media": "media",
    "animate": "animation.animator",
    "config": "config",
    "models": "nets.models",
}

__all__ = sorted([*_API, *_MODULES])


def __getattr__(name):
    if name in _API:
        return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    if name in _MODULES:
        return importlib.import_module(f".{_MODULES[name]}", __name__)
    raise AttributeError(f"module 'fomm_tf' has no attribute {name!r}")
