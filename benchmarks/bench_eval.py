"""Time ``fomm evaluate`` (12 × 32 frames at 128², synthetic detector) and the detectors.

Writes a 12-video synthetic test set, a 128×128 model with random weights (``--widths``:
``tiny`` = tiny-64's widths, ``vox`` = vox-256's), runs the ``fomm evaluate`` command on it
and reports its wall time, then the per-frame cost of each detector on 128² frames.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import yaml  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--widths", choices=("tiny", "vox"), default="tiny")
    p.add_argument("--videos", type=int, default=12)
    p.add_argument("--frames", type=int, default=32)
    args = p.parse_args()

    import fomm_tf
    from fomm_tf.config import load_config
    from fomm_tf.data.annotated import write_annotated_dataset
    from fomm_tf.data.photo_clips import photo_clip
    from fomm_tf.eval.detectors import FaceDetector, SyntheticDetector

    tmp = Path(tempfile.mkdtemp(prefix="bench-eval-"))
    data = write_annotated_dataset(tmp / "ds", 0, args.videos, args.frames, size=128, seed=7)
    raw = load_config("tiny-64" if args.widths == "tiny" else "vox-256").raw
    raw["dataset_params"]["frame_shape"] = [128, 128, 3]
    cfg = tmp / "model.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    weights = fomm_tf.save_weights(fomm_tf.build_models(str(cfg), seed=0), tmp / "m.weights.h5")
    cmd = [sys.executable, "-m", "fomm_tf.cli", "evaluate", "--config", str(cfg)]
    cmd += ["--checkpoint", str(weights), "--data", str(data), "-o", str(tmp / "report")]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if res.returncode:
        sys.exit(res.stderr)
    print(res.stdout)
    print(
        f"fomm evaluate, {args.videos} x {args.frames} frames at 128², {args.widths} widths: "
        f"{wall:.1f} s wall (whole command)"
    )

    frames = np.concatenate([photo_clip(16, 128, seed=s)[0] for s in range(2)])
    for det in (SyntheticDetector("face"), FaceDetector()):
        det.detect(frames[:2])
        t0 = time.perf_counter()
        det.detect(frames)
        ms = (time.perf_counter() - t0) / len(frames) * 1000
        print(f"detector {det.name}: {ms:.1f} ms/frame at 128²")
    fd = FaceDetector()
    u8 = (frames * 255).astype(np.uint8)
    t0 = time.perf_counter()
    for f in u8:
        fd.box(f)
    box_ms = (time.perf_counter() - t0) / len(u8) * 1000
    import dlib

    box = fd.box(u8[0])
    rect = dlib.rectangle(*(int(round(v)) for v in box))
    t0 = time.perf_counter()
    shapes = [fd._shape(f, rect) for f in u8]
    shape_ms = (time.perf_counter() - t0) / len(u8) * 1000
    t0 = time.perf_counter()
    for f, s in zip(u8, shapes):
        fd._encoder.compute_face_descriptor(f, s)
    enc_ms = (time.perf_counter() - t0) / len(u8) * 1000
    print(f"  face: box {box_ms:.1f} ms, 68 landmarks {shape_ms:.1f} ms, identity {enc_ms:.1f} ms")


if __name__ == "__main__":
    main()
