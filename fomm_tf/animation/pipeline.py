"""What ``fomm animate`` does, top-down: crop → backend → driver → animator → paste-back →
writer. One module per stage; the networks never learn about crops."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from tqdm import tqdm

from ..errors import InputError
from ..media.images import read_image
from .animator import Animator
from .audio import video_with_audio
from .driver import counted, open_driver
from .panels import SideBySide
from .photo import DEFAULT_CROP_SCALE, DEFAULT_MAX_SIZE, PasteBack, prepare_source

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CropOptions:
    """The real-photo workflow around the networks (``fomm animate``'s crop flags)."""

    source: str = "auto"  # --crop
    driving: str = "auto"  # --driving-crop
    scale: float = DEFAULT_CROP_SCALE  # --crop-scale
    detect_every: int = 5  # --detect-every
    paste_back: bool | None = None  # --paste-back (None: when the crop is not the picture)
    max_size: int = DEFAULT_MAX_SIZE  # --max-size


@dataclass(frozen=True)
class Animation:
    output: str
    frames: int
    fps: float


def animate_file(
    source: str | os.PathLike,
    driving: str | os.PathLike,
    output: str | os.PathLike,
    backend: Callable[[], object],
    motion: dict | None = None,
    crop: CropOptions = CropOptions(),  # noqa: B008 - frozen
    find_best_frame: bool = False,
    side_by_side: bool = False,
    audio: bool = True,
    progress: bool = True,
) -> Animation:
    """Animate the picture ``source`` with the video ``driving`` into ``output``.

    ``backend`` makes the backend (:class:`~.keras_backend.KerasBackend` or
    :class:`~.tflite_backend.TFLiteAnimator`); it is called after the source crop, so a
    picture without a face is a quick error. ``motion``: overrides of the backend's
    :class:`~.motion.MotionOptions` (``relative``, ``adapt_movement_scale``,
    ``relative_jacobian``; ``None`` keeps its value).
    """
    picture = read_image(source)
    prepared = prepare_source(picture, crop.source, crop.scale, crop.max_size, name=str(source))
    net = backend()
    size = net.image_size
    if size[0] != size[1]:
        raise InputError(f"source crops need a square model, this one is {size[1]}x{size[0]}")
    source01 = prepared.model_input(picture, size[0])
    del picture
    paste = crop.paste_back if crop.paste_back is not None else not prepared.crop_is_whole_picture
    paster = PasteBack(prepared.canvas, prepared.crop) if paste else None
    log.info("source crop: %s %s, paste-back %s", prepared.mode, prepared.crop, paste)
    reader = open_driver(
        driving, size[0], crop.driving, crop.scale, crop.detect_every, progress=progress
    )
    options = net.motion_options().override(**(motion or {}))
    log.info("motion options: %s", options)
    animator = Animator(net, options)
    initial, kp_all = 0, None
    if find_best_frame:
        with tqdm(
            total=reader.num_frames, desc="keypoints", unit="frame", disable=not progress
        ) as bar:
            kp_all = animator.driving_keypoints(counted(reader, bar))
        initial = animator.best_initial_frame(source01, kp_all)
        log.info("best initial frame: %d", initial)
    panels = SideBySide(prepared.canvas if paste else source01, paste) if side_by_side else None
    frames = panels.remember(reader) if panels else reader
    written = 0
    with (
        video_with_audio(output, reader.fps, driving if audio else None) as writer,
        tqdm(total=reader.num_frames, desc="animate", unit="frame", disable=not progress) as bar,
    ):
        for out in animator.animate(source01, frames, initial_frame=initial, kp_all=kp_all):
            out = paster.batch(out) if paster else out
            writer.write(panels.compose(out) if panels else out)
            written += len(out)
            bar.update(len(out))
        if written == 0:
            raise InputError(f"{driving}: no frames could be decoded")
    return Animation(str(output), written, reader.fps)
