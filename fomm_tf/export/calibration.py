"""Frames for int8 calibration and export validation: a given video/folder, or synthetic clips.

Never random noise: noise has none of the statistics of faces, so activation ranges
calibrated on it clip real frames. Frames come as *clips* — each clip's first frame is the
source, the rest drive it — so validation exercises real motion.
"""

from __future__ import annotations

import os

import numpy as np

from fomm_tf.errors import InputError

DEFAULT_FRAMES = 16


def synthetic_clips(
    size: tuple[int, int], num_frames: int = DEFAULT_FRAMES, seeds: tuple[int, ...] = (0, 1)
) -> list[np.ndarray]:
    """Synthetic talking-head clips from :mod:`fomm_tf.data.synthetic`, ``num_frames`` in all."""
    from fomm_tf.data.synthetic import render_video
    from fomm_tf.media.images import fit_frame

    h, w = size
    per_clip = max(2, num_frames // len(seeds))
    clips = []
    for seed in seeds:
        video = render_video(per_clip, max(h, w, 16), seed=seed, kind="face")
        if video.shape[1:3] != (h, w):
            video = np.stack([fit_frame(f, (h, w)) for f in video])
        clips.append(video.astype(np.float32))
    return clips


def video_clip(
    path: str | os.PathLike, size: tuple[int, int], num_frames: int = DEFAULT_FRAMES
) -> np.ndarray:
    """Up to ``num_frames`` frames spread over the first ``4·num_frames`` of a video or folder."""
    from fomm_tf.media.video_reader import VideoReader

    frames = []
    with VideoReader(path, size=size) as reader:
        for frame in reader:
            frames.append(frame)
            if len(frames) >= 4 * num_frames:
                break
    if len(frames) < 2:
        raise InputError(f"{path}: calibration needs at least 2 frames, found {len(frames)}")
    pick = np.unique(np.linspace(0, len(frames) - 1, num_frames).round().astype(int))
    return np.stack([frames[i] for i in pick]).astype(np.float32)


def _named(path: str | os.PathLike) -> str:
    """A calibration video or folder as the contract names it: base name and SHA-256."""
    from .contract import describe_input

    described = describe_input(path)
    return f"{described['name']} (sha256 {described['sha256']})"


#: Synthetic identities: int8 calibration sees the first, validation only the second.
CALIBRATION_SEEDS = (0, 1)
VALIDATION_SEEDS = (2, 3)


def calibration_clips(
    path: str | os.PathLike | None, size: tuple[int, int], num_frames: int = DEFAULT_FRAMES
) -> tuple[list[np.ndarray], list[np.ndarray], str]:
    """Calibration clips, held-out validation clips, and a description for the contract.

    The accuracy figures the contract records are measured on clips int8 calibration never
    saw: synthetic identities of other seeds, or, for a given video, its second half (the
    first half calibrates).
    """
    if path is None:
        calib = synthetic_clips(size, num_frames, CALIBRATION_SEEDS)
        held_out = synthetic_clips(size, num_frames, VALIDATION_SEEDS)
        seeds = ",".join(map(str, CALIBRATION_SEEDS)), ",".join(map(str, VALIDATION_SEEDS))
        return (
            calib,
            held_out,
            (
                f"synthetic:face; calibration seeds {seeds[0]}, validation seeds {seeds[1]} "
                f"({num_frames} frames each)"
            ),
        )
    clip = video_clip(path, size, 2 * num_frames)
    if len(clip) < 4:
        raise InputError(
            f"{path}: calibration and held-out validation need at least 4 frames, found {len(clip)}"
        )
    half = len(clip) // 2
    calib, held_out = clip[:half], clip[half:]
    return (
        [calib],
        [held_out],
        (
            f"{_named(path)}: calibration frames 1-{half}, validation frames "
            f"{half + 1}-{len(clip)} of {len(clip)} spread over the video"
        ),
    )
