"""The paper's reconstruction protocol (sec. 4.1): first frame as source, every frame as driver.

For each test video the keypoints of frame 0 drive nothing but serve as the source keypoints;
every frame of the video is reconstructed from frame 0 and its own keypoints, and the mean
absolute error against the real frame is averaged over all frames of all videos (the
official ``reconstruction.py`` reports the same L1).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import tensorflow as tf

from .data.pipeline import read_video, scan_split
from .errors import InputError
from .models import Models

log = logging.getLogger(__name__)


def reconstruct_video(models: Models, video: np.ndarray, batch_size: int = 8) -> np.ndarray:
    """Reconstructions (T, H, W, 3) of a (T, H, W, 3) [0, 1] video from its first frame."""
    source = tf.constant(video[:1])
    kp_source = models.kp_detector(source, training=False)
    cache = models.generator.encode_source(source, training=False)
    out = []
    for start in range(0, len(video), batch_size):
        driving = tf.constant(video[start : start + batch_size])
        kp_driving = models.kp_detector(driving, training=False)
        pred = models.generator.animate_cached(
            source, cache, kp_source, kp_driving, training=False, with_deformed=False
        )
        out.append(pred["prediction"].numpy())
    return np.concatenate(out)


def reconstruction_l1(
    models: Models, root: str | Path, num_videos: int | None = None, max_frames: int | None = None
) -> dict[str, float]:
    """Mean L1 of the reconstruction protocol over the test split of ``root``.

    Args:
        models: the networks (used in inference mode).
        root: dataset root holding ``test/``.
        num_videos: evaluate at most this many videos (``reconstruction_params.num_videos``).
        max_frames: read at most this many frames per video.

    Returns:
        ``{"l1": mean over frames, "videos": count, "frames": count, "skipped": count}``.
    """
    index = scan_split(root, "test")
    size = models.config.image_size
    total, frames, videos, skipped = 0.0, 0, 0, 0
    for path in index.videos[: num_videos or None]:
        try:
            video = read_video(path, size=size, max_frames=max_frames)
        except (InputError, OSError, ValueError) as exc:
            skipped += 1
            log.warning("reconstruction: skipping unreadable %s: %s", path, exc)
            continue
        pred = reconstruct_video(models, video)
        total += float(np.abs(pred - video).mean(axis=(1, 2, 3)).sum())
        frames += len(video)
        videos += 1
    if not videos:
        raise InputError(f"{root}/test: no readable test videos for the reconstruction")
    return {"l1": total / frames, "videos": videos, "frames": frames, "skipped": skipped}


def add_evaluate_arguments(parser) -> None:
    """Flags of ``fomm evaluate``."""
    parser.add_argument("--config", required=True, help="shipped config name or YAML path")
    parser.add_argument(
        "--checkpoint", required=True, help="official .pth.tar or fomm-tf .weights.h5"
    )
    parser.add_argument(
        "--data", required=True, help="dataset root in the official layout (its test/ split)"
    )
    parser.add_argument(
        "--num-videos",
        type=int,
        default=None,
        help="evaluate at most this many test videos (default: the config's "
        "reconstruction_params.num_videos, else all)",
    )
    parser.add_argument(
        "--max-frames", type=int, default=None, help="read at most this many frames per video"
    )
    parser.add_argument(
        "--align-corners",
        action="store_true",
        default=None,
        help="grid_sample convention of torch <= 1.2 (the published checkpoints)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run_evaluate(args) -> int:
    """``fomm evaluate``: the reconstruction L1 of paper Table 3 on a test split."""
    import json
    import sys

    from .models import load_models

    models = load_models(args.checkpoint, args.config, align_corners=args.align_corners)
    num = args.num_videos
    if num is None:
        num = (models.config.raw.get("reconstruction_params") or {}).get("num_videos")
    result = reconstruction_l1(models, args.data, num_videos=num, max_frames=args.max_frames)
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"reconstruction L1 {result['l1']:.4f} over {result['frames']} frames of "
            f"{result['videos']} videos ({result['skipped']} unreadable skipped)",
            file=sys.stdout,
        )
    return 0
