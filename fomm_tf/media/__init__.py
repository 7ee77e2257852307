"""Media I/O: images (:mod:`.images`), videos (:mod:`.video_reader`, :mod:`.decoder`,
:mod:`.video_writer`), atomic writes (:mod:`.atomic`, no OpenCV), tool messages
(:mod:`.messages`).

The image helpers are also reachable here (``fomm_tf.media.fit_frame``,
``fomm_tf.media.to_uint8``), loaded on first use, so importing :mod:`.atomic` to save weights
does not load OpenCV.
"""

import importlib

_IMAGES = ("as_rgb01", "fit_frame", "read_image", "to_uint8", "write_image")


def __getattr__(name):
    if name in _IMAGES:
        return getattr(importlib.import_module(".images", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
