"""Face detection (MediaPipe's BlazeFace through LiteRT) on a real photo and on drawn faces."""

import numpy as np
import pytest
from skimage import data as skimage_data

from fomm_tf.animation.faces import FaceBox, FaceDetector
from fomm_tf.data.synthetic import render_video

# Marked by hand on skimage.data.astronaut() (512x512): eye centres, nose tip, mouth centre,
# and the face from brows to chin, cheek to cheek.
ASTRONAUT_POINTS = np.array([(202, 101), (248, 103), (225, 125), (223, 145)], np.float64)
ASTRONAUT_FACE = FaceBox(183, 82, 273, 172)


@pytest.fixture(scope="module")
def detector():
    return FaceDetector()


def _contains(box: FaceBox, points: np.ndarray) -> bool:
    x, y = points[:, 0], points[:, 1]
    return bool(np.all((box.x0 <= x) & (x <= box.x1) & (box.y0 <= y) & (y <= box.y1)))


def test_astronaut_face_is_found_where_it_is(detector):
    box = detector.find(skimage_data.astronaut())
    assert box is not None
    assert _contains(box, ASTRONAUT_POINTS)
    assert box.iou(ASTRONAUT_FACE) > 0.6
    cx, cy = box.center
    hx, hy = ASTRONAUT_FACE.center
    assert np.hypot(cx - hx, cy - hy) < 0.1 * ASTRONAUT_FACE.size
    assert 0.8 < box.size / ASTRONAUT_FACE.size < 1.4


@pytest.mark.parametrize("offset", [(40, 700), (600, 90)])
def test_astronaut_pasted_off_centre_in_a_large_canvas(detector, offset):
    y0, x0 = offset
    canvas = np.full((1200, 1600, 3), 110, np.uint8)
    canvas[y0 : y0 + 512, x0 : x0 + 512] = skimage_data.astronaut()
    box = detector.find(canvas)
    assert box is not None
    assert _contains(box, ASTRONAUT_POINTS + (x0, y0))
    assert box.iou(ASTRONAUT_FACE.shifted(x0, y0)) > 0.5


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_drawn_faces_off_centre_are_found(detector, seed):
    # The renderer's faces fill their frame; pasted into a large canvas they are small, which
    # the window pass of the detector is there for.
    face = (render_video(1, 256, seed=seed, kind="face")[0] * 255).astype(np.uint8)
    canvas = np.full((720, 1280, 3), 100, np.uint8)
    y0, x0 = 300, 800
    canvas[y0 : y0 + 256, x0 : x0 + 256] = face
    box = detector.find(canvas)
    assert box is not None
    cx, cy = box.center
    assert x0 + 64 < cx < x0 + 192 and y0 + 64 < cy < y0 + 192
    assert 60 < box.size < 200


def test_no_face_in_a_plain_picture(detector):
    rng = np.random.default_rng(0)
    plain = np.clip(rng.normal(0.5, 0.02, (240, 320, 3)), 0, 1).astype(np.float32)
    assert detector.detect(plain) == []
    assert detector.find(plain) is None


def test_boxes_merge_and_measure():
    a, b = FaceBox(0, 0, 10, 10, 0.9), FaceBox(1, 1, 11, 11, 0.8)
    assert a.size == 10 and a.center == (5, 5)
    assert abs(a.iou(b) - 81 / 119) < 1e-9
    assert a.shifted(5, 2, 2.0) == FaceBox(5, 2, 25, 22, 0.9)
