"""Synchronized batch norm: a step split over 2 replicas equals one replica on the whole batch.

Runs in a subprocess that splits the CPU into two logical devices before TensorFlow starts,
in float64 (the trainer's float64 mode), so the comparison is not blurred by float32
rounding. One replica must trace exactly the ops of plain batch norm.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import ROOT, tiny_config

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    from fomm_tf.config import load_config
    from fomm_tf.data.synthetic import render_video
    from fomm_tf.training import Trainer, TrainOptions

    cfg_path, out_dir = sys.argv[1], sys.argv[2]
    cfg = load_config(cfg_path)
    video = render_video(8, cfg.image_size[0], seed=4)
    batch = {"source": video[[0, 1, 2, 3]], "driving": video[[5, 7, 6, 4]]}
    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    reference = None
    ops = {}
    for name, replicas, sync in [("one", 1, True), ("one_nosync", 1, False),
                                 ("two", 2, True), ("two_nosync", 2, False)]:
        strategy = tf.distribute.MirroredStrategy(devices=devices[:replicas])
        options = TrainOptions(config=cfg_path, data=None, log_dir="", seed=5,
                               vgg19_weights="random", sync_batch_norm=sync, progress=False)
        trainer = Trainer(cfg, strategy, options, steps_per_epoch=10)
        nets = {"kp_detector": trainer.models.kp_detector,
                "generator": trainer.models.generator,
                "discriminator": trainer.discriminator}
        if reference is None:
            reference = {k: [w.numpy() for w in n.weights] for k, n in nets.items()}
        else:  # identical starting point
            for k, n in nets.items():
                for w, value in zip(n.weights, reference[k]):
                    w.assign(value)
        per = len(batch["source"]) // replicas

        def shard(ctx, per=per):
            i = ctx.replica_id_in_sync_group
            return {k: tf.constant(v[i * per:(i + 1) * per]) for k, v in batch.items()}

        feed = strategy.experimental_distribute_values_from_function(shard)
        losses, grads = trainer.gradients(feed)
        stats = {}
        for k in ("kp_detector", "generator"):
            for w in nets[k].weights:
                if "moving_" in w.path:
                    stats[w.path.split("/", 1)[-1]] = np.asarray(w.numpy())
        flat = {f"loss/{k}": np.asarray(v) for k, v in losses.items()}
        flat.update({f"grad/{net}/{p}": g for net, gs in grads.items() for p, g in gs.items()})
        flat.update({f"stat/{p}": v for p, v in stats.items()})
        np.savez(f"{out_dir}/{name}.npz", **flat)
        cf = trainer._gradients_fn.get_concrete_function(feed, None)
        graph = cf.graph.as_graph_def()
        types = [n.op for n in graph.node]
        for fn in graph.library.function:
            types += [n.op for n in fn.node_def]
        ops[name] = sorted(types)
    json.dump(ops, open(f"{out_dir}/ops.json", "w"))
    """
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("syncbn")
    cfg = tiny_config(out / "cfg.yaml", gan=True)
    raw = yaml.safe_load(cfg.read_text())
    # relu1_1 and relu2_1 are enough here (and make the four traces affordable).
    raw["train_params"]["loss_weights"]["perceptual"] = [10, 10, 0, 0, 0]
    cfg.write_text(yaml.safe_dump(raw))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    env.pop("TF_CONFIG", None)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(cfg), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def _load(runs: Path, name: str) -> dict:
    return dict(np.load(runs / f"{name}.npz"))


def _worst(a: dict, b: dict, prefix: str) -> float:
    """Largest ``max|a − b|`` over the entries under ``prefix``, relative to each entry's
    maximum — for gradients to their network's largest gradient, since the conv biases
    that feed a batch norm have a gradient of exactly zero (float round-off only)."""
    keys = [k for k in a if k.startswith(prefix)]
    assert keys and set(keys) == {k for k in b if k.startswith(prefix)}
    group_max = {}
    for k in keys:
        group = k.split("/")[1] if prefix == "grad/" else k
        group_max[group] = max(group_max.get(group, 0.0), float(np.abs(b[k]).max()))
    worst = 0.0
    for k in keys:
        scale = max(group_max[k.split("/")[1] if prefix == "grad/" else k], 1e-30)
        worst = max(worst, float(np.abs(a[k] - b[k]).max()) / scale)
    return worst


def test_two_synchronized_replicas_equal_one_replica_on_the_whole_batch(runs):
    one, two = _load(runs, "one"), _load(runs, "two")
    assert _worst(two, one, "loss/") < 1e-10
    assert _worst(two, one, "grad/") < 1e-8
    assert _worst(two, one, "stat/") < 1e-10
    assert {k for k in one if k.startswith("loss/")} >= {"loss/perceptual", "loss/disc_gan"}


def test_per_replica_statistics_differ_from_the_whole_batch(runs):
    """The comparison above can fail: unsynchronized statistics move every result."""
    one, two_nosync = _load(runs, "one"), _load(runs, "two_nosync")
    assert _worst(two_nosync, one, "grad/") > 1e-4
    assert _worst(two_nosync, one, "stat/") > 1e-4


def test_one_replica_traces_plain_batch_norm(runs):
    """With one replica, synchronized batch norm adds no op: the same graph as without."""
    ops = json.loads((runs / "ops.json").read_text())
    assert ops["one"] == ops["one_nosync"]
    assert len(ops["two"]) > len(ops["two_nosync"])
