"""The page's frames against the Python LiteRT runner's (``python -m fomm_tf.apps.web compare``
and ``photo``): the same crops, the same graphs, PSNR per frame."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import numpy as np

MIN_PSNR_DB = 40.0


def page_image(entry: dict) -> np.ndarray:
    raw = base64.b64decode(entry["rgba_b64"])
    return np.frombuffer(raw, np.uint8).reshape(entry["height"], entry["width"], 4)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0**2 / mse))


def _decode_psnr(video: Path, frames: list[dict]) -> float | None:
    """PSNR of the frames the browser decoded against ffmpeg's decode of the same file (the
    two convert YUV to RGB differently; a frame off by one would show as a drop)."""
    try:
        from fomm_tf.media.images import to_uint8
        from fomm_tf.media.video_reader import VideoReader

        with VideoReader(video) as reader:
            ref = [to_uint8(f) for f in reader]
    except Exception:  # noqa: BLE001 - information only
        return None
    pairs = [
        (page_image(f)[..., :3], r)
        for f, r in zip(frames, ref)
        if r.shape[:2] == (f["height"], f["width"])
    ]
    return min(psnr(a, b) for a, b in pairs) if pairs else None


def _floats(b64: str, size: int) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), np.float32).reshape(size, size, 3)


def _crop(entry: dict):
    from fomm_tf.animation.photo import Crop

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
    (:meth:`fomm_tf.animation.photo.Crop.extract`) at the squares the page chose, compared with what the
    page fed its graphs, and animated by ``fomm animate --backend tflite``'s code path
    (:class:`fomm_tf.animation.animator.Animator` + :class:`fomm_tf.animation.tflite_backend.TFLiteAnimator`)."""
    from fomm_tf.animation.animator import Animator
    from fomm_tf.animation.tflite_backend import TFLiteAnimator
    from fomm_tf.media.images import to_uint8

    out = Path(out)
    page_json = Path(page_json) if page_json else out / "page.json"
    page = json.loads(page_json.read_text())
    backend = TFLiteAnimator(Path(model) if model else out / "model", num_threads=2, batch_size=8)
    size = backend.image_size[0]
    source = _crop(page["source_crop"]).extract(page_image(page["source"]), size)
    driving = [_crop(f["crop"]).extract(page_image(f), size) for f in page["driving"]]
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
    web = np.stack([page_image(f)[..., :3] for f in page["results"]])
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


#: Floor of the pasted-back crop, page against fomm_tf.animation.photo.PasteBack: the page scales the
#: model's frame up with the browser's filter, Python with OpenCV's bicubic one.
MIN_PASTE_PSNR_DB = 30.0


def check_photo(out: str | os.PathLike, min_psnr: float = MIN_PSNR_DB) -> dict:
    """The large photo of ``make web-test`` (``out/photo.png``, animated by ``faces.webm``):
    the page's result frame pasted into the photo (``out/photo/composed.json``) against
    :class:`fomm_tf.animation.photo.PasteBack` of the same crop and frame (outside the crop: the photo,
    exactly), and the page's frames against the Python LiteRT runner's (:func:`compare`)."""
    from fomm_tf.animation.photo import PasteBack
    from fomm_tf.media.images import read_image, to_uint8

    out = Path(out)
    page = json.loads((out / "photo" / "page.json").read_text())
    composed = page_image(json.loads((out / "photo" / "composed.json").read_text()))[..., :3]
    photo = to_uint8(read_image(out / "photo.png"))
    if composed.shape != photo.shape:
        raise SystemExit(
            f"web-test: the page's result is {composed.shape}, the photo {photo.shape}"
        )
    crop = _crop(page["canvas_crop"])
    python = PasteBack(photo, crop)(page_image(page["results"][0])[..., :3])
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


def db_text(value: float | None) -> str:
    if value is None:
        return "-"
    return "inf dB (bit-identical)" if np.isinf(value) else f"{value:.1f} dB"


def format_report(report: dict, min_psnr: float) -> str:
    ms = report["ms"]
    accel = sorted(set((report["accelerators"] or {}).values())) or ["?"]
    fps = f"{report['fps']:.1f}" if report["fps"] else "-"
    return (
        f"web-test: PSNR page vs Python LiteRT {db_text(report['psnr_db'])} "
        f"(min frame {db_text(report['psnr_min_db'])}, floor {min_psnr:.0f} dB, "
        f"{report['frames']} frames, max |diff| {report['max_abs_diff']}/255; inputs the page "
        f"fed vs Python's crops max |diff| {report['input_max_abs_diff']:.1e}); page "
        f"{report['ms_per_frame']:.1f} ms/frame (keypoints {ms['kp']:.1f} + motion "
        f"{ms['motion']:.2f} + generator {ms['generator']:.1f}), {fps} fps with video decoding "
        f"[{'/'.join(accel)}, {'threaded' if report['threads'] else 'single-threaded'}]; "
        f"browser vs ffmpeg decode of the clip {db_text(report['decode_psnr_db'])}"
    )
