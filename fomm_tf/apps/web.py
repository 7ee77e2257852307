"""The Python half of the browser demo's tests and assets (``web_demo/``).

``python -m fomm_tf.apps.web samples DIR``: a sample source picture (``DIR/source.png``) and driving
clip (``DIR/driving.webm``, VP8) for the page's "Use the sample" button.

``python -m fomm_tf.apps.web prepare OUT``: what ``make web-test`` feeds the page: a tiny int8
export (``OUT/model``, reused when present), a source picture and a short driving clip of
another size than the model's (so the page's crop + resize runs), and bad inputs (a text file
named ``.png``, an undecodable ``.webm``, a model folder whose contract does not match its
graphs), and the golden vectors of the export
(``OUT/golden``) that ``web_demo/test/golden.test.mjs`` checks the page's JS against.

``python -m fomm_tf.apps.web compare OUT``: reads what the page produced (``OUT/page.json``: the
driving frames it decoded, its result frames and timings), runs the same source and frames
through the Python LiteRT runner (:class:`fomm_tf.animation.tflite_backend.TFLiteAnimator` driven by
:class:`fomm_tf.animation.animator.Animator`, i.e. ``fomm animate --backend tflite``), and prints one
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

    from fomm_tf.media.images import to_uint8

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
    from fomm_tf.media.images import write_image

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    write_image(out / "source.png", render_video(1, size, seed=5, kind="face")[0])
    write_webm(out / "driving.webm", render_video(64, size, seed=11, kind="face"))
    return out


def _export(model_dir: Path) -> None:
    from fomm_tf.commands.export import add_export_arguments, run_export

    argv = ["--config", "tiny-64", "--random-weights", "--quant", "int8", "-o", str(model_dir)]
    args = add_export_arguments(argparse.ArgumentParser()).parse_args(argv)
    if run_export(args) != 0:
        raise SystemExit("web-test: the tiny int8 export failed")


def prepare(out: str | os.PathLike) -> Path:
    """The model, inputs and bad inputs of ``make web-test`` in ``out``."""
    from fomm_tf.data.synthetic import render_video
    from fomm_tf.export.contract import CONTRACT_NAME, read_contract
    from fomm_tf.media.images import write_image

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
    _golden(model, out / "golden")
    return out


def _golden(model: Path, golden: Path) -> None:
    """The Android core's golden vectors for this export (:mod:`.golden`): the page's JS
    checks read the same files (``web_demo/test``)."""
    from .golden import write_golden

    if golden.exists():
        shutil.rmtree(golden)
    write_golden(model, golden, seed=5)


def _image(entry: dict) -> np.ndarray:
    raw = base64.b64decode(entry["rgba_b64"])
    return np.frombuffer(raw, np.uint8).reshape(entry["height"], entry["width"], 4)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


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
        (_image(f)[..., :3], r)
        for f, r in zip(frames, ref)
        if r.shape[:2] == (f["height"], f["width"])
    ]
    return min(psnr(a, b) for a, b in pairs) if pairs else None


def compare(out: str | os.PathLike, min_psnr: float = MIN_PSNR_DB) -> dict:
    """The page's frames against the Python LiteRT runner's on the same inputs."""
    from fomm_tf.animation.animator import Animator
    from fomm_tf.animation.tflite_backend import TFLiteAnimator
    from fomm_tf.media.images import fit_frame, to_uint8

    out = Path(out)
    page = json.loads((out / "page.json").read_text())
    backend = TFLiteAnimator(out / "model", num_threads=2, batch_size=8)
    size = backend.image_size
    source = fit_frame(_image(page["source"]), size)
    driving = [fit_frame(_image(f), size) for f in page["driving"]]
    if not driving or len(driving) != len(page["results"]):
        raise SystemExit(
            f"web-test: the page returned {len(driving)} driving and "
            f"{len(page['results'])} result frames"
        )
    animator = Animator(backend, backend.motion_options())
    python = to_uint8(np.concatenate(list(animator.animate(source, driving))))
    web = np.stack([_image(f)[..., :3] for f in page["results"]])
    per_frame = [psnr(a, b) for a, b in zip(web, python)]
    decode_db = _decode_psnr(out / "driving.webm", page["driving"])
    timing = page["timing"]
    n = max(1, timing["frames"])
    report = {
        "frames": len(web),
        "psnr_db": psnr(web, python),
        "psnr_min_db": min(per_frame),
        "max_abs_diff": int(np.max(np.abs(web.astype(int) - python.astype(int)))),
        "ms_per_frame": timing["sums"]["total"] / n,
        "ms": {k: v / n for k, v in timing["sums"].items()},
        "fps": 1000.0 * timing["frames"] / timing["wallMs"] if timing["wallMs"] else None,
        "accelerators": page.get("accelerators"),
        "threads": page.get("threads"),
        "decode_psnr_db": decode_db,
        "passed": psnr(web, python) >= min_psnr,
    }
    finite = {
        k: (v if not isinstance(v, float) or np.isfinite(v) else str(v)) for k, v in report.items()
    }
    (out / "compare.json").write_text(json.dumps(finite, indent=2) + "\n")
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
        f"{report['frames']} frames, max |diff| {report['max_abs_diff']}/255); page "
        f"{report['ms_per_frame']:.1f} ms/frame (keypoints {ms['kp']:.1f} + motion "
        f"{ms['motion']:.2f} + generator {ms['generator']:.1f}), {fps} fps with video decoding "
        f"[{'/'.join(accel)}, {'threaded' if report['threads'] else 'single-threaded'}]; "
        f"browser vs ffmpeg decode of the clip {_db(report['decode_psnr_db'])}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fomm_tf.apps.web", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("samples", help="sample source.png + driving.webm").add_argument("dir")
    sub.add_parser("prepare", help="model and inputs of make web-test").add_argument("out")
    cmp = sub.add_parser("compare", help="page frames vs the Python LiteRT runner")
    cmp.add_argument("out")
    cmp.add_argument("--min-psnr", type=float, default=MIN_PSNR_DB)
    args = parser.parse_args(argv)
    if args.cmd == "samples":
        print(f"samples written to {write_samples(args.dir)}")
        return 0
    if args.cmd == "prepare":
        print(f"web-test inputs in {prepare(args.out)}")
        return 0
    report = compare(args.out, args.min_psnr)
    print(_format(report, args.min_psnr))
    if not report["passed"]:
        print(f"web-test: FAILED, PSNR below {args.min_psnr:.0f} dB", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
