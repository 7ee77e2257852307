"""Multi-scale patch discriminator and the LSGAN / feature-matching losses (paper sec. 3.3).

The discriminator is the official Pix2Pix-like one: ``num_blocks`` down blocks (4×4 valid
convolution, instance norm from the second block on, leaky ReLU 0.2, 2×2 average pooling
except after the last block) and a 1×1 convolution to a patch score map; optionally spectral
normalisation on every convolution (``sn``) and, with ``use_kp``, the driving keypoints as
Gaussian heatmaps concatenated to the input. One such network per scale in
``discriminator_params.scales``.

Losses, as the official ``GeneratorFullModel`` / ``DiscriminatorFullModel``:
generator ``w_gan·mean((1 − D(G))²)``, feature matching ``Σ_i w_i·mean|D_i(real) − D_i(G)|``,
discriminator ``w_disc·mean((1 − D(real))² + D(G)²)``.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from ..nets.dense_motion import kp_to_gaussian
from ..nets.layers.antialias import AntiAliasDownsample
from ..nets.layers.precision import float_dtype


class SpectralConv2D(keras.layers.Layer):
    """A valid-padded convolution whose kernel is divided by its largest singular value.

    One power iteration per training call (as ``torch.nn.utils.spectral_norm``); the
    estimate ``u`` is a non-trainable weight, so it is checkpointed and mirrored across
    replicas.
    """

    def __init__(self, filters: int, kernel_size: int, spectral_norm: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.spectral_norm = filters, kernel_size, spectral_norm

    def build(self, input_shape):
        k, c = self.kernel_size, int(input_shape[-1])
        self.kernel = self.add_weight(
            name="kernel", shape=(k, k, c, self.filters), initializer="glorot_uniform"
        )
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
        if self.spectral_norm:
            self.u = self.add_weight(
                name="u",
                shape=(1, self.filters),
                initializer=keras.initializers.RandomNormal(stddev=1.0),
                trainable=False,
                aggregation="mean",
            )

    def torch_weights(self) -> dict:
        """Official ``nn.Conv2d`` (+ ``spectral_norm``) parameter names → (variable, layout).

        With spectral norm the kernel is ``weight_orig`` and ``u`` is the ``weight_u`` buffer;
        the official ``weight_v`` buffer is recomputed from ``u`` on every call, so it is
        read for its shape only (layout ``"derived"``).
        """
        out = {"weight_orig" if self.spectral_norm else "weight": (self.kernel, "conv")}
        out["bias"] = (self.bias, "plain")
        if self.spectral_norm:
            out["weight_u"] = (self.u, "row")
            out["weight_v"] = (None, "derived")
        return out

    def power_iteration_v(self) -> tf.Tensor:
        """The official ``weight_v`` for the current ``u``: ``normalize(W.T @ u)`` with ``W``
        the torch-layout kernel flattened to (out, in·kh·kw)."""
        w = tf.reshape(tf.transpose(self.kernel, (3, 2, 0, 1)), [self.filters, -1])
        u = tf.math.l2_normalize(tf.reshape(self.u, [-1]), epsilon=1e-12)
        return tf.math.l2_normalize(tf.linalg.matvec(w, u, transpose_a=True), epsilon=1e-12)

    def _normalized_kernel(self, training):
        w = tf.reshape(self.kernel, [-1, self.filters])  # (k·k·c, out)
        u = tf.math.l2_normalize(tf.convert_to_tensor(self.u), axis=-1, epsilon=1e-12)
        v = tf.math.l2_normalize(tf.matmul(u, w, transpose_b=True), axis=-1, epsilon=1e-12)
        u = tf.math.l2_normalize(tf.matmul(v, w), axis=-1, epsilon=1e-12)
        u, v = tf.stop_gradient(u), tf.stop_gradient(v)
        if training:
            self.u.assign(u)
        sigma = tf.reduce_sum(tf.matmul(v, w) * u)
        return self.kernel / sigma

    def call(self, x, training=False):
        kernel = self._normalized_kernel(training) if self.spectral_norm else self.kernel
        kernel = tf.cast(kernel, x.dtype)
        return tf.nn.conv2d(x, kernel, 1, "VALID") + tf.cast(self.bias, x.dtype)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(
            filters=self.filters, kernel_size=self.kernel_size, spectral_norm=self.spectral_norm
        )
        return cfg


class InstanceNorm(keras.layers.Layer):
    """``nn.InstanceNorm2d(affine=True)``: per-image, per-channel normalisation, eps 1e-5."""

    def build(self, input_shape):
        c = int(input_shape[-1])
        self.gamma = self.add_weight(name="gamma", shape=(c,), initializer="ones")
        self.beta = self.add_weight(name="beta", shape=(c,), initializer="zeros")

    def torch_weights(self) -> dict:
        """Official ``nn.InstanceNorm2d(affine=True)`` parameter names → (variable, layout)."""
        return {"weight": (self.gamma, "plain"), "bias": (self.beta, "plain")}

    def call(self, x):
        # Statistics in float32 under mixed precision (a float32 island, as batch norm's):
        # the last blocks normalise over a few pixels, where bfloat16 moments lose the variance.
        y = tf.cast(x, float_dtype())
        mean, var = tf.nn.moments(y, axes=[1, 2], keepdims=True)
        y = (y - mean) * tf.math.rsqrt(var + 1e-5) * tf.cast(self.gamma, y.dtype)
        return tf.cast(y + tf.cast(self.beta, y.dtype), x.dtype)


class Discriminator(keras.Model):
    """One patch discriminator (official ``Discriminator``).

    Call: ``image`` (B, H, W, C), ``kp_xy`` (B, K, 2) when ``use_kp`` →
    ``(feature_maps: list of (B, h_i, w_i, c_i), prediction_map: (B, h, w, 1))``.
    """

    def __init__(
        self,
        num_channels=3,
        block_expansion=64,
        num_blocks=4,
        max_features=512,
        sn=False,
        use_kp=False,
        num_kp=10,
        kp_variance=0.01,
        **kwargs,
    ):
        # Images and keypoints stay float32 under mixed precision (the keypoint heatmaps are
        # computed in float32); the convolutions cast their inputs.
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self.use_kp, self.kp_variance = bool(use_kp), float(kp_variance)
        self.convs, self.norms = [], []
        for i in range(num_blocks):
            width = min(max_features, block_expansion * 2 ** (i + 1))
            self.convs.append(SpectralConv2D(width, 4, sn, name=f"down_block_{i}_conv"))
            self.norms.append(InstanceNorm(name=f"down_block_{i}_norm") if i else None)
        self.conv = SpectralConv2D(1, 1, sn, name="conv")

    def call(self, image, kp_xy=None, training=False):
        out = tf.cast(image, float_dtype())
        if self.use_kp:
            kp_xy = tf.cast(kp_xy, float_dtype())
            heat = kp_to_gaussian(kp_xy, image.shape[1], image.shape[2], self.kp_variance)
            out = tf.concat([out, tf.cast(heat, out.dtype)], axis=-1)  # float32
        features = []
        last = len(self.convs) - 1
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            out = conv(out, training=training)
            if norm is not None:
                out = norm(out)
            out = tf.nn.leaky_relu(out, 0.2)
            if i != last:
                out = tf.nn.avg_pool2d(out, 2, 2, "VALID")
            features.append(out)
        return features, self.conv(out, training=training)

    def torch_children(self) -> dict:
        """Official sub-module names: ``down_blocks.<i>.conv`` / ``.norm`` and ``conv``."""
        children = {}
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            children[f"down_blocks.{i}.conv"] = conv
            if norm is not None:
                children[f"down_blocks.{i}.norm"] = norm
        children["conv"] = self.conv
        return children


class MultiScaleDiscriminator(keras.Model):
    """One :class:`Discriminator` per scale of ``scales`` (official ``MultiScaleDiscriminator``).

    Args: ``discriminator_params`` of the config plus ``num_kp`` and ``num_channels``.

    Call: ``image`` (B, H, W, C) at full resolution (downscaled here, anti-aliased) and
    ``kp_xy`` → a list, per scale, of ``(feature_maps, prediction_map)``.

    Examples:
        >>> d = MultiScaleDiscriminator(scales=[1], block_expansion=8, num_blocks=2)
        >>> feats, pred = d(tf.zeros((1, 32, 32, 3)))[0]
        >>> pred.shape
        TensorShape([1, 12, 12, 1])
    """

    def __init__(self, scales=(1,), num_channels=3, num_kp=10, **kwargs):
        kw = {
            k: kwargs.pop(k)
            for k in list(kwargs)
            if k in ("block_expansion", "num_blocks", "max_features", "sn", "use_kp", "kp_variance")
        }
        kwargs.pop("estimate_jacobian", None)
        # Images and keypoints stay float32 under mixed precision (the keypoint heatmaps are
        # computed in float32); the convolutions cast their inputs.
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        # The official ModuleDict keys: str(scale) of the YAML value with "." → "-".
        self.torch_keys = [str(s).replace(".", "-") for s in scales]
        self.scales = [float(s) for s in scales]
        self.downs = [AntiAliasDownsample(num_channels, s) for s in self.scales]
        self.discs = [
            Discriminator(
                num_channels=num_channels,
                num_kp=num_kp,
                name=f"disc_{str(s).replace('.', '-')}",
                **kw,
            )
            for s in self.scales
        ]

    def torch_children(self) -> dict:
        """Official sub-module names: ``discs.<scale key>`` (``discs.1``, ``discs.0-5``)."""
        return {f"discs.{key}": disc for key, disc in zip(self.torch_keys, self.discs)}

    def call(self, image, kp_xy=None, training=False):
        return [
            disc(down(image), kp_xy, training=training)
            for down, disc in zip(self.downs, self.discs)
        ]


def generator_gan_losses(
    fake: list, real: list, weight_gan: float, weights_fm
) -> dict[str, tf.Tensor]:
    """Generator side: LSGAN ``gen_gan`` and ``feature_matching`` (zero weights left out)."""
    out = {}
    dtype = float_dtype()
    gan = tf.zeros((), dtype)
    fm = tf.zeros((), dtype)
    use_fm = any(weights_fm or [])
    for (f_feats, f_pred), (r_feats, _) in zip(fake, real):
        gan += weight_gan * tf.reduce_mean(tf.square(1.0 - tf.cast(f_pred, dtype)))
        if use_fm:
            for w, a, b in zip(weights_fm, r_feats, f_feats):
                if w:
                    fm += w * tf.reduce_mean(tf.abs(tf.cast(a - b, dtype)))
    out["gen_gan"] = gan
    if use_fm:
        out["feature_matching"] = fm
    return out


def discriminator_loss(fake: list, real: list, weight: float) -> tf.Tensor:
    """Discriminator side: ``Σ_scales w·mean((1 − D(real))² + D(fake)²)``."""
    dtype = float_dtype()
    total = tf.zeros((), dtype)
    for (_, f_pred), (_, r_pred) in zip(fake, real):
        f_pred, r_pred = tf.cast(f_pred, dtype), tf.cast(r_pred, dtype)
        total += weight * tf.reduce_mean(tf.square(1.0 - r_pred) + tf.square(f_pred))
    return total
