"""Motion transfer (eq. 14-15), adapt scale, best frame, and the streaming Animator."""

import numpy as np
import pytest
from helpers import relative_kp

import fomm_tf
from fomm_tf.animation.animator import Animator, MotionOptions
from fomm_tf.animation.keras_backend import KerasBackend
from fomm_tf.animation.motion import best_frame, hull_area, movement_scale, normalize_kp


def kp(values, jac=None):
    values = np.asarray(values, np.float32)
    out = {"value": values}
    if jac is not None:
        out["jacobian"] = np.asarray(jac, np.float32)
    return out


SQUARE = [[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5], [0.0, 0.0]]


def test_hull_area_of_a_unit_square_with_an_inner_point():
    assert hull_area(np.array(SQUARE)) == pytest.approx(1.0)


def test_absolute_mode_returns_the_driving_keypoints():
    drv = kp([[[0.1, 0.2]]], [[np.eye(2) * 2]])
    out = normalize_kp(kp([[[0, 0]]], [[np.eye(2)]]), drv, drv, use_relative_movement=False)
    np.testing.assert_array_equal(out["value"], drv["value"])
    np.testing.assert_array_equal(out["jacobian"], drv["jacobian"])


def test_relative_mode_moves_source_by_driving_displacement_scaled():
    src = kp([np.array(SQUARE) * 0.5])  # hull area 0.25 → scale sqrt(0.25 / 1) = 0.5
    d0 = kp([SQUARE])
    d1 = kp([np.array(SQUARE) + [0.2, -0.1]])
    assert movement_scale(src, d0) == pytest.approx(0.5)
    out = normalize_kp(src, d1, d0, adapt_movement_scale=True, use_relative_movement=True)
    np.testing.assert_allclose(out["value"], src["value"] + 0.5 * np.array([0.2, -0.1]), atol=1e-6)
    plain = normalize_kp(src, d1, d0, adapt_movement_scale=False, use_relative_movement=True)
    np.testing.assert_allclose(plain["value"], src["value"] + [0.2, -0.1], atol=1e-6)


def test_relative_jacobian_is_jd_times_inverse_jd0_times_js():
    rng = np.random.default_rng(0)
    js, jd, jd0 = (rng.normal(size=(1, 5, 2, 2)) + 2 * np.eye(2) for _ in range(3))
    val = np.zeros((1, 5, 2))
    out = normalize_kp(
        kp(val, js),
        kp(val, jd),
        kp(val, jd0),
        use_relative_movement=True,
        use_relative_jacobian=True,
    )
    np.testing.assert_allclose(out["jacobian"], jd @ np.linalg.inv(jd0) @ js, rtol=1e-4, atol=1e-5)


def test_best_frame_ignores_position_and_size_and_finds_the_same_layout():
    rng = np.random.default_rng(1)
    source = rng.uniform(-0.5, 0.5, (10, 2))
    frames = rng.uniform(-0.5, 0.5, (6, 10, 2))
    frames[4] = source * 1.7 + [0.3, -0.2]  # same layout, moved and scaled
    assert best_frame(source, frames) == 4


class CountingFrames:
    """An iterable of frames that records how many were pulled."""

    def __init__(self, n, size=64):
        self.n, self.size, self.pulled = n, size, 0

    def __iter__(self):
        rng = np.random.default_rng(2)
        for _ in range(self.n):
            self.pulled += 1
            yield rng.random((self.size, self.size, 3)).astype(np.float32)


@pytest.fixture(scope="module")
def tiny_models():
    return fomm_tf.build_models("tiny-64", seed=0)


def test_animator_streams_one_batch_at_a_time(tiny_models):
    frames = CountingFrames(10)
    anim = Animator(KerasBackend(tiny_models, batch_size=3))
    source = np.random.default_rng(3).random((64, 64, 3)).astype(np.float32)
    stream = anim.animate(source, frames)
    first = next(stream)
    assert first.shape == (3, 64, 64, 3)
    assert frames.pulled == 3
    rest = list(stream)
    assert [len(b) for b in rest] == [3, 3, 1]


def test_animator_equals_direct_network_calls(tiny_models):
    rng = np.random.default_rng(4)
    source = rng.random((64, 64, 3)).astype(np.float32)
    driving = rng.random((5, 64, 64, 3)).astype(np.float32)
    anim = Animator(
        KerasBackend(tiny_models, batch_size=2),
        MotionOptions(relative=True, adapt_movement_scale=True),
    )
    got = np.concatenate(list(anim.animate(source, driving)))
    kp_s = tiny_models.kp_detector(source[None])
    kp_d = tiny_models.kp_detector(driving)
    kp_n = relative_kp(kp_s, kp_d, adapt_movement_scale=True)
    want = tiny_models.generator(source[None], kp_source=kp_s, kp_driving=kp_n)["prediction"]
    np.testing.assert_allclose(got, want, atol=2e-5)
