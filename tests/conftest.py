"""Shared test fixtures: the official parity fixture and small helpers."""

import os
import sys
import types
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

OFFICIAL = Path(__file__).parent / "data" / "official-small"


@pytest.fixture(scope="session")
def official_dir() -> Path:
    return OFFICIAL


@pytest.fixture(scope="session")
def official_inputs() -> dict:
    return dict(np.load(OFFICIAL / "inputs.npz"))


@pytest.fixture(scope="session")
def official_outputs() -> dict:
    return dict(np.load(OFFICIAL / "outputs.npz"))


@pytest.fixture
def fake_torch(monkeypatch):
    """Stand-in ``torch`` modules so pickle writes the GLOBALs torch.save writes."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch._utils = utils
    for name in ("FloatStorage", "BFloat16Storage"):
        setattr(torch, name, type(name, (), {"__module__": "torch"}))
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return torch
