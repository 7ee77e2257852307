"""Random thin-plate-spline transforms and the equivariance losses (paper sec. 3.3, eq. 11, 13).

A transform ``T`` maps coordinates of the *transformed* frame to coordinates of the original
frame: ``T(z) = A·z + t + Σ_p c_p·U(‖z − q_p‖₁)`` with ``U(r) = r²·log(r + 1e-6)``, the
control points ``q_p`` on a ``points_tps × points_tps`` grid over [-1, 1]², and the same TPS
term added to both output coordinates, exactly as the official ``Transform`` (which measures
the distance with the L1 norm). ``A, t`` are the identity plus ``N(0, sigma_affine²)`` noise
and ``c_p ~ N(0, sigma_tps²)``.

The Jacobian is written analytically (no autodiff over coordinates, no tensorflow-addons):
``∂T_i/∂z_j = A_ij + Σ_p c_p·U'(r_p)·sign(z_j − q_pj)`` with
``U'(r) = 2r·log(r + 1e-6) + r²/(r + 1e-6)``.

All randomness is stateless: the same ``seed`` gives the same transform, which is what makes a
resumed training run identical to an uninterrupted one.
"""

from __future__ import annotations

import tensorflow as tf

from ..nets.dense_motion import inverse_2x2
from ..nets.layers.precision import float_dtype
from ..nets.layers.warp import from_pixels, grid_sample, make_coordinate_grid, to_pixels

_EPS = 1e-6


class RandomTPS:
    """A batch of random TPS transforms (the official ``Transform``), stateless and seeded.

    Args:
        batch: number of transforms (one per image).
        sigma_affine: std of the affine noise around the identity.
        sigma_tps: std of the TPS weights; ``None`` or ``points_tps`` ``None``: affine only.
        points_tps: control points per side.
        seed: a ``(2,)`` int tensor or pair for ``tf.random.stateless_normal``.

    Examples:
        >>> t = RandomTPS(2, 0.05, 0.005, 5, seed=(0, 1))
        >>> t.warp_coordinates(tf.zeros((2, 10, 2))).shape
        TensorShape([2, 10, 2])
    """

    def __init__(
        self,
        batch,
        sigma_affine: float,
        sigma_tps: float | None = None,
        points_tps: int | None = None,
        seed=(0, 0),
    ):
        seed = tf.cast(tf.convert_to_tensor(seed), tf.int32)
        s1 = tf.random.experimental.stateless_fold_in(seed, 1)
        s2 = tf.random.experimental.stateless_fold_in(seed, 2)
        noise = tf.random.stateless_normal([batch, 2, 3], s1, stddev=sigma_affine)
        self.theta = tf.cast(noise + tf.eye(2, 3)[None], float_dtype())
        self.control_points = None
        self.control_params = None
        if sigma_tps is not None and points_tps is not None:
            self.control_points = tf.reshape(make_coordinate_grid(points_tps, points_tps), [-1, 2])
            self.control_params = tf.cast(
                tf.random.stateless_normal([batch, points_tps**2], s2, stddev=sigma_tps),
                float_dtype(),
            )

    @classmethod
    def from_params(cls, theta, control_params=None, control_points=None) -> RandomTPS:
        """A transform with given parameters (e.g. the official ``Transform``'s draws).

        Args:
            theta: (B, 2, 3) affine part (``Transform.theta``).
            control_params: TPS weights, (B, P) or the official (B, 1, P); ``None``: affine.
            control_points: (P, 2) or the official (1, p, p, 2) grid of (x, y) points.
        """
        out = cls.__new__(cls)
        out.theta = tf.cast(theta, float_dtype())
        if len(out.theta.shape) != 3 or tuple(out.theta.shape[1:]) != (2, 3):
            raise ValueError(f"theta must be (B, 2, 3), got {tuple(out.theta.shape)}")
        out.control_points = out.control_params = None
        if control_params is not None:
            if control_points is None:
                raise ValueError("control_params need control_points")
            points = tf.reshape(tf.cast(control_points, float_dtype()), [-1, 2])
            params = tf.cast(control_params, float_dtype())
            params = tf.reshape(params, [tf.shape(out.theta)[0], -1])
            if params.shape[-1] is not None and params.shape[-1] != points.shape[0]:
                raise ValueError(
                    f"{params.shape[-1]} TPS weights per transform for {points.shape[0]} points"
                )
            out.control_points, out.control_params = points, params
        return out

    def slice(self, start, size) -> RandomTPS:
        """Transforms ``start … start + size`` of the batch (one replica's share)."""
        out = RandomTPS.__new__(RandomTPS)
        out.theta = self.theta[start : start + size]
        out.control_points = self.control_points
        out.control_params = None
        if self.control_params is not None:
            out.control_params = self.control_params[start : start + size]
        return out

    @classmethod
    def identity(cls, batch: int, points_tps: int = 5) -> RandomTPS:
        """The identity transform (zero noise), with TPS terms whose weights are all zero."""
        return cls(batch, 0.0, 0.0, points_tps)

    def _tps_terms(self, coords):
        """(B, N, P, 2) signed differences and (B, N, P) L1 distances to the control points."""
        diff = coords[:, :, None, :] - self.control_points[None, None]
        return diff, tf.reduce_sum(tf.abs(diff), axis=-1)

    def warp_coordinates(self, coords: tf.Tensor) -> tf.Tensor:
        """Apply the transforms to (B, N, 2) coordinates (x, y); returns (B, N, 2)."""
        coords = tf.cast(coords, float_dtype())
        a, t = self.theta[:, :, :2], self.theta[:, :, 2]
        out = tf.einsum("bij,bnj->bni", a, coords) + t[:, None, :]
        if self.control_params is not None:
            _, r = self._tps_terms(coords)
            u = tf.square(r) * tf.math.log(r + _EPS)
            out = out + tf.reduce_sum(u * self.control_params[:, None, :], axis=-1, keepdims=True)
        return out

    def jacobian(self, coords: tf.Tensor) -> tf.Tensor:
        """∂T/∂z at (B, N, 2) coordinates: (B, N, 2, 2), row i = gradient of output i."""
        coords = tf.cast(coords, float_dtype())
        n = tf.shape(coords)[1]
        jac = tf.tile(self.theta[:, None, :, :2], [1, n, 1, 1])
        if self.control_params is not None:
            diff, r = self._tps_terms(coords)
            du = 2.0 * r * tf.math.log(r + _EPS) + tf.square(r) / (r + _EPS)
            grad = tf.reduce_sum(
                (du * self.control_params[:, None, :])[..., None] * tf.sign(diff), axis=2
            )  # (B, N, 2): ∂(TPS term)/∂z_j
            jac = jac + grad[:, :, None, :]
        return jac

    def transform_frame(
        self, frame: tf.Tensor, align_corners: bool = False, centred: bool = False
    ) -> tf.Tensor:
        """Resample (B, H, W, C) frames at ``T(grid)`` with reflection padding (official);
        ``centred``: on the pixel-centre grid, where the identity leaves the frame as it is."""
        h, w = frame.shape[1], frame.shape[2]
        grid = tf.reshape(make_coordinate_grid(h, w, centred), [1, h * w, 2])
        grid = tf.tile(grid, [tf.shape(frame)[0], 1, 1])
        warped = self.warp_coordinates(grid)
        warped = tf.concat(
            [
                _reflect(warped[..., :1], w, align_corners),
                _reflect(warped[..., 1:], h, align_corners),
            ],
            axis=-1,
        )
        return grid_sample(frame, tf.reshape(warped, [-1, h, w, 2]), align_corners)


def _reflect(coord: tf.Tensor, size: int, align_corners: bool) -> tf.Tensor:
    """Torch's ``padding_mode="reflection"``: fold coordinates back into the image, clamp."""
    pix = to_pixels(coord, size, align_corners)
    low, span = (0.0, float(size - 1)) if align_corners else (-0.5, float(size))
    if span > 0:
        rel = tf.abs(pix - low)
        flips = tf.floor(rel / span)
        extra = rel - flips * span
        even = tf.equal(tf.math.floormod(flips, 2.0), 0.0)
        pix = tf.where(even, low + extra, low + span - extra)
    pix = tf.clip_by_value(pix, 0.0, float(size - 1))
    return from_pixels(pix, size, align_corners)


def equivariance_value_loss(kp_driving: dict, kp_transformed: dict, transform) -> tf.Tensor:
    """Eq. 11 (eq. 10 at the keypoints): ``mean |T_{X←R}(p_k) − T_{X←Y}(T_{Y←R}(p_k))|``.

    ``X`` is the driving frame, ``Y = transform(X)``, ``T_{X←Y}`` the known transform.
    """
    warped = transform.warp_coordinates(kp_transformed["value"])
    return tf.reduce_mean(tf.abs(kp_driving["value"] - warped))


def equivariance_jacobian_loss(kp_driving: dict, kp_transformed: dict, transform) -> tf.Tensor:
    """Eq. 13 (eq. 12 made trainable): ``mean |1 − J_X⁻¹ · (d/dp T_{X←Y}) · J_Y|``."""
    jac_t = tf.matmul(transform.jacobian(kp_transformed["value"]), kp_transformed["jacobian"])
    value = tf.matmul(inverse_2x2(kp_driving["jacobian"]), jac_t)
    return tf.reduce_mean(tf.abs(tf.eye(2, dtype=value.dtype) - value))


def equivariance_losses(
    kp_driving: dict,
    kp_transformed: dict,
    transform: RandomTPS,
    weight_value: float,
    weight_jacobian: float,
) -> dict[str, tf.Tensor]:
    """Eq. 11 (values, :func:`equivariance_value_loss`) and eq. 13 (Jacobians,
    :func:`equivariance_jacobian_loss`), weighted; keys as the official log.

    Args:
        kp_driving: keypoints of the driving frame ``{"value": (B,K,2), "jacobian": ...}``.
        kp_transformed: keypoints of ``transform.transform_frame(driving)``.
        transform: the transform that produced the transformed frame.
        weight_value, weight_jacobian: ``loss_weights.equivariance_value`` / ``_jacobian``;
            a zero weight leaves its loss out.

    Returns:
        ``{"equivariance_value": scalar, "equivariance_jacobian": scalar}`` (present keys only).
    """
    out = {}
    if weight_value:
        out["equivariance_value"] = weight_value * equivariance_value_loss(
            kp_driving, kp_transformed, transform
        )
    if weight_jacobian and "jacobian" in kp_driving:
        out["equivariance_jacobian"] = weight_jacobian * equivariance_jacobian_loss(
            kp_driving, kp_transformed, transform
        )
    return out
