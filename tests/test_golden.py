"""Golden vectors for android_demo/core: the Python side of what the JUnit tests
compare against is self-consistent, and ``fomm export --golden / --android-assets`` work."""

import argparse
import base64
import json
from pathlib import Path

import numpy as np
import pytest

from fomm_tf.apps.golden import orient
from fomm_tf.commands.export import add_export_arguments, run_export
from fomm_tf.errors import InputError
from fomm_tf.media.images import read_image

# The motion rules, as the README and the contract state them (checked against motion.json).
DEGENERATE_AREA, DEGENERATE_SPREAD, SINGULAR_DET = 1e-6, 1e-4, 1e-6


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


# Independent computations of what the golden files hold, written out from the documented
# rules (not the functions that wrote the files).


def reference_preprocess(rgba: np.ndarray, size, rotation: int = 0, mirror: bool = False):
    """A camera frame → model input: turned ``rotation`` degrees clockwise, mirrored, alpha
    composited on white, centre-cropped to the target's aspect ratio, then resized with
    OpenCV's area filter when shrinking and bicubic when enlarging, clipped to [0, 1]."""
    import cv2

    img = np.rot90(rgba, k=-(rotation // 90))
    if mirror:
        img = img[:, ::-1]
    x = img.astype(np.float32) / 255.0
    rgb = x[..., :3] * x[..., 3:] + (1.0 - x[..., 3:])
    th, tw = size
    h, w = rgb.shape[:2]
    if w * th > h * tw:  # wider than the target: keep the middle columns
        ch, cw = h, round(h * tw / th)
    else:
        ch, cw = round(w * th / tw), w
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    crop = np.ascontiguousarray(rgb[y0 : y0 + ch, x0 : x0 + cw])
    if (ch, cw) != (th, tw):
        interp = cv2.INTER_AREA if ch * cw >= th * tw else cv2.INTER_CUBIC
        crop = cv2.resize(crop, (tw, th), interpolation=interp)
    return np.clip(crop, 0.0, 1.0)


def reference_uint8(x: np.ndarray) -> np.ndarray:
    """``round(255·clip(x, 0, 1))``, halves up, in float32 (as the apps compute it)."""
    x = np.clip(np.asarray(x, np.float32), 0.0, 1.0)
    return np.floor(x * np.float32(255.0) + np.float32(0.5)).astype(np.uint8)


def reference_scale(src_xy: np.ndarray, drv_xy: np.ndarray) -> tuple[float, str]:
    """Adapt-scale rule: sqrt of the convex-hull area ratio, else the RMS-spread ratio, else 1."""
    from scipy.spatial import ConvexHull, QhullError

    def area(p):
        try:
            return float(ConvexHull(np.asarray(p, np.float64)).volume)  # 2-D volume: area
        except QhullError:  # collinear or coincident: no 2-D hull
            return 0.0

    def spread(p):
        p = np.asarray(p, np.float64)
        return float(np.sqrt(np.mean(np.sum((p - p.mean(0)) ** 2, axis=1))))

    a_s, a_d = area(src_xy), area(drv_xy)
    if a_s > DEGENERATE_AREA and a_d > DEGENERATE_AREA:
        return float(np.sqrt(a_s / a_d)), "area"
    r_s, r_d = spread(src_xy), spread(drv_xy)
    if r_s > DEGENERATE_SPREAD and r_d > DEGENERATE_SPREAD:
        return r_s / r_d, "spread"
    return 1.0, "one"


def reference_normalize(src, drv, drv0, relative, scale, relative_jacobian):
    """Eq. 14-15: ``kp_s + s·(kp_d − kp_d0)`` and ``J_d·J_d0⁻¹·J_s`` (a singular ``J_d0``
    keeps ``J_s``); absolute mode passes the driving keypoints through."""
    if not relative:
        return {k: np.asarray(v, np.float64) for k, v in drv.items()}
    value = src["value"] + scale * (np.asarray(drv["value"], np.float64) - drv0["value"])
    jac = np.asarray(drv["jacobian"], np.float64)
    if relative_jacobian:
        j_s = np.broadcast_to(src["jacobian"], jac.shape).astype(np.float64)
        j_d0 = np.broadcast_to(drv0["jacobian"], jac.shape).astype(np.float64)
        jac = jac.copy()
        for idx in np.ndindex(jac.shape[:2]):
            if abs(np.linalg.det(j_d0[idx])) > SINGULAR_DET:
                jac[idx] = jac[idx] @ np.linalg.inv(j_d0[idx]) @ j_s[idx]
            else:
                jac[idx] = j_s[idx]
    return {"value": value, "jacobian": jac}


def test_golden_files_and_float32_exact_numbers(golden):
    for name in ("images", "preprocess", "postprocess", "quantization", "motion", "full_frame"):
        assert name in golden, name
    assert golden["contract"]["format"] == "fomm-tf/tflite-contract"
    values = np.asarray(golden["motion"]["cases"][0]["kp_source"]["value"]["data"])
    assert np.array_equal(values.astype(np.float32).astype(np.float64), values)
    assert golden["images"]["source"] == "skimage.data.astronaut"  # the test extra has it
    from skimage import data

    photo = image(golden["images"]["photo"])
    assert np.array_equal(photo[..., :3], data.astronaut()) and (photo[..., 3] == 255).all()


def test_preprocess_cases_follow_the_documented_preprocessing(golden):
    cases = golden["preprocess"]["cases"]
    assert len(cases) == 8
    # measured: identical (the same OpenCV filters); 1e-6 leaves room for another build
    for case in cases:
        rgba = image(golden["images"][case["image"]])
        want = reference_preprocess(rgba, case["size"], case["rotation"], case["mirror"])
        np.testing.assert_allclose(
            arr(case["expected"]),
            want,
            atol=1e-6,
            err_msg=f"{case['image']} {case['rotation']}° mirror {case['mirror']} {case['size']}",
        )
    # the rotation convention: CameraX's rotationDegrees, clockwise
    frame = np.arange(6, dtype=np.uint8).reshape(2, 3, 1)
    assert orient(frame, 90, False)[..., 0].tolist() == [[3, 0], [4, 1], [5, 2]]
    assert orient(frame, 0, True)[..., 0].tolist() == [[2, 1, 0], [5, 4, 3]]


def test_motion_cases_cover_the_degenerate_rules(golden):
    rules = golden["motion"]["rules"]
    assert (rules["degenerate_area"], rules["degenerate_spread"], rules["singular_det"]) == (
        DEGENERATE_AREA,
        DEGENERATE_SPREAD,
        SINGULAR_DET,
    )
    cases = golden["motion"]["cases"]
    assert len(cases) == 5
    assert [c["rule"] for c in cases] == ["area", "area", "area", "spread", "one"]
    singular = arr(cases[4]["kp_driving_initial"]["jacobian"])[0, 0]
    assert abs(np.linalg.det(singular)) < 1e-6
    for case in cases:
        src, drv0, drv = (
            {k: arr(v) for k, v in case[key].items()}
            for key in ("kp_source", "kp_driving_initial", "kp_driving")
        )
        scale, rule = reference_scale(src["value"][0], drv0["value"][0])
        assert (case["rule"], case["scale"]) == (rule, pytest.approx(scale, rel=1e-6))
        options = [
            (r["relative"], r["adapt_movement_scale"], r["relative_jacobian"])
            for r in case["results"]
        ]
        # every flag off once: relative, adapt scale, relative Jacobian
        assert options == [
            (True, True, True),
            (True, False, True),
            (True, True, False),
            (False, True, True),
        ]
        # measured against float64 numpy: values 3.6e-8, Jacobians 3.8e-7 (float32 products)
        for result, (relative, adapt, rel_jac) in zip(case["results"], options):
            want = reference_normalize(src, drv, drv0, relative, scale if adapt else 1.0, rel_jac)
            np.testing.assert_allclose(arr(result["value"]), want["value"], atol=1e-6)
            np.testing.assert_allclose(arr(result["jacobian"]), want["jacobian"], atol=1e-5)


def test_full_frame_calls_reproduce_the_keras_networks_and_the_motion_rules(golden):
    """Every recorded graph call against the Keras networks the export came from (tiny-64,
    random weights of seed 0), the keypoints between them against eq. 14-15."""
    from fomm_tf.nets.models import build_models

    ff = golden["full_frame"]
    calls = ff["calls"]
    assert [c["graph"] for c in calls] == [
        "kp_detector",
        "source_encoder",
        "kp_detector",
        "generator",
        "kp_detector",
        "generator",
    ]
    models = build_models("tiny-64", seed=0)
    size = tuple(golden["contract"]["image_size"])
    # inputs: the recorded pictures, pre-processed
    source = reference_preprocess(image(ff["source"]), size)[None]
    np.testing.assert_allclose(arr(calls[0]["inputs"]["image"]), source, atol=1e-6)
    np.testing.assert_allclose(arr(calls[1]["inputs"]["source"]), source, atol=1e-6)
    for call, picture in zip((calls[2], calls[4]), ff["driving"]):
        want = reference_preprocess(image(picture), size)[None]
        np.testing.assert_allclose(arr(call["inputs"]["image"]), want, atol=1e-6)
    # every graph's outputs: the Keras network on the same inputs (fp32 export; measured
    # at most 3.6e-7 apart)
    for call in calls:
        feeds = {k: arr(v) for k, v in call["inputs"].items()}
        if call["graph"] == "kp_detector":
            want = models.kp_detector(feeds["image"])
        elif call["graph"] == "source_encoder":
            want = models.generator.encode_source(feeds["source"])
        else:
            kp = {
                who: {k: feeds[f"{who}_{k}"] for k in ("value", "jacobian")}
                for who in ("kp_source", "kp_driving")
            }
            cache = {k: v for k, v in feeds.items() if not k.startswith("kp_")}
            want = models.generator.animate_cached(
                None, cache, kp["kp_source"], kp["kp_driving"], with_deformed=False
            )
        for name, value in call["outputs"].items():
            np.testing.assert_allclose(
                arr(value), np.asarray(want[name]), atol=1e-5, err_msg=f"{call['graph']}.{name}"
            )
    # between the graphs: relative motion from the first driving frame, adapt scale
    # (measured: 6e-8 from float64 numpy)
    kp_source = {k: arr(v) for k, v in calls[0]["outputs"].items()}
    kp_initial = {k: arr(v) for k, v in calls[2]["outputs"].items()}
    scale, _ = reference_scale(kp_source["value"][0], kp_initial["value"][0])
    assert ff["scale"] == pytest.approx(scale, rel=1e-6)
    for rec, kp_call, gen_call in zip(ff["frames"], (calls[2], calls[4]), (calls[3], calls[5])):
        kp_d = {k: arr(v) for k, v in kp_call["outputs"].items()}
        want = reference_normalize(kp_source, kp_d, kp_initial, True, scale, True)
        for k in ("value", "jacobian"):
            np.testing.assert_allclose(arr(rec["kp_norm"][k]), want[k], atol=1e-6)
            assert gen_call["inputs"][f"kp_driving_{k}"] == rec["kp_norm"][k]
            assert gen_call["inputs"][f"kp_source_{k}"] == calls[0]["outputs"][k]
        for name, value in calls[1]["outputs"].items():  # the cached source encoding
            assert gen_call["inputs"][name] == value
        assert rec["prediction"] == gen_call["outputs"]["prediction"]
        assert rec["prediction_uint8"] == reference_uint8(arr(rec["prediction"])).ravel().tolist()


def test_quantization_and_postprocess_cases(golden):
    for case in golden["quantization"]["cases"]:
        q = np.asarray(case["q"])
        want = np.float32(case["scale"]) * (q - case["zero_point"]).astype(np.float32)
        np.testing.assert_array_equal(arr(case["dequantized"]), want)
        back = np.asarray(case["quantized"])
        lo, hi = (-128, 127) if case["dtype"] == "int8" else (0, 255)
        assert back.min() >= lo and back.max() <= hi
    post = golden["postprocess"]
    assert post["expected"] == reference_uint8(arr(post["input"])).tolist()
    # its last six inputs: 0, 1, 0.5/255 and 1.5/255 (half-way: up), 254.5/255, -0
    assert post["expected"][-6:] == [0, 255, 1, 2, 255, 0]


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
