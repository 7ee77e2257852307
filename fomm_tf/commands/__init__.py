"""The ``fomm`` sub-commands: one module each, listed once in :data:`COMMANDS`.

A command module parses its flags and calls one library function; it is the only layer (with
:mod:`fomm_tf.cli`) that prints or ends the process. Library code raises typed errors
(:mod:`fomm_tf.errors`) that the CLI turns into one line and exit code 2.
"""

from __future__ import annotations

from typing import NamedTuple


class Command(NamedTuple):
    module: str  # under fomm_tf.commands
    add_arguments: str  # function(parser) that declares the flags
    run: str  # function(args) -> exit code
    help: str


COMMANDS: dict[str, Command] = {
    "demo": Command(
        "demo",
        "add_demo_arguments",
        "run_demo",
        "animate a held-out synthetic face with the bundled default model: "
        "OUT/demo.mp4 and OUT/demo.gif, scored against the ground truth",
    ),
    "animate": Command(
        "animate",
        "add_animate_arguments",
        "run_animate",
        "animate a source image with the motion of a driving video",
    ),
    "crop-video": Command(
        "crop_video",
        "add_crop_video_arguments",
        "run_crop_video",
        "crop a video to the tracked face (one square per shot), e.g. to prepare training data",
    ),
    "convert": Command(
        "convert",
        "add_convert_arguments",
        "run_convert",
        "convert an official PyTorch checkpoint to a fomm-tf .weights.h5",
    ),
    "train": Command(
        "train",
        "add_train_arguments",
        "run_train",
        "train the networks on a video dataset (tf.distribute)",
    ),
    "evaluate": Command(
        "evaluate",
        "add_evaluate_arguments",
        "run_evaluate",
        "the paper's evaluation (sec. 4.1): L1, AKD, MKR, AED of the reconstruction",
    ),
    "make-dataset": Command(
        "make_dataset",
        "add_make_dataset_arguments",
        "run_make_dataset",
        "write a synthetic dataset with ground-truth landmarks (or real-face photo clips)",
    ),
    "export": Command(
        "export",
        "add_export_arguments",
        "run_export",
        "export TFLite graphs (fp32, fp16, dynamic, int8) and their contract",
    ),
    "bench": Command(
        "bench",
        "add_bench_arguments",
        "run_bench",
        "time one animated frame with the Keras or TFLite backend",
    ),
}
