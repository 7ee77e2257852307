"""Run exported graphs with LiteRT, as a phone would (inspecting them: :mod:`.flatbuffer`).

:func:`fomm_tf.litert.make_interpreter` picks the first interpreter available:
``ai_edge_litert`` → ``tflite_runtime`` → ``tf.lite``. :class:`TFLiteAnimator` is the per-frame backend the
animation loop drives (``prepare`` once per source, then ``kp`` and ``generate`` per batch of
driving frames); it reads ``model_contract.json`` to find each tensor.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from fomm_tf.errors import InputError
from fomm_tf.litert import make_interpreter

from ..export.contract import read_contract

log = logging.getLogger(__name__)


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
        from fomm_tf.animation.motion import MotionOptions

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
