"""The training losses: TPS geometry, equivariance, perceptual pyramid, discriminator."""

import logging

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from fomm_tf.errors import InputError
from fomm_tf.losses import (
    MultiScaleDiscriminator,
    PerceptualLoss,
    RandomTPS,
    VGG19Features,
    discriminator_loss,
    equivariance_losses,
    generator_gan_losses,
    perceptual,
)


@pytest.fixture(scope="module")
def vgg():
    return VGG19Features("random", seed=0)


def _numpy_tps(theta, ctrl_pts, ctrl_params, z):
    """Independent reference of the official warp: affine + L1-distance TPS, per point."""
    out = np.einsum("bij,bnj->bni", theta[:, :, :2], z) + theta[:, None, :, 2]
    r = np.abs(z[:, :, None, :] - ctrl_pts[None, None]).sum(-1)
    u = r**2 * np.log(r + 1e-6)
    return out + (u * ctrl_params[:, None, :]).sum(-1, keepdims=True)


def test_tps_warp_matches_numpy_reference():
    t = RandomTPS(3, 0.05, 0.005, 5, seed=(4, 2))
    z = np.random.default_rng(0).uniform(-1, 1, (3, 20, 2)).astype(np.float32)
    ref = _numpy_tps(t.theta.numpy(), t.control_points.numpy(), t.control_params.numpy(), z)
    np.testing.assert_allclose(t.warp_coordinates(z).numpy(), ref, atol=1e-5)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), sigma_tps=st.sampled_from([0.005, 0.05]))
def test_tps_jacobian_matches_finite_differences(seed, sigma_tps):
    t = RandomTPS(2, 0.05, sigma_tps, 5, seed=(seed, 7))
    rng = np.random.default_rng(seed)
    # Keep away from the control-point grid lines, where |·| has a kink.
    z = rng.uniform(-0.9, 0.9, (2, 6, 2)) // 0.5 * 0.5 + rng.uniform(0.05, 0.45, (2, 6, 2))
    z = z.astype(np.float64)
    jac = t.jacobian(z.astype(np.float32)).numpy()
    theta, cp = t.theta.numpy().astype(np.float64), t.control_points.numpy().astype(np.float64)
    params = t.control_params.numpy().astype(np.float64)
    eps = 1e-5
    for j in range(2):
        step = np.zeros(2)
        step[j] = eps
        diff = (
            _numpy_tps(theta, cp, params, z + step) - _numpy_tps(theta, cp, params, z - step)
        ) / (2 * eps)
        np.testing.assert_allclose(jac[..., :, j], diff, atol=2e-4)


def test_identity_transform_leaves_frame_unchanged_with_align_corners():
    frame = tf.random.uniform((2, 16, 16, 3), seed=1)
    out = RandomTPS.identity(2).transform_frame(frame, align_corners=True)
    np.testing.assert_allclose(out.numpy(), frame.numpy(), atol=1e-5)


def test_transform_frame_reflects_at_the_border():
    # A pure translation by one full image width folds the image back onto itself mirrored.
    t = RandomTPS.identity(1)
    t.theta = tf.constant([[[1.0, 0.0, 2.0], [0.0, 1.0, 0.0]]])
    frame = tf.reshape(tf.range(8 * 8 * 1, dtype=tf.float32), (1, 8, 8, 1))
    out = t.transform_frame(frame, align_corners=True)
    np.testing.assert_allclose(out.numpy(), frame.numpy()[:, :, ::-1], atol=1e-4)


def test_equivariance_losses_vanish_for_identity_transform():
    rng = np.random.default_rng(1)
    kp = {
        "value": tf.constant(rng.uniform(-1, 1, (2, 10, 2)), tf.float32),
        "jacobian": tf.constant(rng.normal(size=(2, 10, 2, 2)) + 2 * np.eye(2), tf.float32),
    }
    losses = equivariance_losses(kp, kp, RandomTPS.identity(2), 10.0, 10.0)
    assert set(losses) == {"equivariance_value", "equivariance_jacobian"}
    assert float(losses["equivariance_value"]) < 1e-6
    assert float(losses["equivariance_jacobian"]) < 1e-5


def test_equivariance_losses_detect_a_mismatch():
    kp = {"value": tf.zeros((1, 4, 2)), "jacobian": tf.eye(2, batch_shape=[1, 4])}
    moved = {"value": tf.fill((1, 4, 2), 0.5), "jacobian": 2 * tf.eye(2, batch_shape=[1, 4])}
    losses = equivariance_losses(kp, moved, RandomTPS.identity(1), 1.0, 1.0)
    assert float(losses["equivariance_value"]) == pytest.approx(0.5, abs=1e-5)
    assert float(losses["equivariance_jacobian"]) == pytest.approx(0.5, abs=1e-5)


def test_vgg_features_have_the_relu_k_1_shapes(vgg):
    feats = vgg(tf.zeros((1, 32, 32, 3)))
    assert [tuple(f.shape[1:]) for f in feats] == [
        (32, 32, 64),
        (16, 16, 128),
        (8, 8, 256),
        (4, 4, 512),
        (2, 2, 512),
    ]


def test_random_vgg_is_reproducible():
    x = tf.random.uniform((1, 16, 16, 3), seed=3)
    a = VGG19Features("random", seed=5)(x)[2]
    b = VGG19Features("random", seed=5)(x)[2]
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_perceptual_loss_is_zero_for_identical_images_and_positive_otherwise(vgg):
    loss = PerceptualLoss([1, 0.5], [1] * 5, vgg, (32, 32))
    x = tf.random.uniform((2, 32, 32, 3), seed=1)
    y = tf.random.uniform((2, 32, 32, 3), seed=2)
    assert float(loss(x, x)) == 0.0
    assert float(loss(x, y)) > 0.0


def test_perceptual_loss_skips_vanishing_slices_and_logs_it(vgg, caplog):
    with caplog.at_level(logging.INFO, logger=perceptual.__name__):
        loss = PerceptualLoss([1, 0.5, 0.25, 0.125], [10] * 5, vgg, (64, 64))
    assert loss.slices == [5, 5, 5, 4]
    assert "relu5_1" in caplog.text and "0.125" in caplog.text
    x = tf.random.uniform((1, 64, 64, 3), seed=1)
    assert np.isfinite(float(loss(x, tf.reverse(x, [1]))))


def test_perceptual_gradient_flows_to_prediction_only(vgg):
    loss = PerceptualLoss([1], [1] * 5, vgg, (16, 16))
    x = tf.Variable(tf.random.uniform((1, 16, 16, 3), seed=1))
    y = tf.Variable(tf.random.uniform((1, 16, 16, 3), seed=2))
    with tf.GradientTape() as tape:
        value = loss(x, y)
    gx, gy = tape.gradient(value, [x, y])
    assert float(tf.reduce_sum(tf.abs(gx))) > 0.0
    assert gy is None


@pytest.fixture
def caches(tmp_path, monkeypatch):
    """Empty torch and Keras caches: (torchvision file path, Keras file path)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    return perceptual.torch_cache_file(), perceptual.keras_cache_file()


def _fake_torchvision_vgg19(path, fake_torch, seed: int):
    """A torch zip-format ``vgg19`` state dict (the convolutions up to relu5_1) holding the
    ``random`` recipe's weights for ``seed``, written without torch."""
    from helpers import FakeStorage, FakeTensor, torch_like_pickle, zip_checkpoint

    rng = np.random.default_rng(seed)
    widths = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256)] + [(256, 256)] * 3
    widths += [(256, 512)] + [(512, 512)] * 4
    state, storages = {}, {}

    def tensor(arr):
        key = str(len(storages))
        storages[key] = np.ascontiguousarray(arr, "<f4").tobytes()
        storage = FakeStorage(key, fake_torch.FloatStorage, arr.size)
        strides = np.ascontiguousarray(arr).strides
        return FakeTensor(
            fake_torch._utils._rebuild_tensor_v2,
            storage,
            0,
            arr.shape,
            tuple(s // 4 for s in strides),
        )

    for index, (cin, cout) in zip(perceptual._TORCH_CONV_INDEX, widths):
        weight = rng.normal(0.0, np.sqrt(2.0 / (cin * 9)), (cout, cin, 3, 3)).astype("float32")
        bias = rng.normal(0.0, 0.01, cout).astype("float32")
        state[f"features.{index}.weight"] = tensor(weight)
        state[f"features.{index}.bias"] = tensor(bias)
    path.parent.mkdir(parents=True, exist_ok=True)
    return zip_checkpoint(path, torch_like_pickle(state), storages)


def test_imagenet_reads_torchvisions_vgg19_from_the_torch_cache(caches, fake_torch):
    torch_file, keras_file = caches
    _fake_torchvision_vgg19(torch_file, fake_torch, seed=7)
    keras_file.parent.mkdir(parents=True)
    keras_file.write_bytes(b"not used: the official network comes first")
    vgg = VGG19Features("imagenet")
    assert vgg.kind == "torch" and vgg.file == torch_file and not vgg.bgr
    np.testing.assert_allclose(vgg.mean.numpy(), [0.485, 0.456, 0.406])
    np.testing.assert_allclose(vgg.std.numpy(), [0.229, 0.224, 0.225])
    x = tf.random.uniform((1, 16, 16, 3), seed=4)
    for got, want in zip(vgg(x), VGG19Features("random", seed=7)(x)):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert VGG19Features("torchvision").file == torch_file


def test_keras_weights_are_the_fallback_with_a_warning(caches, caplog):
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    torch_file, keras_file = caches
    net = keras.applications.VGG19(weights=None, include_top=False, input_shape=(None, None, 3))
    keras_file.parent.mkdir(parents=True)
    with h5py.File(keras_file, "w") as f:  # the layout of Keras's cache file
        legacy_h5_format.save_weights_to_hdf5_group(f, net)
    with caplog.at_level(logging.WARNING, logger=perceptual.__name__):
        vgg = VGG19Features("imagenet")
    assert vgg.kind == "keras" and vgg.bgr and vgg.scale == 255.0
    assert "Caffe" in caplog.text and "another scale" in caplog.text
    assert str(torch_file.parent) in caplog.text
    np.testing.assert_array_equal(
        vgg.layers[0][0].kernel.numpy(), net.get_layer("block1_conv1").kernel.numpy()
    )
    with pytest.raises(InputError, match="vgg19-dcbb9e9d.pth"):
        VGG19Features("torchvision")


def test_missing_weights_name_both_files_in_one_line(caches):
    torch_file, keras_file = caches
    with pytest.raises(InputError) as info:
        VGG19Features("imagenet")
    message = str(info.value)
    assert str(torch_file) in message and str(keras_file) in message
    assert "\n" not in message
    assert torch_file.name == "vgg19-dcbb9e9d.pth"
    assert str(torch_file).endswith("torch/hub/checkpoints/vgg19-dcbb9e9d.pth")


def test_torch_cache_follows_torch_hub_rules(monkeypatch, tmp_path):
    monkeypatch.delenv("TORCH_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert perceptual.torch_cache_file() == (
        tmp_path / "xdg" / "torch" / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"
    )
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert perceptual.torch_cache_file() == (
        tmp_path / "home" / ".cache" / "torch" / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"
    )


def test_random_vgg_follows_the_torch_layout_recipe():
    """``random`` draws (out, in, 3, 3) weights then biases per conv, in torchvision order."""
    rng = np.random.default_rng(11)
    weight = rng.normal(0.0, np.sqrt(2.0 / 27), (64, 3, 3, 3)).astype("float32")
    bias = rng.normal(0.0, 0.01, 64).astype("float32")
    conv = VGG19Features("random", seed=11).layers[0][0]
    np.testing.assert_array_equal(conv.kernel.numpy(), weight.transpose(2, 3, 1, 0))
    np.testing.assert_array_equal(conv.bias.numpy(), bias)


def test_keras_h5_weights_load_from_a_path(tmp_path, vgg):
    import keras

    net = keras.applications.VGG19(weights=None, include_top=False, input_shape=(None, None, 3))
    path = tmp_path / "vgg19.weights.h5"
    net.save_weights(str(path))
    loaded = VGG19Features(str(path))
    want = net.get_layer("block2_conv1").kernel.numpy()
    got = loaded.layers[1][2].kernel.numpy()
    np.testing.assert_array_equal(got, want)
    assert loaded.bgr  # Keras (Caffe) weights get Caffe preprocessing


def test_discriminator_shapes_and_spectral_norm_bounds_the_kernel():
    import keras

    keras.utils.set_random_seed(0)  # the convergence rate depends on the random kernel
    d = MultiScaleDiscriminator(
        scales=[1, 0.5],
        block_expansion=8,
        max_features=32,
        num_blocks=3,
        sn=True,
        use_kp=True,
        num_kp=4,
    )
    x = tf.random.uniform((2, 64, 64, 3), seed=1)
    kp = tf.zeros((2, 4, 2))
    for _ in range(60):  # power iterations converge
        out = d(x, kp, training=True)
    (feats, pred), (_, pred_half) = out
    assert [f.shape[-1] for f in feats] == [16, 32, 32]
    assert pred.shape == (2, 10, 10, 1) and pred_half.shape == (2, 2, 2, 1)
    conv = d.discs[0].convs[1]
    w = tf.reshape(conv._normalized_kernel(False), [-1, conv.filters]).numpy()
    assert np.linalg.svd(w, compute_uv=False)[0] == pytest.approx(1.0, rel=1e-2)


def test_gan_losses_follow_lsgan_targets():
    ones = [([tf.ones((1, 4, 4, 2))], tf.ones((1, 3, 3, 1)))]
    zeros = [([tf.zeros((1, 4, 4, 2))], tf.zeros((1, 3, 3, 1)))]
    gen = generator_gan_losses(fake=zeros, real=ones, weight_gan=1.0, weights_fm=[10])
    assert float(gen["gen_gan"]) == pytest.approx(1.0)
    assert float(gen["feature_matching"]) == pytest.approx(10.0)
    assert float(discriminator_loss(fake=zeros, real=ones, weight=1.0)) == 0.0
    assert float(discriminator_loss(fake=ones, real=zeros, weight=1.0)) == pytest.approx(2.0)
