"""The bundled default model: the one place that knows where it lives and what it is.

``fomm_tf/default_model/`` holds ``face-128.yaml`` (its config), ``face-128.weights.h5`` (both
networks) and ``MODEL_CARD.md`` (how it was trained and how well it does). It was trained by
fomm-tf's own trainer on fomm-tf's own synthetic faces (``fomm make-dataset synthetic``), so
it animates those well and real photos only roughly; every command that falls back on it
says so in one line (:data:`DESCRIPTION`).
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "DEFAULT_DIR",
    "DESCRIPTION",
    "MISSING_MODEL_HINT",
    "default_model_paths",
    "resolve_model",
]

DEFAULT_DIR = Path(__file__).resolve().parent / "default_model"
NAME = "face-128"
#: What the bundled model was trained on, in one line (the exported contract's ``model``).
TRAINED_ON = (
    "fomm-tf's synthetic cartoon faces (fomm make-dataset synthetic), 128x128; real photos "
    "animate only roughly"
)
#: Its model card, next to the weights.
CARD = DEFAULT_DIR / "MODEL_CARD.md"
DESCRIPTION = (
    f"using the bundled default model {NAME}: trained on fomm-tf's synthetic cartoon faces "
    "(fomm make-dataset synthetic), 128x128; real photos animate only roughly "
    f"(see {DEFAULT_DIR / 'MODEL_CARD.md'})"
)
MISSING_MODEL_HINT = (
    f"the bundled default model is missing ({DEFAULT_DIR / (NAME + '.weights.h5')}); "
    "reinstall fomm-tf, or pass --config CFG --checkpoint CKPT "
    "(an official .pth.tar or a fomm-tf .weights.h5)"
)


def default_model_paths() -> tuple[Path, Path] | None:
    """``(config.yaml, weights.h5)`` of the bundled default model, or ``None`` if absent."""
    config, weights = DEFAULT_DIR / f"{NAME}.yaml", DEFAULT_DIR / f"{NAME}.weights.h5"
    if config.is_file() and weights.is_file():
        return config, weights
    return None


def resolve_model(
    config: str | None, checkpoint: str | None, random_weights: bool = False
) -> tuple[str, str | None]:
    """The ``(config, checkpoint)`` a command runs with.

    Both omitted (and no ``--random-weights``): the bundled default (the commands announce
    it in one line, :data:`DESCRIPTION`). ``--checkpoint`` or ``--random-weights`` without
    ``--config`` is an error, as is
    ``--config`` with neither.
    """
    from .errors import InputError

    if config is None:
        if checkpoint is not None or random_weights:
            what = "--checkpoint" if checkpoint is not None else "--random-weights"
            raise InputError(f"{what} needs --config (or omit both for the bundled model)")
        paths = default_model_paths()
        if paths is None:
            raise InputError(MISSING_MODEL_HINT)
        return str(paths[0]), str(paths[1])
    if checkpoint is None and not random_weights:
        raise InputError(
            f"--config {config} needs --checkpoint (official .pth.tar or .weights.h5) or "
            "--random-weights; omit --config too for the bundled default model"
        )
    return config, checkpoint
