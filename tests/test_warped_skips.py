"""The generator's ``warped_skips`` option: off in every official config, the skips warped and
masked as eq. 8 does the bottleneck features, reaching the prediction, and exported as extra
per-source tensors that the contract names."""

import argparse
import dataclasses
import json

import numpy as np
import pytest
import yaml

import fomm_tf
from fomm_tf.config import SHIPPED, config_from_dict, load_config
from fomm_tf.generator import skip_names, warp_skips

OFFICIAL = [n for n in SHIPPED if not n.startswith(("tiny", "face"))]


def tiny_skips():
    cfg = load_config("tiny-64")
    return dataclasses.replace(cfg, generator=dataclasses.replace(cfg.generator, warped_skips=True))


@pytest.mark.parametrize("name", OFFICIAL)
def test_off_in_every_official_config(name):
    assert load_config(name).generator.warped_skips is False


def test_the_option_round_trips_through_yaml():
    cfg = tiny_skips()
    again = config_from_dict(yaml.safe_load(cfg.to_yaml()))
    assert again.generator.warped_skips is True
    plain = config_from_dict(yaml.safe_load(load_config("tiny-64").to_yaml()))
    assert plain.generator.warped_skips is False


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


@pytest.mark.parametrize("quant", ["fp32", "int8"])
def test_export_names_the_skips_in_the_contract(tmp_path, quant):
    """The per-source split holds: the skips are source_encoder outputs and generator inputs
    by name, every op is a builtin, and the export's own validation passes (the TFLite
    animation against the Keras model)."""
    from fomm_tf.export.cli import add_export_arguments, run_export
    from fomm_tf.export.flatbuffer import ops_details

    config = tmp_path / "tiny-skips.yaml"
    config.write_text(tiny_skips().to_yaml())
    out = tmp_path / quant
    argv = ["--config", str(config), "--random-weights", "--quant", quant, "-o", str(out)]
    assert run_export(add_export_arguments(argparse.ArgumentParser()).parse_args(argv)) == 0
    contract = json.loads((out / "model_contract.json").read_text())
    graphs = contract["graphs"]
    enc = [t["name"] for t in graphs["source_encoder"]["outputs"]]
    gen = [t["name"] for t in graphs["generator"]["inputs"]]
    assert {"skip_0", "skip_1"} <= set(enc) and {"skip_0", "skip_1"} <= set(gen)
    assert [t["range"] for t in graphs["generator"]["inputs"] if t["name"] == "skip_0"] == [
        [0.0, None]
    ]
    for name in ("source_encoder", "generator"):
        ops = {o["op_name"] for o in ops_details((out / f"{name}.tflite").read_bytes())}
        assert not {o for o in ops if o.startswith("Flex") or o == "CUSTOM"}, ops
