"""TensorBoard summaries (core TF only) and the training image grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def summary_scalar(name: str, value: float, step: int) -> None:
    """A TensorBoard scalar, written with core TF only (no ``tensorboard`` package needed)."""
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2

    meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
        data_class=summary_pb2.DATA_CLASS_SCALAR,
    )
    tf.summary.write(name, tf.constant(float(value), tf.float32), step=step, metadata=meta)


def summary_image(name: str, image01: np.ndarray, step: int) -> None:
    """A TensorBoard image (H, W, 3) in [0, 1], written with core TF only."""
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2

    h, w = image01.shape[:2]
    png = tf.io.encode_png(np.round(np.clip(image01, 0, 1) * 255).astype(np.uint8))
    meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="images"),
        data_class=summary_pb2.DATA_CLASS_BLOB_SEQUENCE,
    )
    tensor = tf.stack([tf.constant(str(w)), tf.constant(str(h)), png])
    tf.summary.write(name, tensor, step=step, metadata=meta)


def draw_keypoints(image: np.ndarray, kp_xy: np.ndarray, radius: int = 2) -> np.ndarray:
    """Dots at (K, 2) keypoints in [-1, 1] on an (H, W, 3) [0, 1] image, rainbow colours."""
    import cv2

    img = np.ascontiguousarray(image.copy())
    h, w = img.shape[:2]
    k = len(kp_xy)
    for i, (x, y) in enumerate(kp_xy):
        hue = np.uint8([[[int(180 * i / max(k, 1)), 255, 255]]])
        colour = cv2.cvtColor(hue, cv2.COLOR_HSV2RGB)[0, 0] / 255.0
        centre = (int(round((x + 1) * 0.5 * (w - 1))), int(round((y + 1) * 0.5 * (h - 1))))
        cv2.circle(img, centre, radius, tuple(float(c) for c in colour), -1)
    return img


def image_grid(batch: dict, visuals: dict, rows: int = 4) -> np.ndarray:
    """Rows of [source+kp, driving+kp, prediction, occlusion map] as one (H', W', 3) image."""
    import cv2

    out = []
    for i in range(min(rows, len(visuals["prediction"]))):
        pred = np.clip(visuals["prediction"][i], 0, 1)
        h, w = pred.shape[:2]
        cells = [
            draw_keypoints(batch["source"][i], visuals["kp_source"][i]),
            draw_keypoints(batch["driving"][i], visuals["kp_driving"][i]),
            pred,
        ]
        if "occlusion_map" in visuals:
            occ = cv2.resize(visuals["occlusion_map"][i][..., 0], (w, h))
            cells.append(np.repeat(occ[..., None], 3, axis=-1))
        out.append(np.concatenate(cells, axis=1))
    return np.concatenate(out, axis=0).astype(np.float32)


def read_scalars(run: str | Path) -> dict:
    """``{tag: [(step, value, wall_time)]}`` from a run's (``LOG_DIR``) TensorBoard event files."""
    import tensorflow as tf

    out: dict = {}
    for f in sorted((Path(run) / "tensorboard").glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(f)):
            for v in event.summary.value:
                if v.metadata.plugin_data.plugin_name != "scalars":
                    continue
                value = float(tf.make_ndarray(v.tensor))
                out.setdefault(v.tag, []).append((event.step, value, event.wall_time))
    for tag in out:  # a resumed run rewrites steps after its last checkpoint: keep the newest
        latest = {}
        for step, value, wall in sorted(out[tag], key=lambda r: r[2]):
            latest[step] = (step, value, wall)
        out[tag] = sorted(latest.values())
    return out


def training_hours(scalars: dict) -> list[tuple[int, float]]:
    """``(step, hours of training)`` at each logged step; pauses between sessions removed.

    The wall-clock time between consecutive loss summaries (every ``--log-every`` steps),
    summed; a gap over 10 minutes (the run was stopped and resumed later) is left out.
    """
    rows = scalars.get("loss/perceptual", [])
    out, hours, prev = [], 0.0, None
    for step, _, wall in rows:
        if prev is not None:
            gap = wall - prev[1]
            if gap < 600:
                hours += gap / 3600
        out.append((step, hours))
        prev = (step, wall)
    return out
