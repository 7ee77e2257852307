"""Tests for fomm_tf.data.synthetic: deterministic synthetic videos and datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fomm_tf.data.synthetic import render_video, write_dataset
from fomm_tf.errors import InputError
from fomm_tf.media.video_reader import VideoReader


def test_render_video_has_shape_dtype_and_range() -> None:
    video = render_video(num_frames=5, size=48, seed=0)
    assert video.shape == (5, 48, 48, 3) and video.dtype == np.float32
    assert 0.0 <= video.min() and video.max() <= 1.0


def test_same_seed_gives_identical_video() -> None:
    assert np.array_equal(render_video(8, 32, seed=7), render_video(8, 32, seed=7))


def test_different_seeds_give_different_identities() -> None:
    a, b = render_video(1, 64, seed=1)[0], render_video(1, 64, seed=2)[0]
    assert np.abs(a - b).mean() > 0.05


def test_motion_is_smooth_but_present() -> None:
    video = render_video(16, 64, seed=3)
    steps = np.abs(np.diff(video, axis=0)).mean(axis=(1, 2, 3))
    assert steps.min() > 0  # every frame moves
    assert steps.max() < 0.05  # but only a little per frame


def test_motion_seed_changes_motion_not_identity() -> None:
    a = render_video(6, 64, seed=4, motion_seed=1)
    b = render_video(6, 64, seed=4, motion_seed=2)
    assert np.array_equal(a[:, :4, :4], b[:, :4, :4])  # same background corner
    assert not np.array_equal(a, b)


def test_blobs_kind_renders_moving_blobs() -> None:
    video = render_video(4, 32, seed=0, kind="blobs")
    assert video.shape == (4, 32, 32, 3)
    assert not np.array_equal(video[0], video[-1])


def test_unknown_kind_raises_input_error() -> None:
    with pytest.raises(InputError, match="kind"):
        render_video(kind="cats")


@pytest.mark.parametrize("layout", ["mp4", "gif", "frames", "strip"])
def test_write_dataset_layout_is_readable(tmp_path: Path, layout: str) -> None:
    root = write_dataset(
        tmp_path / "ds", num_train=2, num_test=1, num_frames=6, size=32, layout=layout
    )
    train = sorted(p.name for p in (root / "train").iterdir())
    stem = {"mp4": ".mp4", "gif": ".gif", "frames": "", "strip": ".png"}[layout]
    assert train == [f"id00001#clip0001{stem}", f"id00001#clip0002{stem}"]
    (video,) = (root / "test").iterdir()
    with VideoReader(video) as reader:
        frames = list(reader)
    assert len(frames) == 6 and frames[0].shape == (32, 32, 3)


def test_write_dataset_keeps_train_and_test_identities_apart(tmp_path: Path) -> None:
    root = write_dataset(tmp_path, num_train=3, num_test=3, num_frames=2, size=16, layout="strip")
    ids = {
        split: {p.name.split("#")[0] for p in (root / split).iterdir()}
        for split in ("train", "test")
    }
    assert ids["train"] == {"id00001", "id00002"}
    assert ids["test"] == {"id00003", "id00004"}
