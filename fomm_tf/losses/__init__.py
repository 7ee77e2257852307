"""Training losses of FOMM (paper sec. 3.3): perceptual pyramid, equivariance, adversarial."""

from .adversarial import (
    MultiScaleDiscriminator,
    discriminator_loss,
    generator_gan_losses,
)
from .equivariance import RandomTPS, equivariance_losses
from .perceptual import ImagePyramid, PerceptualLoss, PixelFeatures, VGG19Features

__all__ = [
    "ImagePyramid",
    "MultiScaleDiscriminator",
    "PerceptualLoss",
    "PixelFeatures",
    "RandomTPS",
    "VGG19Features",
    "discriminator_loss",
    "equivariance_losses",
    "generator_gan_losses",
]
