"""Why each float island of the int8 export exists: quantize everything vs keep the islands.

For the keypoint detector and the generator of a model (default: the official-small
fixture at 64×64, real weights), converts int8 once with every op quantizable in int8
(``keep_float=False``) and once selectively, then reports on synthetic clips the keypoint
error, the warp (dense-motion ``deformation``-driven) frame PSNR against the Keras float
model, and how many ops each variant keeps in float.

Usage: ``python benchmarks/int8_islands.py [--config CFG --checkpoint CKPT --size N]``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from export.calibration import synthetic_clips  # noqa: E402
from export.cli import load_for_export  # noqa: E402
from export.convert import convert_graph  # noqa: E402
from export.exporter import calibration_feeds, keras_reference  # noqa: E402
from export.graphs import build_graphs  # noqa: E402
from export.runtime import make_interpreter, op_histogram  # noqa: E402

FIXTURE = ROOT / "tests" / "data" / "official-small"


def run(model: bytes, graph, feed: dict) -> dict:
    interp = make_interpreter(model_content=model, num_threads=2)
    details = {d["name"]: d["index"] for d in interp.get_input_details()}
    for name, _ in graph.inputs:
        interp.set_tensor(details[name], np.asarray(feed[name], np.float32))
    interp.invoke()
    outs = interp.get_output_details()
    return {name: interp.get_tensor(d["index"]) for (name, _), d in zip(graph.outputs, outs)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(FIXTURE / "config.yaml"))
    parser.add_argument("--checkpoint", default=str(FIXTURE / "checkpoint.pth.tar"))
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    models = load_for_export(args.config, args.checkpoint, args.size)
    graphs = build_graphs(models)
    clips = synthetic_clips(models.config.image_size, 16)
    refs = keras_reference(models, clips)
    feeds = calibration_feeds(clips, refs)
    held_out = synthetic_clips(models.config.image_size, 8, seeds=(5,))
    test_refs = keras_reference(models, held_out)
    test_feeds = calibration_feeds(held_out, test_refs)
    print(
        "| graph | variant | float ops (DEQUANTIZE count) | kp error mean / max | "
        "frame PSNR vs Keras dB |"
    )
    print("|---|---|---|---|---|")
    for name in ("kp_detector", "generator"):
        for keep in (False, True):
            model = convert_graph(graphs[name], "int8", feeds[name], keep_float=keep)
            label = "selective (islands float)" if keep else "everything int8"
            deq = op_histogram(model).get("DEQUANTIZE", 0)
            if name == "kp_detector":
                err = np.concatenate(
                    [
                        np.abs(
                            run(model, graphs[name], f)["value"] - graphs[name].run(f)["value"]
                        ).ravel()
                        for f in test_feeds[name]
                    ]
                )
                print(f"| {name} | {label} | {deq} | {err.mean():.4f} / {err.max():.4f} | - |")
            else:
                mse = np.mean(
                    [
                        np.mean(
                            (
                                run(model, graphs[name], f)["prediction"]
                                - graphs[name].run(f)["prediction"]
                            )
                            ** 2
                        )
                        for f in test_feeds[name]
                    ]
                )
                print(f"| {name} | {label} | {deq} | - | {-10 * np.log10(mse + 1e-20):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
