"""Clips of the real photos bundled with scikit-image, mixed into a synthetic dataset."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from fomm_tf.data.annotated import read_sidecar, write_annotated_dataset
from fomm_tf.data.photo_clips import BUNDLED_PHOTOS, PHOTO_FACES, _subject, photo_clip
from fomm_tf.data.pipeline import read_video, scan_split, video_id
from fomm_tf.data.textures import photo
from fomm_tf.errors import InputError


def test_every_bundled_photo_loads_offline_as_rgb_of_at_least_128_pixels():
    for name in BUNDLED_PHOTOS:
        img = photo(name)
        assert img.ndim == 3 and img.shape[2] == 3 and min(img.shape[:2]) >= 128, name
        assert img.std() > 0.05, name  # a photo, not a flat image


@pytest.mark.parametrize("name", ["chelsea", "text", "moon"])
def test_a_photo_clip_is_its_photo_under_the_returned_motion(name):
    frames, mats = photo_clip(12, 64, seed=3, name=name)
    assert frames.shape == (12, 64, 64, 3) and frames.dtype == np.float32
    img = photo(name)
    # an independent resampling of the photo with frame 7's transform: same pixels inside
    inv = cv2.invertAffineTransform(mats[7])
    ys, xs = np.mgrid[8:56:4, 8:56:4]
    px = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
    py = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
    inside = (px >= 0) & (px <= img.shape[1] - 1) & (py >= 0) & (py <= img.shape[0] - 1)
    assert inside.mean() > 0.9  # the view lies in the photo
    want = img[np.round(py[inside]).astype(int), np.round(px[inside]).astype(int)]
    got = frames[7][ys[inside], xs[inside]]
    assert np.median(np.abs(got - want)) < 0.08


def test_photo_clips_move_smoothly_and_differ_by_seed():
    frames, mats = photo_clip(24, 64, seed=1, name="coffee")
    step = np.abs(np.diff(mats, axis=0))
    assert step[:, :, 2].max() < 64 * 0.05  # under 5 % of the frame per frame
    assert np.ptp(mats[:, :, 2], axis=0).max() > 1.0  # but it does move
    other, _ = photo_clip(24, 64, seed=2, name="coffee")
    assert np.abs(frames - other).mean() > 0.01
    again, _ = photo_clip(24, 64, seed=1, name="coffee")
    assert np.array_equal(frames, again)


def test_generic_views_lie_inside_the_photo_and_avoid_upsampling():
    for name in BUNDLED_PHOTOS:
        if name in PHOTO_FACES:
            continue
        h, w = photo(name).shape[:2]
        for seed in range(5):
            cx, cy, width = _subject(name, seed, 128)
            half = 1.3 * width
            assert half <= cx <= w - half and half <= cy <= h - half, (name, seed)
            assert 2 * half >= min(128, min(h, w)) - 1e-6, (name, seed)


def test_unknown_photo_is_an_input_error():
    with pytest.raises(InputError, match="no bundled photo 'lena'"):
        photo_clip(2, 64, name="lena")


def test_synthetic_dataset_mixes_photo_clips_into_train_only(tmp_path: Path):
    root = write_annotated_dataset(
        tmp_path / "ds", 2, 1, 3, size=32, seed=4, layout="frames", progress=False, photo_clips=2
    )
    train = scan_split(root, "train", id_sampling=True)
    test = scan_split(root, "test", id_sampling=True)
    photos = [p for p in train.videos if p.name.startswith("photo-")]
    assert len(photos) == 2 * len(BUNDLED_PHOTOS)
    assert {video_id(p) for p in photos} == {f"photo-{n}" for n in BUNDLED_PHOTOS}
    assert len(train) == 1 + len(BUNDLED_PHOTOS)  # one synthetic identity + one per photo
    assert not any(p.name.startswith("photo-") for p in test.videos)
    assert all(read_sidecar(p) is None for p in photos)
    clip = next(p for p in photos if p.name == "photo-camera#clip02")
    index = BUNDLED_PHOTOS.index("camera")
    want, _ = photo_clip(3, 32, seed=4 * 100_000 + 50_000 + 100 * index + 1, name="camera")
    assert np.abs(read_video(clip) - want).max() <= 1 / 255 + 1e-6


def test_make_dataset_flag_and_its_misuse(tmp_path: Path):
    cmd = [sys.executable, "-m", "fomm_tf.cli", "make-dataset"]
    args = ["--train-videos", "1", "--test-videos", "1", "--frames", "2", "--size", "32"]
    args += ["--seed", "0", "--photo-clips", "1"]
    res = subprocess.run(
        [*cmd, "synthetic", "--out", str(tmp_path / "a"), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert f"{len(BUNDLED_PHOTOS)} photo clips" in res.stderr
    assert len(list((tmp_path / "a" / "train").glob("photo-*.mp4"))) == len(BUNDLED_PHOTOS)
    res = subprocess.run(
        [*cmd, "photo", "--out", str(tmp_path / "b"), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 2 and "--photo-clips" in res.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "b").exists()
