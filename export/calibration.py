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
    from fomm_tf.media import fit_frame

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
    from fomm_tf.media import VideoReader

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


def calibration_clips(
    path: str | os.PathLike | None, size: tuple[int, int], num_frames: int = DEFAULT_FRAMES
) -> tuple[list[np.ndarray], str]:
    """The clips to calibrate and validate on, and a description for the contract."""
    if path is None:
        return synthetic_clips(size, num_frames), f"synthetic:face seeds 0,1 ({num_frames} frames)"
    clip = video_clip(path, size, num_frames)
    return [clip], f"{os.fspath(path)} ({len(clip)} frames)"
