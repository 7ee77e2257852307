"""Writing a generated dataset: the folder swap, one video in either layout, argument checks
(shared by the annotated renderers and the real-photo clips)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..media.atomic import atomic_dir
from ..media.images import write_image
from ..media.video_writer import VideoWriter


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


@contextlib.contextmanager
def dataset_folder(root: str | os.PathLike, overwrite: bool):
    """Yield a temporary folder beside ``root`` that replaces ``root`` when the block ends.

    A non-empty ``root`` is an :class:`InputError` unless ``overwrite``; if the block
    raises, the temporary folder is removed and ``root`` is left as it was.
    """
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise InputError(f"{root}: exists and is not a folder")
    if root.is_dir() and any(root.iterdir()) and not overwrite:
        raise InputError(f"{root}: folder is not empty (pass --overwrite to replace it)")
    with atomic_dir(root) as tmp:
        yield tmp


def write_video(folder: Path, name: str, frames: np.ndarray, layout: str, fps: float) -> Path:
    """``folder/name.mp4`` (H.264) or ``folder/name/0000.png …``; returns the video's path."""
    if layout == "mp4":
        target = folder / f"{name}.mp4"
        with VideoWriter(target, fps=fps) as writer:
            writer.write(frames)
    else:
        target = folder / name
        target.mkdir()
        for k, frame in enumerate(frames):
            write_image(target / f"{k:04d}.png", frame)
    return target
