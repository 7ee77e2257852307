"""Training losses of FOMM (paper sec. 3.3): perceptual pyramid, equivariance, adversarial."""

from .adversarial import (
    MultiScaleDiscriminator,
    discriminator_loss,
    generator_gan_losses,
)
from .equivariance import RandomTPS, equivariance_losses
from .hed_features import HEDVGG16Features
from .perceptual import (
    PERCEPTUAL_FEATURES,
    ImagePyramid,
    PerceptualLoss,
    PixelFeatures,
    VGG19Features,
    perceptual_features,
)

__all__ = [
    "PERCEPTUAL_FEATURES",
    "HEDVGG16Features",
    "ImagePyramid",
    "MultiScaleDiscriminator",
    "PerceptualLoss",
    "PixelFeatures",
    "RandomTPS",
    "VGG19Features",
    "discriminator_loss",
    "equivariance_losses",
    "generator_gan_losses",
    "perceptual_features",
]
