"""fomm-tf: the First Order Motion Model for Image Animation on TensorFlow 2 / Keras 3."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from . import motion  # noqa: E402
from .config import FommConfig, load_config  # noqa: E402
from .errors import CheckpointError, ConfigError, FommError, InputError  # noqa: E402
from .models import Models, build_models, load_models, load_official, save_weights  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "CheckpointError", "ConfigError", "FommConfig", "FommError", "InputError", "Models",
    "build_models", "load_config", "load_models", "load_official", "motion", "save_weights",
]
