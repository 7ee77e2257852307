"""Occlusion-aware generator (paper sec. 3.2, eq. 8).

Encoder (7×7 same block + down blocks) → warp the features with the dense motion
(:func:`deform_input`) and mask them with the occlusion map (:func:`occlude`): eq. 8 →
residual bottleneck → up blocks → 7×7 conv → sigmoid.

Work that depends on the source image alone (the encoder features and the downscaled source
the dense motion network warps) is split out as :meth:`OcclusionAwareGenerator.encode_source`
so an animation computes it once per source, not once per driving frame.

``warped_skips`` (ours; off in every official config) adds skip connections: the encoder's
output at every scale above the bottleneck is warped with the same dense motion, masked with
the occlusion map resized to it (:func:`warp_skips`), and concatenated to the decoder's up
block output of the same scale, as Thin-Plate-Spline Motion Model's generator does, so detail
that does not move (a still background, the texture of a rigidly moving face) reaches the
output at full resolution instead of being rebuilt through the bottleneck. It adds no layer
(the up blocks and the final conv take twice the channels), so official checkpoints load
unchanged when it is off.

``source_blend`` (ours; off in every official config) blends the output with the source
warped by the same flow, weighted by the occlusion map (:func:`blend_with_source`), as
Thin-Plate-Spline Motion Model's generator ends: where the source is visible its own pixels
pass through, and the decoder paints only what the occlusion map hides. It adds no weights.

``centred_grid`` (ours; off in every official config; set for all three networks by the
config's ``fomm_tf`` section) puts coordinates at pixel centres
(:func:`fomm_tf.nets.layers.warp.make_coordinate_grid`) and resizes the flow to each map as a
displacement (:func:`fomm_tf.nets.layers.warp.resize_flow`), so the background's identity
motion leaves a still background exactly where it is.
"""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from ..config import DenseMotionConfig, GeneratorConfig
from .dense_motion import DenseMotionNetwork
from .layers.blocks import DownBlock2d, ResBlock2d, SameBlock2d, UpBlock2d, conv2d
from .layers.precision import float_dtype
from .layers.warp import grid_sample, resize_bilinear, resize_flow


def resized_like(field: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    """``field`` (B, h, w, C) resized bilinearly to ``like``'s height and width (as it is when
    they already agree): a flow or an occlusion map at the scale it is applied to."""
    h, w = like.shape[1], like.shape[2]
    if field.shape[1] != h or field.shape[2] != w:
        field = resize_bilinear(field, h, w)
    return field


def deform_input(
    inp: tf.Tensor, deformation: tf.Tensor, align_corners: bool, centred: bool = False
) -> tf.Tensor:
    """Eq. 8's ``f_w(ξ, T̂_{S←D})``: back-warp ``inp`` (B, H, W, C) with the dense flow
    (B, h, w, 2), resized bilinearly to ``inp``'s size first (official ``deform_input``);
    ``centred`` (pixel-centre coordinates) resizes it as a displacement (``resize_flow``)."""
    if centred:
        return grid_sample(inp, resize_flow(deformation, inp.shape[1], inp.shape[2]), False)
    return grid_sample(inp, resized_like(deformation, inp), align_corners)


def occlude(features: tf.Tensor, occlusion: tf.Tensor) -> tf.Tensor:
    """Eq. 8's ``Ô_{S←D} ⊙ ·``: mask warped features with the occlusion map (resized to them)."""
    return features * tf.cast(resized_like(occlusion, features), features.dtype)


def skip_names(num_down_blocks: int) -> list[str]:
    """The cache keys of the skip features, full resolution first (``skip_0``, ``skip_1``…)."""
    return [f"skip_{i}" for i in range(num_down_blocks)]


def warp_skips(
    skips: list[tf.Tensor], motion: dict, align_corners: bool, centred: bool = False
) -> list[tf.Tensor]:
    """Eq. 8 at every scale: each skip feature map warped by the dense flow and masked by the
    occlusion map, both resized bilinearly to that map's size."""
    out = []
    for features in skips:
        warped = deform_input(features, motion["deformation"], align_corners, centred)
        if "occlusion_map" in motion:
            warped = occlude(warped, motion["occlusion_map"])
        out.append(warped)
    return out


def blend_with_source(
    prediction: tf.Tensor, deformed: tf.Tensor, occlusion: tf.Tensor
) -> tf.Tensor:
    """``Ô ⊙ f_w(S, T̂) + (1 − Ô) ⊙ prediction``: the warped source where the occlusion map
    says it is visible (resized bilinearly to the frame), the decoder's frame elsewhere."""
    occlusion = tf.cast(resized_like(occlusion, prediction), prediction.dtype)
    return prediction * (1 - occlusion) + tf.cast(deformed, prediction.dtype) * occlusion


@keras.saving.register_keras_serializable(package="fomm_tf")
class OcclusionAwareGenerator(keras.Model):
    """Renders the source image in the pose given by the driving keypoints.

    Args: the official ``common_params`` + ``generator_params`` keys, ``dense_motion_params``
        a dict (or ``None``: no warping, as the official code allows), and ``align_corners``
        for the grid-sample convention (see :class:`fomm_tf.config.GeneratorConfig`).

    Call: ``source`` (B, H, W, C) in [0, 1], ``kp_source``, ``kp_driving`` (dicts of
        ``value`` (B, K, 2) and ``jacobian`` (B, K, 2, 2)) → the dense motion outputs plus
        ``"deformed"`` (B, H, W, C): the source warped by the flow, and ``"prediction"``
        (B, H, W, C) in [0, 1]. A source batch of 1 serves a batch of driving keypoints.

    Examples:
        >>> import numpy as np, fomm_tf
        >>> m = fomm_tf.build_models("tiny-64")
        >>> src = np.zeros((1, 64, 64, 3), "float32")
        >>> kp = m.kp_detector(src)
        >>> m.generator(src, kp_source=kp, kp_driving=kp)["prediction"].shape
        TensorShape([1, 64, 64, 3])
    """

    def __init__(
        self,
        num_kp=10,
        num_channels=3,
        estimate_jacobian=True,
        block_expansion=64,
        max_features=512,
        num_down_blocks=2,
        num_bottleneck_blocks=6,
        estimate_occlusion_map=True,
        dense_motion_params=None,
        align_corners=False,
        warped_skips=False,
        source_blend=False,
        centred_grid=False,
        **kwargs,
    ):
        # Inputs (keypoints, images) stay float32 under mixed precision; layers inside cast.
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        if isinstance(dense_motion_params, DenseMotionConfig):
            dense_motion_params = dataclasses.asdict(dense_motion_params)
        self._args = dict(
            num_kp=num_kp,
            num_channels=num_channels,
            estimate_jacobian=estimate_jacobian,
            block_expansion=block_expansion,
            max_features=max_features,
            num_down_blocks=num_down_blocks,
            num_bottleneck_blocks=num_bottleneck_blocks,
            estimate_occlusion_map=estimate_occlusion_map,
            dense_motion_params=dict(dense_motion_params) if dense_motion_params else None,
            align_corners=bool(align_corners),
            warped_skips=bool(warped_skips),
            source_blend=bool(source_blend),
            centred_grid=bool(centred_grid),
        )
        self.align_corners = bool(align_corners)
        self.centred_grid = bool(centred_grid)
        self.warped_skips = bool(warped_skips)
        # the blend needs a flow and an occlusion map; without them it is the plain generator
        self.source_blend = bool(
            source_blend and dense_motion_params is not None and estimate_occlusion_map
        )
        self.dense_motion_network = None
        if dense_motion_params is not None:
            dm = {
                k: v
                for k, v in dense_motion_params.items()
                if k not in ("num_kp", "num_channels", "estimate_occlusion_map", "centred_grid")
            }
            self.dense_motion_network = DenseMotionNetwork(
                num_kp=num_kp,
                num_channels=num_channels,
                estimate_occlusion_map=estimate_occlusion_map,
                align_corners=align_corners,
                centred_grid=self.centred_grid,
                name="dense_motion_network",
                **dm,
            )
        width = [min(max_features, block_expansion * 2**i) for i in range(num_down_blocks + 1)]
        self.first = SameBlock2d(block_expansion, kernel_size=7, padding=3, name="first")
        self.down_blocks = [
            DownBlock2d(width[i + 1], name=f"down_block_{i}") for i in range(num_down_blocks)
        ]
        self.bottleneck = [
            ResBlock2d(width[-1], name=f"bottleneck_r{i}") for i in range(num_bottleneck_blocks)
        ]
        self.up_blocks = [
            UpBlock2d(width[num_down_blocks - i - 1], name=f"up_block_{i}")
            for i in range(num_down_blocks)
        ]
        self.final = conv2d(num_channels, 7, 3, name="final")

    @classmethod
    def from_dataclass(cls, cfg: GeneratorConfig) -> OcclusionAwareGenerator:
        return cls(**{f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)})

    def get_config(self):
        return {**super().get_config(), **self._args}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def torch_children(self):
        children = {"first": self.first, "final": self.final}
        children.update({f"down_blocks.{i}": b for i, b in enumerate(self.down_blocks)})
        children.update({f"up_blocks.{i}": b for i, b in enumerate(self.up_blocks)})
        children.update({f"bottleneck.r{i}": b for i, b in enumerate(self.bottleneck)})
        if self.dense_motion_network is not None:
            children["dense_motion_network"] = self.dense_motion_network
        return children

    def encode_source(self, source, training=False) -> dict:
        """Everything that depends on the source alone: ``features``, ``source_small``, with
        ``warped_skips`` the encoder's maps above the bottleneck (:func:`skip_names`), with
        ``source_blend`` the source itself (``source_image``)."""
        out = self.first(source, training=training)
        maps = []
        for block in self.down_blocks:
            maps.append(out)
            out = block(out, training=training)
        cache = {"features": out}
        if self.warped_skips:
            cache.update(zip(skip_names(len(self.down_blocks)), maps))
        if self.source_blend:
            cache["source_image"] = tf.identity(source)
        if self.dense_motion_network is not None:
            cache["source_small"] = self.dense_motion_network.downscale(source)
        return cache

    def decode(self, features, skips=None, training=False):
        """Bottleneck → up blocks → final conv → sigmoid. ``skips`` (full resolution first),
        when given, are concatenated to the up block outputs of their scale."""
        out = features
        for block in self.bottleneck:
            out = block(out, training=training)
        for i, block in enumerate(self.up_blocks):
            out = block(out, training=training)
            if skips:
                out = tf.concat([out, tf.cast(skips[-(i + 1)], out.dtype)], axis=-1)
        return tf.sigmoid(tf.cast(self.final(out), float_dtype()))

    def warp(self, image, deformation):
        """Back-warp ``image`` with a flow (:func:`deform_input`)."""
        return deform_input(image, deformation, self.align_corners, self.centred_grid)

    def animate_cached(
        self, source, cache, kp_source, kp_driving, training=False, with_deformed=True
    ) -> dict:
        """The per-frame part of :meth:`call`, given :meth:`encode_source`'s ``cache``."""
        out = cache["features"]
        skips = [cache[k] for k in skip_names(len(self.down_blocks))] if self.warped_skips else []
        result = {}
        if self.dense_motion_network is not None:
            motion = self.dense_motion_network(
                cache["source_small"],
                kp_source=kp_source,
                kp_driving=kp_driving,
                downscaled=True,
                training=training,
            )
            result.update(motion)
            out = self.warp(out, motion["deformation"])  # eq. 8: ξ' = Ô ⊙ f_w(ξ, T̂)
            if "occlusion_map" in motion:
                out = occlude(out, motion["occlusion_map"])
            skips = warp_skips(skips, motion, self.align_corners, self.centred_grid)
            if with_deformed:
                result["deformed"] = self.warp(source, motion["deformation"])
        result["prediction"] = self.decode(out, skips, training=training)
        if self.source_blend:
            image = source if source is not None else cache["source_image"]
            deformed = result.get("deformed")
            if deformed is None:
                deformed = self.warp(image, motion["deformation"])
            result["prediction"] = blend_with_source(
                result["prediction"], deformed, motion["occlusion_map"]
            )
        return result

    def call(self, source, kp_source, kp_driving, training=False):
        cache = self.encode_source(source, training=training)
        return self.animate_cached(source, cache, kp_source, kp_driving, training=training)
