"""``fomm crop-video``: a video cut to the tracked face, one square per shot."""

from __future__ import annotations

import argparse
import sys

from .options import add_face_tracking_arguments


def add_crop_video_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="video to crop (any file ffmpeg reads, a GIF or a frame folder)")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="cropped video (.mp4, .mkv, .mov, .avi or .gif) at the input's fps; it appears "
        "only once complete",
    )
    p.add_argument(
        "--size", type=int, default=256, help="side of the square output frames (default 256)"
    )
    p.add_argument(
        "--crop",
        choices=("auto", "face", "none"),
        default="face",
        help="face = the tracked face, one square per shot (default; no face is an error), "
        "auto = face where one is found, else the centre square, none = the whole frame "
        "padded to a square",
    )
    add_face_tracking_arguments(p)  # --crop-scale, --detect-every, --audio


def run_crop_video(args) -> int:
    from tqdm import tqdm

    from ..animation.audio import video_with_audio
    from ..animation.driver import CroppedVideo, counted
    from ..errors import InputError

    if args.size < 16:
        raise InputError(f"--size must be at least 16 pixels, got {args.size}")
    with tqdm(desc="find the face", unit="frame") as bar:
        video = CroppedVideo(
            args.input,
            args.size,
            mode=args.crop,
            scale=args.crop_scale,
            every=args.detect_every,
            progress=lambda frames: counted(frames, bar),
        )
    written = 0
    with (
        video,
        video_with_audio(args.output, video.fps, args.input if args.audio else None) as writer,
        tqdm(total=video.num_frames, desc="crop", unit="frame") as bar,
    ):
        for frame in video:
            writer.write(frame)
            written += 1
            bar.update(1)
    print(
        f"wrote {args.output}: {written} frames of {args.size}x{args.size} at {video.fps:g} fps, "
        f"{len(video.plan)} shot(s)",
        file=sys.stderr,
    )
    return 0
