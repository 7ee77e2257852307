"""Tests of the torch-free, pickle-code-free checkpoint reader."""

from __future__ import annotations

import collections
import pickle
from pathlib import Path

import numpy as np
import pytest
from helpers import FakeStorage, FakeTensor, torch_like_pickle, zip_checkpoint

from fomm_tf.errors import CheckpointError
from fomm_tf.nets.checkpoint import LEGACY_MAGIC, flatten_state_dict, read_torch_checkpoint

DATA = Path(__file__).parent / "data" / "official-small"
ZIP_CKPT = DATA / "checkpoint.pth.tar"
LEGACY_CKPT = DATA / "checkpoint-legacy.pth.tar"
# State-dict entries that are buffers, not parameters: BatchNorm running stats and the fixed
# Gaussian kernel ``down.weight`` of AntiAliasInterpolation2d (register_buffer, 3*13*13 = 507).
BUFFER_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked", "down.weight")


@pytest.fixture(scope="module")
def zip_weights() -> dict:
    return read_torch_checkpoint(ZIP_CKPT)


@pytest.fixture(scope="module")
def legacy_weights() -> dict:
    return read_torch_checkpoint(LEGACY_CKPT)


# --- helpers building handcrafted checkpoints --------------------------------------------------


def _legacy_header() -> bytes:
    sys_info = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"int": 4}}
    return b"".join(pickle.dumps(o, protocol=2) for o in (LEGACY_MAGIC, 1001, sys_info))


def _malicious_pickle(module: str, marker: Path) -> bytes:
    """GLOBAL <module>.system, then REDUCE with a command that would create ``marker``."""
    cmd = f"touch {marker}".encode()
    return (
        b"\x80\x02c" + module.encode() + b"\nsystem\n"
        + b"X" + len(cmd).to_bytes(4, "little") + cmd
        + b"\x85R."
    )  # fmt: skip


def _legacy_checkpoint(path: Path, obj, storages: dict[str, bytes], counts: dict | None = None):
    """Legacy stream: header, object, key list, then (int64 count, bytes) per storage."""
    parts = [_legacy_header(), torch_like_pickle(obj, legacy=True)]
    parts.append(pickle.dumps(list(storages), protocol=2))
    for key, raw in storages.items():
        count = (counts or {}).get(key, len(raw) // 4)
        parts += [count.to_bytes(8, "little"), raw]
    path.write_bytes(b"".join(parts))
    return path


# --- fixture checkpoints ------------------------------------------------------------------------


def test_zip_and_legacy_formats_read_to_identical_arrays(zip_weights, legacy_weights):
    flat_zip = flatten_state_dict(zip_weights)
    flat_legacy = flatten_state_dict(legacy_weights)
    assert set(zip_weights) == {"kp_detector", "generator"}
    assert flat_zip.keys() == flat_legacy.keys()
    for key, arr in flat_zip.items():
        other = flat_legacy[key]
        assert arr.dtype == other.dtype and arr.shape == other.shape, key
        assert arr.tobytes() == other.tobytes(), key


def test_parameter_counts_match_fixture_readme(zip_weights):
    counts = {
        name: sum(v.size for k, v in sd.items() if not k.endswith(BUFFER_SUFFIXES))
        for name, sd in zip_weights.items()
    }
    assert counts == {"kp_detector": 80928, "generator": 141783}


def test_tensors_are_owned_native_numpy_arrays(zip_weights):
    flat = flatten_state_dict(zip_weights)
    weight = flat["kp_detector.predictor.encoder.down_blocks.0.conv.weight"]
    assert weight.shape == (16, 3, 3, 3) and weight.dtype == np.float32
    assert weight.flags.owndata and weight.flags.c_contiguous
    tracked = [v for k, v in flat.items() if k.endswith("num_batches_tracked")]
    assert tracked and all(v.shape == () and v.dtype == np.int64 for v in tracked)


def test_flatten_state_dict_joins_keys_with_dots():
    arr = np.zeros(2)
    tree = {"a": {"b.c": arr, "d": {"e": arr}}, "epoch": 3}
    assert flatten_state_dict(tree) == {"a.b.c": arr, "a.d.e": arr}


# --- unsafe pickles -----------------------------------------------------------------------------


@pytest.mark.parametrize("module", ["os", "posix"])
def test_zip_checkpoint_with_system_global_is_refused(tmp_path, module):
    marker = tmp_path / "pwned"
    path = zip_checkpoint(tmp_path / "checkpoint.pth.tar", _malicious_pickle(module, marker))
    with pytest.raises(CheckpointError, match=f"unsafe pickle global '{module}.system'"):
        read_torch_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("module", ["os", "posix"])
def test_legacy_checkpoint_with_system_global_is_refused(tmp_path, module):
    marker = tmp_path / "pwned"
    path = tmp_path / "checkpoint.pth.tar"
    path.write_bytes(_legacy_header() + _malicious_pickle(module, marker))
    with pytest.raises(CheckpointError, match=f"unsafe pickle global '{module}.system'") as info:
        read_torch_checkpoint(path)
    assert str(path) in str(info.value)
    assert not marker.exists()


def test_builtins_eval_global_is_refused(tmp_path):
    data = b"\x80\x02cbuiltins\neval\nX\x04\x00\x00\x001+1.\x85R."
    path = zip_checkpoint(tmp_path / "evil.pth", data)
    with pytest.raises(CheckpointError, match="'builtins.eval'"):
        read_torch_checkpoint(path)


# --- malformed files ----------------------------------------------------------------------------


@pytest.mark.parametrize("source", [ZIP_CKPT, LEGACY_CKPT], ids=["zip", "legacy"])
def test_truncated_checkpoint_raises_checkpoint_error(tmp_path, source):
    path = tmp_path / "truncated.pth.tar"
    path.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=str(path)):
        read_torch_checkpoint(path)


def test_text_file_raises_checkpoint_error(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("this is not a checkpoint\n")
    with pytest.raises(CheckpointError, match=str(path)):
        read_torch_checkpoint(path)


def test_missing_file_raises_checkpoint_error(tmp_path):
    path = tmp_path / "missing.pth.tar"
    with pytest.raises(CheckpointError, match=f"{path}.*not found"):
        read_torch_checkpoint(path)


def test_storage_shorter_than_declared_numel_is_refused(tmp_path, fake_torch):
    storage = FakeStorage("0", fake_torch.FloatStorage, 10**12)
    tensor = FakeTensor(fake_torch._utils._rebuild_tensor_v2, storage, 0, (10**12,), (1,))
    data_pkl = torch_like_pickle({"w": tensor})
    path = zip_checkpoint(tmp_path / "huge.pth", data_pkl, {"0": b"\0" * 16})
    with pytest.raises(CheckpointError, match="shorter"):
        read_torch_checkpoint(path)


# --- tensor geometry ----------------------------------------------------------------------------


def test_non_contiguous_tensor_is_rebuilt_with_offset_and_stride(tmp_path, fake_torch):
    base = np.arange(30, dtype=np.float32)
    storage = FakeStorage("0", fake_torch.FloatStorage, base.size)
    rebuild = fake_torch._utils._rebuild_tensor_v2
    # A transposed (4, 3) view of a (3, 5) block starting at element 2, and a strided vector.
    transposed = FakeTensor(rebuild, storage, 2, (4, 3), (1, 5))
    strided = FakeTensor(rebuild, storage, 1, (5,), (6,))
    data_pkl = torch_like_pickle({"t": transposed, "s": strided, "n": [1, "x"]})
    path = zip_checkpoint(tmp_path / "strided.pth", data_pkl, {"0": base.tobytes()})

    out = read_torch_checkpoint(path)

    expected_t = base[2:17].reshape(3, 5)[:, :4].T
    np.testing.assert_array_equal(out["t"], expected_t)
    np.testing.assert_array_equal(out["s"], base[1::6])
    assert out["t"].flags.owndata and out["n"] == [1, "x"]


def test_legacy_storage_view_is_rebuilt_with_offset_and_stride(tmp_path, fake_torch):
    root = np.arange(12, dtype=np.float32)
    view = FakeStorage("v", fake_torch.FloatStorage, 12, view=("v1", 4, 6))  # root[4:10]
    rebuild = fake_torch._utils._rebuild_tensor_v2
    tensor = FakeTensor(rebuild, view, 1, (2, 2), (1, 2))
    path = _legacy_checkpoint(tmp_path / "legacy.pth", {"t": tensor}, {"v": root.tobytes()})

    out = read_torch_checkpoint(path)

    # t[i, j] = view[1 + i + 2 * j] = root[5 + i + 2 * j]
    np.testing.assert_array_equal(out["t"], np.array([[5, 7], [6, 8]], dtype=np.float32))


def test_legacy_absurd_storage_size_is_refused(tmp_path, fake_torch):
    storage = FakeStorage("0", fake_torch.FloatStorage, 4)
    tensor = FakeTensor(fake_torch._utils._rebuild_tensor_v2, storage, 0, (4,), (1,))
    raw = np.zeros(4, np.float32).tobytes()
    path = _legacy_checkpoint(tmp_path / "huge.pth", {"w": tensor}, {"0": raw}, {"0": 2**40})
    with pytest.raises(CheckpointError, match="absurd size"):
        read_torch_checkpoint(path)


def test_bfloat16_storage_is_widened_to_float32(tmp_path, fake_torch):
    values = np.array([1.5, -2.0, 0.0, 3.140625], dtype=np.float32)
    bf16 = (values.view(np.uint32) >> 16).astype("<u2")
    storage = FakeStorage("0", fake_torch.BFloat16Storage, 4)
    tensor = FakeTensor(fake_torch._utils._rebuild_tensor_v2, storage, 0, (2, 2), (2, 1))
    path = zip_checkpoint(
        tmp_path / "bf16.pth", torch_like_pickle({"w": tensor}), {"0": bf16.tobytes()}
    )

    out = read_torch_checkpoint(path)

    assert out["w"].dtype == np.float32
    np.testing.assert_array_equal(out["w"], values.reshape(2, 2))


def test_full_training_checkpoint_loads_ignoring_extra_entries(tmp_path, fake_torch, zip_weights):
    """Published checkpoints also hold the discriminator, optimizers and the epoch."""
    import fomm_tf

    rebuild = fake_torch._utils._rebuild_tensor_v2
    storages: dict[str, bytes] = {}

    def tensor(arr: np.ndarray) -> FakeTensor:
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        key = str(len(storages))
        storages[key] = arr.tobytes()
        stride = tuple(s // 4 for s in arr.strides)
        return FakeTensor(
            rebuild, FakeStorage(key, fake_torch.FloatStorage, arr.size), 0, arr.shape, stride
        )

    nets = {
        part: collections.OrderedDict(
            (k, tensor(v)) for k, v in zip_weights[part].items() if v.dtype == np.float32
        )
        for part in ("kp_detector", "generator")
    }
    extra = {
        "discriminator": collections.OrderedDict(w=tensor(np.ones((2, 3), np.float32))),
        "optimizer_generator": {"state": {}, "param_groups": [{"lr": 2e-4, "betas": (0.5, 0.999)}]},
        "epoch": 99,
    }
    path = zip_checkpoint(tmp_path / "full.pth.tar", torch_like_pickle({**nets, **extra}), storages)
    fixture = DATA / "checkpoint.pth.tar"
    a = fomm_tf.load_official(path, DATA / "config.yaml")
    b = fomm_tf.load_official(fixture, DATA / "config.yaml")
    for wa, wb in zip(a.bundle().weights, b.bundle().weights):
        np.testing.assert_array_equal(wa.numpy(), wb.numpy())
