"""The real-photo check (fomm_tf/eval/real_photo.py): identity distance and face detail per
animated frame, against a stand-in detector whose box and embedding are known."""

import cv2
import numpy as np
import pytest

from fomm_tf.animation.photo import Crop
from fomm_tf.eval.real_photo import (
    SAME_PERSON,
    box_detail,
    resolution_ceiling,
    score_animation,
)

BOX = (16, 16, 48, 48)


class StandIn:
    """A face box wherever the picture is not black; the embedding is the mean colour."""

    def face(self, img):
        if img.max() == 0:
            return None
        emb = np.zeros(128, np.float32)
        emb[:3] = (img.reshape(-1, 3) / 255.0).mean(0)
        return BOX, np.zeros((68, 2), np.float32), emb


@pytest.fixture
def photo():
    return np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)


def test_box_detail_is_zero_on_a_flat_picture_and_falls_with_blur(photo):
    assert box_detail(np.full((64, 64, 3), 90, np.uint8), BOX) == 0.0
    sharp = box_detail(photo, BOX)
    blurred = box_detail(cv2.GaussianBlur(photo, (0, 0), 2.0), BOX)
    assert sharp > 0 and blurred < 0.1 * sharp


def test_the_source_itself_scores_the_same_person_with_all_its_detail(photo):
    score = score_animation(photo, [photo, photo], StandIn())
    np.testing.assert_array_equal(score.distance, [0.0, 0.0])
    np.testing.assert_allclose(score.detail, [1.0, 1.0])
    assert score.same_person == 1.0 and score.median_detail == pytest.approx(1.0)


def test_a_frame_without_a_face_is_a_miss_and_another_colour_another_person(photo):
    black = np.zeros_like(photo)
    other = np.clip(photo.astype(int) + 200, 0, 255).astype(np.uint8)  # mean colour far off
    score = score_animation(photo, [photo, black, other], StandIn())
    assert np.isnan(score.distance[1]) and np.isnan(score.detail[1])
    assert score.distance[2] > SAME_PERSON
    assert score.same_person == pytest.approx(1 / 3)
    summary = score.summary()
    assert summary["frames"] == 3 and summary["faces_found"] == 2


def test_a_photo_without_a_face_is_an_error(photo):
    with pytest.raises(ValueError, match="no face"):
        score_animation(np.zeros_like(photo), [photo], StandIn())


def test_the_resolution_ceiling_is_one_at_full_size_and_falls_with_the_model_size(photo):
    crop = Crop(8, 8, 48)
    assert resolution_ceiling(photo, crop, 48, BOX) == pytest.approx(1.0)
    quarter = resolution_ceiling(photo, crop, 12, BOX)
    half = resolution_ceiling(photo, crop, 24, BOX)
    assert quarter < half < 0.8
