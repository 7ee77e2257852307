"""How much the perceptual loss changes with Keras's Caffe-converted VGG19 instead of the
official code's torchvision VGG19.

Usage: ``python benchmarks/vgg19_scale.py [--data ROOT] [--pairs 16] [--config vox-256]
[--torchvision PATH] [--keras PATH] [--json]``. Needs both weight files (by default from
torch's and Keras's caches, see ``fomm train --help``). For ``--pairs`` (source, driving)
frame pairs of ``ROOT/train`` (default: synthetic talking-head clips) it computes the
config's perceptual loss (pyramid ``train_params.scales``, weights
``loss_weights.perceptual``) with each network, with the driving frame as target and the
source frame as prediction (two frames of one video, as early in training), and prints the
per-slice and total ratios keras / torchvision. Multiplying ``loss_weights.perceptual`` by
the inverse of the total ratio restores the official balance against ``equivariance_*``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def frame_pairs(cfg, data: str | None, pairs: int) -> list[tuple[np.ndarray, np.ndarray]]:
    size = cfg.image_size[0]
    if data:
        from fomm_tf.data.pipeline import PairSampler, scan_split

        index = scan_split(data, "train", False)
        sampler = PairSampler(index, [size, size, 3], None, 1, seed=0)
        items = [sampler.item(i) for i in range(pairs)]
        return [(item[0], item[1]) for item in items]
    from fomm_tf.data.synthetic import render_video

    out = []
    for i in range(pairs):
        video = render_video(8, size, seed=i)
        out.append((video[0], video[5]))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="vox-256", help="config name or YAML path")
    parser.add_argument("--data", default=None, help="dataset root (default: synthetic clips)")
    parser.add_argument("--pairs", type=int, default=16, help="frame pairs to average over")
    parser.add_argument("--torchvision", default="torchvision", help="torchvision VGG19 weights")
    parser.add_argument("--keras", default="keras", help="Keras VGG19 weights")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    import tensorflow as tf

    from fomm_tf.config import load_config
    from fomm_tf.losses import ImagePyramid, VGG19Features

    cfg = load_config(args.config)
    tp = cfg.raw.get("train_params") or {}
    scales = tp.get("scales", [1])
    weights = (tp.get("loss_weights") or {}).get("perceptual", [10] * 5)
    nets = {"torchvision": VGG19Features(args.torchvision), "keras": VGG19Features(args.keras)}
    pyramid = ImagePyramid(scales)
    terms = {name: np.zeros(5) for name in nets}
    for source, driving in frame_pairs(cfg, args.data, args.pairs):
        pred, target = tf.constant(source[None]), tf.constant(driving[None])
        for p, t in zip(pyramid(pred), pyramid(target)):
            n = VGG19Features.usable_slices(int(p.shape[1]), int(p.shape[2]))
            for name, vgg in nets.items():
                for k, (a, b) in enumerate(zip(vgg(p, n), vgg(t, n))):
                    terms[name][k] += float(tf.reduce_mean(tf.abs(a - b))) / args.pairs
    total = {name: float(np.dot(weights[:5], terms[name])) for name in nets}
    result = {
        "config": args.config,
        "pairs": args.pairs,
        "data": args.data or "synthetic",
        "loss_torchvision": total["torchvision"],
        "loss_keras": total["keras"],
        "ratio_keras_over_torchvision": total["keras"] / total["torchvision"],
        "slice_ratios": [float(a / b) for a, b in zip(terms["keras"], terms["torchvision"])],
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
