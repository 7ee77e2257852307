"""Nothing of the build machine in shipped files: every file that ``fomm export`` (with
``--android-assets`` and ``--golden``) and ``make web-assets`` write names its inputs by base
name and SHA-256, never by a path of the machine that exported it, nor its user's name."""

import getpass
import hashlib
import json
import os
import re
import socket
import tempfile
from pathlib import Path

import pytest
import yaml

from fomm_tf.apps import web
from fomm_tf.apps.web_assets import write_webm
from fomm_tf.cli import main as fomm
from fomm_tf.config import load_config, shipped_config_path
from fomm_tf.export.contract import CONTRACT_NAME, validate_contract
from fomm_tf.nets.models import build_models, save_weights

REPO = Path(__file__).resolve().parents[1]


def needles(tmp: Path) -> dict[str, re.Pattern]:
    """What must not appear: the repository's, home and temporary folders, user and host."""
    paths = {
        "repository": REPO,
        "home": Path.home(),
        "test tmp dir": tmp,
        "tmp dir": Path(tempfile.gettempdir()) / "",
    }
    found = {}
    for what, path in paths.items():
        text = str(path.resolve()).rstrip("/") + ("/" if what == "tmp dir" else "")
        if len(text) > 1:
            found[what] = re.compile(re.escape(text.encode()))
    words = {"user name": getpass.getuser(), "host name": socket.gethostname()}
    for what, word in words.items():
        if word and len(word) >= (3 if what == "user name" else 4):
            found[what] = re.compile(
                rb"(?<![A-Za-z0-9_])" + re.escape(word.encode()) + rb"(?![A-Za-z0-9_])"
            )
    return found


def scan(root: Path, patterns: dict[str, re.Pattern]) -> list[str]:
    """``file: what`` for every written file holding one of ``patterns`` (UTF-8 or UTF-16)."""
    hits = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        wide = data.decode("utf-16-le", errors="ignore").encode("utf-8", errors="ignore")
        for what, pattern in patterns.items():
            if pattern.search(data) or pattern.search(wide):
                hits.append(f"{path.relative_to(root)}: {what}")
    return hits


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    """A tiny model given by paths in a temporary folder (config, checkpoint, calibration
    video), exported with its Android assets and golden vectors; and the web assets of the
    bundled default model (at 64x64 to keep it short)."""
    tmp = tmp_path_factory.mktemp("paths")
    inputs = tmp / "inputs"
    inputs.mkdir()
    raw = yaml.safe_load(shipped_config_path("tiny-64").read_text())
    raw.setdefault("dataset_params", {})["root_dir"] = str(inputs / "frames")
    config = inputs / "my-tiny.yaml"
    config.write_text(yaml.safe_dump(raw))
    checkpoint = save_weights(build_models(load_config(config), seed=3), inputs / "tiny.weights.h5")
    from fomm_tf.data.synthetic import render_video

    video = write_webm(inputs / "calibration.webm", render_video(12, 64, seed=4, kind="face"))
    out = tmp / "out"
    argv = ["export", "--config", str(config), "--checkpoint", str(checkpoint)]
    argv += ["--calibration", str(video), "--quant", "fp32", "-o", str(out / "export")]
    argv += ["--android-assets", str(out / "android"), "--golden", str(out / "golden")]
    argv += ["--golden-seed", "1"]
    assert fomm(argv) == 0
    assert web.main(["assets", str(out / "web"), "--quant", "fp32", "--size", "64"]) == 0
    return tmp


def test_every_written_file_is_free_of_the_build_machine(written):
    out = written / "out"
    files = [p for p in out.rglob("*") if p.is_file()]
    kinds = {p.suffix for p in files}
    assert {".tflite", ".json", ".png", ".webm"} <= kinds, kinds
    assert len(files) >= 15, [str(p) for p in files]
    hits = scan(out, needles(written))
    assert hits == [], "shipped files name the build machine:\n" + "\n".join(hits)


def test_the_scan_finds_a_path_when_there_is_one(written, tmp_path):
    (tmp_path / "leak.bin").write_bytes(b"\x00\x01" + str(REPO).encode() + b"/x\x00")
    (tmp_path / "wide.bin").write_bytes(str(Path.home() / "w").encode("utf-16-le"))
    hits = scan(tmp_path, needles(written))
    assert "leak.bin: repository" in hits
    assert any(h.startswith("wide.bin:") for h in hits), hits


def test_contract_names_inputs_by_base_name_and_hash(written):
    inputs = written / "inputs"
    for folder in ("export", "android/model"):
        contract = json.loads((written / "out" / folder / CONTRACT_NAME).read_text())
        validate_contract(contract)
        options = contract["export_options"]
        for key, name in (("config", "my-tiny.yaml"), ("checkpoint", "tiny.weights.h5")):
            digest = hashlib.sha256((inputs / name).read_bytes()).hexdigest()
            assert options[key] == {"name": name, "sha256": digest}
        video = hashlib.sha256((inputs / "calibration.webm").read_bytes()).hexdigest()
        assert options["calibration"].startswith(f"calibration.webm (sha256 {video}):")
        assert contract["fomm_config"]["dataset_params"]["root_dir"] == "frames"
    default = json.loads((written / "out" / "web" / "default" / CONTRACT_NAME).read_text())
    assert default["export_options"]["config"]["name"] == "face-128.yaml"
    assert default["export_options"]["checkpoint"]["name"] == "face-128.weights.h5"
    assert os.sep not in json.dumps(default["export_options"]).replace("\\/", "")
