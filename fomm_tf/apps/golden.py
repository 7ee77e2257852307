"""Golden vectors for the Android core (``android_demo/core``): inputs and expected outputs.

``fomm export … --golden DIR`` (or :func:`write_golden` on an export directory) writes JSON
files the core's JUnit tests read with Gson and must reproduce to 1e-5:

- ``images.json``: RGBA test images (``rgba_b64``: base64 of width·height·4 bytes, row-major);
- ``preprocess.json``: :func:`fomm_tf.media.images.fit_frame` of those images, with the camera
  rotation (clockwise degrees, as CameraX's ``rotationDegrees``) and mirroring applied first;
- ``postprocess.json``: float frames → ``uint8`` (:func:`fomm_tf.media.images.to_uint8`);
- ``quantization.json``: ``q ↔ scale·(q − zero_point)`` for int8 and uint8;
- ``motion.json``: :func:`fomm_tf.animation.motion.normalize_kp` on random keypoints for several driving
  frames and option sets (one case has collinear source keypoints, zero hull area; one a
  singular initial driving Jacobian), with the movement scale and the rule that gave it;
- ``full_frame.json``: source + two driving frames through the three exported graphs as
  :class:`fomm_tf.animation.tflite_backend.TFLiteAnimator` runs them: every graph call's inputs and outputs in
  order, the normalized keypoints and the predicted frames;
- ``contract.json``: the export's ``model_contract.json``, and the three ``.tflite`` files.

Every float is a float32 value written exactly (JSON numbers of its float64 widening); arrays
are flat, row-major, with their ``shape`` next to them.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from fomm_tf.animation.motion import MotionOptions, movement_scale_rule, normalize_kp
from fomm_tf.media.images import fit_frame, to_uint8

from ..export.contract import CONTRACT_NAME, read_contract

#: Option sets each motion case is normalized with: (relative, adapt_scale, relative_jacobian).
MOTION_OPTION_SETS = (
    (True, True, True),
    (True, False, True),
    (True, True, False),
    (False, True, True),
)


def _arr(x: Any) -> dict[str, Any]:
    a = np.asarray(x, np.float32)
    return {"shape": list(a.shape), "data": [float(v) for v in a.ravel()]}


def test_image(size: int = 512) -> tuple[np.ndarray, str]:
    """A real photograph (scikit-image's ``astronaut``, 512×512 RGB uint8) or, without
    scikit-image, a synthetic face frame."""
    try:
        from skimage import data

        return np.ascontiguousarray(data.astronaut(), np.uint8), "skimage.data.astronaut"
    except ImportError:  # pragma: no cover - scikit-image is in the test extra
        from fomm_tf.data.synthetic import render_video

        return to_uint8(render_video(1, size, seed=7)[0]), "fomm_tf.data.synthetic face seed 7"


def _rgba(rgb: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
    h, w = rgb.shape[:2]
    a = np.full((h, w, 1), 255, np.uint8) if alpha is None else alpha.reshape(h, w, 1)
    return np.ascontiguousarray(np.concatenate([rgb, a.astype(np.uint8)], axis=2))


def orient(rgba: np.ndarray, rotation: int, mirror: bool) -> np.ndarray:
    """A camera frame made upright: rotated ``rotation`` degrees clockwise, then mirrored
    left-right when ``mirror`` (a front camera's preview)."""
    if rotation % 90:
        raise ValueError(f"rotation {rotation}: a multiple of 90 expected")
    out = np.rot90(rgba, k=-(rotation // 90) % 4)
    return np.ascontiguousarray(out[:, ::-1] if mirror else out)


def _image_entry(rgba: np.ndarray) -> dict[str, Any]:
    h, w = rgba.shape[:2]
    return {
        "width": int(w),
        "height": int(h),
        "rgba_b64": base64.b64encode(np.ascontiguousarray(rgba, np.uint8).tobytes()).decode(),
    }


def _preprocess(rgba: np.ndarray, size: tuple[int, int], rotation: int, mirror: bool):
    return fit_frame(orient(rgba, rotation, mirror), size)


def _images(photo: np.ndarray) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    h, w = photo.shape[:2]
    alpha = np.linspace(0, 255, w, dtype=np.float32)[None, :].repeat(h, 0).round()
    return {
        "photo": _rgba(photo),
        "photo_wide": _rgba(photo[100:400, 30:481]),  # 300×451: crops columns, area 300→64·k
        "camera": _rgba(photo[16:496, 0:360]),  # 480 rows × 360 cols, rotated like a sensor
        "small": _rgba(photo[200:240, 180:230]),  # 40×50: enlarged (cubic)
        "alpha": _rgba(photo, alpha),  # composited on white
        "noise": _rgba(rng.integers(0, 256, (97, 131, 3), dtype=np.uint8)),
    }


def _driving_frames(photo: np.ndarray) -> list[np.ndarray]:
    """Two camera-like driving frames (320 rows × 240 cols): the photo shifted and zoomed."""
    frames = []
    for y0, x0, zoom in ((60, 120, 1.0), (90, 100, 1.15)):
        ch, cw = int(320 * zoom), int(240 * zoom)
        crop = photo[y0 : y0 + ch, x0 : x0 + cw]
        frames.append(_rgba(to_uint8(fit_frame(crop, (320, 240)))))
    return frames


def _kp_set(rng: np.random.Generator, k: int, collinear: bool = False) -> dict[str, np.ndarray]:
    value = rng.uniform(-0.8, 0.8, (1, k, 2)).astype(np.float32)
    if collinear:  # every keypoint on one line: zero hull area, non-zero spread
        t = rng.uniform(-0.7, 0.7, k)
        value = np.stack([t, 0.5 * t + 0.1], -1)[None].astype(np.float32)
    jac = np.eye(2, dtype=np.float32) + 0.3 * rng.standard_normal((1, k, 2, 2))
    return {"value": value, "jacobian": jac.astype(np.float32)}


def motion_cases(num_kp: int, seed: int | None = None, frames: int = 3) -> list[dict[str, Any]]:
    """Five random relative-motion cases, normalized with every option set of
    :data:`MOTION_OPTION_SETS`; case 3 has collinear source keypoints (zero hull area), case 4
    coincident ones plus a singular initial driving Jacobian."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(5):
        src = _kp_set(rng, num_kp, collinear=(i == 3))
        if i == 4:
            src["value"][:] = src["value"][:, :1]  # every keypoint at one point
        drv0 = _kp_set(rng, num_kp)
        if i == 4:
            drv0["jacobian"][0, 0] = [[1.0, 2.0], [0.5, 1.0]]  # det 0: keeps J_s
        drv = {
            k: np.concatenate([v] + [_kp_set(rng, num_kp)[k] for _ in range(frames - 1)])
            for k, v in drv0.items()
        }
        drv["value"][1:] = drv0["value"] + 0.1 * (drv["value"][1:] - drv0["value"])
        scale, rule = movement_scale_rule(src["value"][0], drv0["value"][0])
        results = []
        for relative, adapt, rel_jac in MOTION_OPTION_SETS:
            out = normalize_kp(
                src,
                drv,
                drv0,
                adapt_movement_scale=adapt,
                use_relative_movement=relative,
                use_relative_jacobian=rel_jac,
                scale=scale if adapt else 1.0,
            )
            results.append(
                {
                    "relative": relative,
                    "adapt_movement_scale": adapt,
                    "relative_jacobian": rel_jac,
                    "value": _arr(out["value"]),
                    "jacobian": _arr(out["jacobian"]),
                }
            )
        cases.append(
            {
                "name": ["random", "random", "random", "collinear", "coincident+singular"][i],
                "scale": scale,
                "rule": rule,
                "kp_source": {k: _arr(v) for k, v in src.items()},
                "kp_driving_initial": {k: _arr(v) for k, v in drv0.items()},
                "kp_driving": {k: _arr(v) for k, v in drv.items()},
                "results": results,
            }
        )
    return cases


class _Recorder:
    """Runs the exported graphs one call at a time and records each call's feeds and fetches."""

    def __init__(self, model_dir: Path) -> None:
        from ..animation.tflite_backend import TFLiteAnimator

        self.anim = TFLiteAnimator(model_dir)
        self.calls: list[dict[str, Any]] = []

    def run(self, name: str, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        graph = getattr(self.anim, name)
        for k, v in feeds.items():
            graph.set(k, np.asarray(v, np.float32))
        graph.invoke()
        out = {k: np.array(graph.get(k)) for k in graph.outputs}
        self.calls.append(
            {
                "graph": name,
                "inputs": {k: _arr(v) for k, v in feeds.items()},
                "outputs": {k: _arr(v) for k, v in out.items()},
            }
        )
        return out


def full_frame(model_dir: Path, photo: np.ndarray) -> dict[str, Any]:
    """Source + two driving frames through the three graphs, call by call."""
    contract = read_contract(model_dir)
    size = tuple(contract["image_size"])
    opts = MotionOptions.from_contract(contract)
    rec = _Recorder(model_dir)
    source_rgba = _rgba(photo)
    driving = _driving_frames(photo)
    source = fit_frame(source_rgba, size)[None]
    kp_source = rec.run("kp_detector", {"image": source})
    cache = rec.run("source_encoder", {"source": source})
    kp_initial = scale = None
    frames = []
    for rgba in driving:
        kp_d = rec.run("kp_detector", {"image": fit_frame(rgba, size)[None]})
        if kp_initial is None:
            kp_initial = kp_d
            scale = (
                movement_scale_rule(kp_source["value"][0], kp_initial["value"][0])[0]
                if opts.adapt_movement_scale
                else 1.0
            )
        norm = normalize_kp(
            kp_source,
            kp_d,
            kp_initial,
            use_relative_movement=opts.relative,
            use_relative_jacobian=opts.relative_jacobian,
            scale=scale,
        )
        norm = {k: np.asarray(v, np.float32) for k, v in norm.items()}
        feeds = dict(cache)
        feeds.update({f"kp_source_{k}": v for k, v in kp_source.items()})
        feeds.update({f"kp_driving_{k}": v for k, v in norm.items()})
        pred = rec.run("generator", feeds)["prediction"]
        frames.append(
            {
                "kp_norm": {k: _arr(v) for k, v in norm.items()},
                "prediction": _arr(pred),
                "prediction_uint8": [int(v) for v in to_uint8(pred).ravel()],
            }
        )
    return {
        "source": _image_entry(source_rgba),
        "driving": [_image_entry(f) for f in driving],
        "scale": scale,
        "calls": rec.calls,
        "frames": frames,
    }


def write_golden(
    model_dir: str | os.PathLike, golden_dir: str | os.PathLike, seed: int | None = None
) -> Path:
    """Write the golden vectors of the export in ``model_dir`` into ``golden_dir``.

    ``seed`` seeds the random motion cases (``None``: fresh ones every run).
    """
    model_dir, out = Path(model_dir), Path(golden_dir)
    contract = read_contract(model_dir)
    size = tuple(int(s) for s in contract["image_size"])
    out.mkdir(parents=True, exist_ok=True)
    photo, photo_name = test_image()
    images = _images(photo)

    def dump(name: str, doc: dict) -> None:
        (out / name).write_text(json.dumps(doc, separators=(",", ":")) + "\n")

    dump("images.json", {"source": photo_name, **{k: _image_entry(v) for k, v in images.items()}})
    pre_cases = [
        ("photo", 0, False, size),
        ("photo_wide", 0, False, size),
        ("camera", 90, True, size),
        ("camera", 270, False, size),
        ("camera", 180, True, (48, 80)),
        ("small", 0, False, size),
        ("alpha", 0, False, size),
        ("noise", 90, False, (40, 30)),
    ]
    dump(
        "preprocess.json",
        {
            "cases": [
                {
                    "image": name,
                    "rotation": rot,
                    "mirror": mirror,
                    "size": list(sz),
                    "expected": _arr(_preprocess(images[name], sz, rot, mirror)),
                }
                for name, rot, mirror, sz in pre_cases
            ]
        },
    )
    rng = np.random.default_rng(seed)
    floats = np.concatenate(
        [rng.uniform(-0.2, 1.2, 200), [0.0, 1.0, 0.5 / 255, 1.5 / 255, 254.5 / 255, -0.0]]
    ).astype(np.float32)
    dump("postprocess.json", {"input": _arr(floats), "expected": to_uint8(floats).tolist()})
    quant = []
    for dtype, lo, hi in (("int8", -128, 127), ("uint8", 0, 255)):
        scale = float(np.float32(rng.uniform(0.001, 0.1)))
        zero = int(rng.integers(lo, hi + 1))
        q = rng.integers(lo, hi + 1, 64)
        x = rng.uniform((lo - zero - 5) * scale, (hi - zero + 5) * scale, 64).astype(np.float32)
        quant.append(
            {
                "dtype": dtype,
                "scale": scale,
                "zero_point": zero,
                "q": q.tolist(),
                "dequantized": _arr(np.float32(scale) * (q - zero).astype(np.float32)),
                "x": _arr(x),
                "quantized": np.clip(np.rint(x / np.float32(scale)) + zero, lo, hi)
                .astype(int)
                .tolist(),
            }
        )
    dump("quantization.json", {"cases": quant})
    dump(
        "motion.json",
        {
            "rules": contract["motion"]["rules"],
            "cases": motion_cases(int(contract["num_kp"]), seed),
        },
    )
    dump("full_frame.json", full_frame(model_dir, photo))
    shutil.copyfile(model_dir / CONTRACT_NAME, out / "contract.json")
    for entry in contract["graphs"].values():  # the core checks their size and SHA-256
        shutil.copyfile(model_dir / entry["file"], out / entry["file"])
    return out
