"""``fomm export --android-assets DIR``: what ``android_demo/app`` loads from its assets.

- ``DIR/model/``: the three ``.tflite`` graphs and ``model_contract.json``;
- ``DIR/driving.png``: the bundled driving clip, a strip of square frames side by side (a
  synthetic talking head from :mod:`fomm_tf.data.synthetic`), played in a loop;
- ``DIR/source.png``: a default source picture until the user picks a photo.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from fomm_tf.media.images import write_image

from ..export.contract import CONTRACT_NAME, read_contract

#: Frames of the bundled driving clip.
DRIVING_FRAMES = 32


def write_android_assets(model_dir: str | os.PathLike, assets: str | os.PathLike) -> Path:
    """Fill ``assets`` from the export in ``model_dir``; returns ``assets``."""
    from fomm_tf.data.synthetic import render_video

    model_dir, assets = Path(model_dir).absolute(), Path(assets).absolute()
    contract = read_contract(model_dir)
    target = assets / "model"
    if target != model_dir:
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for entry in contract["graphs"].values():
            shutil.copyfile(model_dir / entry["file"], target / entry["file"])
        shutil.copyfile(model_dir / CONTRACT_NAME, target / CONTRACT_NAME)
        card = (contract.get("model") or {}).get("card")
        if card and (model_dir / card).is_file():
            shutil.copyfile(model_dir / card, target / card)
    size = max(int(s) for s in contract["image_size"])
    clip = render_video(DRIVING_FRAMES, size, seed=11, kind="face")
    write_image(assets / "driving.png", np.concatenate(list(clip), axis=1))
    write_image(assets / "source.png", render_video(1, size, seed=5, kind="face")[0])
    return assets
