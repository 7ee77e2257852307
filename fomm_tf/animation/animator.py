"""Animate a source image with a driving video: the inference data path, top-down.

``Animator`` streams: driving frames come in batches, each batch is turned into keypoints,
normalised against the source (relative or absolute motion) and rendered, and the frames
go out before the next batch is read, so memory does not grow with the video's length.
Everything that depends on the source alone (its keypoints, the generator's encoder
features and the downscaled source) is computed once, in ``prepare``.

The networks are reached through a small *backend* interface so the same loop drives the
Keras networks (:mod:`.keras_backend`) and the exported TFLite graphs (:mod:`.tflite_backend`):

- ``prepare(source)``: source (1, H, W, 3) in [0, 1] → its keypoints; caches the rest;
- ``kp(frames)``: (N, H, W, 3) → ``{"value": (N, K, 2), "jacobian": (N, K, 2, 2)}``;
- ``generate(kp_driving)``: normalised driving keypoints → frames (N, H, W, 3) in [0, 1].
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

import numpy as np

from ..media.images import batched
from .motion import MotionOptions, best_frame, movement_scale, normalize_kp

log = logging.getLogger(__name__)

KpDict = dict[str, np.ndarray]


class Animator:
    """Source image + driving frames → animated frames, streamed batch by batch.

    Args:
        backend: a :class:`~.keras_backend.KerasBackend` or a :class:`~.tflite_backend.TFLiteAnimator` (see module docstring).
        options: motion transfer options.

    Examples:
        >>> import numpy as np, fomm_tf
        >>> from fomm_tf.animation.animator import Animator
        >>> from fomm_tf.animation.keras_backend import KerasBackend
        >>> anim = Animator(KerasBackend(fomm_tf.build_models("tiny-64"), batch_size=2))
        >>> frames = [np.zeros((64, 64, 3), "float32")] * 3
        >>> out = np.concatenate(list(anim.animate(np.zeros((64, 64, 3), "float32"), frames)))
        >>> out.shape
        (3, 64, 64, 3)
    """

    def __init__(self, backend, options: MotionOptions | None = None):
        self.backend = backend
        self.options = options or MotionOptions()

    def _batches(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        return batched(frames, self.backend.batch_size, np.float32)

    def driving_keypoints(self, frames: Iterable[np.ndarray]) -> KpDict:
        """Keypoints of every driving frame (a first pass for ``find_best_frame``)."""
        parts = [self.backend.kp(b) for b in self._batches(frames)]
        if not parts:
            raise ValueError("the driving video has no frames")
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def animate(
        self,
        source: np.ndarray,
        frames: Iterable[np.ndarray],
        initial_frame: int = 0,
        kp_all: KpDict | None = None,
    ) -> Iterator[np.ndarray]:
        """Yield animated batches (n, H, W, 3) in driving order.

        Args:
            source: (H, W, 3) float32 in [0, 1], already at the model resolution.
            frames: driving frames (H, W, 3) at the model resolution, any iterable.
            initial_frame: the driving frame whose pose corresponds to the source's (relative
                mode measures motion from it); ``find_best_frame`` picks it.
            kp_all: keypoints of every driving frame when already computed.
        """
        kp_source = self.backend.prepare(np.asarray(source, np.float32)[None])
        opts = self.options
        kp_initial = scale = None
        if kp_all is not None:
            kp_initial = {k: v[initial_frame : initial_frame + 1] for k, v in kp_all.items()}
        start = 0
        for batch in self._batches(frames):
            n = len(batch)
            if kp_all is not None:
                kp_d = {k: v[start : start + n] for k, v in kp_all.items()}
            else:
                kp_d = self.backend.kp(batch)
            start += n
            if kp_initial is None:
                kp_initial = {k: v[:1] for k, v in kp_d.items()}
            if opts.relative and opts.adapt_movement_scale and scale is None:
                scale = movement_scale(kp_source, kp_initial)
                log.info("movement scale %.3f", scale)
            kp_norm = normalize_kp(
                kp_source,
                kp_d,
                kp_initial,
                use_relative_movement=opts.relative,
                use_relative_jacobian=opts.relative_jacobian,
                scale=scale if scale is not None else 1.0,
            )
            kp_norm = {k: np.asarray(v, np.float32) for k, v in kp_norm.items()}
            yield self.backend.generate(kp_norm)

    def best_initial_frame(self, source: np.ndarray, kp_all: KpDict) -> int:
        """The driving frame whose keypoint layout best matches the source's."""
        kp_source = self.backend.kp(np.asarray(source, np.float32)[None])  # keypoints only
        return best_frame(kp_source["value"][0], kp_all["value"])
