"""Where the bundled default model lives: the one place that knows.

No trained default model ships yet; :func:`default_model_paths` returns ``None`` until one
does, and every command that would use it asks for ``--config/--checkpoint`` instead.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["default_model_paths", "MISSING_MODEL_HINT"]

MISSING_MODEL_HINT = (
    "no bundled default model is shipped yet; pass --config CFG --checkpoint CKPT "
    "(an official .pth.tar or a fomm-tf .weights.h5)"
)


def default_model_paths() -> tuple[Path, Path] | None:
    """``(config.yaml, weights.h5)`` of the bundled default model, or ``None`` (today)."""
    return None
