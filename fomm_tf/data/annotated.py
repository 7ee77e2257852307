"""Synthetic videos with ground truth: per-frame landmarks, their visibility, the identity.

Two kinds, both deterministic functions of ``(identity, clip)``:

* ``"face"``: a head rendered by ray casting an ellipsoid (orthographic camera), so yaw,
  pitch and roll foreshorten and hide the features exactly. Its surface is a texture map in
  (longitude, latitude): skin and hair modulated by grayscale photo detail, eyes that blink
  and gaze, brows that rise, a nose, lips that open; Lambert shading; ears, neck and
  shoulders behind it; a background cropped from a colour photo. 20 landmarks (pupils, eye
  corners, brows, nose tip, mouth corners and lips, chin, face outline); a landmark is
  visible when its surface faces the camera (a pupil also needs an open eye) and it lies in
  the frame.
* ``"body"``: an articulated figure (head, torso, upper/lower arms and legs: textured rigid
  parts joined at 14 known joints) with smooth random joint angles, a global sway,
  translation and scale. Parts are painted back to front; a joint is visible when the
  front-most part at its pixel is one of the parts it joins (self-occlusion) and it lies in
  the frame.

Textures come from photos bundled with scikit-image (:mod:`fomm_tf.data.textures`). The
dataset writer stores each video's ground truth in a sidecar ``<video-stem>.landmarks.npz``
(:func:`write_sidecar`, :func:`read_sidecar`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..media.atomic import atomic_dir
from ..media.images import write_image
from ..media.video_writer import VideoWriter
from .body_render import BODY_LANDMARKS, Body
from .face_render import FACE_LANDMARKS, Face

__all__ = [
    "ANNOTATED_KINDS",
    "BODY_LANDMARKS",
    "FACE_LANDMARKS",
    "AnnotatedVideo",
    "Sidecar",
    "read_sidecar",
    "render_annotated",
    "renderer",
    "sidecar_path",
    "write_annotated_dataset",
    "write_sidecar",
]

log = logging.getLogger(__name__)

ANNOTATED_KINDS = ("face", "body")
SIDECAR_SUFFIX = ".landmarks.npz"


@dataclass
class AnnotatedVideo:
    """A rendered video and its ground truth."""

    frames: np.ndarray  # (T, S, S, 3) float32 [0, 1]
    landmarks: np.ndarray  # (T, L, 2) float32 pixels (x, y); pixel centres at integers
    visible: np.ndarray  # (T, L) bool
    identity: int
    landmark_names: tuple[str, ...]


@dataclass
class Sidecar:
    """The ground truth stored beside a video."""

    landmarks: np.ndarray
    visible: np.ndarray
    identity: int
    landmark_names: tuple[str, ...]


# ------------------------------------------------------------------------------------------
# public API


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def renderer(kind: str, identity: int, clip: int, size: int, motion_identity: int | None = None):
    """The object behind :func:`render_annotated`: ``.render(t)`` → (frame, landmarks, visible)
    for any frame index ``t`` (frames need not be rendered in order). ``motion_identity``
    (default ``identity``) picks whose clip ``clip`` the motion is: identity A moving exactly
    as B does in B's clip is the ground truth of animating A with B's video."""
    k = ANNOTATED_KINDS.index(kind)
    ident = np.random.default_rng([identity, 17, k])
    mover = identity if motion_identity is None else motion_identity
    motion = np.random.default_rng([mover, clip, 23, k])
    return (Face if kind == "face" else Body)(ident, motion, size)


def render_annotated(
    num_frames: int = 16,
    size: int = 128,
    identity: int = 0,
    clip: int = 0,
    kind: str = "face",
    motion_identity: int | None = None,
) -> AnnotatedVideo:
    """Render clip ``clip`` of identity ``identity`` with its ground truth.

    Args:
        num_frames: frames ``T`` (>= 1).
        size: frame side in pixels (>= 32).
        identity: identity id (>= 0): background, textures, colours, proportions.
        clip: motion id (>= 0): the same identity moves differently in each clip.
        kind: ``"face"`` or ``"body"`` (see the module doc).
        motion_identity: whose clip ``clip`` the motion is (default: ``identity``'s own).

    Returns:
        :class:`AnnotatedVideo`; landmarks are in pixels with pixel centres at integer
        coordinates, so ``(0, 0)`` is the centre of the top-left pixel.
    """
    num_frames = _check_int("num_frames", num_frames, 1)
    size = _check_int("size", size, 32)
    identity = _check_int("identity", identity, 0)
    clip = _check_int("clip", clip, 0)
    if motion_identity is not None:
        motion_identity = _check_int("motion identity", motion_identity, 0)
    if kind not in ANNOTATED_KINDS:
        raise InputError(f"kind must be one of {ANNOTATED_KINDS}, got {kind!r}")
    model = renderer(kind, identity, clip, size, motion_identity)
    names = FACE_LANDMARKS if kind == "face" else BODY_LANDMARKS
    frames = np.empty((num_frames, size, size, 3), np.float32)
    landmarks = np.empty((num_frames, len(names), 2), np.float32)
    visible = np.empty((num_frames, len(names)), bool)
    for t in range(num_frames):
        frames[t], landmarks[t], visible[t] = model.render(t)
    return AnnotatedVideo(frames, landmarks, visible, identity, names)


def sidecar_path(video: str | os.PathLike) -> Path:
    """``<video-stem>.landmarks.npz`` beside ``video`` (a file or a folder of frames)."""
    p = Path(video)
    stem = p.name if p.is_dir() or not p.suffix else p.stem
    return p.with_name(stem + SIDECAR_SUFFIX)


def write_sidecar(path: str | os.PathLike, video: AnnotatedVideo) -> None:
    """Write the ground truth as an ``.npz`` whose bytes depend only on the arrays.

    (``numpy.savez`` stamps the current time into the zip entries; this does not.)
    """
    arrays = {
        "landmarks": np.ascontiguousarray(video.landmarks, np.float32),
        "visible": np.ascontiguousarray(video.visible, bool),
        "identity": np.asarray(video.identity, np.int64),
        "landmark_names": np.asarray(video.landmark_names, dtype="U"),
    }
    with open(path, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
        for key, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, arr, allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue())


def read_sidecar(video: str | os.PathLike) -> Sidecar | None:
    """The ground truth beside ``video``, ``None`` without a sidecar; a bad one is an InputError."""
    path = sidecar_path(video)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            lm = np.asarray(z["landmarks"], np.float32)
            vis = np.asarray(z["visible"], bool)
            ident = int(z["identity"])
            names = tuple(str(n) for n in z["landmark_names"])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: unreadable landmark sidecar ({exc})") from None
    if lm.ndim != 3 or lm.shape[2] != 2 or vis.shape != lm.shape[:2] or len(names) != lm.shape[1]:
        raise InputError(f"{path}: landmark sidecar arrays have inconsistent shapes")
    return Sidecar(lm, vis, ident, names)


@contextlib.contextmanager
def dataset_folder(root: str | os.PathLike, overwrite: bool):
    """Yield a temporary folder beside ``root`` that replaces ``root`` when the block ends.

    A non-empty ``root`` is an :class:`InputError` unless ``overwrite``; if the block
    raises, the temporary folder is removed and ``root`` is left as it was.
    """
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise InputError(f"{root}: exists and is not a folder")
    if root.is_dir() and any(root.iterdir()) and not overwrite:
        raise InputError(f"{root}: folder is not empty (pass --overwrite to replace it)")
    with atomic_dir(root) as tmp:
        yield tmp


def write_video(folder: Path, name: str, frames: np.ndarray, layout: str, fps: float) -> Path:
    """``folder/name.mp4`` (H.264) or ``folder/name/0000.png …``; returns the video's path."""
    if layout == "mp4":
        target = folder / f"{name}.mp4"
        with VideoWriter(target, fps=fps) as writer:
            writer.write(frames)
    else:
        target = folder / name
        target.mkdir()
        for k, frame in enumerate(frames):
            write_image(target / f"{k:04d}.png", frame)
    return target


def write_annotated_dataset(
    root: str | os.PathLike,
    num_train: int,
    num_test: int,
    num_frames: int,
    size: int = 128,
    kind: str = "face",
    seed: int = 0,
    overwrite: bool = False,
    layout: str = "mp4",
    fps: float = 25.0,
    clips_per_identity: int = 2,
    progress: bool = True,
) -> Path:
    """Write ``root/train`` and ``root/test`` with a ground-truth sidecar for every video.

    Videos are named ``id{identity:07d}#clip{k:02d}``; ``clips_per_identity`` consecutive
    videos share an identity and the identities of the two splits are disjoint. Identity ids
    are ``seed * 100000 + 1, 2, …`` (train first), so different seeds give different people.
    Everything is written into a temporary folder beside ``root`` that is renamed onto it
    at the end: an interrupted run leaves nothing; an existing non-empty ``root`` is
    replaced only with ``overwrite``.

    Args:
        layout: ``"mp4"`` (H.264, ``fps``) or ``"frames"`` (a folder of PNGs per video).
    """
    from tqdm import tqdm

    num_train = _check_int("train videos", num_train, 0)
    num_test = _check_int("test videos", num_test, 1)
    num_frames = _check_int("frames", num_frames, 1)
    seed = _check_int("seed", seed, 0)
    clips_per_identity = _check_int("clips per identity", clips_per_identity, 1)
    if layout not in ("mp4", "frames"):
        raise InputError(f"layout must be 'mp4' or 'frames', got {layout!r}")
    if kind not in ANNOTATED_KINDS:
        raise InputError(f"kind must be one of {ANNOTATED_KINDS}, got {kind!r}")
    with dataset_folder(root, overwrite) as tmp:
        next_id = seed * 100_000 + 1
        jobs = []
        for split, count in (("train", num_train), ("test", num_test)):
            (tmp / split).mkdir()
            for j in range(count):
                jobs.append((split, next_id + j // clips_per_identity, j % clips_per_identity))
            next_id += -(-count // clips_per_identity)
        for split, ident, clip in tqdm(
            jobs, desc=f"render {kind}", unit="video", disable=not progress
        ):
            video = render_annotated(num_frames, size, identity=ident, clip=clip, kind=kind)
            name = f"id{ident:07d}#clip{clip + 1:02d}"
            target = write_video(tmp / split, name, video.frames, layout, fps)
            write_sidecar(sidecar_path(target), video)
    log.info("wrote %s: %d train, %d test %s videos", root, num_train, num_test, kind)
    return root
