"""Keypoint detector (paper sec. 3.1, eq. 1–2): image → K keypoints and their Jacobians.

The first-order representation of eq. 2 at each keypoint: its position
(:func:`keypoints_from_heatmap`) and the Jacobian of the motion there
(:func:`jacobians_from_heatmap`), both read from softmax confidence maps
(:func:`heatmap_softmax`).
"""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from ..config import KeypointDetectorConfig
from .layers.antialias import AntiAliasDownsample
from .layers.blocks import Hourglass, conv2d
from .layers.precision import float_dtype, island_dtype
from .layers.warp import float_scope, make_coordinate_grid


def heatmap_softmax(logits: tf.Tensor, temperature: float) -> tf.Tensor:
    """K heatmap logits (B, h, w, K) → confidence maps (B, h·w, K, 1), each summing to one."""
    h, w, k = logits.shape[1], logits.shape[2], logits.shape[3]
    flat = tf.reshape(logits, [-1, h * w, k]) / temperature
    return tf.nn.softmax(flat, axis=1)[..., None]


def keypoints_from_heatmap(
    heatmap: tf.Tensor, height: int, width: int, frame: tuple[int, int] | None = None
) -> tf.Tensor:
    """Eq. 1–2, the value: ``T_{X←R}(p_k)`` as the expected position under each confidence
    map (soft-argmax, official ``gaussian2kp``); (B, h·w, K, 1) → (B, K, 2) (x, y) in [-1, 1].

    With ``frame`` (the ``centred_grid`` option) the heatmap's pixels are placed at the centres
    of the pixels they cover in that (H, W) feature map, so a keypoint is where it is in the
    picture; without it (official), the h×w heatmap of a valid 7×7 convolution spans [-1, 1]
    and keypoints move (H − 1)/(h − 1) times as far as the picture does.
    """
    grid = make_coordinate_grid(height, width, centred=frame is not None, frame=frame)
    grid = tf.reshape(grid, [1, height * width, 1, 2])
    # A weighted sum, not a matmul: a matmul turns the grid into FULLY_CONNECTED weights,
    # which dynamic-range TFLite export would quantize to int8.
    return tf.reduce_sum(heatmap * grid, axis=1)


def jacobians_from_heatmap(heatmap: tf.Tensor, maps: tf.Tensor, num_kp: int) -> tf.Tensor:
    """Eq. 1–2, the Jacobian: ``d/dp T_{X←R}(p)|_{p_k}`` as the confidence-weighted average
    of 4 channels per keypoint (or 4 shared ones), read row-major; → (B, K, 2, 2)."""
    hw = heatmap.shape[1]
    maps = tf.reshape(maps, [-1, hw, maps.shape[-1] // 4, 4])
    jac = tf.reduce_sum(heatmap * maps, axis=1)  # (B, K, 4)
    return tf.reshape(jac, [-1, num_kp, 2, 2])


@keras.saving.register_keras_serializable(package="fomm_tf")
class KeypointDetector(keras.Model):
    """Predicts K keypoints (soft-argmax of heatmaps) and a 2×2 Jacobian at each.

    The image is downscaled (anti-aliased) by ``scale_factor``, passed through an hourglass,
    then two 7×7 heads: K heatmap logits, softmax over space at ``temperature``, whose
    expectation over the coordinate grid is the keypoint; and 4 channels per keypoint (or 4
    shared ones with ``single_jacobian_map``) averaged under the same heatmap into a 2×2
    Jacobian, read row-major.

    Args: the official ``common_params`` + ``kp_detector_params`` keys (see
        :class:`fomm_tf.config.KeypointDetectorConfig`).

    Call: ``image`` (B, H, W, C) float32 in [0, 1] →
        ``{"value": (B, K, 2) (x, y) in [-1, 1], "jacobian": (B, K, 2, 2)}``
        (no ``"jacobian"`` when ``estimate_jacobian`` is false).

    Examples:
        >>> import numpy as np, fomm_tf
        >>> kp = fomm_tf.build_models("tiny-64").kp_detector
        >>> kp(np.zeros((1, 64, 64, 3), "float32"))["value"].shape
        TensorShape([1, 10, 2])
    """

    def __init__(
        self,
        num_kp=10,
        num_channels=3,
        estimate_jacobian=True,
        temperature=0.1,
        block_expansion=32,
        max_features=1024,
        num_blocks=5,
        scale_factor=0.25,
        single_jacobian_map=False,
        pad=0,
        centred_grid=False,
        **kwargs,
    ):
        # Inputs (keypoints, images) stay float32 under mixed precision; layers inside cast.
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self.cfg = KeypointDetectorConfig(
            num_kp=num_kp,
            num_channels=num_channels,
            estimate_jacobian=estimate_jacobian,
            temperature=temperature,
            block_expansion=block_expansion,
            max_features=max_features,
            num_blocks=num_blocks,
            scale_factor=scale_factor,
            single_jacobian_map=single_jacobian_map,
            pad=pad,
            centred_grid=bool(centred_grid),
        )
        self.down = AntiAliasDownsample(num_channels, scale_factor, name="down")
        self.predictor = Hourglass(
            block_expansion, num_channels, num_blocks, max_features, name="predictor"
        )
        # The heatmap and Jacobian heads are float32 islands: their outputs are divided by the
        # temperature (0.1) inside a softmax, where bfloat16's rounding would move keypoints.
        self.kp = conv2d(num_kp, 7, pad, name="kp", dtype=island_dtype())
        self.num_jacobian_maps = 1 if single_jacobian_map else num_kp
        self.jacobian = None
        if estimate_jacobian:
            init = keras.initializers.Constant([1.0, 0.0, 0.0, 1.0] * self.num_jacobian_maps)
            self.jacobian = keras.layers.Conv2D(
                4 * self.num_jacobian_maps,
                7,
                padding="valid" if pad == 0 else "same",
                kernel_initializer="zeros",
                bias_initializer=init,
                name="jacobian",
                dtype=island_dtype(),
            )

    @classmethod
    def from_dataclass(cls, cfg: KeypointDetectorConfig) -> KeypointDetector:
        return cls(**dataclasses.asdict(cfg))

    def get_config(self):
        return {**super().get_config(), **dataclasses.asdict(self.cfg)}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def torch_children(self):
        children = {"predictor": self.predictor, "kp": self.kp}
        if self.jacobian is not None:
            children["jacobian"] = self.jacobian
        return children

    def call(self, image, training=False):
        x = self.down(image)
        features = self.predictor(x, training=training)
        # Heatmaps and averages in float32, also under mixed precision.
        logits = tf.cast(self.kp(features), float_dtype())
        maps = (
            tf.cast(self.jacobian(features), float_dtype()) if self.jacobian is not None else None
        )
        h, w, k = logits.shape[1], logits.shape[2], logits.shape[3]
        with float_scope("kp_softargmax"):  # heatmap softmax and keypoint averaging
            # (B, h·w, K, 1); shared by both averages (so the Jacobian island owns none of it)
            heatmap = heatmap_softmax(logits, self.cfg.temperature)
            frame = tuple(features.shape[1:3]) if self.cfg.centred_grid else None
            out = {"value": keypoints_from_heatmap(heatmap, h, w, frame)}  # (B, K, 2)
        if maps is not None:
            with float_scope("jacobian_average"):
                out["jacobian"] = jacobians_from_heatmap(heatmap, maps, k)
        return out
