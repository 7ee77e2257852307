"""The synthetic detector's network: landmarks, their visibility and an identity embedding.

A small convolutional network on a 64×64 view of the frame (resized with area averaging),
with the pixel coordinates appended as two input channels. Three heads share a 128-wide
feature: landmark positions (sigmoid, in units of the frame side, pixel centres at
``(i + 0.5) / side``), visibility logits, and a 64-D L2-normalised identity embedding
trained with a cosine-softmax over the training identities (a head used only in training).
Weights are stored as float16 ``.npz`` files (see :func:`save_weights`).
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

INPUT_SIZE = 64
EMBED_DIM = 64
WIDTHS = ((24, 1), (32, 2), (48, 1), (64, 2), (64, 1), (96, 2), (64, 2))  # (channels, stride)


def _cosine_classifier(num_classes: int, scale: float = 16.0):
    """``scale · cos(embedding, class centre)`` logits (normalised softmax)."""
    import keras
    from keras import ops

    class CosineClassifier(keras.layers.Layer):
        def build(self, input_shape):
            self.kernel = self.add_weight(
                shape=(input_shape[-1], num_classes), initializer="glorot_uniform", name="kernel"
            )

        def call(self, e):
            return scale * ops.matmul(e, ops.normalize(self.kernel, axis=0))

    return CosineClassifier(name="identity")


def build_landmark_net(num_landmarks: int, num_identities: int | None = None):
    """The Keras model; with ``num_identities`` it also outputs ``identity_logits``."""
    import keras
    from keras import layers, ops

    image = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name="image")
    ramp = np.linspace(-1, 1, INPUT_SIZE, dtype=np.float32)
    grid = np.stack(np.meshgrid(ramp, ramp), axis=-1)[None]
    x = layers.Lambda(
        lambda im: ops.concatenate(
            [
                im - 0.5,
                ops.broadcast_to(ops.convert_to_tensor(grid), (ops.shape(im)[0], *grid.shape[1:])),
            ],
            axis=-1,
        ),
        name="coord_channels",
    )(image)
    for i, (ch, stride) in enumerate(WIDTHS):
        x = layers.Conv2D(ch, 3, strides=stride, padding="same", name=f"conv{i}")(x)
        x = layers.LayerNormalization(axis=-1, name=f"norm{i}")(x) if stride == 2 else x
        x = layers.ReLU(name=f"relu{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    feat = layers.Dense(128, activation="relu", name="feature")(x)
    coords = layers.Dense(num_landmarks * 2, activation="sigmoid", name="coords_flat")(feat)
    coords = layers.Reshape((num_landmarks, 2), name="coords")(coords)
    visible = layers.Dense(num_landmarks, name="visible_logits")(feat)
    emb = layers.Dense(EMBED_DIM, name="embed")(feat)
    emb = layers.UnitNormalization(name="embedding")(emb)
    outputs = {"coords": coords, "visible_logits": visible, "embedding": emb}
    if num_identities:
        outputs["identity_logits"] = _cosine_classifier(num_identities)(emb)
    return keras.Model(image, outputs, name="landmark_net")


def prepare(frames: np.ndarray) -> np.ndarray:
    """``(T, H, W, 3)`` [0, 1] frames → ``(T, 64, 64, 3)`` float32 network input."""
    frames = np.asarray(frames, np.float32)
    if frames.shape[1:3] == (INPUT_SIZE, INPUT_SIZE):
        return frames
    interp = cv2.INTER_AREA if frames.shape[1] > INPUT_SIZE else cv2.INTER_LINEAR
    return np.stack([cv2.resize(f, (INPUT_SIZE, INPUT_SIZE), interpolation=interp) for f in frames])


def to_pixels(coords: np.ndarray, height: int, width: int) -> np.ndarray:
    """Network coordinates (fractions of the side) → pixels with centres at integers."""
    return coords * np.array([width, height], np.float32) - 0.5


def to_fractions(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    return (pixels + 0.5) / np.array([width, height], np.float32)


def save_weights(model, path: str | os.PathLike, meta: dict) -> None:
    """Inference weights (no identity head) as float16 arrays plus ``meta`` (JSON) in an npz."""
    import json

    from ..media import atomic_path

    weights = [w for w in model.weights if not w.path.startswith("identity/")]
    arrays = {f"w{i:03d}": np.asarray(w.numpy(), np.float16) for i, w in enumerate(weights)}
    arrays["meta"] = np.asarray(json.dumps(meta))
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def load_net(path: str | os.PathLike):
    """``(model, meta)`` from :func:`save_weights`' file."""
    import json

    with np.load(Path(path), allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        arrays = [z[k].astype(np.float32) for k in sorted(k for k in z.files if k != "meta")]
    model = build_landmark_net(len(meta["landmark_names"]))
    if len(arrays) != len(model.weights):
        raise ValueError(f"{path}: {len(arrays)} arrays for {len(model.weights)} weights")
    for var, arr in zip(model.weights, arrays):
        var.assign(arr)
    return model, meta
