"""The ``centred_grid`` option (ours): coordinates at pixel centres, one place at every scale.

Off in every official config (the official grid spans [-1, 1] corner to corner at each
resolution, and the parity fixtures pin that). On, the background's identity motion reads every
pixel where it is, and a keypoint is where its heatmap peak is in the picture.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import tensorflow as tf
import yaml

import fomm_tf
from fomm_tf.config import SHIPPED, config_from_dict, load_config
from fomm_tf.errors import ConfigError
from fomm_tf.nets.generator import deform_input
from fomm_tf.nets.keypoint_detector import keypoints_from_heatmap
from fomm_tf.nets.layers.warp import make_coordinate_grid, resize_flow

OFFICIAL = [n for n in SHIPPED if not n.startswith(("tiny", "face"))]


def tiny_centred():
    raw = yaml.safe_load(load_config("tiny-64").to_yaml())
    raw["fomm_tf"]["centred_grid"] = True
    return config_from_dict(raw, "tiny-64-centred")


def textured(h=64, w=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (1, h, w, 3)).astype("float32")


@pytest.mark.parametrize("name", OFFICIAL)
def test_off_in_every_official_config(name):
    cfg = load_config(name)
    assert cfg.centred_grid is False and cfg.kp_detector.centred_grid is False
    assert cfg.generator.dense_motion_params.centred_grid is False


def test_round_trips_through_yaml_and_reaches_every_network():
    cfg = config_from_dict(yaml.safe_load(tiny_centred().to_yaml()))
    assert cfg.centred_grid and cfg.kp_detector.centred_grid
    assert cfg.generator.dense_motion_params.centred_grid
    models = fomm_tf.build_models(cfg)
    assert models.kp_detector.cfg.centred_grid
    assert models.generator.centred_grid
    assert models.generator.dense_motion_network.cfg.centred_grid


def test_needs_align_corners_false():
    raw = yaml.safe_load(tiny_centred().to_yaml())
    raw["fomm_tf"]["align_corners"] = True
    with pytest.raises(ConfigError, match="centred_grid needs align_corners false"):
        config_from_dict(raw)
    with pytest.raises(ConfigError, match="centred_grid needs align_corners false"):
        tiny_centred().with_align_corners(True)


def test_centred_grid_values():
    grid = make_coordinate_grid(2, 4, centred=True).numpy()
    np.testing.assert_allclose(grid[0, :, 0], [-0.75, -0.25, 0.25, 0.75])
    np.testing.assert_allclose(grid[:, 0, 1], [-0.5, 0.5])
    # a 2x2 window in the middle of a 4x4 map: the centres of that map's pixels 1 and 2
    window = make_coordinate_grid(2, 2, centred=True, frame=(4, 4)).numpy()
    np.testing.assert_allclose(window[0, :, 0], [-0.25, 0.25])


@pytest.mark.parametrize("centred", [True, False])
def test_identity_flow_from_a_coarse_grid_reads_every_pixel_where_it_is(centred):
    """The dense motion's background motion is its coordinate grid at 1/4 scale; warped with
    at full scale it must leave a textured picture as it is (official grid: a zoom)."""
    image = textured()
    grid = make_coordinate_grid(16, 16, centred)[None]
    warped = deform_input(tf.constant(image), grid, align_corners=False, centred=centred).numpy()
    err = np.abs(warped - image).mean()
    if centred:
        assert err < 1e-5
    else:
        assert err > 0.05  # the official grid zooms a 64-pixel picture by 16/15


def test_resize_flow_keeps_a_shift_a_shift():
    grid = make_coordinate_grid(8, 8, centred=True)[None]
    shifted = grid + tf.constant([2.0 / 8, 0.0])  # one pixel of the 8x8 map to the right
    big = resize_flow(shifted, 32, 32).numpy()
    want = make_coordinate_grid(32, 32, centred=True).numpy()[None] + [0.25, 0.0]
    np.testing.assert_allclose(big, want, atol=1e-6)


def test_keypoint_of_a_peaked_heatmap_is_the_centre_of_its_pixel_in_the_picture():
    """A valid 7x7 convolution maps a 16x16 feature map to 10x10; a heatmap peaked at its
    pixel (2, 5) is feature pixel (5, 8), whose centre is where the keypoint must be."""
    heat = np.zeros((1, 10 * 10, 1, 1), "float32")
    heat[0, 2 * 10 + 5] = 1.0  # row 2, column 5
    kp = keypoints_from_heatmap(tf.constant(heat), 10, 10, frame=(16, 16)).numpy()[0, 0]
    np.testing.assert_allclose(kp, [(2 * 8 + 1) / 16 - 1, (2 * 5 + 1) / 16 - 1], rtol=1e-6)
    official = keypoints_from_heatmap(tf.constant(heat), 10, 10).numpy()[0, 0]
    np.testing.assert_allclose(official, [2 * 5 / 9 - 1, 2 * 2 / 9 - 1], rtol=1e-6)


def test_still_keypoints_give_the_source_back_through_the_generator():
    """Same keypoints for source and driving: every sparse motion is the identity, so the
    warped source the generator returns is the source (official grid: not)."""
    for cfg, tol in ((tiny_centred(), 1e-4), (load_config("tiny-64"), None)):
        models = fomm_tf.build_models(cfg)
        image = textured(seed=1)
        kp = models.kp_detector(image)
        out = models.generator(image, kp_source=kp, kp_driving=kp)
        err = np.abs(out["deformed"].numpy() - image).mean()
        if tol is None:
            assert err > 0.02
        else:
            assert err < tol


def test_config_dataclasses_hold_the_flag():
    cfg = tiny_centred()
    assert dataclasses.asdict(cfg.kp_detector)["centred_grid"] is True


def test_export_keeps_the_centred_grid_and_only_builtin_ops(tmp_path):
    """The fp32 export of a centred model passes its own validation (the LiteRT animation
    against the Keras model), records the option in the contract, and has builtin ops only."""
    import argparse
    import json

    from fomm_tf.commands.export import add_export_arguments, run_export
    from fomm_tf.export.flatbuffer import ops_details

    config = tmp_path / "tiny-centred.yaml"
    config.write_text(tiny_centred().to_yaml())
    out = tmp_path / "m"
    argv = ["--config", str(config), "--random-weights", "--quant", "fp32", "-o", str(out)]
    assert run_export(add_export_arguments(argparse.ArgumentParser()).parse_args(argv)) == 0
    contract = json.loads((out / "model_contract.json").read_text())
    assert contract["fomm_config"]["fomm_tf"]["centred_grid"] is True
    for name in contract["graphs"]:
        ops = {o["op_name"] for o in ops_details((out / f"{name}.tflite").read_bytes())}
        assert not {o for o in ops if o.startswith("Flex") or o == "CUSTOM"}, ops
