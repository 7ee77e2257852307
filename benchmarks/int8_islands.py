"""Why each float island of the int8 export exists: quantize one island at a time.

The selective int8 export keeps every op under ``keep_float/<island>`` in float
(:data:`fomm_tf.nets.layers.warp.FLOAT_ISLANDS`). For the keypoint detector and the generator of
a model (default: the official-small fixture at 64×64, real weights), this calibrates each
graph once on synthetic clips, then quantizes it (a) selectively, as shipped, (b) with ONLY
one island quantized and the others kept float, for each island of the graph, and
(c) with everything int8. On a held-out synthetic clip it compares each variant with the
float graph:

- keypoint detector islands: keypoint and Jacobian error ([-1, 1] units) and the frame
  PSNR of the *float* generator driven by those keypoints (what the error costs on screen);
- generator islands (fed the float keypoints): frame PSNR and max abs error ([0, 1] pixels).

Usage: ``python benchmarks/int8_islands.py [--config CFG --checkpoint CKPT --size N]``
(about a minute on 2 cores at the default 64×64).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np

from fomm_tf.export.calibration import synthetic_clips
from fomm_tf.export.convert import calibrate, islands_of, quantize_calibrated
from fomm_tf.export.exporter import (
    calibration_feeds,
    keras_reference,
    load_for_export,
)
from fomm_tf.export.flatbuffer import ops_details, tensor_names
from fomm_tf.export.graphs import build_graphs
from fomm_tf.litert import make_interpreter
from fomm_tf.nets.layers.warp import FLOAT_ISLANDS

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "official-small"
SHIPPED = "all float islands kept (shipped selective)"
EVERYTHING = "everything int8"


def run(model: bytes, graph, feeds: list[dict]) -> list[dict]:
    interp = make_interpreter(model_content=model, num_threads=2)
    details = {d["name"]: d["index"] for d in interp.get_input_details()}
    outs = interp.get_output_details()
    results = []
    for feed in feeds:
        for name, _ in graph.inputs:
            interp.set_tensor(details[name], np.asarray(feed[name], np.float32))
        interp.invoke()
        results.append(
            {name: interp.get_tensor(d["index"]) for (name, _), d in zip(graph.outputs, outs)}
        )
    return results


def island_op_counts(calibrated: bytes) -> dict[str, int]:
    """Ops per float island in the calibrated graph (a fused op counts for each of its)."""
    names = tensor_names(calibrated)
    counts = dict.fromkeys(FLOAT_ISLANDS, 0)
    for op in ops_details(calibrated):
        for island in set().union(*(islands_of(names[i]) for i in op["outputs"])):
            counts[island] = counts.get(island, 0) + 1
    return {k: v for k, v in counts.items() if v}


def frame_stats(preds: list[np.ndarray], refs: list[np.ndarray]) -> tuple[float, float]:
    diff = np.stack(preds) - np.stack(refs)
    mse = float(np.mean(diff**2))
    psnr = 100.0 if mse <= 1e-10 else -10.0 * np.log10(mse)
    return psnr, float(np.abs(diff).max())


def with_keypoints(gen_feeds: list[dict], kps: list[dict]) -> list[dict]:
    """Generator feeds of one clip (frame 0 = source) driven by other keypoints."""
    out = []
    for feed, kp in zip(gen_feeds, kps):
        feed = dict(feed)
        for key, value in kp.items():
            feed[f"kp_source_{key}"] = kps[0][key]
            feed[f"kp_driving_{key}"] = value
        out.append(feed)
    return out


def variants(calibrated: bytes, islands: list[str]):
    yield SHIPPED, "-", dict(keep_float=True)
    for island in islands:
        yield island, island, dict(keep_float=True, quantize_islands=(island,))
    yield EVERYTHING, "all", dict(keep_float=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(FIXTURE / "config.yaml"))
    parser.add_argument("--checkpoint", default=str(FIXTURE / "checkpoint.pth.tar"))
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--frames", type=int, default=16, help="held-out clip length")
    args = parser.parse_args()
    models = load_for_export(args.config, args.checkpoint, args.size)
    graphs = build_graphs(models)
    clips = synthetic_clips(models.config.image_size, 16)
    feeds = calibration_feeds(clips, keras_reference(models, clips))
    held_out = synthetic_clips(models.config.image_size, args.frames, seeds=(5,))
    test = calibration_feeds(held_out, keras_reference(models, held_out))
    kp_graph, gen_graph = graphs["kp_detector"], graphs["generator"]
    kp_ref = [kp_graph.run(f) for f in test["kp_detector"]]
    frame_ref = [gen_graph.run(f)["prediction"] for f in test["generator"]]

    rows = []
    for name in ("kp_detector", "generator"):
        graph = graphs[name]
        calibrated = calibrate(graph, feeds[name])
        counts = island_op_counts(calibrated)
        for label, island, kwargs in variants(calibrated, list(counts)):
            model = quantize_calibrated(name, calibrated, **kwargs)
            n_ops = {"-": 0, "all": sum(counts.values())}.get(island, counts.get(island))
            outs = run(model, graph, test[name])
            if name == "kp_detector":
                kp = [{k: o[k] for k in ("value", "jacobian") if k in o} for o in outs]
                kp_err = np.concatenate(
                    [np.abs(a["value"] - b["value"]).ravel() for a, b in zip(kp, kp_ref)]
                )
                jac = "-"
                if "jacobian" in kp_ref[0]:
                    jac_err = np.concatenate(
                        [np.abs(a["jacobian"] - b["jacobian"]).ravel() for a, b in zip(kp, kp_ref)]
                    )
                    jac = f"{jac_err.mean():.4f} / {jac_err.max():.4f}"
                driven = [
                    gen_graph.run(f)["prediction"] for f in with_keypoints(test["generator"], kp)
                ]
                psnr, max_err = frame_stats(driven, frame_ref)
                cells = (f"{kp_err.mean():.4f} / {kp_err.max():.4f}", jac)
            else:
                psnr, max_err = frame_stats([o["prediction"] for o in outs], frame_ref)
                cells = ("-", "-")
            rows.append((name, label, n_ops, *cells, f"{psnr:.1f}", f"{max_err:.4f}"))
            print(f"done: {name} / {label}", file=sys.stderr, flush=True)

    print(
        "\n| graph | quantized to int8 | island ops moved to int8 | kp error mean / max | "
        "Jacobian error mean / max | frame PSNR dB | frame max abs error |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
    print(
        "\nkp_detector rows: frames of the float generator driven by the int8 keypoints; "
        "generator rows: the int8 generator fed the float keypoints. Errors vs the float "
        f"graphs on a held-out synthetic clip of {args.frames} frames (seed 5)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
