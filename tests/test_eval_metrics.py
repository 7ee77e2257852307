"""The paper's metrics and the evaluation protocol on hand-built cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from fomm_tf.eval.baselines import fit_affine, global_affine
from fomm_tf.eval.metrics import Detections, MetricSums

COLOURS = np.eye(3, dtype=np.float32)  # a red, a green and a blue square


class SpotDetector:
    """A real (if simple) detector: landmark c = centroid of the pixels where channel c is
    bright and the others dark; missing when no such pixel; embedding = mean colour."""

    name = "spots"

    def detect(self, frames):
        frames = np.asarray(frames)
        t = len(frames)
        lm = np.zeros((t, 3, 2), np.float32)
        vis = np.zeros((t, 3), bool)
        for c in range(3):
            others = [k for k in range(3) if k != c]
            mask = (frames[..., c] > 0.5) & (frames[..., others].max(axis=-1) < 0.5)
            for k in range(t):
                ys, xs = np.nonzero(mask[k])
                if len(xs):
                    lm[k, c] = xs.mean(), ys.mean()
                    vis[k, c] = True
        return Detections(lm, vis, frames.mean(axis=(1, 2)).astype(np.float32))


def squares_video(positions, size=48, side=6):
    """(T, size, size, 3): square c of side ``side`` with top-left corner positions[t][c]."""
    video = np.zeros((len(positions), size, size, 3), np.float32)
    for t, pos in enumerate(positions):
        for c, (x, y) in enumerate(pos):
            video[t, y : y + side, x : x + side] = COLOURS[c]
    return video


def _score(real, generated, detector=None):
    detector = detector or SpotDetector()
    sums = MetricSums()
    sums.add(real, generated, detector.detect(real), detector.detect(generated))
    return sums.result()


def test_a_video_compared_with_itself_scores_zero():
    positions = [[(5 + t, 5), (20, 10 + t), (30, 30)] for t in range(6)]
    video = squares_video(positions)
    assert _score(video, video) == {"l1": 0.0, "akd": 0.0, "mkr": 0.0, "aed": 0.0}


def test_hand_built_shift_gives_the_known_numbers():
    size, side = 48, 6
    real = squares_video([[(5, 5), (20, 20), (30, 34)]] * 2, size, side)
    gen = squares_video([[(8, 9), (23, 24), (33, 38)]] * 2, size, side)  # all moved by (3, 4)
    m = _score(real, gen)
    assert m["akd"] == pytest.approx(5.0, abs=1e-9)
    assert m["mkr"] == 0.0
    # each square differs on 2·(36 − overlap) pixels, in one channel of three
    overlap = (side - 3) * (side - 4)
    assert m["l1"] == pytest.approx(3 * 2 * (side * side - overlap) / (size * size * 3))
    # a square moved out of the frame in one of two frames: 1 of 6 visible landmarks missing
    gone = squares_video([[(5, 5), (20, 20), (30, 34)], [(5, 5), (20, 20), (60, 60)]], size, side)
    gone_m = _score(real, gone)
    assert gone_m["mkr"] == pytest.approx(1 / 6)
    assert gone_m["akd"] == 0.0


def test_aed_is_the_mean_embedding_distance_and_skips_frames_without_one():
    det_a = Detections(np.zeros((3, 1, 2)), np.ones((3, 1), bool), np.zeros((3, 2)))
    emb = np.array([[3.0, 4.0], [np.nan, np.nan], [0.0, 1.0]])
    det_b = Detections(np.zeros((3, 1, 2)), np.ones((3, 1), bool), emb)
    sums = MetricSums()
    frames = np.zeros((3, 4, 4, 3), np.float32)
    sums.add(frames, frames, det_a, det_b)
    assert sums.result()["aed"] == pytest.approx((5.0 + 1.0) / 2)


def test_global_affine_baseline_recovers_an_affine_motion():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 40, size=(5, 2))
    a = np.array([[1.1, 0.2, 3.0], [-0.1, 0.9, -2.0]])
    dst = src @ a[:, :2].T + a[:, 2]
    assert np.allclose(fit_affine(src, dst), a)
    assert fit_affine(src[:2], dst[:2]) is None  # under 3 points
    line = np.stack([np.arange(4.0), np.arange(4.0)], 1)
    assert fit_affine(line, line) is None  # collinear
    video = squares_video([[(5, 5), (25, 8), (12, 28)], [(8, 7), (28, 10), (15, 30)]])
    det = SpotDetector().detect(video)
    warped = global_affine(video[0], det.take(slice(0, 1)), det)
    assert np.abs(warped[0] - video[0]).max() < 1e-6
    assert np.abs(warped[1] - video[1]).mean() < 0.01


@pytest.fixture(scope="module")
def tiny_models():
    from fomm_tf.nets.models import build_models

    return build_models("tiny-64", seed=0)


def test_evaluation_does_not_depend_on_the_batch_size(tiny_models, tmp_path):
    from fomm_tf.data.annotated import write_annotated_dataset
    from fomm_tf.evaluate import evaluate, list_videos
    from fomm_tf.media.video_reader import VideoReader

    root = write_annotated_dataset(tmp_path / "ds", 0, 2, 7, size=64, seed=2, progress=False)
    videos = list_videos(root)
    evaluations = [
        evaluate(tiny_models, videos, SpotDetector(), batch_size=b, progress=False)
        for b in (1, 3, 8)
    ]
    reports = [e.report for e in evaluations]
    for r in reports[1:]:
        assert r["videos"] == 2 and r["frames"] == 14 and r["detector"] == "spots"
        for method in ("model", "copy_source", "global_affine"):
            got = r["model"] if method == "model" else r["baselines"][method]
            ref = reports[0]["model"] if method == "model" else reports[0]["baselines"][method]
            for key, value in ref.items():
                assert (got[key] is None) == (value is None)
                if value is not None:
                    assert got[key] == pytest.approx(value, rel=1e-5, abs=1e-7), (method, key)
    # copying the source reproduces frame 0 exactly, and no later frame (the squares move)
    copies = evaluations[0].per_frame_l1["copy_source"]
    assert len(copies) == 2
    for video, l1 in zip(videos, copies):
        with VideoReader(video) as reader:
            frames = np.stack(list(reader))
        assert l1[0] == 0.0 and np.all(l1[1:] > 0), l1
        # the same mean in float32 here, float64 there: round-off only
        np.testing.assert_allclose(l1, np.abs(frames - frames[:1]).mean(axis=(1, 2, 3)), rtol=1e-6)
    mean_copy = float(np.mean(np.concatenate(copies)))
    assert reports[0]["baselines"]["copy_source"]["l1"] == pytest.approx(mean_copy, rel=1e-6)


def test_still_pixels_are_those_that_never_change_and_their_margin_moves():
    from fomm_tf.eval.metrics import split_l1, still_pixels

    video = np.zeros((3, 20, 20, 3), np.float32)
    video[1, 5, 5] = 1.0  # one pixel changes in frame 1
    still = still_pixels(video, margin=2)
    assert still[0].all() and still[2].all()
    assert not still[1, 3:8, 3:8].any() and still[1].sum() == 400 - 25
    generated = video.copy()
    generated[:, 0, 0] += 0.5  # an error on a still pixel
    generated[1, 5, 5] = 0.0  # the moving pixel missed
    parts = split_l1(video, generated, still)
    assert parts["still"] == (pytest.approx(1.5), 3 * 400 - 25)
    assert parts["moving"] == (pytest.approx(1.0), 25)
