"""Train the synthetic detector (landmarks + visibility + identity) on the renderer's truth.

    python -m fomm_tf.eval.train_detector --kind face   # writes fomm_tf/eval/weights/
    python -m fomm_tf.eval.train_detector --kind body

Training identities are ``TRAIN_ID0 + i`` and the held-out ones ``HELDOUT_ID0 + i``: far
from the ids ``fomm make-dataset`` uses (``seed * 100000 + 1, …`` for seeds below 9000), so
the detector has never seen the people it is evaluated on. Every frame is a random time of
a random clip (so poses are spread out), rendered at 64×64 and augmented with the blur,
noise and contrast changes that generated frames show, plus 12 % frames with no one in
them (background alone, heavy blur, flat noise) whose landmarks are all hidden, so a
reconstruction that lost the subject counts as missing landmarks (MKR). Everything is seeded
(``keras.utils.set_random_seed``, op determinism), so a re-run gives the same weights.
The held-out figures (landmark error in pixels, visibility accuracy, identity distances)
are stored in the weights file's metadata and printed.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import cv2
import numpy as np

from ..data.annotated import BODY_LANDMARKS, FACE_LANDMARKS, renderer
from . import landmark_net as net

log = logging.getLogger(__name__)

TRAIN_ID0 = 900_000_000
HELDOUT_ID0 = 950_000_000
WEIGHTS_DIR = Path(__file__).parent / "weights"
NEGATIVE_PERCENT = 12  # frames without a subject, added to the training and held-out sets
HIDDEN_WEIGHT = 4.0  # hidden landmarks are rare (5–15 %): their visibility errors count 4×


def weights_path(kind: str) -> Path:
    return WEIGHTS_DIR / f"synthetic_{kind}.npz"


def render_set(kind: str, first_id: int, identities: int, per_identity: int, seed: int):
    """``(frames (N,64,64,3), landmarks px (N,L,2), visible (N,L), identity index (N,))``."""
    from tqdm import tqdm

    rng = np.random.default_rng([seed, first_id])
    frames, lms, vis, ids = [], [], [], []
    for i in tqdm(range(identities), desc=f"render {kind}", unit="id", leave=False):
        for clip in range(2):
            r = renderer(kind, first_id + i, clip, net.INPUT_SIZE)
            for t in rng.choice(240, size=(per_identity + 1 - clip) // 2, replace=False):
                f, lm, v = r.render(int(t))
                frames.append(f)
                lms.append(lm)
                vis.append(v)
                ids.append(i)
    # negatives: frames where no one is there (the background alone, a blur too strong to
    # show parts, flat noise): every landmark hidden, no identity (-1)
    from ..data.drawing import background

    names = len(lms[0])
    for k in range(len(frames) * NEGATIVE_PERCENT // 100):
        kind_of = k % 3
        if kind_of == 0:
            f = background(np.random.default_rng([seed, first_id, k]), net.INPUT_SIZE)
        elif kind_of == 1:
            f = cv2.GaussianBlur(frames[int(rng.integers(len(frames)))], (0, 0), rng.uniform(6, 12))
        else:
            f = np.full((net.INPUT_SIZE,) * 2 + (3,), rng.uniform(0.2, 0.8, 3), np.float32)
            f = f + rng.normal(0, 0.05, f.shape)
        frames.append(np.clip(f, 0, 1).astype(np.float32))
        lms.append(np.zeros((names, 2), np.float32))
        vis.append(np.zeros(names, bool))
        ids.append(-1)
    return (
        np.stack(frames).astype(np.float32),
        np.stack(lms).astype(np.float32),
        np.stack(vis),
        np.array(ids, np.int32),
    )


def augment(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Blur, noise and contrast/brightness jitter (what reconstructions look like)."""
    out = np.empty_like(frames)
    for k, f in enumerate(frames):
        sigma = rng.uniform(0, 1.3) if rng.random() < 0.7 else 0.0
        if sigma > 0.1:
            f = cv2.GaussianBlur(f, (0, 0), sigma)
        f = (f - 0.5) * rng.uniform(0.85, 1.15) + 0.5 + rng.uniform(-0.08, 0.08)
        f = f + rng.normal(0, rng.uniform(0, 0.03), f.shape).astype(np.float32)
        out[k] = np.clip(f, 0, 1)
    return out


def measure(model, frames, landmarks, visible, ids) -> dict:
    """Held-out figures: landmark error (px at 64×64), visibility accuracy, identity distances."""
    out = model.predict(frames, batch_size=128, verbose=0)
    pred = net.to_pixels(out["coords"], net.INPUT_SIZE, net.INPUT_SIZE)
    err = np.linalg.norm(pred - landmarks, axis=-1)[visible]
    vis_pred = out["visible_logits"] > 0
    negative = ids < 0
    empty_hidden = float((~vis_pred[negative]).mean()) if negative.any() else None
    vis_pred, visible, ids = vis_pred[~negative], visible[~negative], ids[~negative]
    emb = out["embedding"][~negative]
    d = np.linalg.norm(emb[:, None] - emb[None], axis=-1)
    same = ids[:, None] == ids[None]
    off_diag = ~np.eye(len(ids), dtype=bool)
    return {
        "landmark_error_px64_mean": float(err.mean()),
        "landmark_error_px64_median": float(np.median(err)),
        "landmark_error_px64_p95": float(np.percentile(err, 95)),
        "visibility_accuracy": float((vis_pred == visible).mean()),
        "hidden_recall": float((~vis_pred)[~visible].mean()) if (~visible).any() else None,
        "identity_distance_same": float(d[same & off_diag].mean()),
        "identity_distance_different": float(d[~same].mean()),
        "frames": int(len(frames)),
        "hidden_on_empty_frames": empty_hidden,
    }


def train(
    kind: str,
    identities: int = 320,
    per_identity: int = 10,
    heldout_identities: int = 24,
    epochs: int = 14,
    batch_size: int = 64,
    seed: int = 0,
    out: Path | None = None,
) -> dict:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    names = FACE_LANDMARKS if kind == "face" else BODY_LANDMARKS
    t0 = time.time()
    x, lm, vis, ids = render_set(kind, TRAIN_ID0, identities, per_identity, seed)
    hx, hlm, hvis, hids = render_set(kind, HELDOUT_ID0, heldout_identities, 8, seed + 1)
    log.info("rendered %d + %d frames in %.0f s", len(x), len(hx), time.time() - t0)
    target = net.to_fractions(lm, net.INPUT_SIZE, net.INPUT_SIZE)
    model = net.build_landmark_net(len(names), identities)
    steps = epochs * (len(x) // batch_size)
    lr = keras.optimizers.schedules.CosineDecay(1.5e-3, steps, alpha=0.02)
    opt = keras.optimizers.Adam(lr)
    variables = model.trainable_variables

    @tf.function(reduce_retracing=True)
    def step(images, coords, visible, identity):
        with tf.GradientTape() as tape:
            o = model(images, training=True)
            w = tf.cast(visible, tf.float32)
            diff = tf.abs(o["coords"] - coords) * net.INPUT_SIZE  # pixels at 64×64
            huber = tf.where(diff < 1.0, 0.5 * diff**2, diff - 0.5)
            coord_loss = tf.reduce_sum(tf.reduce_sum(huber, -1) * w) / tf.maximum(
                tf.reduce_sum(w), 1.0
            )
            heat = o["heatmap_logits"]
            logp = heat - tf.reduce_logsumexp(heat, axis=(1, 2), keepdims=True)
            heat_ce = -tf.reduce_sum(net.heatmap_targets(coords) * logp, axis=(1, 2))  # (B, L)
            heat_loss = tf.reduce_sum(heat_ce * w) / tf.maximum(tf.reduce_sum(w), 1.0)
            vis_ce = tf.nn.sigmoid_cross_entropy_with_logits(labels=w, logits=o["visible_logits"])
            vis_loss = tf.reduce_mean(vis_ce * (1.0 + (HIDDEN_WEIGHT - 1.0) * (1.0 - w)))
            has_id = tf.cast(identity >= 0, tf.float32)
            id_ce = tf.nn.sparse_softmax_cross_entropy_with_logits(
                tf.maximum(identity, 0), o["identity_logits"]
            )
            id_loss = tf.reduce_sum(id_ce * has_id) / tf.maximum(tf.reduce_sum(has_id), 1.0)
            loss = coord_loss + heat_loss + 2.0 * vis_loss + id_loss
        grads = tape.gradient(loss, variables)
        opt.apply_gradients(zip(grads, variables))
        return coord_loss, vis_loss, id_loss

    rng = np.random.default_rng(seed)
    from tqdm import tqdm

    bar = tqdm(total=steps, desc=f"train {kind}", unit="step")
    for _epoch in range(epochs):
        order = rng.permutation(len(x))
        xa = augment(x, rng)
        for b in range(len(x) // batch_size):
            idx = order[b * batch_size : (b + 1) * batch_size]
            c, v, i = step(xa[idx], target[idx], vis[idx], ids[idx])
            bar.update(1)
        bar.set_postfix(coord=f"{float(c):.2f}", vis=f"{float(v):.3f}", id=f"{float(i):.2f}")
    bar.close()
    figures = measure(model, hx, hlm, hvis, hids)
    figures_blur = measure(model, augment(hx, np.random.default_rng(seed + 7)), hlm, hvis, hids)
    meta = {
        "kind": kind,
        "landmark_names": list(names),
        "input_size": net.INPUT_SIZE,
        "train": {
            "identities": identities,
            "frames": int(len(x)),
            "epochs": epochs,
            "seed": seed,
            "seconds": round(time.time() - t0, 1),
        },
        "heldout": figures,
        "heldout_augmented": figures_blur,
    }
    out = Path(out or weights_path(kind))
    out.parent.mkdir(parents=True, exist_ok=True)
    net.save_weights(model, out, meta)
    return meta


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--kind", choices=("face", "body"), required=True, help="what to detect")
    p.add_argument("--identities", type=int, default=320, help="training identities")
    p.add_argument("--per-identity", type=int, default=10, help="frames per identity")
    p.add_argument("--epochs", type=int, default=14, help="passes over the training frames")
    p.add_argument("--seed", type=int, default=0, help="seed of everything")
    p.add_argument("--out", type=Path, default=None, help="weights file (default: the package's)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    meta = train(
        args.kind,
        identities=args.identities,
        per_identity=args.per_identity,
        epochs=args.epochs,
        seed=args.seed,
        out=args.out,
    )
    print(json.dumps(meta, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
