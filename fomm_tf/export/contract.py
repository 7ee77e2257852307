"""``model_contract.json``: what the exporter promises the Python runner and the Android app.

For each graph: its file, size and SHA-256, and every input/output with its name, position,
shape, dtype, value range and quantization. Plus the pre/post-processing, the FOMM config,
the export options and the validation figures. ``contract.schema.json`` (next to this file)
is the JSON Schema of the document; :func:`validate_contract` checks one against it.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from pathlib import Path
from typing import Any

import numpy as np

from fomm_tf.animation.motion import MotionOptions
from fomm_tf.config import FommConfig
from fomm_tf.errors import InputError
from fomm_tf.litert import make_interpreter

from .flatbuffer import delegation_report, op_histogram
from .graphs import GraphFunction

CONTRACT_NAME = "model_contract.json"
#: The model card an export may carry (the bundled model's), named by ``model.card``.
CARD_NAME = "MODEL_CARD.md"
SCHEMA_PATH = Path(__file__).with_name("contract.schema.json")
FORMAT = "fomm-tf/tflite-contract"
VERSION = 2  # 2: the `motion` section (options + degenerate-input rules)

#: Value range of each named tensor; ``None`` for an unbounded side.
RANGES: dict[str, list[float | None]] = {
    "image": [0.0, 1.0],
    "source": [0.0, 1.0],
    "source_small": [0.0, 1.0],
    "features": [0.0, None],
    # warped_skips: the encoder's maps above the bottleneck (after a ReLU, like features)
    "skip_0": [0.0, None],
    "skip_1": [0.0, None],
    "skip_2": [0.0, None],
    "source_image": [0.0, 1.0],  # source_blend: the source, fed to the generator
    "prediction": [0.0, 1.0],
    "value": [-1.0, 1.0],
    "kp_source_value": [-1.0, 1.0],
    "kp_driving_value": [-1.0, 1.0],
    "jacobian": [None, None],
    "kp_source_jacobian": [None, None],
    "kp_driving_jacobian": [None, None],
}

ROLES = {
    "kp_detector": "frame -> keypoints (value, x first, in [-1, 1]) and their 2x2 Jacobians",
    "source_encoder": "source -> every tensor that depends on the source alone; run once per "
    "source and feed its outputs to the generator by name",
    "generator": "source_encoder outputs + kp_source + normalized kp_driving -> frame",
}


def _tensor_entry(name: str, position: int, detail: dict) -> dict[str, Any]:
    q = detail.get("quantization_parameters") or {}
    scales = [float(s) for s in np.asarray(q.get("scales", []))]
    zeros = [int(z) for z in np.asarray(q.get("zero_points", []))]
    return {
        "name": name,
        "position": position,
        "tensor_name": detail["name"],
        "shape": [int(d) for d in detail["shape"]],
        "dtype": np.dtype(detail["dtype"]).name,
        "range": RANGES.get(name, [None, None]),
        "quantization": {"scale": scales, "zero_point": zeros} if scales else None,
    }


def graph_entry(graph: GraphFunction, flatbuffer: bytes) -> dict[str, Any]:
    """The contract entry of one graph, read back from the flatbuffer itself."""

    interpreter = make_interpreter(model_content=flatbuffer, delegates=False)
    in_details = interpreter.get_input_details()
    by_name = {d["name"]: (i, d) for i, d in enumerate(in_details)}
    inputs = []
    for name, _shape in graph.inputs:
        if name not in by_name:
            raise RuntimeError(f"{graph.name}: input {name!r} missing from the TFLite graph")
        position, detail = by_name[name]
        inputs.append(_tensor_entry(name, position, detail))
    out_details = interpreter.get_output_details()
    outputs = []
    for position, ((name, shape), detail) in enumerate(zip(graph.outputs, out_details)):
        if tuple(int(d) for d in detail["shape"]) != tuple(shape):
            raise RuntimeError(
                f"{graph.name}: output {position} has shape {detail['shape']}, "
                f"expected {name} {shape}"
            )
        outputs.append(_tensor_entry(name, position, detail))
    return {
        "file": f"{graph.name}.tflite",
        "bytes": len(flatbuffer),
        "sha256": hashlib.sha256(flatbuffer).hexdigest(),
        "role": ROLES[graph.name],
        "inputs": inputs,
        "outputs": outputs,
        "ops": op_histogram(flatbuffer),
        "xnnpack": delegation_report(flatbuffer),
    }


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe_input(name_or_path: str | os.PathLike | None) -> dict[str, Any] | None:
    """How the contract names an input of the export (config, checkpoint, calibration): its
    base name and SHA-256, never the path on the machine that exported it.

    A shipped config name (``tiny-64``) is recorded as it is, with the hash of its YAML; a
    folder (of calibration frames) with one hash over its files' names and contents.
    """
    if name_or_path is None:
        return None
    text = os.fspath(name_or_path)
    path = Path(text)
    if not path.exists():
        from fomm_tf.config import SHIPPED, shipped_config_path

        if text in SHIPPED:
            return {"name": text, "sha256": _sha256_file(Path(shipped_config_path(text)))}
        return {"name": path.name, "sha256": None}
    if path.is_dir():
        digest = hashlib.sha256()
        for item in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(item.relative_to(path).as_posix().encode() + b"\0")
            digest.update(_sha256_file(item).encode())
        return {"name": path.resolve().name, "sha256": digest.hexdigest()}
    return {"name": path.name, "sha256": _sha256_file(path)}


def _without_paths(value: Any) -> Any:
    """``value`` with every absolute path (a string) reduced to its base name: a config's
    ``dataset_params.root_dir`` and the like say nothing of the exporting machine."""
    if isinstance(value, dict):
        return {k: _without_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_paths(v) for v in value]
    if isinstance(value, str) and (os.path.isabs(value) or value.startswith("~")):
        return Path(value).name
    return value


def build_contract(
    config: FommConfig,
    graphs: dict[str, GraphFunction],
    files: dict[str, bytes],
    quant: str,
    options: dict[str, Any],
    motion: MotionOptions | None = None,
    model: dict[str, Any] | None = None,
) -> dict:
    """The contract document (validation figures are added by the exporter).

    ``model``: what the model is, for the apps to say in one line: ``name``, ``trained_on``
    (None: not recorded) and ``card`` (a file of the export, or None).

    ``motion``: the motion options the apps must apply (default: the config's
    ``animate_params``), recorded with the degenerate-input rules as ``motion``.
    """
    import tensorflow as tf

    import fomm_tf

    h, w = config.image_size
    motion = motion or MotionOptions.from_config(config.raw)
    return {
        "format": FORMAT,
        "version": VERSION,
        "quant": quant,
        "image_size": [int(h), int(w)],
        "num_kp": int(config.num_kp),
        "num_channels": int(config.kp_detector.num_channels),
        "batch_size": 1,
        "preprocessing": {
            "layout": "NHWC",
            "color": "RGB",
            "dtype": "float32",
            "range": [0.0, 1.0],
            "resize": f"fit the frame to {h}x{w} (centre crop to the aspect, then area resize)",
            "feed": "kp_detector.image: source and every driving frame; "
            "source_encoder.source: the source, once",
        },
        "postprocessing": {
            "prediction": "NHWC RGB float32 in [0, 1]; uint8 = round(255 * clip(x, 0, 1))",
            "motion": "between kp_detector and generator, normalize the driving keypoints "
            "(relative motion, eq. 14-15 of the paper) as fomm_tf.animation.motion.normalize_kp, "
            "with the options and rules of the contract's `motion` section",
        },
        "motion": motion.to_contract(),
        "graphs": {name: graph_entry(graphs[name], files[name]) for name in graphs},
        "model": {
            "name": str((model or {}).get("name") or config.name),
            "trained_on": (model or {}).get("trained_on"),
            "card": (model or {}).get("card"),
        },
        "fomm_config": _without_paths(json.loads(json.dumps(config.raw, default=str))),
        "export_options": {
            **_without_paths(options),
            "quant": quant,
            "fomm_tf": fomm_tf.__version__,
            "tensorflow": tf.__version__,
            "python": platform.python_version(),
        },
    }


def write_contract(directory: str | os.PathLike, contract: dict) -> Path:
    path = Path(directory) / CONTRACT_NAME
    path.write_text(json.dumps(contract, indent=2, sort_keys=False) + "\n")
    return path


def read_contract(directory: str | os.PathLike) -> dict:
    """The contract of an export directory (``InputError`` when missing or unreadable)."""
    path = Path(directory) / CONTRACT_NAME
    if not path.is_file():
        raise InputError(f"{directory}: no {CONTRACT_NAME} (not a `fomm export` directory)")
    try:
        contract = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: unreadable contract ({type(exc).__name__})") from None
    if not isinstance(contract, dict) or contract.get("format") != FORMAT:
        raise InputError(f"{path}: not a fomm-tf TFLite contract")
    if contract.get("version") != VERSION:
        raise InputError(
            f"{path}: contract version {contract.get('version')!r}, this fomm-tf reads version "
            f"{VERSION}; export the model again"
        )
    return contract


def validate_contract(contract: dict) -> None:
    """Check ``contract`` against ``contract.schema.json`` (``jsonschema`` raises on failure)."""
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.validate(contract, schema)
