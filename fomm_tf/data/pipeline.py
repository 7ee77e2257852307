"""``tf.data`` input pipeline over the official FOMM dataset layout.

Layout (as the official ``FramesDataset`` with a predefined split)::

    ROOT/train/<video>   ROOT/test/<video>

where each ``<video>`` is a folder of frames (``.png``/``.jpg``), a video file (``.mp4``,
``.gif``, ``.mov`` …) or one ``.png``/``.jpg`` strip of square frames side by side. With
``id_sampling`` the videos are grouped by the part of their name before ``#``
(``id10001#clip01.mp4``) and every training sample first picks an identity, then one of its
videos — so identities with many clips are not over-represented.

A training sample is two frames of one video (``source``, ``driving``) after the official
augmentations (time flip, horizontal flip, colour jitter with shared factors). Sampling is
*stateless*: sample ``i`` of the stream depends only on ``(seed, i)`` — the epoch's
permutation of the ``num_repeats × len(identities)`` items, the video, the frames and the
augmentation. So a resumed run continues exactly where the interrupted one stopped, given the
step it reached, and every worker of a distributed run can read its own share of each global
batch with no coordination.

Unreadable videos are skipped (the next item is taken instead) and counted; the count is in
:attr:`PairSampler.num_skipped` and in the log.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import tensorflow as tf

from ..errors import InputError
from ..media.images import IMAGE_SUFFIXES, fit_frame, list_frame_files, read_image
from ..media.video_reader import VideoReader
from .annotated import SIDECAR_SUFFIX  # ground-truth files beside videos, not videos
from .augment import augment

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".gif", ".mov", ".avi", ".mkv", ".webm")
LAYOUT_HELP = (
    "expected ROOT/train/ and ROOT/test/, each holding videos: folders of .png/.jpg frames, "
    ".mp4/.gif/.mov files, or .png/.jpg strips of frames side by side; with id_sampling the "
    "names start with an identity followed by '#' (id10001#clip01.mp4)"
)


def _is_video(path: Path) -> bool:
    if path.name.startswith("."):
        return False
    if path.is_dir():
        return True
    return path.suffix.lower() in VIDEO_SUFFIXES + tuple(IMAGE_SUFFIXES)


def video_id(path: Path) -> str:
    """The identity of a video: its name up to the first ``#`` (the whole stem without one)."""
    name = path.name if path.is_dir() else path.stem
    return name.split("#")[0]


@dataclass
class VideoIndex:
    """The videos of one split and their grouping for sampling."""

    root: Path
    split: str
    videos: list[Path]
    groups: list[list[int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.groups)


def scan_split(root: str | Path, split: str = "train", id_sampling: bool = False) -> VideoIndex:
    """List the videos of ``root/split``; an empty or mis-named dataset is an :class:`InputError`.

    Args:
        root: dataset root (``dataset_params.root_dir``).
        split: ``"train"`` or ``"test"``.
        id_sampling: group the videos by identity (see module doc).
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: dataset folder not found ({LAYOUT_HELP})")
    folder = root / split
    if not folder.is_dir():
        found = ", ".join(sorted(p.name for p in root.iterdir())[:8]) or "nothing"
        raise InputError(f"{root}: no '{split}' folder (found: {found}); {LAYOUT_HELP}")
    entries = sorted(folder.iterdir())
    videos = [p for p in entries if _is_video(p)]
    ignored = len(
        [p for p in entries if not p.name.startswith(".") and not p.name.endswith(SIDECAR_SUFFIX)]
    ) - len(videos)
    if ignored:
        log.warning("%s: ignored %d entries that are not videos", folder, ignored)
    if not videos:
        raise InputError(f"{folder}: holds no videos; {LAYOUT_HELP}")
    if id_sampling:
        by_id: dict[str, list[int]] = {}
        for i, path in enumerate(videos):
            by_id.setdefault(video_id(path), []).append(i)
        groups = [by_id[k] for k in sorted(by_id)]
    else:
        groups = [[i] for i in range(len(videos))]
    log.info(
        "%s: %d videos, %d %s",
        folder,
        len(videos),
        len(groups),
        "identities" if id_sampling else "items",
    )
    return VideoIndex(root, split, videos, groups)


# ------------------------------------------------------------------------------------------
# frame reading


def _draw(count: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(count, size=2, replace=True))


def _pick_two(frames, count: int | None, rng: np.random.Generator, idx=None) -> np.ndarray:
    """Two frames at sorted indices drawn with replacement from ``range(count)`` (the
    container's frame count), or among the frames there are when that count is missing or
    too high — the same draws whether the frames come from a cache or a fresh decode."""
    if count:
        idx = _draw(count, rng) if idx is None else idx
        if len(frames) > idx[-1]:
            return np.stack([frames[i] for i in idx])
    idx = _draw(len(frames), rng)
    return np.stack([frames[i] for i in idx])


class FrameCache:
    """Decoded training videos kept in memory, up to ``budget_bytes`` in all.

    A video is decoded whole the first time it is sampled and kept while the budget allows
    (uint8 when the frames are exactly 8-bit values, as decoded video frames at the model size
    are, else float32); later samples read it from memory instead of starting a decoder.
    Cached and freshly decoded videos give identical samples.
    """

    def __init__(self, budget_bytes: int):
        self.budget = int(budget_bytes)
        self.used = 0
        self._videos: dict[Path, tuple[np.ndarray, int | None]] = {}
        self._lock = threading.Lock()

    def get(self, path: Path) -> tuple[np.ndarray, int | None] | None:
        return self._videos.get(path)

    def put(self, path: Path, frames: np.ndarray, count: int | None) -> None:
        as_u8 = (frames * 255.0 + 0.5).clip(0, 255).astype(np.uint8)
        if np.array_equal(as_u8.astype(np.float32) / 255.0, frames):
            frames = as_u8
        with self._lock:
            if path not in self._videos and self.used + frames.nbytes <= self.budget:
                self._videos[path] = (frames, count)
                self.used += frames.nbytes

    def __len__(self) -> int:
        return len(self._videos)


def _as_float(frames: np.ndarray) -> np.ndarray:
    return frames.astype(np.float32) / 255.0 if frames.dtype == np.uint8 else frames


def _read_two_frames(
    path: Path, rng: np.random.Generator, size: tuple[int, int], cache: FrameCache | None = None
) -> np.ndarray:
    """Two frames (sorted indices drawn with replacement, as the official) of one video."""
    if cache is not None:
        hit = cache.get(path)
        if hit is None and cache.used < cache.budget:
            with VideoReader(path, size=size) as reader:
                count = reader.num_frames  # before iterating: the container's count
                frames = np.stack(list(reader))
            cache.put(path, frames, count)
            return _pick_two(frames, count, rng)
        if hit is not None:
            frames, count = hit
            return _as_float(_pick_two(frames, count, rng))
    if path.is_dir():
        files = list_frame_files(path)  # natural order, as every other reader
        if not files:
            raise InputError(f"{path}: folder holds no frames")
        idx = np.sort(rng.choice(len(files), size=2, replace=True))
        return np.stack([fit_frame(read_image(files[i]), size) for i in idx])
    with VideoReader(path, size=size) as reader:
        count = reader.num_frames
        if not count:
            return _pick_two(list(reader), None, rng)
        idx = _draw(count, rng)
        frames = []
        for k, frame in enumerate(reader):  # decode only up to the later of the two frames
            frames.append(frame)
            if k >= idx[-1]:
                break
    return _pick_two(frames, count, rng, idx)


def read_video(
    path: str | Path, size: tuple[int, int] | None = None, max_frames: int | None = None
) -> np.ndarray:
    """All frames (T, H, W, 3) float32 [0, 1] of a video in any dataset layout."""
    with VideoReader(path, size=size) as reader:
        frames = []
        for frame in reader:
            frames.append(frame)
            if max_frames and len(frames) >= max_frames:
                break
    return np.stack(frames)


# ------------------------------------------------------------------------------------------
# augmentation (official AllAugmentationTransform: flips and colour jitter)


class PairSampler:
    """Deterministic (source, driving) pairs: sample ``i`` depends only on ``(seed, i)``.

    Args:
        index: the training split (:func:`scan_split`).
        frame_shape: ``(H, W, 3)`` of the frames returned (videos are fitted to it).
        augmentation_params: ``dataset_params.augmentation_params``.
        num_repeats: ``train_params.num_repeats`` (items per epoch = repeats × groups).
        seed: the run's seed.
        cache_bytes: memory for decoded videos (:class:`FrameCache`); 0 decodes every sample.
    """

    def __init__(
        self,
        index: VideoIndex,
        frame_shape,
        augmentation_params=None,
        num_repeats: int = 1,
        seed: int = 0,
        cache_bytes: int = 0,
    ):
        self.index = index
        self.size = (int(frame_shape[0]), int(frame_shape[1]))
        self.augmentation = augmentation_params or {}
        unknown = sorted(set(self.augmentation) - {"flip_param", "jitter_param"})
        if unknown:
            log.warning("augmentation_params: %s not supported, ignored", ", ".join(unknown))
        self.num_repeats = max(1, int(num_repeats or 1))
        self.seed = int(seed)
        self.epoch_length = self.num_repeats * len(index.groups)
        self.num_skipped = 0
        self.cache = FrameCache(cache_bytes) if cache_bytes > 0 else None
        self._bad: set[int] = set()
        self._lock = threading.Lock()
        self._perm: dict[int, np.ndarray] = {}

    def _permutation(self, epoch: int) -> np.ndarray:
        perm = self._perm.get(epoch)
        if perm is None:
            perm = np.random.default_rng([self.seed, epoch, 7]).permutation(self.epoch_length)
            with self._lock:
                if len(self._perm) > 2:
                    self._perm.clear()
                self._perm[epoch] = perm
        return perm

    def item(self, i: int) -> np.ndarray:
        """Sample ``i``: (2, H, W, 3) float32, source first."""
        i = int(i)
        epoch, pos = divmod(i, self.epoch_length)
        group = int(self._permutation(epoch)[pos]) % len(self.index.groups)
        rng = np.random.default_rng([self.seed, i, 11])
        n = len(self.index.groups)
        for attempt in range(n):
            videos = self.index.groups[(group + attempt) % n]
            vid = videos[int(rng.integers(len(videos)))]
            if vid in self._bad:
                continue
            path = self.index.videos[vid]
            try:
                clip = _read_two_frames(path, rng, self.size, self.cache)
            except (InputError, OSError, ValueError, cv2.error) as exc:
                with self._lock:
                    if vid not in self._bad:
                        self._bad.add(vid)
                        self.num_skipped += 1
                        log.warning(
                            "skipping unreadable video %s (%d skipped so far): %s",
                            path,
                            self.num_skipped,
                            " ".join(str(exc).split())[:200],
                        )
                continue
            return augment(clip, self.augmentation, rng)
        raise InputError(f"{self.index.root / self.index.split}: none of the videos is readable")


def pair_dataset(
    sampler: PairSampler,
    global_batch: int,
    start_step: int = 0,
    input_context: tf.distribute.InputContext | None = None,
    end_step: int | None = None,
) -> tf.data.Dataset:
    """Per-replica batches ``{"source", "driving"}`` (B, H, W, 3) of steps ``[start, end)``.

    ``end_step=None`` makes it endless. A training run passes its last step: a finished
    pipeline has no decode in flight when its iterator is destroyed (with an endless one, the
    destructor waited for prefetched work and the process sat idle for up to a minute after
    its last step).

    Global step ``s`` uses samples ``[s·G, (s+1)·G)`` (``G = global_batch``); input pipeline
    ``w`` of ``W`` reads the slice for its own replicas, so any number of workers and
    replicas sees the same global batches, and a run resumed at ``start_step`` reads on
    exactly where it stopped.
    """
    pipelines = input_context.num_input_pipelines if input_context else 1
    pipeline = input_context.input_pipeline_id if input_context else 0
    replicas = input_context.num_replicas_in_sync if input_context else 1
    if global_batch % replicas:
        raise InputError(f"batch size {global_batch} is not a multiple of the {replicas} replicas")
    per_replica = global_batch // replicas
    local = replicas // pipelines  # replicas fed by this pipeline
    share = local * per_replica
    offset = pipeline * share
    h, w = sampler.size

    def indices(step):
        return tf.data.Dataset.range(
            step * global_batch + offset, step * global_batch + offset + share
        )

    def load(i):
        pair = tf.numpy_function(sampler.item, [i], tf.float32, stateful=False)
        pair = tf.ensure_shape(pair, (2, h, w, 3))
        return {"source": pair[0], "driving": pair[1]}

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    options.deterministic = True
    # No autotuning: its model thread sleeps up to 60 s between rounds, and destroying the
    # iterator waits for it (the idle minute after the last step). Decoding runs on one
    # thread per core, and two batches wait ready while the step runs.
    options.autotune.enabled = False
    end = 2**62 if end_step is None else int(end_step)
    ds = tf.data.Dataset.range(int(start_step), end).flat_map(indices)
    ds = ds.map(load, num_parallel_calls=max(2, os.cpu_count() or 2), deterministic=True)
    ds = ds.batch(per_replica, drop_remainder=True).prefetch(2)
    return ds.with_options(options)
