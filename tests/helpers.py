"""Helpers that several test files share (a test file never imports another)."""

from __future__ import annotations

import collections
import io
import os
import pickle
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
#: The official training-step fixture (tests/data/official-train-small/README.md).
TRAIN_PARITY_DATA = Path(__file__).parent / "data" / "official-train-small"


# --- the fomm command -------------------------------------------------------------------------


def fomm(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "fomm_tf.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def assert_one_line_error(res, name: str) -> None:
    """Exit 2, the last stderr line a ``fomm: error:`` naming ``name``, no traceback."""
    assert res.returncode == 2
    assert last_line(res.stderr).startswith("fomm: error: ")
    assert name in last_line(res.stderr)
    assert "Traceback" not in res.stderr


# --- training -----------------------------------------------------------------------------------


def tiny_config(path: Path, gan: bool = True, size: int = 32) -> Path:
    """A 32×32 config, widths 8, few blocks, every loss on (GAN too when ``gan``)."""
    raw = yaml.safe_load((ROOT / "fomm_tf" / "configs" / "tiny-64.yaml").read_text())
    raw["dataset_params"]["frame_shape"] = [size, size, 3]
    mp = raw["model_params"]
    mp["kp_detector_params"].update(block_expansion=8, max_features=32, num_blocks=3)
    mp["generator_params"].update(block_expansion=8, max_features=32, num_bottleneck_blocks=1)
    mp["generator_params"]["dense_motion_params"].update(max_features=32, num_blocks=3)
    mp["discriminator_params"].update(block_expansion=8, max_features=32, num_blocks=2, use_kp=True)
    tp = raw["train_params"]
    tp.update(batch_size=2, scales=[1, 0.5], num_repeats=1, epoch_milestones=[1])
    tp["loss_weights"]["generator_gan"] = 1 if gan else 0
    path.write_text(yaml.safe_dump(raw))
    return path


def train_env() -> dict:
    """The environment of a training subprocess: quiet TensorFlow, no TF_CONFIG."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    env.pop("TF_CONFIG", None)
    return env


def train_cmd(config: Path, data: Path, log_dir: Path, *extra: str) -> list[str]:
    """``python train_tf.py`` on a test dataset, random VGG19, no progress bar."""
    return [
        sys.executable,
        str(ROOT / "train_tf.py"),
        "--config",
        str(config),
        "--data",
        str(data),
        "--log-dir",
        str(log_dir),
        "--vgg19-weights",
        "random",
        "--no-progress",
        *extra,
    ]


def relative_kp(kp_source: dict, kp_driving: dict, adapt_movement_scale: bool = False) -> dict:
    """Eq. 14-15 from the first driving frame, with the relative Jacobian."""
    from fomm_tf.animation.motion import normalize_kp

    return normalize_kp(
        kp_source,
        kp_driving,
        {k: v[:1] for k, v in kp_driving.items()},
        adapt_movement_scale=adapt_movement_scale,
        use_relative_movement=True,
        use_relative_jacobian=True,
    )


# --- the official training step -----------------------------------------------------------------


def readme() -> str:
    return (TRAIN_PARITY_DATA / "README.md").read_text()


def vgg19_seed() -> int:
    """The seed of the README's VGG19 recipe (``rng = np.random.default_rng(SEED)``)."""
    return int(re.search(r"default_rng\((\d+)\)", readme()).group(1))


def structural_zeros() -> set[str]:
    """The gradient names listed under "Structurally zero gradients" in the README."""
    section = readme().split("Structurally zero gradients", 1)[1]
    block = section.split("```", 2)[1]
    return {line.strip() for line in block.splitlines() if line.strip()}


def compare_gradients(grads: dict, ref: dict) -> dict:
    """Per-tensor max and Frobenius relative errors; zero-gradient ratios per module."""
    zeros = structural_zeros()
    module_max = {}
    for key, value in ref.items():
        module = key.split(".", 1)[0]
        module_max[module] = max(module_max.get(module, 0.0), float(np.abs(value).max()))
    rel, norm, zero = {}, {}, {}
    for key, want in ref.items():
        got = grads[key]
        assert got.shape == want.shape, key
        if key in zeros:
            zero[key] = float(np.abs(got).max()) / module_max[key.split(".", 1)[0]]
            continue
        diff = got.astype(np.float64) - want
        rel[key] = float(np.abs(diff).max() / np.abs(want).max())
        norm[key] = float(np.linalg.norm(diff) / np.linalg.norm(want))
    return {"max": rel, "norm": norm, "zero": zero}


# --- handcrafted torch checkpoints --------------------------------------------------------------


def zip_checkpoint(path: Path, data_pkl: bytes, storages: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", data_pkl)
        z.writestr("archive/byteorder", "little")
        for key, raw in (storages or {}).items():
            z.writestr(f"archive/data/{key}", raw)
    return path


class FakeStorage:
    def __init__(self, key: str, stype: type, numel: int, view: tuple | None = None) -> None:
        self.key, self.stype, self.numel, self.view = key, stype, numel, view


class FakeTensor:
    def __init__(self, rebuild, storage: FakeStorage, offset: int, size: tuple, stride: tuple):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())
        self.rebuild = rebuild

    def __reduce__(self):
        return self.rebuild, self.args


class TorchLikePickler(pickle.Pickler):
    """Writes storages as torch persistent ids: 5-tuples (zip) or 6-tuples (legacy)."""

    legacy = False

    def persistent_id(self, obj):
        if not isinstance(obj, FakeStorage):
            return None
        if self.legacy:
            return ("storage", obj.stype, obj.key, "cpu", obj.numel, obj.view)
        return ("storage", obj.stype, obj.key, "cpu", obj.numel)


def torch_like_pickle(obj, legacy: bool = False) -> bytes:
    buf = io.BytesIO()
    pickler = TorchLikePickler(buf, protocol=2)
    pickler.legacy = legacy
    pickler.dump(obj)
    return buf.getvalue()
