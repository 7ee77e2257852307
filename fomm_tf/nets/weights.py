"""Moving weights between the official PyTorch layout and our Keras networks.

Every network exposes ``torch_children()``, the official sub-module names of its layers, so
the mapping is derived from the code rather than written out by hand. Official state dicts
are read with :func:`fomm_tf.nets.checkpoint.read_torch_checkpoint` (no torch, no pickled code).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import keras
import numpy as np

from ..errors import CheckpointError
from .layers.antialias import gaussian_kernel

log = logging.getLogger(__name__)

# Official buffers we recompute instead of loading: the fixed anti-aliasing kernels.
_DERIVED_BUFFERS = ("down.weight",)


def _is_leaf(layer) -> bool:
    return isinstance(layer, keras.layers.Conv2D | keras.layers.BatchNormalization) or hasattr(
        layer, "torch_weights"
    )


def torch_layers(module, prefix: str = "") -> Iterator[tuple[str, keras.layers.Layer]]:
    """(official dotted name, Keras leaf layer) for every conv and norm layer of ``module``.

    Leaves are Keras ``Conv2D`` / ``BatchNormalization`` and any layer with a
    ``torch_weights()`` method (the discriminator's spectral-norm conv and instance norm).
    """
    for name, child in module.torch_children().items():
        full = f"{prefix}{name}"
        if _is_leaf(child):
            yield full, child
        else:
            yield from torch_layers(child, full + ".")


def torch_weights(layer: keras.layers.Layer) -> dict[str, tuple]:
    """Official parameter/buffer names of one leaf layer → (Keras variable, layout).

    Layouts: ``"conv"`` (Keras HWIO kernel ↔ torch OIHW), ``"plain"`` (same array),
    ``"row"`` (Keras (1, n) ↔ torch (n,)), ``"derived"`` (a torch buffer recomputed here,
    no variable).
    """
    if isinstance(layer, keras.layers.Conv2D):
        return {"weight": (layer.kernel, "conv"), "bias": (layer.bias, "plain")}
    if isinstance(layer, keras.layers.BatchNormalization):
        return {
            "weight": (layer.gamma, "plain"),
            "bias": (layer.beta, "plain"),
            "running_mean": (layer.moving_mean, "plain"),
            "running_var": (layer.moving_variance, "plain"),
        }
    return layer.torch_weights()


def to_torch_layout(value: np.ndarray, layout: str) -> np.ndarray:
    """A Keras-layout array (weight or gradient) in the official torch layout."""
    value = np.asarray(value)
    if layout == "conv":
        return np.transpose(value, (3, 2, 0, 1))
    if layout == "row":
        return value.reshape(-1)
    return value


def _torch_shape(variable, layout: str) -> tuple[int, ...]:
    shape = tuple(int(d) for d in variable.shape)
    if layout == "conv":
        kh, kw, cin, cout = shape
        return (cout, cin, kh, kw)
    if layout == "row":
        return (int(np.prod(shape)),)
    return shape


def _expected(layer: keras.layers.Layer) -> dict[str, tuple[int, ...]]:
    """Official parameter names of one leaf layer and their shapes in torch layout."""
    out = {}
    params = torch_weights(layer)
    for name, (variable, layout) in params.items():
        if layout == "derived":  # spectral norm's weight_v: (in·kh·kw,)
            kh, kw, cin, _ = params["weight_orig"][0].shape
            out[name] = (int(kh * kw * cin),)
        else:
            out[name] = _torch_shape(variable, layout)
    return out


def _assign(layer: keras.layers.Layer, values: dict[str, np.ndarray]) -> None:
    for name, (variable, layout) in torch_weights(layer).items():
        if layout == "derived":
            continue
        value = values[name]
        if layout == "conv":
            value = np.transpose(value, (2, 3, 1, 0))
        variable.assign(np.reshape(value, variable.shape))


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
        for param, (variable, layout) in torch_weights(layer).items():
            if layout == "derived":
                out[f"{name}.{param}"] = layer.power_iteration_v().numpy()
            else:
                out[f"{name}.{param}"] = to_torch_layout(variable.numpy(), layout)
    return out


def relative_path(variable) -> str:
    """A weight's path below its top-level network (``predictor/down_block_0/conv/kernel``),
    the same for every instance of the same config."""
    return variable.path.split("/", 1)[-1]


def torch_gradients(model, gradients: dict) -> dict[str, np.ndarray]:
    """Gradients of ``model``'s trainable weights keyed by official state-dict names.

    Args:
        model: a network with ``torch_children()``.
        gradients: ``{relative_path(variable): gradient}`` in Keras layout (``None``: none,
            returned as zeros, as torch leaves an unused parameter's ``.grad`` empty).

    Returns:
        ``{official name: array in torch layout}``, every trainable parameter once.
    """
    out = {}
    for name, layer in torch_layers(model):
        for param, (variable, layout) in torch_weights(layer).items():
            if variable is None or not variable.trainable:
                continue
            grad = gradients.get(relative_path(variable))
            grad = np.zeros(variable.shape, np.float32) if grad is None else np.asarray(grad)
            out[f"{name}.{param}"] = to_torch_layout(grad, layout)
    return out
