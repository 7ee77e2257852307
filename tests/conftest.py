"""Shared test fixtures: the official parity fixture and small helpers."""

import os
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
