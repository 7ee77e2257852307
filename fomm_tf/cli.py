"""The ``fomm`` command: animate, convert, train, export, bench.

Exit codes: 0 success, 2 bad input (one line on stderr), 1 internal error. ``--debug`` shows
tracebacks and TensorFlow's own log lines, which are otherwise silenced.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable

from .demo import add_demo_arguments, run_demo
from .native_log import filter_native_stderr

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

log = logging.getLogger("fomm")

# Sub-commands defined in their own modules: name → (module, add-arguments fn, run fn, help).
_MODULES = {
    "train": (
        "fomm_tf.training",
        "add_train_arguments",
        "run_train",
        "train the networks on a video dataset (tf.distribute)",
    ),
    "evaluate": (
        "fomm_tf.evaluate",
        "add_evaluate_arguments",
        "run_evaluate",
        "the paper's evaluation (sec. 4.1): L1, AKD, MKR, AED of the reconstruction",
    ),
    "make-dataset": (
        "fomm_tf.data.make_dataset",
        "add_make_dataset_arguments",
        "run_make_dataset",
        "write a synthetic dataset with ground-truth landmarks (or real-face photo clips)",
    ),
    "export": (
        "fomm_tf.commands.export",
        "add_export_arguments",
        "run_export",
        "export TFLite graphs (fp32, fp16, dynamic, int8) and their contract",
    ),
    "bench": (
        "fomm_tf.commands.export",
        "add_bench_arguments",
        "run_bench",
        "time one animated frame with the Keras or TFLite backend",
    ),
}


def _add_model_arguments(p: argparse.ArgumentParser, checkpoint_required: bool = False) -> None:
    p.add_argument(
        "--config",
        default=None,
        help="model config: a shipped name (vox-256, taichi-256, bair-256, mgif-256, "
        "nemo-256, tiny-64, ...) or the path of an official-format YAML file; omit it "
        "and --checkpoint for the bundled default model (face-128, see its MODEL_CARD.md)",
    )
    p.add_argument(
        "--checkpoint",
        required=checkpoint_required,
        help="weights: an official PyTorch .pth.tar checkpoint (zip or legacy "
        "format, read without torch) or a fomm-tf .weights.h5 file",
    )
    p.add_argument(
        "--align-corners",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="grid_sample convention: --no-align-corners is today's official code "
        "(default unless the config's fomm_tf.align_corners says otherwise); "
        "--align-corners reproduces torch <= 1.2, which trained the published "
        "checkpoints",
    )


def add_animate_arguments(p: argparse.ArgumentParser) -> None:
    from .nets.layers.precision import add_precision_argument

    _add_model_arguments(p)
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
    from .animation.photo import CROP_MODES, DEFAULT_CROP_SCALE, DEFAULT_MAX_SIZE

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
        "--crop-scale",
        type=float,
        default=DEFAULT_CROP_SCALE,
        help="face crop side as a multiple of the detected face box's side (default "
        f"{DEFAULT_CROP_SCALE}: whole head and the top of the shoulders, as the VoxCeleb "
        "frames the official face models were trained on)",
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
    p.add_argument(
        "--detect-every",
        type=int,
        default=5,
        help="driving face crop: run the face detector on every n-th frame of a shot (default 5)",
    )
    p.add_argument(
        "--audio",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep the driving video's sound, cut to the animation's length (default: keep; "
        "a driver without sound gives a silent video; a GIF output has no sound)",
    )


def _make_backend(args):
    from .errors import InputError

    if args.batch_size < 1:
        raise InputError(f"--batch-size must be >= 1 (got {args.batch_size})")
    if args.backend == "tflite":
        if not args.model_dir:
            raise InputError("--backend tflite needs --model-dir (a folder from `fomm export`)")
        from fomm_tf.animation.tflite_backend import TFLiteBackend

        return TFLiteBackend(args.model_dir, num_threads=args.threads, batch_size=args.batch_size)
    from .animation.animator import KerasBackend
    from .bundled import resolve_model
    from .nets.layers.precision import check_precision
    from .nets.models import load_models

    check_precision(args.precision)
    config, checkpoint = resolve_model(args.config, args.checkpoint, args.random_weights)
    models = load_models(
        checkpoint, config, align_corners=args.align_corners, precision=args.precision
    )
    if checkpoint is None:
        log.warning("using randomly initialised networks: the animation is meaningless")
    return KerasBackend(models, batch_size=args.batch_size, jit_compile=args.jit)


def run_animate(args) -> int:
    import cv2
    import numpy as np
    from tqdm import tqdm

    from .animation.animator import Animator
    from .animation.audio import video_with_audio
    from .animation.photo import PasteBack, prepare_source
    from .errors import InputError
    from .media.images import read_image, to_uint8

    picture = read_image(args.source)
    prepared = prepare_source(  # before the networks load: no face is a quick error
        picture,
        mode=args.crop,
        scale=args.crop_scale,
        max_size=args.max_size,
        name=args.source,
    )
    backend = _make_backend(args)
    size = backend.image_size
    if size[0] != size[1]:
        raise InputError(f"source crops need a square model, this one is {size[1]}x{size[0]}")
    source = prepared.model_input(picture, size[0])
    del picture
    paste = args.paste_back if args.paste_back is not None else not prepared.crop_is_whole_picture
    paster = PasteBack(prepared.canvas, prepared.crop) if paste else None
    log.info("source crop: %s %s, paste-back %s", prepared.mode, prepared.crop, bool(paster))
    reader = _open_driver(args, size[0])
    options = backend.motion_options().override(
        relative=args.relative,
        adapt_movement_scale=args.adapt_scale,
        relative_jacobian=args.relative_jacobian,
    )
    log.info("motion options: %s", options)
    animator = Animator(backend, options)
    initial, kp_all = 0, None
    if args.find_best_frame:
        with tqdm(total=reader.num_frames, desc="keypoints", unit="frame") as bar:
            kp_all = animator.driving_keypoints(_tick(reader, bar))
        initial = animator.best_initial_frame(source, kp_all)
        log.info("best initial frame: %d", initial)
    written = 0
    with (
        video_with_audio(args.output, reader.fps, args.driving if args.audio else None) as writer,
        tqdm(total=reader.num_frames, desc="animate", unit="frame") as bar,
    ):
        driving_frames: list = []

        def remember(frames):
            for f in frames:
                if args.side_by_side:
                    driving_frames.append(f)
                yield f

        for out in animator.animate(source, remember(reader), initial_frame=initial, kp_all=kp_all):
            if paster is not None:
                out = paster.batch(out)
            if args.side_by_side:
                drv = np.stack(driving_frames[: len(out)])
                del driving_frames[: len(out)]
                src = source
                if paster is not None:
                    side = out.shape[1]
                    drv = np.stack([cv2.resize(to_uint8(f), (side, side)) for f in drv])
                    src = prepared.canvas
                else:
                    drv = to_uint8(drv)
                src = np.broadcast_to(to_uint8(src), (len(out), *src.shape))
                out = np.concatenate([src, drv, to_uint8(out)], axis=2)
            writer.write(out)
            written += len(out)
            bar.update(len(out))
        if written == 0:
            raise InputError(f"{args.driving}: no frames could be decoded")
    print(f"wrote {args.output}: {written} frames at {reader.fps:g} fps", file=sys.stderr)
    return 0


def _open_driver(args, size: int):
    """The driving frames at the model size, cropped as ``--driving-crop`` says."""
    from tqdm import tqdm

    from .media.video_reader import VideoReader

    if args.driving_crop == "center":
        return VideoReader(args.driving, size=size)
    from .animation.driver import CroppedVideo

    with tqdm(desc="find driver's face", unit="frame") as bar:
        return CroppedVideo(
            args.driving,
            size,
            mode=args.driving_crop,
            scale=args.crop_scale,
            every=args.detect_every,
            progress=lambda frames: _tick(frames, bar),
        )


def _tick(frames, bar):
    for f in frames:
        bar.update(1)
        yield f


def add_convert_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="official PyTorch checkpoint (.pth.tar, zip or legacy)")
    p.add_argument(
        "--config",
        required=True,
        help="the config the checkpoint was trained with (shipped name or YAML path)",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="output .weights.h5 (both networks); the config is written beside it as <name>.yaml",
    )


def run_convert(args) -> int:
    from .config import load_config
    from .media.images import atomic_path
    from .nets.models import load_official, save_weights

    cfg = load_config(args.config)
    models = load_official(args.checkpoint, cfg)
    out = save_weights(models, args.output)
    yaml_path = out.with_name(out.name[: -len(".weights.h5")] + ".yaml")
    with atomic_path(yaml_path) as tmp:
        tmp.write_text(models.config.to_yaml())
    print(f"wrote {out} and {yaml_path}", file=sys.stderr)
    return 0


def add_crop_video_arguments(p: argparse.ArgumentParser) -> None:
    from .animation.photo import DEFAULT_CROP_SCALE

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
    p.add_argument(
        "--crop-scale",
        type=float,
        default=DEFAULT_CROP_SCALE,
        help="crop side as a multiple of the face box's side (default "
        f"{DEFAULT_CROP_SCALE}, VoxCeleb-like framing)",
    )
    p.add_argument(
        "--detect-every",
        type=int,
        default=5,
        help="run the face detector on every n-th frame of a shot (default 5)",
    )
    p.add_argument(
        "--audio",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep the input's sound (default: keep)",
    )


def run_crop_video(args) -> int:
    from tqdm import tqdm

    from .animation.audio import video_with_audio
    from .animation.driver import CroppedVideo
    from .errors import InputError

    if args.size < 16:
        raise InputError(f"--size must be at least 16 pixels, got {args.size}")
    with tqdm(desc="find the face", unit="frame") as bar:
        video = CroppedVideo(
            args.input,
            args.size,
            mode=args.crop,
            scale=args.crop_scale,
            every=args.detect_every,
            progress=lambda frames: _tick(frames, bar),
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


_BUILTIN: dict[str, tuple[Callable, Callable, str]] = {
    "demo": (
        add_demo_arguments,
        run_demo,
        "animate a held-out synthetic face with the bundled default model: "
        "OUT/demo.mp4 and OUT/demo.gif, scored against the ground truth",
    ),
    "animate": (
        add_animate_arguments,
        run_animate,
        "animate a source image with the motion of a driving video",
    ),
    "crop-video": (
        add_crop_video_arguments,
        run_crop_video,
        "crop a video to the tracked face (one square per shot), e.g. to prepare training data",
    ),
    "convert": (
        add_convert_arguments,
        run_convert,
        "convert an official PyTorch checkpoint to a fomm-tf .weights.h5",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fomm", description="First Order Motion Model for image animation (TF/Keras)."
    )
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks and TensorFlow's log lines"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (add, run, help_text) in _BUILTIN.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add(p)
        p.set_defaults(_run=run)
    for name, (module, add_name, run_name, help_text) in _MODULES.items():
        mod = importlib.import_module(module)  # an import error is an error, never a lost command
        p = sub.add_parser(name, help=help_text, description=help_text)
        getattr(mod, add_name)(p)
        p.set_defaults(_run=getattr(mod, run_name))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    if not debug:
        # TensorFlow's C++ errors stay (level 2); its start-up chatter is filtered out.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        filter_native_stderr()
    from .errors import InputError

    parser = build_parser()
    args = parser.parse_args(argv)
    # Training reports its strategy, progress and losses in the log.
    verbose = args.verbose or args.command == "train"
    level = logging.DEBUG if args.debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    try:
        code = int(args._run(args) or 0)
        if args.command == "train":  # the input iterator is never destroyed: see run_train
            from .training import exit_now

            exit_now(code)
        return code
    except InputError as exc:
        if args.debug:
            raise
        print(f"fomm: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fomm: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place internal errors become exit 1
        if args.debug:
            raise
        print(
            f"fomm: internal error: {type(exc).__name__}: {exc} (rerun with --debug for the "
            "traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
