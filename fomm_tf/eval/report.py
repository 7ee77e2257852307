"""The evaluation report: ``metrics.json``, ``metrics.md``, a contact sheet and an L1 plot.

Everything is written into a temporary folder beside the report folder and renamed onto it
when complete, so a failed run leaves the previous report (or nothing).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from ..media.atomic import atomic_dir
from ..media.images import to_uint8, write_image

__all__ = ["contact_sheet", "l1_plot", "line_plot", "markdown_table", "write_report"]

_NAMES = {"model": "model", "copy_source": "copy source", "global_affine": "global affine"}
_COLOURS = {"model": (40, 90, 230), "copy_source": (200, 60, 40), "global_affine": (40, 160, 60)}


def _fmt(v, digits=4) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def markdown_table(report: dict) -> str:
    """The four metrics of the model and the baselines as a Markdown table."""
    rows = [
        f"Evaluation: {report['videos']} videos, {report['frames']} frames, detector "
        f"`{report['detector']}`"
        + (f", {report['skipped']} unreadable skipped" if report.get("skipped") else ""),
        "",
        "| method | L1 ↓ | AKD (px) ↓ | MKR ↓ | AED ↓ |",
        "|---|---|---|---|---|",
    ]
    methods = {"model": report["model"], **report["baselines"]}
    for name, m in methods.items():
        rows.append(
            f"| {_NAMES.get(name, name)} | {_fmt(m['l1'])} | {_fmt(m['akd'], 2)} | "
            f"{_fmt(m['mkr'], 3)} | {_fmt(m['aed'], 3)} |"
        )
    return "\n".join(rows)


def _label(img: np.ndarray, text: str) -> np.ndarray:
    bar = np.full((14, img.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text, (2, 11), cv2.FONT_HERSHEY_PLAIN, 0.8, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, img], axis=0)


def _dots(img: np.ndarray, pts, vis, colour, marker=cv2.MARKER_CROSS) -> None:
    for (x, y), v in zip(pts, vis):
        if v and np.isfinite(x) and np.isfinite(y):
            cv2.drawMarker(img, (int(round(x)), int(round(y))), colour, marker, 5, 1, cv2.LINE_AA)


def contact_sheet(visuals) -> np.ndarray:
    """Rows of frames; columns source | driving | reconstruction | occlusion | keypoints.

    The driving frame carries the detector's landmarks (green), the reconstruction the
    landmarks detected in it (red), the keypoints column the model's keypoints (coloured).
    """
    rows = []
    for vis in visuals:
        n = len(vis.driving)
        k = len(vis.keypoints[0])
        palette = [
            tuple(
                int(c)
                for c in cv2.cvtColor(
                    np.uint8([[[int(180 * i / k), 255, 255]]]), cv2.COLOR_HSV2RGB
                )[0, 0]
            )
            for i in range(k)
        ]
        for t in range(n):
            src = to_uint8(vis.source).copy()
            drv = to_uint8(vis.driving[t]).copy()
            rec = to_uint8(vis.reconstruction[t]).copy()
            _dots(drv, vis.landmarks_real[t], vis.visible_real[t], (0, 220, 0))
            _dots(rec, vis.landmarks_model[t], vis.visible_model[t], (230, 0, 0))
            if vis.occlusion is not None:
                occ = to_uint8(np.repeat(vis.occlusion[t][..., None], 3, axis=2))
            else:
                occ = np.full_like(src, 128)
            kp = to_uint8(vis.driving[t]).copy()
            for j, (x, y) in enumerate(vis.keypoints[t]):
                if np.isfinite(x) and np.isfinite(y):
                    cv2.circle(kp, (int(round(x)), int(round(y))), 2, palette[j], -1, cv2.LINE_AA)
            row = np.concatenate([src, drv, rec, occ, kp], axis=1)
            rows.append(row)
        rows.append(np.full((3, rows[-1].shape[1], 3), 255, np.uint8))
    sheet = np.concatenate(rows[:-1], axis=0)
    w = sheet.shape[1] // 5
    names = ("source", "driving", "reconstruction", "occlusion", "keypoints")
    if w < 110:  # the long names do not fit narrow frames
        names = ("source", "driving", "recon.", "occl.", "kp")
    header = np.concatenate([_label(np.zeros((0, w, 3), np.uint8), name) for name in names], axis=1)
    return np.concatenate([header, sheet], axis=0)


def l1_plot(per_frame: dict, width: int = 640, height: int = 360) -> np.ndarray:
    """Mean L1 over videos at each frame index, one line per method, as an RGB image."""
    series = {}
    for method, videos in per_frame.items():
        length = max(len(v) for v in videos)
        total = np.zeros(length)
        count = np.zeros(length)
        for v in videos:
            total[: len(v)] += v
            count[: len(v)] += 1
        curve = total / np.maximum(count, 1)
        series[_NAMES.get(method, method)] = (np.arange(length), curve, _COLOURS.get(method))
    return line_plot(series, "L1 per frame", "frame", width, height)


def line_plot(
    series: dict, title: str, xlabel: str, width: int = 640, height: int = 360
) -> np.ndarray:
    """Curves as an RGB image: ``series`` maps a legend name to ``(x, y, colour or None)``."""
    img = np.full((height, width, 3), 255, np.uint8)
    left, right, top, bottom = 60, 150, 20, 40
    palette = list(_COLOURS.values()) + [(128, 0, 128), (0, 128, 128), (128, 128, 0)]
    xs = np.concatenate([np.asarray(x, float) for x, _, _ in series.values()])
    ys = np.concatenate([np.asarray(y, float) for _, y, _ in series.values()])
    x0, x1 = float(xs.min()), float(xs.max())
    ymax = float(np.nanmax(ys)) * 1.1 or 1.0
    pw, ph = width - left - right, height - top - bottom

    def at(x, y):
        px = left + ((x - x0) / max(1e-12, x1 - x0)) * pw
        return int(round(px)), int(round(top + ph - y / ymax * ph))

    cv2.rectangle(img, (left, top), (left + pw, top + ph), (0, 0, 0), 1)
    for k in range(5):
        y = ymax * k / 4
        p = at(x0, y)
        cv2.line(img, (left - 4, p[1]), (left, p[1]), (0, 0, 0), 1)
        cv2.putText(img, f"{y:.3g}", (4, p[1] + 4), cv2.FONT_HERSHEY_PLAIN, 0.9, (0, 0, 0), 1)
    for k in range(6):
        x = x0 + (x1 - x0) * k / 5
        p = at(x, 0)
        cv2.line(img, (p[0], p[1]), (p[0], p[1] + 4), (0, 0, 0), 1)
        cv2.putText(
            img, f"{x:.0f}", (p[0] - 8, p[1] + 18), cv2.FONT_HERSHEY_PLAIN, 0.9, (0, 0, 0), 1
        )
    cv2.putText(
        img, xlabel, (left + pw // 2 - 20, height - 6), cv2.FONT_HERSHEY_PLAIN, 1, (0, 0, 0), 1
    )
    cv2.putText(img, title, (left, 14), cv2.FONT_HERSHEY_PLAIN, 1, (0, 0, 0), 1)
    for i, (name, (x, y, colour)) in enumerate(series.items()):
        colour = colour or palette[i % len(palette)]
        pts = np.array([at(a, b) for a, b in zip(x, y)], np.int32)
        cv2.polylines(img, [pts], False, colour, 2, cv2.LINE_AA)
        if len(pts) <= 20:  # few points: mark each (a single one draws no line)
            for p in pts:
                cv2.circle(img, (int(p[0]), int(p[1])), 4, colour, -1, cv2.LINE_AA)
        ly = top + 20 + 20 * i
        cv2.line(img, (left + pw + 10, ly), (left + pw + 30, ly), colour, 2)
        cv2.putText(img, name, (left + pw + 35, ly + 4), cv2.FONT_HERSHEY_PLAIN, 1, (0, 0, 0), 1)
    return img


def write_report(out: str | os.PathLike, evaluation) -> Path:
    """Write the report folder ``out`` atomically (replacing a previous report there)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "metrics.json").is_file():
        raise InputError(f"{out}: not empty and not a previous report; choose another folder")
    with atomic_dir(out) as tmp:
        (tmp / "metrics.json").write_text(json.dumps(evaluation.report, indent=2) + "\n")
        (tmp / "metrics.md").write_text(markdown_table(evaluation.report) + "\n")
        if evaluation.visuals:
            write_image(tmp / "contact_sheet.png", contact_sheet(evaluation.visuals))
        write_image(tmp / "l1_per_frame.png", l1_plot(evaluation.per_frame_l1))
    return out
