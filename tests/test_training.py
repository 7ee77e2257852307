"""The trainer: finite losses, learning, exact resume, SIGKILL resume, 2 replicas, export."""

import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import tiny_config, train_cmd, train_env

from fomm_tf.config import load_config


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    from fomm_tf.data.synthetic import write_dataset

    root = tmp_path_factory.mktemp("data")
    write_dataset(root, num_train=4, num_test=1, num_frames=6, size=32, layout="frames")
    return root


def _options(config, data, log_dir, **kw):
    from fomm_tf.training import TrainOptions

    base = dict(
        config=str(config),
        data=str(data),
        log_dir=str(log_dir),
        seed=3,
        vgg19_weights="random",
        progress=False,
        log_every=1,
        image_every=2,
    )
    base.update(kw)
    return TrainOptions(**base)


def _weights(export: Path, cfg_path: Path) -> list[np.ndarray]:
    from fomm_tf.nets.models import load_models

    models = load_models(export / "fomm.weights.h5", load_config(cfg_path))
    return [v.numpy() for v in models.bundle().weights]


def test_train_then_resume_equals_uninterrupted_training(tmp_path, dataset, monkeypatch, caplog):
    import tensorflow as tf

    from fomm_tf import training

    cfg = tiny_config(tmp_path / "cfg.yaml")
    straight = training.train(_options(cfg, dataset, tmp_path / "a", max_steps=4, eval_every=4))
    assert straight and all(np.isfinite(v) for v in straight.values())
    assert {
        "perceptual",
        "gen_gan",
        "feature_matching",
        "equivariance_value",
        "equivariance_jacobian",
        "disc_gan",
    } <= set(straight)
    training.train(_options(cfg, dataset, tmp_path / "b", max_steps=2))
    # The second run must start from ckpt-2: it runs steps 3 and 4 only, and the optimizers'
    # iteration counts (which drive the learning-rate milestones) continue from 2.
    real_step = training.Trainer.train_step
    started_at = []

    def counting(self, batch):
        started_at.append(int(self.step.numpy()))
        return real_step(self, batch)

    monkeypatch.setattr(training.Trainer, "train_step", counting)
    with caplog.at_level(logging.INFO, logger="fomm_tf.training"):
        resumed = training.train(_options(cfg, dataset, tmp_path / "b", max_steps=4))
    assert started_at == [2, 3]
    ckpt_dir = tmp_path / "b" / "checkpoints"
    assert f"resumed from {ckpt_dir / 'ckpt-2'} at step 2" in caplog.text
    reader = tf.train.load_checkpoint(str(ckpt_dir / "ckpt-4"))
    assert reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE") == 4
    for opt in ("optimizer_generator", "optimizer_kp_detector", "optimizer_discriminator"):
        assert reader.get_tensor(f"{opt}/_iterations/.ATTRIBUTES/VARIABLE_VALUE") == 4, opt
    # Bitwise: the data stream and every random draw are functions of (seed, step), and the
    # checkpoint holds every variable the step reads (measured: identical losses and weights).
    assert resumed == straight
    a_weights = _weights(tmp_path / "a" / "export", cfg)
    b_weights = _weights(tmp_path / "b" / "export", cfg)
    assert len(a_weights) == len(b_weights)
    for a, b in zip(a_weights, b_weights):
        np.testing.assert_array_equal(a, b)
    exported = yaml.safe_load((tmp_path / "a" / "export" / "config.yaml").read_text())
    assert exported["model_params"]["generator_params"]["block_expansion"] == 8
    assert (tmp_path / "a" / "export" / "discriminator.weights.h5").is_file()
    assert list((tmp_path / "a" / "tensorboard").glob("events.out.tfevents.*"))
    samples = sorted((tmp_path / "a" / "samples").glob("step-*.png"))
    assert samples and samples[0].name == "step-0000001.png"


def test_thirty_steps_on_one_batch_lower_the_loss(tmp_path, dataset):
    import tensorflow as tf

    from fomm_tf.data.synthetic import render_video
    from fomm_tf.training import Trainer

    cfg = load_config(tiny_config(tmp_path / "cfg.yaml", gan=False))
    strategy = tf.distribute.MirroredStrategy()
    trainer = Trainer(cfg, strategy, _options(cfg, dataset, tmp_path), steps_per_epoch=1000)
    video = render_video(8, 32, seed=1)
    batch = {"source": tf.constant(video[[0, 1]]), "driving": tf.constant(video[[5, 7]])}
    totals = []
    for _ in range(30):
        losses, _ = trainer.train_step(batch)
        # The equivariance transform changes every step; judge the deterministic terms.
        totals.append(float(losses["perceptual"]))
    assert np.mean(totals[-5:]) < 0.8 * np.mean(totals[:5])


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, dataset, monkeypatch):
    import tensorflow as tf

    from fomm_tf import training

    real_step = training.Trainer.train_step

    def poisoned(self, batch):
        losses, visuals = real_step(self, batch)
        if int(self.step.numpy()) == 3:
            losses = dict(losses, perceptual=tf.constant(float("nan")))
        return losses, visuals

    monkeypatch.setattr(training.Trainer, "train_step", poisoned)
    cfg = tiny_config(tmp_path / "cfg.yaml", gan=False)
    with pytest.raises(training.NonFiniteLossError, match=r"step 3 \(perceptual=nan\).*ckpt-2"):
        training.train(_options(cfg, dataset, tmp_path / "run", max_steps=5, checkpoint_every=2))
    assert tf.train.latest_checkpoint(str(tmp_path / "run" / "checkpoints")).endswith("ckpt-2")


def test_diverging_training_exits_3_through_the_command_line(tmp_path, dataset):
    """A learning rate of 1e30 blows the weights up after step 1 (measured: every loss but
    the GAN terms NaN at step 2); ``fomm train`` stops with exit status 3, one error line and
    the step-1 checkpoint kept as the last good one."""
    import tensorflow as tf

    cfg = tiny_config(tmp_path / "cfg.yaml", gan=False)
    raw = yaml.safe_load(cfg.read_text())
    raw["train_params"].update(lr_generator=1e30, lr_kp_detector=1e30)
    cfg.write_text(yaml.safe_dump(raw))
    log_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "fomm_tf.cli", "train", *train_cmd(cfg, dataset, log_dir)[2:]]
    cmd += ["--max-steps", "5", "--checkpoint-every", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=train_env())
    assert proc.returncode == 3, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert "non-finite loss at step 2 (perceptual=nan" in last, last
    assert last.endswith(str(log_dir / "checkpoints" / "ckpt-1"))
    assert "Traceback" not in proc.stderr
    assert tf.train.latest_checkpoint(str(log_dir / "checkpoints")).endswith("ckpt-1")


def test_two_replicas_train_a_step_with_finite_losses(tmp_path, dataset):
    cfg = tiny_config(tmp_path / "cfg.yaml")
    cmd = train_cmd(cfg, dataset, tmp_path / "run", "--max-steps", "1", "--cpu-replicas", "2")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=train_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [ln for ln in proc.stderr.splitlines() if " INFO " in ln or " WARNING " in ln]
    assert lines[0].endswith("strategy: MirroredStrategy, replicas: 2")
    done = next(ln for ln in lines if "done at step 1" in ln)
    values = [float(x.split()[-1]) for x in done.split(": ", 1)[1].split(", ")]
    assert len(values) == 6 and all(np.isfinite(values))
    assert (tmp_path / "run" / "export" / "fomm.weights.h5").is_file()


def test_sigkill_mid_training_resumes_from_the_last_checkpoint(tmp_path, dataset):
    cfg = tiny_config(tmp_path / "cfg.yaml", gan=False)
    log_dir = tmp_path / "run"
    cmd = train_cmd(cfg, dataset, log_dir, "--max-steps", "1000", "--checkpoint-every", "2")
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=train_env()
    )
    deadline = time.monotonic() + 180
    try:
        while not list((log_dir / "checkpoints").glob("ckpt-*.index")):
            assert proc.poll() is None, "training exited before its first checkpoint"
            assert time.monotonic() < deadline, "no checkpoint within 180 s"
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    import tensorflow as tf

    latest = tf.train.latest_checkpoint(str(log_dir / "checkpoints"))
    step = int(latest.rsplit("-", 1)[1])
    resume = subprocess.run(
        train_cmd(cfg, dataset, log_dir, "--max-steps", str(step + 1), "--checkpoint-every", "2"),
        capture_output=True,
        text=True,
        timeout=240,
        env=train_env(),
    )
    assert resume.returncode == 0, resume.stderr[-3000:]
    assert f"resumed from {latest} at step {step}" in resume.stderr
    assert f"done at step {step + 1}" in resume.stderr


def test_mixed_precision_scales_the_loss_and_trains(tmp_path, dataset):
    import keras
    import tensorflow as tf

    from fomm_tf.data.synthetic import render_video
    from fomm_tf.training import Trainer

    cfg = load_config(tiny_config(tmp_path / "cfg.yaml", gan=False))
    try:
        opts = _options(cfg, dataset, tmp_path, mixed_precision=True)
        trainer = Trainer(cfg, tf.distribute.MirroredStrategy(), opts, steps_per_epoch=1000)
        video = render_video(8, 32, seed=1)
        batch = {"source": tf.constant(video[[0, 1]]), "driving": tf.constant(video[[5, 7]])}
        before = [w.numpy().copy() for w in trainer.models.generator.trainable_weights]
        assert trainer.models.generator.first.conv.compute_dtype == "float16"
        for _ in range(12):
            losses, _ = trainer.train_step(batch)
            assert all(np.isfinite(float(v)) for v in losses.values())
        scale = float(trainer.loss_scale.scale.read_value())
        after = [w.numpy() for w in trainer.models.generator.trainable_weights]
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    assert 1.0 <= scale < 2.0**15  # halved from 2^15 while float16 gradients overflowed
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
