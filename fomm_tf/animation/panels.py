"""``fomm animate --side-by-side``: source | driving | result panels, batch by batch."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import cv2
import numpy as np

from ..media.images import to_uint8


class SideBySide:
    """Remembers the driving frames as they stream past and puts them beside each result.

    Args:
        source: the left panel, ``(h, w, 3)`` (the model input, or the pasted-back canvas).
        resize: scale each driving frame to the result's height (paste-back output).
    """

    def __init__(self, source: np.ndarray, resize: bool = False):
        self.source = to_uint8(source)
        self.resize = resize
        self._driving: list[np.ndarray] = []

    def remember(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for f in frames:
            self._driving.append(f)
            yield f

    def compose(self, out: np.ndarray) -> np.ndarray:
        """``(n, h, w, 3)`` results → ``(n, h, 3w, 3)`` uint8 panels."""
        drv = np.stack(self._driving[: len(out)])
        del self._driving[: len(out)]
        if self.resize:
            side = out.shape[1]
            drv = np.stack([cv2.resize(to_uint8(f), (side, side)) for f in drv])
        else:
            drv = to_uint8(drv)
        src = np.broadcast_to(self.source, (len(out), *self.source.shape))
        return np.concatenate([src, drv, to_uint8(out)], axis=2)
