"""Two workers on loopback (MultiWorkerMirroredStrategy from TF_CONFIG) agree on the weights."""

import json
import os
import socket
import subprocess

import numpy as np
from test_training import ROOT, tiny_config, train_cmd

from fomm_tf.config import load_config
from fomm_tf.nets.models import load_models


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def test_two_workers_train_two_steps_and_agree_on_the_weights(tmp_path):
    from fomm_tf.data.synthetic import write_dataset

    data = write_dataset(
        tmp_path / "data", num_train=4, num_test=0, num_frames=4, size=32, layout="frames"
    )
    cfg = tiny_config(tmp_path / "cfg.yaml", gan=False)
    workers = [f"127.0.0.1:{p}" for p in _free_ports(2)]
    log_dir = tmp_path / "run"
    procs = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = dict(
            os.environ,
            TF_CONFIG=json.dumps(tf_config),
            TF_CPP_MIN_LOG_LEVEL="3",
            PYTHONPATH=str(ROOT),
        )
        cmd = train_cmd(cfg, data, log_dir, "--max-steps", "2", "--seed", "1")
        procs.append(
            subprocess.Popen(
                cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
            )
        )
    logs = []
    try:
        for proc in procs:
            _, err = proc.communicate(timeout=300)
            logs.append(err)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for proc, err in zip(procs, logs):
        assert proc.returncode == 0, err[-3000:]
        first = next(ln for ln in err.splitlines() if " INFO " in ln)
        assert first.endswith("strategy: MultiWorkerMirroredStrategy, replicas: 2")
        assert "done at step 2" in err
    config = load_config(cfg)
    chief = load_models(log_dir / "export" / "fomm.weights.h5", config).bundle().weights
    other = load_models(log_dir / "worker-1" / "export" / "fomm.weights.h5", config)
    assert len(chief) == len(other.bundle().weights)
    for a, b in zip(chief, other.bundle().weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
