"""The face-crop rules the CLI and the browser demo share: ``crop_rules.json`` next to this
file, read by :mod:`.faces`, :mod:`.photo` and :mod:`.driver` (in :mod:`fomm_tf.animation`), and
copied unchanged into the page's assets (``python -m fomm_tf.apps.web assets``)."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["CROP", "DETECTOR", "PATH", "RULES", "TRACKING"]

PATH = Path(__file__).with_name("crop_rules.json")
RULES: dict = json.loads(PATH.read_text())
#: Crop side over face size, the drop of its centre, paste-back feather, canvas long side.
CROP: dict = RULES["crop"]
#: Detector passes and thresholds (:class:`fomm_tf.animation.faces.FaceDetector`).
DETECTOR: dict = RULES["detector"]
#: Shots and driving crops (:func:`fomm_tf.animation.faces.track_faces`,
#: :mod:`fomm_tf.animation.driver`).
TRACKING: dict = RULES["tracking"]
