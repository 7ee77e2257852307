"""``fomm make-dataset``: a synthetic dataset with per-frame ground truth, or photo clips."""

from __future__ import annotations

import argparse
import sys

from ..data.annotated import ANNOTATED_KINDS


def add_make_dataset_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "source",
        choices=("synthetic", "photo"),
        help="what to make: 'synthetic' renders videos whose landmarks, visibility and "
        "identity are known; 'photo' moves the real face photo bundled with scikit-image "
        "(astronaut) with smooth random zoom, rotation, pan and nods (a real-face clip, no "
        "sidecars)",
    )
    p.add_argument("--out", required=True, help="dataset root to create (gets train/ and test/)")
    p.add_argument(
        "--train-videos", type=int, required=True, help="number of training videos (>= 0)"
    )
    p.add_argument("--test-videos", type=int, required=True, help="number of test videos (>= 1)")
    p.add_argument("--frames", type=int, required=True, help="frames per video (>= 1)")
    p.add_argument("--size", type=int, default=128, help="frame side in pixels (default 128)")
    p.add_argument(
        "--kind",
        choices=ANNOTATED_KINDS,
        default="face",
        help="synthetic: face, a turning, blinking, talking head (20 landmarks); body, an "
        "articulated figure (14 joints). Default face",
    )
    p.add_argument(
        "--seed",
        type=int,
        required=True,
        help="dataset seed: the same arguments always give byte-identical files",
    )
    p.add_argument(
        "--layout",
        choices=("mp4", "frames"),
        default="mp4",
        help="mp4: one H.264 file per video (default); frames: a folder of PNGs per video",
    )
    p.add_argument(
        "--clips-per-identity",
        type=int,
        default=2,
        help="consecutive videos that show the same identity (default 2)",
    )
    p.add_argument(
        "--photo-clips",
        type=int,
        default=0,
        help="synthetic: also put this many clips of every real photo bundled with "
        "scikit-image (astronaut, chelsea, coffee, camera, rocket, moon … 18 photos) into "
        "train/, each moved by smooth random zoom, rotation, pan and nods, one identity per "
        "photo (default 0: none)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace OUT if it exists and is not empty (it is swapped in only when complete)",
    )


def run_make_dataset(args) -> int:
    if args.source == "photo" and args.photo_clips:
        from ..errors import InputError

        raise InputError("--photo-clips adds photo clips to a synthetic dataset (source synthetic)")
    if args.source == "photo":
        from ..data.photo_clips import write_photo_dataset

        root = write_photo_dataset(
            args.out,
            num_train=args.train_videos,
            num_test=args.test_videos,
            num_frames=args.frames,
            size=args.size,
            seed=args.seed,
            overwrite=args.overwrite,
            layout=args.layout,
        )
        print(f"wrote {root}: photo clips of the astronaut's face", file=sys.stderr)
        return 0
    from ..data.annotated import write_annotated_dataset

    root = write_annotated_dataset(
        args.out,
        num_train=args.train_videos,
        num_test=args.test_videos,
        num_frames=args.frames,
        size=args.size,
        kind=args.kind,
        seed=args.seed,
        overwrite=args.overwrite,
        layout=args.layout,
        clips_per_identity=args.clips_per_identity,
        photo_clips=args.photo_clips,
    )
    photos = ""
    if args.photo_clips:
        from ..data.photo_clips import BUNDLED_PHOTOS

        photos = f" (and {args.photo_clips * len(BUNDLED_PHOTOS)} photo clips in train/)"
    print(
        f"wrote {root}: {args.train_videos} train and {args.test_videos} test {args.kind} "
        f"videos of {args.frames} frames at {args.size}x{args.size}, with landmark "
        f"sidecars{photos}",
        file=sys.stderr,
    )
    return 0
