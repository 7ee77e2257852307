"""``fomm animate``: flags → :func:`fomm_tf.animation.pipeline.animate_file`."""

from __future__ import annotations

import argparse
import logging
import sys

from ..animation.photo import CROP_MODES, DEFAULT_MAX_SIZE
from ..errors import InputError
from ..nets.layers.precision import add_precision_argument, check_precision
from .options import add_face_tracking_arguments, add_model_arguments, resolve_model

log = logging.getLogger("fomm")


def add_animate_arguments(p: argparse.ArgumentParser) -> None:
    add_model_arguments(p)
    add_precision_argument(p, extra="keras backend: ")
    p.add_argument(
        "--random-weights",
        action="store_true",
        help="animate with randomly initialised networks (for trying the pipeline; "
        "the output is meaningless); needed when --checkpoint is not given",
    )
    p.add_argument(
        "--source",
        required=True,
        help="source image (png/jpg/...; any size, grayscale or RGBA): a square around the "
        "face (see --crop) is cut and resized to the model resolution",
    )
    p.add_argument(
        "--driving",
        required=True,
        help="driving video: .mp4/.avi/.mov/.mkv/.webm, .gif, a folder of frames, or "
        "a .png strip of square frames; frames are fitted like the source",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="output video (.mp4 or .gif), written at the driving video's fps; it "
        "appears only once complete",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--relative",
        dest="relative",
        action="store_true",
        default=None,
        help="transfer the driving motion relative to its first (or best) frame, "
        "paper eq. 14-15 (default: the config's animate_params, relative in every "
        "shipped config; the tflite backend: the export contract's motion options)",
    )
    mode.add_argument(
        "--absolute",
        dest="relative",
        action="store_false",
        help="use the driving keypoints as they are (the source takes the driver's shape)",
    )
    p.add_argument(
        "--adapt-scale",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="relative mode: scale the motion by sqrt of the ratio of the keypoints' "
        "convex hull areas, source over driving; a degenerate hull falls back to the ratio "
        "of keypoint spreads, then to 1 (default: the config's / contract's "
        "adapt_movement_scale, on in every shipped config)",
    )
    p.add_argument(
        "--relative-jacobian",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="relative mode: also transfer the Jacobians, J_d * inv(J_d0) * J_s (default: "
        "the config's / contract's use_relative_jacobian, on in every shipped config)",
    )
    p.add_argument(
        "--find-best-frame",
        action="store_true",
        help="relative mode: measure motion from the driving frame whose keypoint "
        "layout is closest to the source's instead of frame 0 (reads the "
        "driving video twice)",
    )
    _add_photo_arguments(p)
    p.add_argument(
        "--batch-size", type=int, default=8, help="driving frames per network call (default 8)"
    )
    p.add_argument(
        "--side-by-side", action="store_true", help="write source | driving | result side by side"
    )
    p.add_argument(
        "--backend",
        choices=("keras", "tflite"),
        default="keras",
        help="run the Keras networks (default) or exported TFLite graphs",
    )
    p.add_argument(
        "--model-dir",
        help="tflite backend: folder written by `fomm export` (model_contract.json "
        "and the .tflite graphs)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="tflite backend: interpreter threads (default: all cores)",
    )
    p.add_argument(
        "--jit", action="store_true", help="keras backend: compile the networks with XLA"
    )


def _add_photo_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--crop",
        choices=CROP_MODES,
        default="auto",
        help="what of the source the model sees: face = a square around the detected face "
        "(MediaPipe's detector, offline; no face is an error), center = the largest centred "
        "square, none = the whole picture padded to a square, auto = face when one is found, "
        "else center (default)",
    )
    p.add_argument(
        "--paste-back",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="blend the animated crop back into the full picture with a feathered edge, so "
        "the output has the photo's resolution (up to --max-size); default: on when the crop "
        "is not the whole picture, else the output is the model-resolution animation",
    )
    p.add_argument(
        "--max-size",
        type=int,
        default=DEFAULT_MAX_SIZE,
        help="paste-back: the output's longest side in pixels; larger photos are scaled down "
        f"to it (default {DEFAULT_MAX_SIZE})",
    )
    p.add_argument(
        "--driving-crop",
        choices=("auto", "face", "center", "none"),
        default="auto",
        help="what of each driving frame the model sees: face = the driver's face, tracked "
        "(detector every --detect-every frames, one stable square per shot, re-detected after "
        "a cut; no face at all is an error), center = the centre square, none = the whole "
        "frame padded to a square, auto = face where one is found, else center (default)",
    )
    add_face_tracking_arguments(p)  # --crop-scale, --detect-every, --audio


def run_animate(args: argparse.Namespace) -> int:
    from ..animation.pipeline import CropOptions, animate_file

    if args.batch_size < 1:
        raise InputError(f"--batch-size must be >= 1 (got {args.batch_size})")
    if args.backend == "tflite" and not args.model_dir:
        raise InputError("--backend tflite needs --model-dir (a folder from `fomm export`)")
    if args.backend == "keras":  # before the source is read: a quick error
        check_precision(args.precision)
    crop = CropOptions(
        source=args.crop,
        driving=args.driving_crop,
        scale=args.crop_scale,
        detect_every=args.detect_every,
        paste_back=args.paste_back,
        max_size=args.max_size,
    )
    motion = {
        "relative": args.relative,
        "adapt_movement_scale": args.adapt_scale,
        "relative_jacobian": args.relative_jacobian,
    }
    result = animate_file(
        args.source,
        args.driving,
        args.output,
        lambda: _backend(args),
        motion=motion,
        crop=crop,
        find_best_frame=args.find_best_frame,
        side_by_side=args.side_by_side,
        audio=args.audio,
    )
    print(f"wrote {result.output}: {result.frames} frames at {result.fps:g} fps", file=sys.stderr)
    return 0


def _backend(args: argparse.Namespace):
    """The backend ``--backend`` names (made after the source crop: a missing face first)."""
    if args.backend == "tflite":
        from ..animation.tflite_backend import TFLiteAnimator

        return TFLiteAnimator(args.model_dir, num_threads=args.threads, batch_size=args.batch_size)
    from ..animation.keras_backend import KerasBackend

    config, checkpoint = resolve_model(args.config, args.checkpoint, args.random_weights)
    if checkpoint is None:
        log.warning("using randomly initialised networks: the animation is meaningless")
    return KerasBackend.load(
        config,
        checkpoint,
        align_corners=args.align_corners,
        precision=args.precision,
        batch_size=args.batch_size,
        jit_compile=args.jit,
    )
