"""Run exported graphs with LiteRT, as a phone would, and inspect what is inside them.

:func:`make_interpreter` picks the first interpreter available: ``ai_edge_litert`` →
``tflite_runtime`` → ``tf.lite``. :class:`TFLiteAnimator` is the per-frame backend the
animation loop drives (``prepare`` once per source, then ``kp`` and ``generate`` per batch of
driving frames); it reads ``model_contract.json`` to find each tensor.
"""

from __future__ import annotations

import collections
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from fomm_tf.errors import InputError
from fomm_tf.litert import interpreter_module

log = logging.getLogger(__name__)


def make_interpreter(
    model_path: str | os.PathLike | None = None,
    num_threads: int | None = None,
    *,
    model_content: bytes | None = None,
    delegates: bool = True,
) -> Any:
    """A LiteRT interpreter (tensors allocated) from ``ai_edge_litert``, ``tflite_runtime`` or
    ``tf.lite``, whichever imports first; XNNPACK is applied unless ``delegates`` is false."""
    module = interpreter_module()
    kwargs: dict[str, Any] = {"num_threads": num_threads}
    if not delegates:
        resolver = getattr(module, "OpResolverType", None)
        if resolver is None:  # tf.lite keeps it under experimental
            resolver = module.experimental.OpResolverType
        kwargs["experimental_op_resolver_type"] = resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    if model_content is not None:
        interpreter = module.Interpreter(model_content=model_content, **kwargs)
    else:
        interpreter = module.Interpreter(model_path=str(model_path), **kwargs)
    interpreter.allocate_tensors()
    return interpreter


# ------------------------------------------------------------------------------------------
# inspecting a graph


def ops_details(model: bytes) -> list[dict]:
    """The ops of a flatbuffer, in execution order, before any delegate touches it."""
    return make_interpreter(model_content=model, delegates=False)._get_ops_details()  # noqa: SLF001


def tensor_names(model: bytes) -> dict[int, str]:
    interpreter = make_interpreter(model_content=model, delegates=False)
    return {t["index"]: t["name"] for t in interpreter.get_tensor_details()}


def op_histogram(model: bytes) -> dict[str, int]:
    """``{op name: count}`` of every op in the graph, most frequent first."""
    counts = collections.Counter(op["op_name"] for op in ops_details(model))
    return dict(counts.most_common())


def _op_flops(op: dict, shapes: dict[int, tuple[int, ...]]) -> float:
    """Multiply-adds ×2 of convolutions and matmuls; one FLOP per output element otherwise."""
    out = shapes.get(op["outputs"][0], ()) if len(op["outputs"]) else ()
    out_elems = float(np.prod(out)) if out else 0.0
    name = op["op_name"]
    if name == "CONV_2D":
        _, kh, kw, cin = shapes[op["inputs"][1]]
        return 2.0 * out_elems * kh * kw * cin
    if name == "DEPTHWISE_CONV_2D":
        _, kh, kw, _ = shapes[op["inputs"][1]]
        return 2.0 * out_elems * kh * kw
    if name == "TRANSPOSE_CONV":
        _, kh, kw, cin = shapes[op["inputs"][1]]
        return 2.0 * out_elems * kh * kw * cin
    if name in ("FULLY_CONNECTED", "BATCH_MATMUL"):
        return 2.0 * out_elems * shapes[op["inputs"][0]][-1]
    return out_elems


def delegation_report(model: bytes, num_threads: int = 2) -> dict[str, Any]:
    """How XNNPACK partitions a graph.

    A DELEGATE node replaces a partition: the ops inside it are those reached walking back
    from its outputs to its inputs. Returns ``partitions`` (DELEGATE nodes), ``ops``,
    ``delegated_ops``, ``not_delegated`` (op histogram of the rest), ``flops`` and
    ``delegated_flops_share`` (FLOPs: 2× multiply-adds of conv/matmul, 1 per output element
    of anything else).
    """
    interpreter = make_interpreter(model_content=model, num_threads=num_threads)
    shapes = {}
    for t in interpreter.get_tensor_details():
        shapes[t["index"]] = tuple(int(d) for d in t["shape"])
    nodes = interpreter._get_ops_details()  # noqa: SLF001
    originals = [n for n in nodes if n["op_name"] != "DELEGATE"]
    delegates = [n for n in nodes if n["op_name"] == "DELEGATE"]
    by_index = {n["index"]: n for n in originals}
    producer = {}
    for node in originals:
        for t in node["outputs"]:
            producer[t] = node["index"]
    delegated: set[int] = set()
    for node in delegates:
        stop = set(int(t) for t in node["inputs"])
        todo = [int(t) for t in node["outputs"]]
        seen: set[int] = set()
        while todo:
            t = todo.pop()
            if t in seen or t in stop or t not in producer:
                continue
            seen.add(t)
            idx = producer[t]
            if idx in delegated:
                continue
            delegated.add(idx)
            todo.extend(int(i) for i in by_index[idx]["inputs"] if i >= 0)
    flops = {n["index"]: _op_flops(n, shapes) for n in originals}
    total = sum(flops.values()) or 1.0
    rest = collections.Counter(n["op_name"] for n in originals if n["index"] not in delegated)
    return {
        "partitions": len(delegates),
        "ops": len(originals),
        "delegated_ops": len(delegated),
        "not_delegated": dict(rest.most_common()),
        "gflops": round(total / 1e9, 4),
        "delegated_flops_share": round(sum(flops[i] for i in delegated) / total, 5),
    }


# ------------------------------------------------------------------------------------------
# running an export


class _Graph:
    """One exported graph: an interpreter plus name → tensor index maps from the contract."""

    def __init__(self, model_dir: Path, entry: dict, num_threads: int | None) -> None:
        path = model_dir / entry["file"]
        if not path.is_file():
            raise InputError(f"{model_dir}: {entry['file']} is missing")
        self.interpreter = make_interpreter(path, num_threads)
        in_details = self.interpreter.get_input_details()
        out_details = self.interpreter.get_output_details()
        self.inputs = {t["name"]: in_details[t["position"]]["index"] for t in entry["inputs"]}
        self.outputs = {t["name"]: out_details[t["position"]]["index"] for t in entry["outputs"]}
        self.input_shapes = {t["name"]: tuple(t["shape"]) for t in entry["inputs"]}

    def set(self, name: str, value: np.ndarray) -> None:
        self.interpreter.set_tensor(self.inputs[name], value)

    def invoke(self) -> None:
        self.interpreter.invoke()

    def get(self, name: str) -> np.ndarray:
        return self.interpreter.get_tensor(self.outputs[name])


class TFLiteAnimator:
    """The per-frame FOMM backend on LiteRT, reading an export directory.

    The same shape as the Keras path: :meth:`prepare` runs once per source (its keypoints and
    the ``source_encoder`` outputs are fed to the generator once and stay there), then per
    batch of driving frames :meth:`kp` and :meth:`generate`. Interpreters and their tensors
    are allocated once, in the constructor; graphs have batch size 1 and batches are looped.

    Args:
        model_dir: a ``fomm export`` directory (three ``.tflite`` files + contract).
        num_threads: LiteRT CPU threads (``None``: the runtime's default).
        batch_size: how many frames the animation loop passes per call (any works: the
            graphs run one frame at a time).

    Examples:
        >>> anim = TFLiteAnimator("out/vox-int8", num_threads=2)  # doctest: +SKIP
        >>> kp_source = anim.prepare(source01[None])               # doctest: +SKIP
        >>> frames = anim.generate(normalize_kp(kp_source, anim.kp(driving01), ...))  # +SKIP
    """

    def __init__(
        self, model_dir: str | os.PathLike, num_threads: int | None = None, batch_size: int = 8
    ) -> None:
        from .contract import read_contract

        self.batch_size = int(batch_size)  # frames per kp()/generate() call the caller makes
        self.model_dir = Path(model_dir)
        self.contract = read_contract(self.model_dir)
        graphs = self.contract["graphs"]
        self.num_threads = num_threads
        self.kp_detector = _Graph(self.model_dir, graphs["kp_detector"], num_threads)
        self.source_encoder = _Graph(self.model_dir, graphs["source_encoder"], num_threads)
        self.generator = _Graph(self.model_dir, graphs["generator"], num_threads)
        self.image_size: tuple[int, int] = tuple(self.contract["image_size"])
        self.num_kp: int = int(self.contract["num_kp"])
        self.kp_keys = [t["name"] for t in graphs["kp_detector"]["outputs"]]
        self.cache_keys = [t["name"] for t in graphs["source_encoder"]["outputs"]]
        self.kp_source: dict[str, np.ndarray] | None = None

    def motion_options(self):
        """The motion options recorded in the contract (what the export was validated for)."""
        from fomm_tf.motion import MotionOptions

        return MotionOptions.from_contract(self.contract)

    def _frames(self, frames01: np.ndarray, what: str) -> np.ndarray:
        frames = np.asarray(frames01, np.float32)
        if frames.ndim == 3:
            frames = frames[None]
        if frames.ndim != 4 or frames.shape[1:3] != self.image_size:
            raise InputError(
                f"{what}: expected (N, {self.image_size[0]}, {self.image_size[1]}, "
                f"C) frames for this export, got {tuple(frames.shape)}"
            )
        return frames

    def kp(self, frames01: np.ndarray) -> dict[str, np.ndarray]:
        """Keypoints of (N, H, W, C) frames in [0, 1]: ``value`` (N, K, 2), ``jacobian``
        (N, K, 2, 2)."""
        frames = self._frames(frames01, "kp")
        graph = self.kp_detector
        out = {
            k: np.empty((len(frames),) + tuple(graph.get(k).shape[1:]), np.float32)
            for k in self.kp_keys
        }
        for i, frame in enumerate(frames):
            graph.set("image", frame[None])
            graph.invoke()
            for k in self.kp_keys:
                out[k][i] = graph.get(k)[0]
        return out

    def prepare(self, source01: np.ndarray) -> dict[str, np.ndarray]:
        """Cache a (1, H, W, C) source: run ``source_encoder`` and the keypoint detector once
        and feed their outputs to the generator. Returns the source keypoints."""
        source = self._frames(source01, "source")[:1]
        self.kp_source = self.kp(source)
        self.source_encoder.set("source", source)
        self.source_encoder.invoke()
        for k in self.cache_keys:
            self.generator.set(k, self.source_encoder.get(k))
        for k, v in self.kp_source.items():
            self.generator.set(f"kp_source_{k}", v)
        return self.kp_source

    def generate(self, kp_driving_norm: dict[str, np.ndarray]) -> np.ndarray:
        """Frames (N, H, W, C) in [0, 1] for N normalized driving keypoint sets."""
        if self.kp_source is None:
            raise RuntimeError("TFLiteAnimator.generate() before prepare(source)")
        kp = {k: np.asarray(kp_driving_norm[k], np.float32) for k in self.kp_keys}
        n = len(kp["value"])
        h, w = self.image_size
        out = np.empty((n, h, w, self.generator.get("prediction").shape[-1]), np.float32)
        for i in range(n):
            for k, v in kp.items():
                self.generator.set(f"kp_driving_{k}", v[i : i + 1])
            self.generator.invoke()
            out[i] = self.generator.get("prediction")[0]
        return out


#: The name ``fomm animate --backend tflite`` uses.
TFLiteBackend = TFLiteAnimator
