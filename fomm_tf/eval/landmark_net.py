"""The synthetic detector's network: landmarks, their visibility and an identity embedding.

A small convolutional network on a 64×64 view of the frame (resized with area averaging),
with the pixel coordinates appended as two input channels. Features at 16×16 are fused with
upsampled 8×8 and 4×4 context into one 16×16 heatmap per landmark whose softmax expectation
(soft-argmax) is the landmark position, in units of the frame side (pixel centres at
``(i + 0.5) / side``). Visibility logits come from features pooled at three depths and the heatmap peaks; a
64-D L2-normalised identity embedding from the pooled features, trained with a cosine softmax
over the training identities (a head used only in training).
Weights are stored as float16 ``.npz`` files (see :func:`save_weights`).
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

INPUT_SIZE = 64
EMBED_DIM = 64
HEATMAP_SIZE = 16


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

    def with_coords(im):
        g = ops.broadcast_to(ops.convert_to_tensor(grid), (ops.shape(im)[0], *grid.shape[1:]))
        return ops.concatenate([im - 0.5, g], axis=-1)

    def conv(x, ch, stride, name, k=3):
        return layers.Conv2D(ch, k, strides=stride, padding="same", activation="relu", name=name)(x)

    x = layers.Lambda(with_coords, name="coord_channels")(image)
    x = conv(x, 24, 1, "c1")
    early = conv(x, 48, 2, "c2")  # 32
    x = conv(early, 64, 2, "c4")  # 16
    fine = conv(x, 64, 1, "c5")
    mid = conv(fine, 96, 2, "d1")  # 8
    deep = conv(mid, 96, 2, "d2")  # 4
    side = HEATMAP_SIZE
    up_mid = layers.Resizing(side, side, interpolation="bilinear", name="up_mid")(mid)
    up_deep = layers.Resizing(side, side, interpolation="bilinear", name="up_deep")(deep)
    fused = layers.Concatenate(name="fuse")([fine, up_mid, up_deep])
    fused = conv(fused, 64, 1, "fuse1x1", k=1)
    fused = conv(fused, 48, 1, "fuse3x3")
    heat = layers.Conv2D(num_landmarks, 3, padding="same", name="heatmap")(fused)

    def soft_argmax(h):  # (B, s, s, L) logits → (B, L, 2) expected (x, y) in [0, 1]
        b = ops.shape(h)[0]
        flat = ops.softmax(ops.reshape(ops.transpose(h, (0, 3, 1, 2)), (b, num_landmarks, -1)))
        centres = (np.arange(side, dtype=np.float32) + 0.5) / side
        gx, gy = np.meshgrid(centres, centres)
        pos = ops.convert_to_tensor(np.stack([gx.ravel(), gy.ravel()], axis=1))
        return ops.matmul(flat, pos)

    coords = layers.Lambda(soft_argmax, name="coords")(heat)
    # pooled statistics, standardised over the training batches (BatchNormalization): the
    # coordinate channels make raw pooled features nearly constant across images
    gap = layers.GlobalAveragePooling2D
    stats = layers.Concatenate(name="stats")(
        [gap()(early), gap()(fine), gap()(deep), layers.GlobalMaxPooling2D()(deep)]
    )
    stats = layers.BatchNormalization(name="stats_norm")(stats)
    peaks = layers.BatchNormalization(name="peaks_norm")(layers.GlobalMaxPooling2D()(heat))
    feat = layers.Dense(128, activation="relu", name="feature")(
        layers.Concatenate(name="vis_in")([stats, peaks])
    )
    visible = layers.Dense(num_landmarks, name="visible_logits")(feat)
    id_feat = layers.Dense(128, activation="relu", name="id_feature")(stats)
    emb = layers.UnitNormalization(name="embedding")(layers.Dense(EMBED_DIM, name="embed")(id_feat))
    outputs = {"coords": coords, "visible_logits": visible, "embedding": emb}
    if num_identities:  # training outputs
        outputs["identity_logits"] = _cosine_classifier(num_identities)(emb)
        outputs["heatmap_logits"] = heat
    return keras.Model(image, outputs, name="landmark_net")


def heatmap_targets(coords, sigma: float = 0.8):
    """Gaussian target distributions ``(B, s, s, L)`` over the heatmap cells for coordinates
    ``(B, L, 2)`` in units of the side (``sigma`` in cells): the auxiliary training target
    that gives the soft-argmax strong gradients from the start."""
    from keras import ops

    side = HEATMAP_SIZE
    centres = (np.arange(side, dtype=np.float32) + 0.5) / side
    cx = ops.reshape(coords[..., 0], (-1, 1, 1, coords.shape[1]))
    cy = ops.reshape(coords[..., 1], (-1, 1, 1, coords.shape[1]))
    gx = ops.reshape(ops.convert_to_tensor(centres), (1, 1, side, 1))
    gy = ops.reshape(ops.convert_to_tensor(centres), (1, side, 1, 1))
    d2 = ((gx - cx) ** 2 + (gy - cy) ** 2) * side**2
    g = ops.exp(-d2 / (2 * sigma**2))
    return g / ops.sum(g, axis=(1, 2), keepdims=True)


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

    from ..media.atomic import atomic_path

    arrays = {
        "w:" + w.path: np.asarray(w.numpy(), np.float16)
        for w in model.weights
        if not w.path.startswith("identity/")
    }
    arrays["meta"] = np.asarray(json.dumps(meta))
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def load_net(path: str | os.PathLike):
    """``(model, meta)`` from :func:`save_weights`' file."""
    import json

    with np.load(Path(path), allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        arrays = {k[2:]: z[k].astype(np.float32) for k in z.files if k.startswith("w:")}
    model = build_landmark_net(len(meta["landmark_names"]))
    missing = [w.path for w in model.weights if w.path not in arrays]
    if missing or len(arrays) != len(model.weights):
        raise ValueError(f"{path}: weights do not fit the network (missing {missing[:3]})")
    for var in model.weights:
        var.assign(arrays[var.path])
    return model, meta
