"""Moving weights between the official PyTorch layout and our Keras networks.

Every network exposes ``torch_children()``, the official sub-module names of its layers, so
the mapping is derived from the code rather than written out by hand. Official state dicts
are read with :func:`fomm_tf.checkpoint.read_torch_checkpoint` (no torch, no pickled code).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import keras
import numpy as np

from .errors import CheckpointError
from .layers.antialias import gaussian_kernel

log = logging.getLogger(__name__)

# Official buffers we recompute instead of loading: the fixed anti-aliasing kernels.
_DERIVED_BUFFERS = ("down.weight",)


def torch_layers(module, prefix: str = "") -> Iterator[tuple[str, keras.layers.Layer]]:
    """(official dotted name, Keras leaf layer) for every conv and batch norm of ``module``."""
    for name, child in module.torch_children().items():
        full = f"{prefix}{name}"
        if isinstance(child, keras.layers.Conv2D | keras.layers.BatchNormalization):
            yield full, child
        else:
            yield from torch_layers(child, full + ".")


def _expected(layer: keras.layers.Layer) -> dict[str, tuple[int, ...]]:
    """Official parameter names of one leaf layer and their shapes in torch layout."""
    if isinstance(layer, keras.layers.Conv2D):
        kh, kw, cin, cout = layer.kernel.shape
        return {"weight": (cout, cin, kh, kw), "bias": (cout,)}
    (c,) = layer.gamma.shape
    return {"weight": (c,), "bias": (c,), "running_mean": (c,), "running_var": (c,)}


def _assign(layer: keras.layers.Layer, values: dict[str, np.ndarray]) -> None:
    if isinstance(layer, keras.layers.Conv2D):
        layer.kernel.assign(np.transpose(values["weight"], (2, 3, 1, 0)))
        layer.bias.assign(values["bias"])
    else:
        layer.gamma.assign(values["weight"])
        layer.beta.assign(values["bias"])
        layer.moving_mean.assign(values["running_mean"])
        layer.moving_variance.assign(values["running_var"])


def _check_derived(key: str, value: np.ndarray, problems: list[str]) -> None:
    """The official anti-aliasing kernel must equal ours (same scale_factor)."""
    size = value.shape[-1]
    for scale in (0.5, 0.25, 0.125, 1 / 16):
        ref = gaussian_kernel(scale)
        if ref.shape[0] == size:
            if not np.allclose(value[0, 0], ref, atol=1e-6):
                problems.append(f"{key}: anti-aliasing kernel differs from scale_factor's")
            return
    problems.append(f"{key}: anti-aliasing kernel of size {size} fits no known scale_factor")


def load_state_dict(model, state: dict[str, np.ndarray], what: str) -> None:
    """Assign an official (flat, dotted) state dict to a built Keras network, strictly.

    Every missing key, unexpected key and shape mismatch is collected; if there is any, a
    :class:`CheckpointError` lists them all and nothing is assigned.
    """
    problems: list[str] = []
    pending: list[tuple[keras.layers.Layer, dict[str, np.ndarray]]] = []
    used: set[str] = set()
    for name, layer in torch_layers(model):
        values = {}
        for param, shape in _expected(layer).items():
            key = f"{name}.{param}"
            if key not in state:
                problems.append(f"missing {what}.{key}")
                continue
            used.add(key)
            arr = np.asarray(state[key], dtype=np.float32)
            if tuple(arr.shape) != shape:
                problems.append(
                    f"{what}.{key}: shape {tuple(arr.shape)} in checkpoint, {shape} in config"
                )
            values[param] = arr
        used.add(f"{name}.num_batches_tracked")
        pending.append((layer, values))
    for key in state:
        if key in used:
            continue
        if key.endswith(_DERIVED_BUFFERS):
            _check_derived(f"{what}.{key}", np.asarray(state[key]), problems)
        else:
            problems.append(f"unexpected {what}.{key}")
    if problems:
        raise CheckpointError(
            f"checkpoint does not fit the config ({len(problems)} "
            f"problem(s)): {'; '.join(problems)}"
        )
    for layer, values in pending:
        _assign(layer, values)
    log.info("loaded %d tensors into %s", len(used), what)


def export_state_dict(model) -> dict[str, np.ndarray]:
    """The inverse of :func:`load_state_dict`: a Keras network as an official state dict."""
    out = {}
    for name, layer in torch_layers(model):
        if isinstance(layer, keras.layers.Conv2D):
            out[f"{name}.weight"] = np.transpose(layer.kernel.numpy(), (3, 2, 0, 1))
            out[f"{name}.bias"] = layer.bias.numpy()
        else:
            out[f"{name}.weight"] = layer.gamma.numpy()
            out[f"{name}.bias"] = layer.beta.numpy()
            out[f"{name}.running_mean"] = layer.moving_mean.numpy()
            out[f"{name}.running_var"] = layer.moving_variance.numpy()
    return out
