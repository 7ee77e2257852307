"""The bundled default model: present, announced, and its card reproduced by `fomm evaluate`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from fomm_tf.bundled import DEFAULT_DIR, default_model_paths

CARD = DEFAULT_DIR / "card.json"


def fomm(*args, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "fomm_tf.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_bundled_model_ships_inside_the_package_and_is_small():
    paths = default_model_paths()
    assert paths is not None, f"missing files in {DEFAULT_DIR}"
    config, weights = paths
    assert weights.stat().st_size <= 20 * 2**20
    assert (DEFAULT_DIR / "MODEL_CARD.md").is_file() and CARD.is_file()
    from fomm_tf.nets.models import load_models

    models = load_models(weights, config)
    assert models.config.image_size == (128, 128)


def test_animate_without_checkpoint_uses_the_bundled_model_on_a_real_photo(tmp_path: Path):
    from skimage import data as skimage_data

    from fomm_tf.data.photo_clips import photo_clip  # a real face (astronaut) moving, offline
    from fomm_tf.media.images import write_image
    from fomm_tf.media.video_reader import probe_video
    from fomm_tf.media.video_writer import VideoWriter

    photo = tmp_path / "coffee.png"
    write_image(photo, skimage_data.coffee())  # a picture from outside the synthetic set
    driver = tmp_path / "astronaut.mp4"
    with VideoWriter(driver, fps=25) as writer:
        writer.write(photo_clip(6, 160, seed=0)[0])
    out = tmp_path / "out.mp4"
    res = fomm("animate", "--source", photo, "--driving", driver, "-o", out, "--crop", "center")
    assert res.returncode == 0, res.stderr[-2000:]
    said = [line for line in res.stderr.splitlines() if "bundled default model" in line]
    assert len(said) == 1 and "synthetic" in said[0], res.stderr[-2000:]
    assert probe_video(out)[0] == 6


def test_the_model_card_is_reproduced_by_fomm_evaluate(tmp_path: Path):
    card = json.loads(CARD.read_text())
    data = tmp_path / "heldout"
    spec = card["heldout_data"]
    res = fomm(
        *("make-dataset", "synthetic", "--out", data, "--train-videos", 0),
        *("--test-videos", spec["test"], "--frames", spec["frames"], "--size", spec["size"]),
        *("--seed", spec["seed"], "--kind", "face"),
    )
    assert res.returncode == 0, res.stderr[-2000:]
    res = fomm("evaluate", "--data", data, "--json", "--no-progress")
    assert res.returncode == 0, res.stderr[-2000:]
    got = json.loads(res.stdout)
    want = card["heldout"]
    assert got["videos"] == want["videos"] and got["frames"] == want["frames"]
    for method in ("model", "copy_source", "global_affine"):
        a = got["model"] if method == "model" else got["baselines"][method]
        b = want["model"] if method == "model" else want["baselines"][method]
        for metric in ("l1", "akd", "mkr", "aed"):
            # other CPUs round the networks differently: a landmark may flip visibility
            np.testing.assert_allclose(a[metric], b[metric], rtol=5e-3, atol=1e-5)
