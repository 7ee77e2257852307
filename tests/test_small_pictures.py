"""Pictures too small to search for a face: ``--crop auto`` falls back to the centre crop,
``--crop face`` says what is wrong (the size)."""

from __future__ import annotations

import numpy as np
import pytest

from fomm_tf.animation.photo import prepare_source
from fomm_tf.errors import InputError


def _never():
    raise AssertionError("the detector must not be built for a picture this small")


@pytest.mark.parametrize("shape", [(1, 1, 3), (10, 4000, 3)])
def test_auto_crop_of_a_tiny_picture_is_the_centre_crop(shape):
    prepared = prepare_source(np.ones(shape, np.float32), "auto", detector=_never, name="s.png")
    assert prepared.mode == "center"
    h, w = prepared.canvas.shape[:2]
    assert prepared.crop.side == min(h, w)


@pytest.mark.parametrize("shape", [(1, 1, 3), (10, 4000, 3)])
def test_face_crop_of_a_tiny_picture_names_its_size(shape):
    with pytest.raises(InputError) as err:
        prepare_source(np.ones(shape, np.float32), "face", detector=_never, name="s.png")
    msg = str(err.value)
    assert "s.png" in msg and "too small to look for a face" in msg
    assert "(h, w, 3)" not in msg
