"""The dataset loader: every official layout, id sampling, determinism, bad datasets."""

import logging

import numpy as np
import pytest
import tensorflow as tf

from fomm_tf.data.augment import augment
from fomm_tf.data.pipeline import PairSampler, pair_dataset, scan_split
from fomm_tf.data.synthetic import write_dataset
from fomm_tf.errors import InputError

JITTER = {
    "flip_param": {"time_flip": True, "horizontal_flip": True},
    "jitter_param": {"brightness": 0.1, "contrast": 0.1, "saturation": 0.1, "hue": 0.1},
}


@pytest.mark.parametrize("layout", ["mp4", "gif", "frames", "strip"])
def test_loader_reads_each_official_layout(tmp_path, layout):
    write_dataset(tmp_path, num_train=2, num_test=1, num_frames=6, size=32, layout=layout)
    index = scan_split(tmp_path, "train")
    assert [p.name.split(".")[0] for p in index.videos] == ["id00001#clip0001", "id00001#clip0002"]
    batch = next(iter(pair_dataset(PairSampler(index, (32, 32, 3)), global_batch=2)))
    assert batch["source"].shape == (2, 32, 32, 3) and batch["driving"].dtype == tf.float32
    src = batch["source"].numpy()
    assert 0.0 <= src.min() and src.max() <= 1.0 and src.std() > 0.01


def test_frames_are_fitted_to_the_configured_shape(tmp_path):
    write_dataset(tmp_path, num_train=1, num_test=0, num_frames=3, size=32, layout="frames")
    pair = PairSampler(scan_split(tmp_path), (16, 16, 3)).item(0)
    assert pair.shape == (2, 16, 16, 3)


def test_id_sampling_groups_videos_by_identity(tmp_path):
    write_dataset(tmp_path, num_train=5, num_test=0, num_frames=3, size=16, layout="frames")
    index = scan_split(tmp_path, "train", id_sampling=True)
    assert len(index.videos) == 5 and len(index) == 3  # ids 1, 2 with two clips, 3 with one
    assert PairSampler(index, (16, 16, 3), num_repeats=4).epoch_length == 12


def test_samples_depend_only_on_seed_and_index(tmp_path):
    write_dataset(tmp_path, num_train=3, num_test=0, num_frames=5, size=16, layout="strip")
    index = scan_split(tmp_path)
    a = PairSampler(index, (16, 16, 3), JITTER, num_repeats=2, seed=3)
    b = PairSampler(index, (16, 16, 3), JITTER, num_repeats=2, seed=3)
    np.testing.assert_array_equal(a.item(7), b.item(7))
    assert not np.array_equal(a.item(7), PairSampler(index, (16, 16, 3), JITTER, seed=4).item(7))


def test_resumed_dataset_continues_with_the_same_batches(tmp_path):
    write_dataset(tmp_path, num_train=3, num_test=0, num_frames=5, size=16, layout="frames")
    sampler = PairSampler(scan_split(tmp_path), (16, 16, 3), JITTER, seed=1)
    full = [b["driving"].numpy() for b in pair_dataset(sampler, 2).take(3)]
    resumed = next(iter(pair_dataset(sampler, 2, start_step=2)))["driving"].numpy()
    np.testing.assert_array_equal(resumed, full[2])


def test_two_replicas_split_each_global_batch(tmp_path):
    write_dataset(tmp_path, num_train=4, num_test=0, num_frames=4, size=16, layout="frames")
    sampler = PairSampler(scan_split(tmp_path), (16, 16, 3), seed=1)
    whole = next(iter(pair_dataset(sampler, 4)))["source"].numpy()
    parts = []
    for w in range(2):
        ctx = tf.distribute.InputContext(
            num_input_pipelines=2, input_pipeline_id=w, num_replicas_in_sync=2
        )
        parts.append(next(iter(pair_dataset(sampler, 4, input_context=ctx)))["source"].numpy())
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_empty_dataset_is_rejected_with_the_expected_layout(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "test").mkdir()
    with pytest.raises(InputError, match=r"holds no videos; expected ROOT/train/ and ROOT/test/"):
        scan_split(tmp_path)


def test_misnamed_dataset_is_rejected_naming_what_was_found(tmp_path):
    (tmp_path / "videos").mkdir()
    with pytest.raises(InputError, match=r"no 'train' folder \(found: videos\); expected"):
        scan_split(tmp_path)


def test_missing_dataset_folder_is_rejected(tmp_path):
    with pytest.raises(InputError, match="dataset folder not found"):
        scan_split(tmp_path / "nowhere")


def test_unreadable_videos_are_skipped_and_counted(tmp_path, caplog):
    write_dataset(tmp_path, num_train=2, num_test=0, num_frames=4, size=16, layout="strip")
    (tmp_path / "train" / "broken#1.mp4").write_bytes(b"not a video at all")
    (tmp_path / "train" / "empty#1.gif").write_bytes(b"")
    sampler = PairSampler(scan_split(tmp_path), (16, 16, 3), seed=0)
    with caplog.at_level(logging.WARNING):
        pairs = [sampler.item(i) for i in range(8)]
    assert all(p.shape == (2, 16, 16, 3) for p in pairs)
    assert sampler.num_skipped == 2
    assert "2 skipped so far" in caplog.text


def test_dataset_with_only_unreadable_videos_fails_clearly(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "a.mp4").write_bytes(b"junk")
    with pytest.raises(InputError, match="none of the videos is readable"):
        PairSampler(scan_split(tmp_path), (16, 16, 3)).item(0)


def test_augment_time_and_horizontal_flips():
    clip = np.random.default_rng(0).uniform(size=(2, 4, 4, 3)).astype(np.float32)
    params = {"flip_param": {"time_flip": True, "horizontal_flip": True}}
    seen = set()
    for seed in range(40):
        out = augment(clip, params, np.random.default_rng(seed))
        for t in (0, 1):
            for h in (0, 1):
                ref = clip[::-1] if t else clip
                if np.array_equal(out, ref[:, :, ::-1] if h else ref):
                    seen.add((t, h))
    assert seen == {(0, 0), (0, 1), (1, 0), (1, 1)}


def test_colour_jitter_keeps_range_and_applies_the_same_change_to_both_frames():
    frame = np.random.default_rng(0).uniform(size=(8, 8, 3)).astype(np.float32)
    clip = np.stack([frame, frame])
    out = augment(clip, {"jitter_param": JITTER["jitter_param"]}, np.random.default_rng(5))
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert not np.allclose(out[0], frame)
    np.testing.assert_array_equal(out[0], out[1])


def test_tfds_builder_loads_the_local_layout(tmp_path):
    import tensorflow_datasets as tfds

    import fomm_tf.data.tfds_builder  # noqa: F401  (registers the builder)

    write_dataset(tmp_path / "raw", num_train=2, num_test=1, num_frames=3, size=16, layout="gif")
    config = tfds.download.DownloadConfig(manual_dir=str(tmp_path / "raw"))
    ds = tfds.load(
        "fomm_videos",
        split="test",
        data_dir=str(tmp_path / "tfds"),
        download_and_prepare_kwargs={"download_config": config},
    )
    (example,) = list(ds)
    assert example["video"].shape == (3, 16, 16, 3)
    assert example["id"].numpy() == b"id00002"


@pytest.mark.parametrize("layout", ["mp4", "frames", "strip", "gif"])
def test_cached_samples_equal_decoded_ones_and_skip_the_decoder(tmp_path, layout, monkeypatch):
    from fomm_tf.data import pipeline

    write_dataset(tmp_path, num_train=3, num_test=0, num_frames=6, size=16, layout=layout)
    index = scan_split(tmp_path)
    plain = PairSampler(index, (16, 16, 3), JITTER, seed=5)
    cached = PairSampler(index, (16, 16, 3), JITTER, seed=5, cache_bytes=1 << 20)
    first = [cached.item(i) for i in range(9)]  # fills the cache
    assert len(cached.cache) == 3
    opened = []
    real = pipeline.VideoReader
    monkeypatch.setattr(pipeline, "VideoReader", lambda *a, **k: opened.append(a) or real(*a, **k))
    again = [cached.item(i) for i in range(9)]
    assert opened == []  # every sample came from memory
    for i in range(9):
        np.testing.assert_array_equal(first[i], again[i])
        np.testing.assert_array_equal(first[i], plain.item(i))


def test_cache_respects_its_budget(tmp_path):
    write_dataset(tmp_path, num_train=4, num_test=0, num_frames=6, size=16, layout="mp4")
    one_video = 6 * 16 * 16 * 3  # uint8
    sampler = PairSampler(scan_split(tmp_path), (16, 16, 3), cache_bytes=2 * one_video)
    for i in range(12):
        sampler.item(i)
    assert len(sampler.cache) == 2 and sampler.cache.used <= 2 * one_video
