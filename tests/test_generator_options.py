"""The generator's options of ours, ``warped_skips`` and ``source_blend``: off in every official
config, the skips warped and masked as eq. 8 does the bottleneck features, the blend as its
formula says, both reaching the prediction, and exported as extra per-source tensors that the
contract names."""

import argparse
import dataclasses
import json

import numpy as np
import pytest
import yaml

import fomm_tf
from fomm_tf.config import SHIPPED, config_from_dict, load_config
from fomm_tf.nets.generator import blend_with_source, skip_names, warp_skips

OFFICIAL = [n for n in SHIPPED if not n.startswith(("tiny", "face"))]


def tiny_skips(source_blend=False):
    cfg = load_config("tiny-64")
    gen = dataclasses.replace(cfg.generator, warped_skips=True, source_blend=source_blend)
    return dataclasses.replace(cfg, generator=gen)


@pytest.mark.parametrize("name", OFFICIAL)
def test_off_in_every_official_config(name):
    gen = load_config(name).generator
    assert gen.warped_skips is False and gen.source_blend is False


def test_the_options_round_trip_through_yaml():
    cfg = tiny_skips(source_blend=True)
    again = config_from_dict(yaml.safe_load(cfg.to_yaml()))
    assert again.generator.warped_skips is True and again.generator.source_blend is True
    plain = config_from_dict(yaml.safe_load(load_config("tiny-64").to_yaml()))
    assert plain.generator.warped_skips is False and plain.generator.source_blend is False


def test_blend_takes_the_warped_source_where_the_occlusion_map_says_visible():
    """The occlusion map given at 2×2 (resized bilinearly: constant rows stay constant)."""
    rng = np.random.default_rng(2)
    pred, warped = (rng.random((1, 8, 8, 3)).astype("float32") for _ in range(2))
    occlusion = np.array([[0.0, 0.0], [1.0, 1.0]], "float32")[None, :, :, None]
    out = np.asarray(blend_with_source(pred, warped, occlusion))
    np.testing.assert_allclose(out[:, :2], pred[:, :2], atol=1e-6)  # top rows: occluded
    np.testing.assert_allclose(out[:, -2:], warped[:, -2:], atol=1e-6)  # bottom: visible
    mid = out[:, 3]  # resized occlusion 0.375 at row 3 (half-pixel centres)
    np.testing.assert_allclose(mid, 0.625 * pred[:, 3] + 0.375 * warped[:, 3], atol=1e-6)


def test_skips_are_warped_and_masked_at_their_own_scale():
    """A flow that samples one full-resolution pixel to the right (the pixel-centre grid of
    align_corners=False, shifted by 2/64) and a constant occlusion of 0.5 given at 16×16:
    at 64² the skip comes back shifted by one pixel and halved; at 32² the resized flow
    samples half a pixel over, the mean of two neighbours, halved. Checked in numpy."""
    rng = np.random.default_rng(0)
    full = rng.random((1, 64, 64, 3)).astype("float32")
    half = rng.random((1, 32, 32, 5)).astype("float32")
    centres = (2 * np.arange(64) + 1) / 64 - 1
    x, y = np.meshgrid(centres + 2 / 64, centres)
    flow = np.stack([x, y], -1)[None].astype("float32")
    motion = {"deformation": flow, "occlusion_map": np.full((1, 16, 16, 1), 0.5, "float32")}
    warped_full, warped_half = (np.asarray(t) for t in warp_skips([full, half], motion, False))
    np.testing.assert_allclose(warped_full[:, :, :-1], 0.5 * full[:, :, 1:], atol=1e-6)
    want_half = (half[:, :, :-1] + half[:, :, 1:]) / 2
    np.testing.assert_allclose(warped_half[:, :, :-1], 0.5 * want_half, atol=1e-6)


def test_skips_are_cached_per_source_and_reach_the_prediction():
    models = fomm_tf.build_models(tiny_skips())
    gen = models.generator
    src = np.random.default_rng(1).random((1, 64, 64, 3)).astype("float32")
    kp = models.kp_detector(src)
    cache = gen.encode_source(src)
    assert skip_names(2) == ["skip_0", "skip_1"]
    assert cache["skip_0"].shape == (1, 64, 64, 8)  # the first block's width, full size
    assert cache["skip_1"].shape == (1, 32, 32, 16)
    cached = np.asarray(gen.animate_cached(src, cache, kp, kp)["prediction"])
    whole = np.asarray(gen(src, kp_source=kp, kp_driving=kp)["prediction"])
    np.testing.assert_allclose(cached, whole, atol=1e-6)
    for name in skip_names(2):
        cut = dict(cache, **{name: np.zeros_like(cache[name])})
        changed = np.asarray(gen.animate_cached(src, cut, kp, kp)["prediction"])
        assert np.abs(changed - cached).max() > 1e-3, name
    plain = fomm_tf.build_models("tiny-64").generator
    assert set(plain.encode_source(src)) == {"features", "source_small"}


def test_the_blend_reads_the_cached_source_when_given_none():
    """The exported generator runs without the source argument: the blend takes the cached
    ``source_image``, and the result is the one the full call gives."""
    models = fomm_tf.build_models(tiny_skips(source_blend=True))
    gen = models.generator
    src = np.random.default_rng(3).random((1, 64, 64, 3)).astype("float32")
    kp = models.kp_detector(src)
    cache = gen.encode_source(src)
    np.testing.assert_array_equal(np.asarray(cache["source_image"]), src)
    whole = np.asarray(gen(src, kp_source=kp, kp_driving=kp)["prediction"])
    cached = gen.animate_cached(None, cache, kp, kp, with_deformed=False)["prediction"]
    np.testing.assert_allclose(np.asarray(cached), whole, atol=1e-6)
    dark = dict(cache, source_image=np.zeros_like(src))
    darker = np.asarray(gen.animate_cached(None, dark, kp, kp, with_deformed=False)["prediction"])
    assert (whole - darker).mean() > 0.05  # the warped source carries part of every pixel


@pytest.mark.parametrize("quant", ["fp32", "int8"])
def test_export_names_the_extra_tensors_in_the_contract(tmp_path, quant):
    """The per-source split holds: the skips are source_encoder outputs and generator inputs
    by name, every op is a builtin, and the export's own validation passes (the TFLite
    animation against the Keras model)."""
    from fomm_tf.commands.export import add_export_arguments, run_export
    from fomm_tf.export.flatbuffer import ops_details

    config = tmp_path / "tiny-skips.yaml"
    config.write_text(tiny_skips(source_blend=True).to_yaml())
    out = tmp_path / quant
    argv = ["--config", str(config), "--random-weights", "--quant", quant, "-o", str(out)]
    assert run_export(add_export_arguments(argparse.ArgumentParser()).parse_args(argv)) == 0
    contract = json.loads((out / "model_contract.json").read_text())
    graphs = contract["graphs"]
    enc = [t["name"] for t in graphs["source_encoder"]["outputs"]]
    gen = [t["name"] for t in graphs["generator"]["inputs"]]
    extra = {"skip_0", "skip_1", "source_image"}
    assert extra <= set(enc) and extra <= set(gen)
    assert [t["range"] for t in graphs["generator"]["inputs"] if t["name"] == "skip_0"] == [
        [0.0, None]
    ]
    for name in ("source_encoder", "generator"):
        ops = {o["op_name"] for o in ops_details((out / f"{name}.tflite").read_bytes())}
        assert not {o for o in ops if o.startswith("Flex") or o == "CUSTOM"}, ops
    # No output is an input tensor itself: LiteRT.js returns garbage for such an output.
    for name, graph in graphs.items():
        ins = {t["tensor_name"] for t in graph["inputs"]}
        assert not ins & {t["tensor_name"] for t in graph["outputs"]}, name
