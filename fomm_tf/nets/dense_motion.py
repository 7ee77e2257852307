"""Dense motion network (paper sec. 3.1–3.2, eq. 3–7): sparse keypoint motions → dense flow.

From the keypoints of the source and driving frames it builds K+1 candidate motions (the
identity for the background, and the first-order Taylor motion of eq. 4 around each keypoint,
:func:`sparse_motions` with :func:`local_jacobians`, eq. 5), warps the downscaled source with
each (:func:`deformed_sources`), adds the keypoint heatmaps (:func:`heatmap_representation`,
eq. 6) and lets an hourglass pick, per pixel, a softmax mixture of the motions (the masks,
:func:`dense_motion`, eq. 7) plus an occlusion map.
"""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from ..config import DenseMotionConfig
from .layers.antialias import AntiAliasDownsample
from .layers.blocks import Hourglass, conv2d
from .layers.guards import clip_jacobian, regularized_inverse_2x2, sanitize_keypoint_values
from .layers.precision import float_dtype
from .layers.warp import float_scope, grid_sample, make_coordinate_grid


def kp_to_gaussian(
    kp_xy: tf.Tensor, height: int, width: int, kp_variance: float, centred: bool = False
) -> tf.Tensor:
    """Gaussian blobs around keypoints: (B, K, 2) → (B, h, w, K), peak value 1 (official
    ``kp2gaussian``; ``centred``: on the pixel-centre grid, see ``make_coordinate_grid``)."""
    grid = make_coordinate_grid(height, width, centred)[None, :, :, None, :]  # (1, h, w, 1, 2)
    diff = grid - kp_xy[:, None, None, :, :]
    return tf.exp(-0.5 * tf.reduce_sum(diff * diff, axis=-1) / kp_variance)


def heatmap_representation(
    kp_source: dict,
    kp_driving: dict,
    height: int,
    width: int,
    kp_variance: float,
    centred: bool = False,
) -> tf.Tensor:
    """Eq. 6: ``H_k(z) = G(T_{D←R}(p_k), z) − G(T_{S←R}(p_k), z)``, (B, h, w, K+1).

    The Gaussian difference tells the network where each keypoint moved from and to; a zero
    channel comes first, for the background (official ``create_heatmap_representations``).
    """
    heat = kp_to_gaussian(kp_driving["value"], height, width, kp_variance, centred)
    heat = heat - kp_to_gaussian(kp_source["value"], height, width, kp_variance, centred)
    return tf.concat([tf.zeros_like(heat[..., :1]), heat], axis=-1)


def inverse_2x2(m: tf.Tensor) -> tf.Tensor:
    """Inverse of (..., 2, 2) matrices; a singular one gives the zero matrix.

    See :func:`fomm_tf.nets.layers.guards.regularized_inverse_2x2`: for a zero driving Jacobian the
    motion around that keypoint collapses onto the source keypoint instead of becoming Inf/NaN.
    """
    return regularized_inverse_2x2(m)


def local_jacobians(kp_source: dict, kp_driving: dict) -> tf.Tensor:
    """Eq. 5: ``J_k = (d/dp T_{S←R})(d/dp T_{D←R})⁻¹`` at each keypoint, (B, K, 2, 2)."""
    return tf.matmul(kp_source["jacobian"], inverse_2x2(kp_driving["jacobian"]))


def sparse_motions(
    kp_source: dict, kp_driving: dict, height: int, width: int, centred: bool = False
) -> tf.Tensor:
    """Eq. 4 for every pixel and keypoint, identity first: (B, h, w, K+1, 2) coordinates.

    ``T_{S←D}(z) ≈ T_{S←R}(p_k) + J_k·(z − T_{D←R}(p_k))`` with ``J_k`` of eq. 5
    (:func:`local_jacobians`; ``J = 1`` without Jacobians); the identity ``z`` first, for the
    background (official ``create_sparse_motions``). ``centred``: on the pixel-centre grid,
    where the identity reads every pixel where it is (see ``make_coordinate_grid``).
    """
    grid = make_coordinate_grid(height, width, centred)  # (h, w, 2)
    kp_d = kp_driving["value"]
    kp_s = kp_source["value"]
    batch = tf.maximum(tf.shape(kp_d)[0], tf.shape(kp_s)[0])
    rel = grid[None, :, :, None, :] - kp_d[:, None, None, :, :]  # (B, h, w, K, 2)
    if "jacobian" in kp_driving and "jacobian" in kp_source:
        jac = local_jacobians(kp_source, kp_driving)  # (B, K, 2, 2)
        # (z − kp_d) · Jᵀ per keypoint, written as two weighted sums so no 6-D tensor appears.
        jx, jy = tf.split(tf.reshape(jac, [-1, 1, 1, jac.shape[1], 4]), 2, axis=-1)
        rel = tf.concat(
            [
                tf.reduce_sum(rel * jx, -1, keepdims=True),
                tf.reduce_sum(rel * jy, -1, keepdims=True),
            ],
            axis=-1,
        )
    moved = rel + kp_s[:, None, None, :, :]
    identity = tf.broadcast_to(grid[None, :, :, None, :], [batch, height, width, 1, 2])
    moved = tf.broadcast_to(moved, tf.concat([[batch], tf.shape(moved)[1:]], 0))
    return tf.concat([identity, moved], axis=3)


def deformed_sources(source: tf.Tensor, motions: tf.Tensor, align_corners: bool) -> tf.Tensor:
    """``S^0 … S^K``: the source warped by each of the K+1 motions of eq. 4, (B, h, w, K+1, C)
    (official ``create_deformed_source_image``)."""
    return grid_sample(source, motions, align_corners)


def dense_motion(motions: tf.Tensor, masks: tf.Tensor) -> tf.Tensor:
    """Eq. 7: ``T̂_{S←D}(z) = M_0 z + Σ_k M_k (T_{S←R}(p_k) + J_k (z − T_{D←R}(p_k)))``.

    ``motions`` (B, h, w, K+1, 2) from :func:`sparse_motions`, ``masks`` (B, h, w, K+1)
    summing to one per pixel → the dense backward flow (B, h, w, 2).
    """
    return tf.reduce_sum(motions * masks[..., None], axis=3)


def _guarded(kp_source: dict, kp_driving: dict) -> tuple[dict, dict]:
    """Both keypoint dicts with finite, bounded values and clipped Jacobians (see guards)."""
    src, drv = dict(kp_source), dict(kp_driving)
    src["value"], drv["value"] = sanitize_keypoint_values(kp_source["value"], kp_driving["value"])
    for kp in (src, drv):
        if "jacobian" in kp:
            kp["jacobian"] = clip_jacobian(kp["jacobian"])
    return src, drv


@keras.saving.register_keras_serializable(package="fomm_tf")
class DenseMotionNetwork(keras.Model):
    """Predicts the dense backward flow S←D and an occlusion map (eq. 6–7, sec. 3.2).

    Args: the official ``dense_motion_params`` plus ``num_kp``, ``num_channels`` and
        ``estimate_occlusion_map`` (see :class:`fomm_tf.config.DenseMotionConfig`);
        ``align_corners`` picks the grid-sample convention; ``centred_grid`` (ours) puts
        coordinates at pixel centres (:func:`fomm_tf.nets.layers.warp.make_coordinate_grid`).

    Call: ``source`` (B, H, W, C) in [0, 1] (or its ``downscale`` output when
        ``downscaled=True``), ``kp_source`` and ``kp_driving`` keypoint dicts →
        ``{"sparse_deformed": (B, K+1, h, w, C), "mask": (B, h, w, K+1) softmax with channel 0
        the background, "deformation": (B, h, w, 2) (x, y) in [-1, 1],
        "occlusion_map": (B, h, w, 1)}``, h = H·scale_factor.
    """

    def __init__(
        self,
        num_kp=10,
        num_channels=3,
        estimate_occlusion_map=True,
        block_expansion=64,
        max_features=1024,
        num_blocks=5,
        scale_factor=0.25,
        kp_variance=0.01,
        centred_grid=False,
        align_corners=False,
        **kwargs,
    ):
        # Inputs (keypoints, images) stay float32 under mixed precision; layers inside cast.
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self.cfg = DenseMotionConfig(
            num_kp=num_kp,
            num_channels=num_channels,
            estimate_occlusion_map=estimate_occlusion_map,
            block_expansion=block_expansion,
            max_features=max_features,
            num_blocks=num_blocks,
            scale_factor=scale_factor,
            kp_variance=kp_variance,
            centred_grid=bool(centred_grid),
        )
        self.align_corners = bool(align_corners)
        self.down = AntiAliasDownsample(num_channels, scale_factor, name="down")
        self.hourglass = Hourglass(
            block_expansion,
            (num_kp + 1) * (num_channels + 1),
            num_blocks,
            max_features,
            name="hourglass",
        )
        self.mask = conv2d(num_kp + 1, 7, 3, name="mask")
        self.occlusion = conv2d(1, 7, 3, name="occlusion") if estimate_occlusion_map else None

    @classmethod
    def from_dataclass(cls, cfg: DenseMotionConfig, align_corners=False) -> DenseMotionNetwork:
        return cls(**dataclasses.asdict(cfg), align_corners=align_corners)

    def get_config(self):
        return {
            **super().get_config(),
            **dataclasses.asdict(self.cfg),
            "align_corners": self.align_corners,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def torch_children(self):
        children = {"hourglass": self.hourglass, "mask": self.mask}
        if self.occlusion is not None:
            children["occlusion"] = self.occlusion
        return children

    def downscale(self, source):
        """The source at the motion resolution; depends on the source only (cacheable)."""
        return self.down(source)

    def call(self, source, kp_source, kp_driving, downscaled=False, training=False):
        small = source if downscaled else self.down(source)
        h, w, c = small.shape[1], small.shape[2], small.shape[3]
        k1 = self.cfg.num_kp + 1
        with float_scope("sparse_motion"):  # keypoint coordinates → K+1 motions
            kp_source, kp_driving = _guarded(kp_source, kp_driving)
            centred = self.cfg.centred_grid
            motions = sparse_motions(kp_source, kp_driving, h, w, centred)  # (B, h, w, K+1, 2)
        deformed = deformed_sources(small, motions, self.align_corners)  # (B, h, w, K+1, C)
        with float_scope("heatmap_gaussians"):  # keypoint Gaussians, joined to the warps
            heat = heatmap_representation(
                kp_source, kp_driving, h, w, self.cfg.kp_variance, self.cfg.centred_grid
            )
            batch = tf.shape(motions)[0]
            heat = tf.cast(heat, deformed.dtype)
            heat = tf.broadcast_to(heat, [batch, h, w, k1])
            net_in = tf.concat([heat[..., None], deformed], axis=-1)  # [heat_k, R, G, B] per k
        prediction = self.hourglass(tf.reshape(net_in, [-1, h, w, k1 * (c + 1)]), training=training)
        mask_logits = tf.cast(self.mask(prediction), float_dtype())
        with float_scope("mask_flow"):  # mask softmax and the flow it mixes
            mask = tf.nn.softmax(mask_logits, axis=-1)
            out = {
                "sparse_deformed": tf.transpose(deformed, [0, 3, 1, 2, 4]),
                "mask": mask,
                "deformation": dense_motion(motions, mask),
            }
        if self.occlusion is not None:
            out["occlusion_map"] = tf.sigmoid(tf.cast(self.occlusion(prediction), float_dtype()))
        return out
