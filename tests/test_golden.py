"""Golden vectors for android_demo/core (issue 14): the Python side of what the JUnit tests
compare against is self-consistent, and ``fomm export --golden / --android-assets`` work."""

import argparse
import base64
import json
from pathlib import Path

import numpy as np
import pytest

from fomm_tf.animation.motion import DEGENERATE_AREA, hull_area, normalize_kp
from fomm_tf.animation.tflite_backend import TFLiteAnimator
from fomm_tf.apps.golden import MOTION_OPTION_SETS, orient
from fomm_tf.commands.export import add_export_arguments, run_export
from fomm_tf.errors import InputError
from fomm_tf.media.images import fit_frame, read_image, to_uint8


def export_args(*argv: str) -> argparse.Namespace:
    return add_export_arguments(argparse.ArgumentParser()).parse_args(list(argv))


@pytest.fixture(scope="module")
def golden(tmp_path_factory) -> dict:
    """A tiny random-weights fp32 export with its golden vectors and Android assets."""
    root = tmp_path_factory.mktemp("golden")
    args = export_args(
        "--config",
        "tiny-64",
        "--random-weights",
        "--quant",
        "fp32",
        "--golden",
        str(root / "golden"),
        "--golden-seed",
        "5",
        "--android-assets",
        str(root / "assets"),
    )
    assert run_export(args) == 0
    docs = {p.stem: json.loads(p.read_text()) for p in (root / "golden").glob("*.json")}
    return {"root": root, "model": root / "assets" / "model", **docs}


def arr(entry: dict) -> np.ndarray:
    return np.asarray(entry["data"], np.float32).reshape(entry["shape"])


def image(entry: dict) -> np.ndarray:
    raw = base64.b64decode(entry["rgba_b64"])
    return np.frombuffer(raw, np.uint8).reshape(entry["height"], entry["width"], 4)


def test_golden_files_and_float32_exact_numbers(golden):
    for name in ("images", "preprocess", "postprocess", "quantization", "motion", "full_frame"):
        assert name in golden, name
    assert golden["contract"]["format"] == "fomm-tf/tflite-contract"
    values = np.asarray(golden["motion"]["cases"][0]["kp_source"]["value"]["data"])
    assert np.array_equal(values.astype(np.float32).astype(np.float64), values)
    assert golden["images"]["source"] in (
        "skimage.data.astronaut",
        "fomm_tf.data.synthetic face seed 7",
    )


def test_preprocess_cases_are_fit_frame_of_the_oriented_image(golden):
    for case in golden["preprocess"]["cases"]:
        rgba = image(golden["images"][case["image"]])
        want = fit_frame(orient(rgba, case["rotation"], case["mirror"]), tuple(case["size"]))
        assert np.array_equal(arr(case["expected"]), want)
    # the rotation convention: CameraX's rotationDegrees, clockwise
    frame = np.arange(6, dtype=np.uint8).reshape(2, 3, 1)
    assert orient(frame, 90, False)[..., 0].tolist() == [[3, 0], [4, 1], [5, 2]]
    assert orient(frame, 0, True)[..., 0].tolist() == [[2, 1, 0], [5, 4, 3]]


def test_motion_cases_cover_the_degenerate_rules(golden):
    cases = golden["motion"]["cases"]
    assert len(cases) == 5
    assert [c["rule"] for c in cases[3:]] == ["spread", "one"]
    collinear = arr(cases[3]["kp_source"]["value"])[0]
    assert hull_area(collinear) <= DEGENERATE_AREA
    singular = arr(cases[4]["kp_driving_initial"]["jacobian"])[0, 0]
    assert abs(np.linalg.det(singular)) < 1e-6
    for case in cases:
        src, drv0, drv = (
            {k: arr(v) for k, v in case[key].items()}
            for key in ("kp_source", "kp_driving_initial", "kp_driving")
        )
        for result, (relative, adapt, rel_jac) in zip(case["results"], MOTION_OPTION_SETS):
            out = normalize_kp(
                src,
                drv,
                drv0,
                use_relative_movement=relative,
                use_relative_jacobian=rel_jac,
                scale=case["scale"] if adapt else 1.0,
            )
            np.testing.assert_allclose(arr(result["value"]), out["value"], atol=1e-6)
            np.testing.assert_allclose(arr(result["jacobian"]), out["jacobian"], atol=1e-6)
        kept = arr(case["results"][0]["jacobian"])[:, 0]
        if case["name"].endswith("singular"):  # J_d0 singular at keypoint 0: keeps J_s
            np.testing.assert_array_equal(kept, np.broadcast_to(src["jacobian"][0, 0], kept.shape))


def test_full_frame_through_tflite_animator_reproduces_the_recorded_prediction(golden):
    ff = golden["full_frame"]
    assert [c["graph"] for c in ff["calls"]] == [
        "kp_detector",
        "source_encoder",
        "kp_detector",
        "generator",
        "kp_detector",
        "generator",
    ]
    anim = TFLiteAnimator(golden["model"])
    size = anim.image_size
    kp_source = anim.prepare(fit_frame(image(ff["source"]), size)[None])
    driving = np.stack([fit_frame(image(d), size) for d in ff["driving"]])
    kp = anim.kp(driving)
    initial = {k: v[:1] for k, v in kp.items()}
    norm = normalize_kp(
        kp_source,
        kp,
        initial,
        use_relative_movement=True,
        use_relative_jacobian=True,
        scale=ff["scale"],
    )
    frames = anim.generate({k: np.asarray(v) for k, v in norm.items()})
    for i, rec in enumerate(ff["frames"]):
        np.testing.assert_allclose(arr(rec["kp_norm"]["value"])[0], norm["value"][i], atol=1e-6)
        np.testing.assert_allclose(arr(rec["prediction"])[0], frames[i], atol=1e-5)
        assert rec["prediction_uint8"] == to_uint8(arr(rec["prediction"])).ravel().tolist()
    # the recorded generator feeds are the source_encoder outputs and the keypoints
    gen = ff["calls"][3]["inputs"]
    enc = ff["calls"][1]["outputs"]
    for name, value in enc.items():
        assert gen[name] == value


def test_quantization_and_postprocess_cases(golden):
    for case in golden["quantization"]["cases"]:
        q = np.asarray(case["q"])
        want = np.float32(case["scale"]) * (q - case["zero_point"]).astype(np.float32)
        np.testing.assert_array_equal(arr(case["dequantized"]), want)
        back = np.asarray(case["quantized"])
        lo, hi = (-128, 127) if case["dtype"] == "int8" else (0, 255)
        assert back.min() >= lo and back.max() <= hi
    post = golden["postprocess"]
    assert post["expected"] == to_uint8(arr(post["input"])).tolist()


def test_android_assets(golden):
    assets = golden["root"] / "assets"
    for name in ("kp_detector.tflite", "source_encoder.tflite", "generator.tflite"):
        assert (assets / "model" / name).stat().st_size > 0
    contract = json.loads((assets / "model" / "model_contract.json").read_text())
    h, w = contract["image_size"]
    strip = read_image(assets / "driving.png")
    assert strip.shape[0] == h and strip.shape[1] % h == 0 and strip.shape[1] // h >= 8
    assert read_image(assets / "source.png").shape[:2] == (h, w)


def test_export_needs_an_output(tmp_path: Path):
    with pytest.raises(InputError, match="-o DIR"):
        run_export(export_args("--config", "tiny-64", "--random-weights"))
