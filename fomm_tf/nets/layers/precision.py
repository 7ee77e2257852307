"""Numeric precision: the float type of the sensitive parts, the compute precisions a run can
ask for, and whether this machine has the hardware for them.

``float_dtype()`` is the type of the numerically sensitive parts (coordinates, soft-argmax,
sampling, the 2×2 inverse and its guards, batch-norm statistics, losses). It is float32 —
also under ``mixed_bfloat16`` and ``mixed_float16``, where convolutions, their activations and
the generator's image path run in the half type — unless Keras's ``floatx`` is ``float64``:
then the whole computation runs in float64 (used to check training against the official code
below float32's noise, see :func:`fomm_tf.training.official_step`).

``--precision`` (train, animate, bench, evaluate) picks a Keras dtype policy:

* ``float32``: everything in float32;
* ``bfloat16``: Keras's ``mixed_bfloat16`` — float32 variables, bfloat16 compute, no loss
  scaling (bfloat16 has float32's exponent range). On CPUs it needs AVX512_BF16 or AMX-BF16
  (oneDNN's bfloat16 kernels); on GPUs compute capability 8.0 or newer;
* ``float16``: Keras's ``mixed_float16`` with dynamic loss scaling (``--mixed-precision``);
  a GPU, or a CPU with AVX512_FP16 or AMX-FP16.
"""

from __future__ import annotations

import contextlib
import platform
from pathlib import Path

import keras
import tensorflow as tf

from ...errors import InputError

#: ``--precision`` choices, in the order ``--help`` lists them.
PRECISIONS = ("float32", "bfloat16", "float16")
_POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}
#: CPU flags (``/proc/cpuinfo``) of each half type's native kernels, any one suffices.
CPU_FLAGS = {
    "bfloat16": ("avx512_bf16", "amx_bf16", "bf16"),  # x86 AVX-512/AMX; "bf16": Arm v8.6
    "float16": ("avx512_fp16", "amx_fp16", "fphp"),  # "fphp": Arm half-precision arithmetic
}
_CPU_NAMES = {
    "bfloat16": "AVX512_BF16 or AMX-BF16 (x86), BF16 (Arm)",
    "float16": "AVX512_FP16 or AMX-FP16 (x86), FP16 arithmetic (Arm)",
}
_GPU_CAPABILITY = {"bfloat16": (8, 0), "float16": (7, 0)}


def float_dtype() -> tf.DType:
    """``tf.float64`` when ``keras.config.floatx()`` is ``"float64"``, else ``tf.float32``."""
    return tf.float64 if keras.config.floatx() == "float64" else tf.float32


@contextlib.contextmanager
def dtype_policy(policy):
    """Keras's global dtype policy set to ``policy`` inside the block, restored after it."""
    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)


def island_dtype() -> str | None:
    """The dtype policy of a float32 island layer: the float type of :func:`float_dtype`
    when the global policy computes in a half type (``mixed_bfloat16``, ``mixed_float16``),
    else ``None`` (the global policy)."""
    if keras.config.dtype_policy().compute_dtype in ("bfloat16", "float16"):
        return float_dtype().name
    return None


def policy_name(precision: str | None) -> str:
    """The Keras dtype policy of a ``--precision`` value (``None``: the current policy)."""
    if precision is None:
        return keras.config.dtype_policy().name
    if precision not in _POLICIES:
        raise InputError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return _POLICIES[precision]


def precision_policy(precision: str | None):
    """A block whose new layers compute in ``precision`` (``None``: leave the policy alone)."""
    if precision is None:
        return contextlib.nullcontext()
    return dtype_policy(policy_name(precision))


def cpu_info(cpuinfo: str | Path = "/proc/cpuinfo") -> tuple[str, set[str]]:
    """``(model name, feature flags)`` of the CPU as Linux lists them (empty where unknown)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return platform.processor() or platform.machine(), set()
    name, flags = "", set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("flags", "features"):
            flags.update(value.split())
        elif key == "model name" and not name:
            name = value.strip()
    return name or platform.machine(), flags


def missing_hardware(precision: str, cpu=None, gpus=None) -> str | None:
    """What this machine lacks to run ``precision`` natively, or ``None`` when it has it.

    With a visible GPU the GPU decides (compute capability); else the CPU's flags.
    ``cpu`` (``(name, flags)`` as :func:`cpu_info`) and ``gpus`` (a list of
    ``(name, (major, minor))``) default to this machine's.
    """
    policy_name(precision)  # validates
    if precision == "float32":
        return None
    if gpus is None:
        gpus = []
        for device in tf.config.list_physical_devices("GPU"):
            details = tf.config.experimental.get_device_details(device)
            gpus.append(
                (details.get("device_name", device.name), details.get("compute_capability"))
            )
    if gpus:
        need = _GPU_CAPABILITY[precision]
        weak = [name for name, cc in gpus if cc is not None and tuple(cc) < need]
        if weak:
            return (
                f"--precision {precision} needs a GPU of compute capability "
                f"{need[0]}.{need[1]} or newer ({', '.join(weak)} is older)"
            )
        return None
    name, flags = cpu_info() if cpu is None else cpu
    if flags & set(CPU_FLAGS[precision]):
        return None
    return (
        f"--precision {precision} needs {_CPU_NAMES[precision]}, which this CPU "
        f"({name or 'unknown'}) lacks; use --precision float32"
    )


def check_precision(precision: str) -> None:
    """Raise :class:`~fomm_tf.errors.InputError` when this machine cannot run ``precision``."""
    missing = missing_hardware(precision)
    if missing:
        raise InputError(missing)


def add_precision_argument(parser, default: str | None = "float32", extra: str = "") -> None:
    """The ``--precision`` flag of ``fomm animate``, ``bench`` and ``evaluate``."""
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=default,
        help=f"{extra}compute precision of the Keras networks: float32 (default), bfloat16 "
        "(Keras mixed_bfloat16: float32 weights, bfloat16 convolutions; needs AVX512_BF16/AMX "
        "on a CPU, compute capability >= 8.0 on a GPU) or float16 (mixed_float16)",
    )
