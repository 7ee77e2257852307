"""Two workers on loopback (MultiWorkerMirroredStrategy from TF_CONFIG) train as one process
does on the same global batch."""

import contextlib
import json
import socket
import subprocess

import numpy as np
from helpers import tiny_config, train_cmd, train_env

from fomm_tf.config import load_config
from fomm_tf.nets.models import load_models


@contextlib.contextmanager
def reserved_ports(n: int):
    """``n`` free loopback ports, held until the block ends.

    Each is bound (never listening) by a socket with ``SO_REUSEPORT``; the workers run with
    ``TF_GRPC_REUSE_PORT=1``, so their gRPC servers bind the same ports alongside, and no
    other process can be given them in between (picking ports and closing the sockets
    before the workers bind is a race).
    """
    socks = []
    try:
        for _ in range(n):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        yield [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def _weights(export_dir, config) -> list[np.ndarray]:
    models = load_models(export_dir / "fomm.weights.h5", config)
    return [w.numpy() for w in models.bundle().weights]


def test_two_workers_train_two_steps_as_one_process_does(tmp_path):
    from fomm_tf.data.synthetic import write_dataset

    data = write_dataset(
        tmp_path / "data", num_train=4, num_test=0, num_frames=4, size=32, layout="frames"
    )
    cfg = tiny_config(tmp_path / "cfg.yaml", gan=False)
    log_dir = tmp_path / "run"
    args = ("--max-steps", "2", "--seed", "1", "--log-every", "1")
    procs, logs = [], []
    with reserved_ports(2) as ports:
        workers = [f"127.0.0.1:{p}" for p in ports]
        for index in range(2):
            tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
            env = dict(train_env(), TF_CONFIG=json.dumps(tf_config), TF_GRPC_REUSE_PORT="1")
            procs.append(
                subprocess.Popen(
                    train_cmd(cfg, data, log_dir, *args),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=env,
                )
            )
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
    # The same command in one process split into two CPU replicas: the same global batch of
    # 2, the same split. Measured: losses and weights bit for bit the same. (Against one
    # replica on the whole batch the step-1 losses agree to 4e-6 and Adam's first step, a
    # sign per weight, turns that round-off into 2·lr for near-zero gradients.)
    single = subprocess.run(
        train_cmd(cfg, data, tmp_path / "single", *args, "--cpu-replicas", "2"),
        capture_output=True,
        text=True,
        timeout=300,
        env=train_env(),
    )
    assert single.returncode == 0, single.stderr[-3000:]
    assert "strategy: MirroredStrategy, replicas: 2" in single.stderr
    config = load_config(cfg)
    chief = _weights(log_dir / "export", config)
    other = _weights(log_dir / "worker-1" / "export", config)
    alone = _weights(tmp_path / "single" / "export", config)
    assert len(chief) == len(other) == len(alone)
    for a, b, c in zip(chief, other, alone):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    multi, one = losses(log_dir / "tensorboard"), losses(tmp_path / "single" / "tensorboard")
    assert {step for step, _ in one} == {1, 2} and "perceptual" in {k for _, k in one}
    assert multi == one


def losses(tensorboard) -> dict:
    """``{(step, name): value}`` of the loss scalars a run wrote to TensorBoard."""
    import tensorflow as tf

    out = {}
    for path in tensorboard.glob("events.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.tag.startswith("loss/"):
                    out[(event.step, value.tag[5:])] = float(tf.make_ndarray(value.tensor))
    return out
