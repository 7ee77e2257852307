"""The Python half of the browser demo's tests and assets (``web_demo/``).

One command per step, ``python -m fomm_tf.apps.web CMD``:

``assets DIR``: ``make web-assets``: the page's default model (``DIR/default``, the bundled
model unless ``--config``/``--checkpoint``), the samples and the face detector
(:mod:`.web_assets`).

``samples DIR``: a sample source picture (``DIR/source.png``) and driving clip
(``DIR/driving.webm``, VP8) for the page's "Use the sample" button.

``prepare OUT``: what ``make web-test`` feeds the page: a tiny int8 export (``OUT/model``,
reused when present), a source picture and a short driving clip of another size than the
model's (so the page's crop + resize runs), bad inputs (a text file named ``.png``, an
undecodable ``.webm``, a model folder whose contract does not match its graphs), the face
fixtures (:mod:`.web_crops`) and the golden vectors of the export (``OUT/golden``) that
``web_demo/test/golden.test.mjs`` checks the page's JS against.

``compare OUT``: reads what the page produced (``OUT/page.json``: the driving frames it
decoded, its result frames and timings), runs the same source and frames through the Python
LiteRT runner (:class:`fomm_tf.animation.tflite_backend.TFLiteAnimator` driven by
:class:`fomm_tf.animation.animator.Animator`, i.e. ``fomm animate --backend tflite``), and
prints one line with the PSNR of the page's frames against Python's and the page's ms per
frame (:mod:`.web_compare`). Exit status 1 below ``--min-psnr`` (40 dB).

``photo OUT``: the large photo's paste-back and frames against fomm_tf's.

``bench DIR``: the default model's exports in the page, timed (:mod:`.web_bench`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from .web_assets import CLIP_FRAMES, write_assets, write_face_assets, write_samples, write_webm
from .web_bench import bench, bench_table
from .web_compare import (
    MIN_PASTE_PSNR_DB,
    MIN_PSNR_DB,
    check_photo,
    compare,
    db_text,
    format_report,
)
from .web_crops import write_crop_cases, write_photo_fixtures


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
    write_photo_fixtures(out)
    write_crop_cases(out / "crop_cases.json")
    _golden(model, out / "golden")
    return out


def _golden(model: Path, golden: Path) -> None:
    """The Android core's golden vectors for this export (:mod:`.golden`): the page's JS
    checks read the same files (``web_demo/test``)."""
    from .golden import write_golden

    if golden.exists():
        shutil.rmtree(golden)
    write_golden(model, golden, seed=5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fomm_tf.apps.web", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("samples", help="sample source.png + driving.webm").add_argument("dir")
    assets = sub.add_parser("assets", help="the page's default model + samples (make web-assets)")
    assets.add_argument("dir")
    assets.add_argument("--quant", default="dynamic")
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
        "photo",
        help="the page's large photo: paste-back vs fomm_tf.animation.photo, frames vs Python",
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
        print(bench_table(result))
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
            f"{db_text(first['psnr_db'])}; {check}; load average {load} on "
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
            f"|diff| {r['outside_max_diff']}/255 (0 expected), the crop vs fomm_tf.animation.photo.PasteBack "
            f"{db_text(r['paste_psnr_db'])} (floor {MIN_PASTE_PSNR_DB:g}); {r['shots']} driving "
            f"shot(s); frames vs Python LiteRT {db_text(r['psnr_db'])}, inputs max |diff| "
            f"{r['input_max_abs_diff']:.1e}"
        )
        if not r["passed"]:
            print("web-test: FAILED (large photo)", file=sys.stderr)
            return 1
        return 0
    report = compare(args.out, args.min_psnr)
    print(format_report(report, args.min_psnr))
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
