"""The driver's face, cropped: one stable square per shot, cut from every frame at model size.

Two passes over the driving video, both decoded by :class:`fomm_tf.media.video_reader.VideoReader` with
the same constant-rate resampling, so frame *i* is the same picture in both:

1. *plan*: frames scaled inside ffmpeg to a long side of at most ``analysis_side`` pixels go
   through :func:`fomm_tf.animation.faces.track_faces` (cuts, a detection every few frames, one box per
   shot), and each shot gets its square crop (:func:`fomm_tf.animation.photo.face_crop`, the same rule
   as the source's);
2. *stream*: frames scaled to a long side of at most ``work_side`` pixels are cut to their
   shot's square and resized to the model size, one at a time.

Modes: ``face`` (every shot takes a face crop; a shot without a face borrows the nearest
shot's, a video without any face is an ``InputError``), ``auto`` (a shot without a face takes
the centre crop), ``none`` (the whole frame, padded to a square). The centre crop needs no
plan: :class:`VideoReader` with ``size`` does it inside ffmpeg.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..media.video_reader import VideoReader
from .crop_rules import TRACKING
from .faces import FaceDetector, Shot, too_small, track_faces
from .photo import DEFAULT_CROP_SCALE, Crop, center_crop, face_crop, whole_crop

__all__ = ["DRIVING_CROP_MODES", "CroppedVideo", "plan_crops"]

log = logging.getLogger(__name__)

DRIVING_CROP_MODES = ("auto", "face", "center", "none")


def plan_crops(
    path: str | os.PathLike,
    mode: str = "auto",
    scale: float = DEFAULT_CROP_SCALE,
    every: int = TRACKING["every"],
    analysis_side: int = TRACKING["analysis_side"],
    work_size: tuple[int, int] | None = None,
    detector: FaceDetector | None = None,
    progress: Callable[[Iterable[np.ndarray]], Iterable[np.ndarray]] = lambda it: it,
) -> list[tuple[Shot, Crop]]:
    """Shots of the driver and the square crop of each, in ``work_size`` pixels ``(h, w)``."""
    if mode not in ("auto", "face", "none"):
        raise InputError(f"driving crop must be auto, face or none here, got {mode!r}")
    with VideoReader(path, max_side=analysis_side) as reader:
        ah, aw = reader.frame_size
        wh, ww = work_size or reader.frame_size
        if mode == "none":
            return [(Shot(0, 2**62, None), whole_crop(wh, ww))]
        small = too_small(str(path), ah, aw)
        if small and mode == "face":
            raise InputError(f"{small}; try --driving-crop center")
        if small:  # auto: the centre crop, as when no face is found
            log.warning("%s, using the centre crop", small)
            return [(Shot(0, 2**62, None), center_crop(wh, ww))]
        shots = track_faces(progress(reader), detector or FaceDetector(), every=every)
    factor = ww / aw
    faces = [s for s in shots if s.box is not None]
    if not faces and mode == "face":
        raise InputError(f"{path}: no face found in the driving video (try --driving-crop center)")
    plan = []
    for shot in shots:
        if shot.box is None and mode == "face":
            nearest = min(
                faces, key=lambda s: min(abs(s.start - shot.stop), abs(shot.start - s.stop))
            )
            box = nearest.box
        else:
            box = shot.box
        if box is None:
            log.warning("%s: no face in frames %d-%d, centre crop", path, shot.start, shot.stop - 1)
            crop = center_crop(wh, ww)
        else:
            crop = face_crop(box.shifted(0, 0, factor), wh, ww, scale)
        plan.append((shot, crop))
    log.info("%s: %d shot(s): %s", path, len(plan), [(s.start, s.stop, c) for s, c in plan])
    return plan


class CroppedVideo:
    """Driving frames cut to their shot's face square, ``(size, size, 3)`` float32.

    Iterable any number of times (each pass decodes again), like :class:`VideoReader`, whose
    ``fps`` and ``num_frames`` it shares.

    Args:
        path: the driving video.
        size: the model resolution.
        mode: ``auto``, ``face`` or ``none`` (see the module docstring).
        scale: crop side over face box side.
        every: detect on every n-th frame of a shot.
        work_side: frames are cut from the video scaled to this long side (at most).
        progress: wraps the planning pass's frames (a progress bar).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        size: int,
        mode: str = "auto",
        scale: float = DEFAULT_CROP_SCALE,
        every: int = TRACKING["every"],
        work_side: int = TRACKING["work_side"],
        detector: FaceDetector | None = None,
        progress: Callable[[Iterable[np.ndarray]], Iterable[np.ndarray]] = lambda it: it,
    ):
        self.path = Path(path)
        self.size = int(size)
        self._reader = VideoReader(path, max_side=work_side)
        self.fps = self._reader.fps
        self.plan = plan_crops(
            path,
            mode,
            scale,
            every,
            work_size=self._reader.frame_size,
            detector=detector,
            progress=progress,
        )

    @property
    def num_frames(self) -> int | None:
        return self._reader.num_frames

    def __iter__(self) -> Iterator[np.ndarray]:
        k = 0
        for i, frame in enumerate(self._reader):
            while k + 1 < len(self.plan) and i >= self.plan[k][0].stop:
                k += 1
            yield self.plan[k][1].extract(frame, self.size)

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> CroppedVideo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_driver(
    path: str | os.PathLike,
    size: int,
    mode: str = "auto",
    scale: float = DEFAULT_CROP_SCALE,
    every: int = TRACKING["every"],
    progress: bool = True,
) -> VideoReader | CroppedVideo:
    """The driving frames at the model size, cropped as ``mode`` says (``center``: the
    reader's own centre square; ``auto``, ``face``, ``none``: :class:`CroppedVideo`)."""
    if mode == "center":
        return VideoReader(path, size=size)
    from tqdm import tqdm

    with tqdm(desc="find driver's face", unit="frame", disable=not progress) as bar:
        return CroppedVideo(
            path, size, mode=mode, scale=scale, every=every, progress=lambda f: counted(f, bar)
        )


def counted(frames: Iterable[np.ndarray], bar) -> Iterator[np.ndarray]:
    """``frames``, advancing the progress ``bar`` by one for each."""
    for f in frames:
        bar.update(1)
        yield f
