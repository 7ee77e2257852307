"""Network construction, configs, serialisation and weight import behaviour."""

import numpy as np
import pytest
import tensorflow as tf
import yaml

import fomm_tf
from fomm_tf.config import SHIPPED, config_from_dict, load_config
from fomm_tf.errors import CheckpointError, ConfigError
from fomm_tf.nets.dense_motion import DenseMotionNetwork, inverse_2x2
from fomm_tf.nets.generator import OcclusionAwareGenerator
from fomm_tf.nets.keypoint_detector import KeypointDetector
from fomm_tf.nets.weights import export_state_dict, load_state_dict


def tiny_raw(**overrides):
    raw = yaml.safe_load(load_config("tiny-64").to_yaml())
    for path, value in overrides.items():
        node = raw
        *parents, leaf = path.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = value
    return raw


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_config_loads(name):
    cfg = load_config(name)
    assert cfg.num_kp == 10
    assert cfg.kp_detector.temperature == 0.1


def test_vox_config_has_the_official_numbers():
    cfg = load_config("vox-256")
    kp, gen = cfg.kp_detector, cfg.generator
    assert (kp.block_expansion, kp.max_features, kp.num_blocks, kp.scale_factor) == (
        32,
        1024,
        5,
        0.25,
    )
    assert (
        gen.block_expansion,
        gen.max_features,
        gen.num_down_blocks,
        gen.num_bottleneck_blocks,
    ) == (64, 512, 2, 6)
    dm = gen.dense_motion_params
    assert (
        dm.block_expansion,
        dm.max_features,
        dm.num_blocks,
        dm.scale_factor,
        dm.kp_variance,
    ) == (64, 1024, 5, 0.25, 0.01)


def test_unknown_config_key_is_an_error_naming_it():
    with pytest.raises(ConfigError, match="bogus"):
        config_from_dict(tiny_raw(**{"model_params.kp_detector_params.bogus": 1}))


def test_missing_config_is_an_error_listing_shipped_names(tmp_path):
    with pytest.raises(ConfigError, match="vox-256"):
        load_config(tmp_path / "nope.yaml")


def test_networks_round_trip_through_get_config():
    models = fomm_tf.build_models("tiny-64")
    for net in (models.kp_detector, models.generator):
        clone = type(net).from_config(net.get_config())
        assert clone.get_config() == net.get_config()


def test_official_fixture_parameter_counts_match_the_readme(official_dir):
    models = fomm_tf.build_models(official_dir / "config.yaml")
    count = lambda net: sum(int(np.prod(w.shape)) for w in net.trainable_weights)  # noqa: E731
    assert count(models.kp_detector) == 80928
    assert count(models.generator) == 141783


@pytest.mark.parametrize("jacobian,occlusion", [(False, True), (True, False), (False, False)])
def test_configs_without_jacobian_or_occlusion_run(jacobian, occlusion):
    raw = tiny_raw(
        **{
            "model_params.common_params.estimate_jacobian": jacobian,
            "model_params.generator_params.estimate_occlusion_map": occlusion,
        }
    )
    models = fomm_tf.build_models(config_from_dict(raw))
    x = np.random.default_rng(0).random((2, 64, 64, 3)).astype(np.float32)
    kp = models.kp_detector(x)
    assert ("jacobian" in kp) == jacobian
    out = models.generator(x, kp_source=kp, kp_driving=kp)
    assert ("occlusion_map" in out) == occlusion
    assert out["prediction"].shape == (2, 64, 64, 3)


def test_single_jacobian_map_config_shares_one_map():
    raw = tiny_raw(**{"model_params.kp_detector_params.single_jacobian_map": True})
    kp_net = fomm_tf.build_models(config_from_dict(raw)).kp_detector
    assert kp_net.jacobian.filters == 4
    assert kp_net(np.zeros((1, 64, 64, 3), np.float32))["jacobian"].shape == (1, 10, 2, 2)


def test_fresh_keypoint_detector_jacobians_are_identity():
    kp = KeypointDetector(num_kp=3, block_expansion=4, max_features=16, num_blocks=2)
    jac = kp(np.random.default_rng(0).random((1, 64, 64, 3)).astype(np.float32))["jacobian"]
    np.testing.assert_allclose(jac, np.broadcast_to(np.eye(2), (1, 3, 2, 2)), atol=1e-6)


def test_identical_keypoints_give_identity_deformation_where_masks_sum():
    dm = DenseMotionNetwork(
        num_kp=2, block_expansion=4, max_features=8, num_blocks=2, scale_factor=0.5
    )
    src = np.random.default_rng(1).random((1, 16, 16, 3)).astype(np.float32)
    kp = {
        "value": np.array([[[0.2, -0.3], [-0.5, 0.4]]], np.float32),
        "jacobian": np.tile(np.eye(2, dtype=np.float32), (1, 2, 1, 1)),
    }
    out = dm(src, kp_source=kp, kp_driving=kp)
    np.testing.assert_allclose(np.sum(out["mask"], axis=-1), 1.0, atol=1e-5)
    grid = fomm_tf.nets.layers.warp.make_coordinate_grid(8, 8).numpy()
    np.testing.assert_allclose(out["deformation"][0], grid, atol=1e-5)


def test_inverse_2x2_matches_numpy():
    m = np.random.default_rng(2).normal(size=(3, 4, 2, 2)).astype(np.float32) + 2 * np.eye(2)
    np.testing.assert_allclose(inverse_2x2(m), np.linalg.inv(m), rtol=1e-4, atol=1e-5)


def test_batch_norm_uses_pytorch_eval_semantics():
    from fomm_tf.nets.layers.blocks import SameBlock2d

    block = SameBlock2d(2, kernel_size=1, padding=0)
    x = np.random.default_rng(3).normal(size=(1, 4, 4, 3)).astype(np.float32)
    block(x)
    mean, var = np.array([0.5, -1.0]), np.array([1e-4, 2.0])
    gamma, beta = np.array([1.5, 0.5]), np.array([0.1, -0.2])
    for v, value in zip(
        (block.norm.moving_mean, block.norm.moving_variance, block.norm.gamma, block.norm.beta),
        (mean, var, gamma, beta),
    ):
        v.assign(value.astype(np.float32))
    conv = x @ block.conv.kernel.numpy()[0, 0] + block.conv.bias.numpy()
    ref = np.maximum((conv - mean) / np.sqrt(var + 1e-5) * gamma + beta, 0)
    np.testing.assert_allclose(block(x, training=False), ref, rtol=1e-4, atol=1e-5)


def test_state_dict_round_trips_through_the_official_layout():
    a = fomm_tf.build_models("tiny-64", seed=1)
    b = fomm_tf.build_models("tiny-64", seed=2)
    state = export_state_dict(a.generator)
    load_state_dict(b.generator, state, "generator")
    for wa, wb in zip(a.generator.weights, b.generator.weights):
        np.testing.assert_array_equal(wa.numpy(), wb.numpy())


def test_mismatched_checkpoint_lists_every_problem(official_dir, tmp_path):
    raw = yaml.safe_load((official_dir / "config.yaml").read_text())
    raw["model_params"]["kp_detector_params"]["block_expansion"] = 16
    raw["model_params"]["common_params"]["estimate_jacobian"] = False
    cfg = tmp_path / "wrong.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    with pytest.raises(CheckpointError) as err:
        fomm_tf.load_official(official_dir / "checkpoint.pth.tar", cfg)
    msg = str(err.value)
    assert "checkpoint.pth.tar" in msg
    assert "shape" in msg and "unexpected kp_detector.jacobian.weight" in msg


def test_keras_weights_file_round_trip(tmp_path):
    models = fomm_tf.build_models("tiny-64", seed=3)
    path = fomm_tf.save_weights(models, tmp_path / "m.weights.h5")
    loaded = fomm_tf.load_models(path, "tiny-64")
    x = np.random.default_rng(4).random((1, 64, 64, 3)).astype(np.float32)
    np.testing.assert_allclose(
        loaded.kp_detector(x)["value"], models.kp_detector(x)["value"], atol=1e-6
    )
    assert [p.name for p in tmp_path.iterdir()] == ["m.weights.h5"]


def test_generator_without_dense_motion_decodes_the_source():
    """No dense motion network (official: ``dense_motion_params`` None): the source's
    features go to the decoder unwarped, whatever the keypoints."""
    gen = OcclusionAwareGenerator(
        num_kp=2, block_expansion=4, max_features=8, num_down_blocks=1, num_bottleneck_blocks=1
    )
    rng = np.random.default_rng(5)
    x = rng.random((1, 16, 16, 3)).astype(np.float32)
    kp = {"value": np.zeros((1, 2, 2), np.float32)}
    moved = {"value": rng.uniform(-0.8, 0.8, (1, 2, 2)).astype(np.float32)}
    out = gen(x, kp_source=kp, kp_driving=kp)
    assert set(out) == {"prediction"}
    # the encoder → decoder path, block by block
    features = gen.first(x)
    for block in gen.down_blocks:
        features = block(features)
    decoded = features
    for block in [*gen.bottleneck, *gen.up_blocks]:
        decoded = block(decoded)
    expected = 1 / (1 + np.exp(-np.asarray(gen.final(decoded), np.float64)))
    np.testing.assert_allclose(out["prediction"], expected, atol=1e-6)  # measured 1.2e-7
    np.testing.assert_array_equal(
        gen(x, kp_source=kp, kp_driving=moved)["prediction"], out["prediction"]
    )
    other = gen(x[:, ::-1], kp_source=kp, kp_driving=kp)["prediction"]
    assert np.abs(np.asarray(other) - np.asarray(out["prediction"])).max() > 1e-3  # 0.037


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("size", [(5, 7), (32, 33)])  # plain path below PARITY_MIN_PIXELS
def test_up_block_equals_upsample_then_conv(training, size):
    """The parity-split up block matches nearest ×2 upsampling + 3×3 conv + BN + ReLU."""
    from fomm_tf.nets.layers.blocks import PARITY_MIN_PIXELS, SameBlock2d, UpBlock2d

    assert 5 * 7 < PARITY_MIN_PIXELS <= 32 * 33  # one size on each path
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, *size, 3)).astype(np.float32)
    x_up = np.repeat(np.repeat(x, 2, axis=1), 2, axis=2)
    up_block, ref_block = UpBlock2d(4), SameBlock2d(4)
    up_block(x)
    ref_block(x_up)
    for v, r in zip(up_block.weights, ref_block.weights):
        value = rng.normal(size=v.shape).astype(np.float32)
        if "variance" in v.path:
            value = np.abs(value) + 0.1
        v.assign(value)
        r.assign(value)
    expected = ref_block(x_up, training=training)
    np.testing.assert_allclose(up_block(x, training=training), expected, rtol=1e-4, atol=1e-5)
    # Unknown spatial size (a traced graph with None dimensions: the parity path whatever
    # the size) gives the same values.
    dynamic = tf.function(
        lambda t: up_block(t, training=training),
        input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)],
    )
    np.testing.assert_allclose(dynamic(x), expected, rtol=1e-4, atol=1e-5)


def test_face_128_adv_is_face_128_plus_the_official_adversarial_loss():
    from pathlib import Path

    folder = Path(fomm_tf.__file__).parent / "configs"
    base = yaml.safe_load((folder / "face-128.yaml").read_text())
    adv = yaml.safe_load((folder / "face-128-adv.yaml").read_text())
    assert adv["train_params"]["loss_weights"].pop("generator_gan") == 1
    assert base["train_params"]["loss_weights"].pop("generator_gan") == 0
    assert adv["model_params"]["discriminator_params"].pop("use_kp") is True
    assert adv == base


@pytest.mark.parametrize("align_corners", [True, False])
def test_align_corners_reaches_both_warps_of_the_generator(official_dir, align_corners):
    """The published checkpoints' convention (torch <= 1.2 sampled like align_corners=True)
    through the networks. With the driving keypoints equal to the source's every motion is
    the identity grid, whose points sit on pixel centres only under align_corners=True: there
    the dense motion's warps return the downscaled source and the generator's warp its
    features unchanged. Measured: 1.5e-6 and 1.8e-7 under True; 0.46 and 0.017 under False,
    where both resample half a pixel off."""
    from fomm_tf.data.synthetic import render_video
    from fomm_tf.nets.generator import occlude

    models = fomm_tf.load_official(
        official_dir / "checkpoint.pth.tar", official_dir / "config.yaml", align_corners
    )
    assert models.generator.align_corners is align_corners
    source = render_video(1, 64, seed=3, kind="face")
    kp = models.kp_detector(source)
    cache = models.generator.encode_source(source)
    out = models.generator.animate_cached(source, cache, kp, kp)
    small = np.asarray(cache["source_small"])[:, None]
    sparse_error = float(np.abs(np.asarray(out["sparse_deformed"]) - small).max())
    unwarped = models.generator.decode(occlude(cache["features"], out["occlusion_map"]))
    feature_error = float(np.abs(np.asarray(out["prediction"]) - np.asarray(unwarped)).max())
    if align_corners:
        assert sparse_error <= 1e-5 and feature_error <= 1e-5, (sparse_error, feature_error)
    else:
        assert sparse_error >= 1e-3 and feature_error >= 1e-3, (sparse_error, feature_error)
