"""Streaming video reading: videos, GIFs, frame folders and frame strips, one frame at a time.

Readable videos (:class:`VideoReader`):

* ``.mp4 .avi .mov .mkv .webm`` (and anything else FFmpeg understands), decoded in this process
  by FFmpeg's libraries through PyAV (``av``), turned upright as the ``ffmpeg`` command does,
  resampled to a constant rate and, when a size is asked for, cropped and scaled by FFmpeg's
  own filters;
* ``.gif``, decoded frame by frame through imageio's pillow plugin;
* a folder of frames (``.png``/``.jpg``/``.jpeg``/``.bmp``, natural sort order: ``2.png``
  before ``10.png``), the layout of the official preprocessed datasets;
* a single ``.png``/``.jpg`` *strip* of square frames side by side (``width = n * height``),
  the other official dataset layout.

Every problem with a user's file surfaces as :class:`fomm_tf.errors.InputError` with one line
that names the file; FFmpeg's own complaint is kept, shortened to one line (:func:`one_line`),
in the message. Decoding through PyAV: :mod:`.decoder`; writing: :mod:`.video_writer`.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Generator, Iterator
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from .decoder import FfmpegDecoder
from .images import (
    DEFAULT_FPS,
    IMAGE_SUFFIXES,
    as_rgb01,
    batched,
    fit_frame,
    fit_long_side,
    list_frame_files,
    normalize_size,
    read_image,
)
from .messages import one_line

__all__ = ["VideoReader", "probe_video"]

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike


class VideoReader:
    """Stream the frames of a video, GIF, frame folder or frame strip, one at a time.

    Opening validates the source by decoding its first frame, so a file that is missing,
    empty, not a video, or has no decodable frames raises :class:`InputError` right here.
    Corruption later in the file raises :class:`InputError` during iteration, after the frames
    before it were yielded.

    Attributes:
        path: the source.
        fps: frames per second from the container (``DEFAULT_FPS`` = 25 when unknown, and for
            frame folders and strips).
        num_frames: frame count known without decoding (folders, strips, GIFs; for ffmpeg
            files ``round(duration * fps)`` from the container), else ``None``. Replaced by
            the exact count once an iteration ran to the end.
        frame_size: ``(h, w)`` of the frames this reader yields (``size`` if given; with
            ``max_side``, the whole frame scaled so its long side is at most ``max_side``,
            inside FFmpeg for video files).
        source_size: ``(h, w)`` of the decoded frames before fitting.

    Iterating yields float32 RGB frames in ``[0, 1]`` of shape ``frame_size + (3,)``, fitted
    with :func:`fit_frame` when ``size`` is given. A reader may be iterated several times; each
    pass decodes the source again. Use it as a context manager (or call :meth:`close`) so the
    decoder is released when you stop early.
    """

    def __init__(
        self,
        path: PathLike,
        size: int | tuple[int, int] | None = None,
        max_side: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.size = None if size is None else normalize_size(size)
        if max_side is not None and (self.size is not None or max_side < 1):
            raise ValueError("max_side must be a positive int and excludes size")
        self.max_side = max_side
        self.fps: float = DEFAULT_FPS
        self.num_frames: int | None = None
        self._closed = False
        self._active: set[Generator[np.ndarray, None, None]] = set()
        self._pending: tuple[np.ndarray, Generator[np.ndarray, None, None]] | None = None
        self._files: list[Path] = []
        self._filters: str | None = None
        self._ffmpeg_source_size: tuple[int, int] | None = None

        p = self.path
        if not p.exists():
            raise InputError(f"{p}: no such file or folder")
        if p.is_dir():
            self._kind = "frames"
            self._files = list_frame_files(p)
            if not self._files:
                raise InputError(f"{p}: folder holds no {'/'.join(IMAGE_SUFFIXES)} frames")
            self.num_frames = len(self._files)
        elif p.stat().st_size == 0:
            raise InputError(f"{p}: empty file, no frames could be decoded")
        elif p.suffix.lower() == ".gif":
            self._kind = "gif"
            self._read_gif_meta()
        elif p.suffix.lower() in IMAGE_SUFFIXES:
            self._kind = "strip"
        else:
            self._kind = "ffmpeg"

        source = self._open_source(first=True)
        try:
            first = next(source)
        except StopIteration:
            raise InputError(f"{p}: no frames could be decoded") from None
        except BaseException:
            source.close()
            raise
        self._pending = (first, source)
        self.source_size: tuple[int, int] = self._ffmpeg_source_size or (
            int(first.shape[0]),
            int(first.shape[1]),
        )
        self.frame_size: tuple[int, int] = self.size or self.source_size
        if self.max_side is not None:
            self.frame_size = fit_long_side(self.source_size, self.max_side)
        logger.debug(
            "opened %s (%s): %s frames at %.3g fps, %dx%d",
            p,
            self._kind,
            self.num_frames,
            self.fps,
            self.source_size[1],
            self.source_size[0],
        )

    # -- sources: each yields raw decoded arrays (uint8 or float), converted in __iter__

    def _probe_ffmpeg(self) -> FfmpegDecoder:
        """Open the decoder, read the stream header and choose FFmpeg's filters for it.

        - when ``size`` is given and the source is larger in both dimensions: the centre crop
          and the area downscale of :func:`fit_frame` run inside FFmpeg, so a 4K driver is
          never converted to float (or held) at full resolution; ``max_side`` likewise;
        - ``fps=<average rate>``: frames come out at a constant rate with the container's
          duration, so a variable-frame-rate clip (phones) is resampled instead of drifting;
          for a constant-rate file it passes every frame through unchanged.
        """
        probe = FfmpegDecoder(self.path)
        filters = []
        self._ffmpeg_source_size = (probe.height, probe.width)
        if self.size is not None and probe.height > self.size[0] and probe.width > self.size[1]:
            th, tw = self.size
            h, w = probe.height, probe.width  # fit_frame's centre crop, in FFmpeg
            cw, ch = (round(h * tw / th), h) if w / h > tw / th else (w, round(w * th / tw))
            filters.append(f"crop={cw}:{ch},scale={tw}:{th}:flags=area")
        if self.max_side is not None and max(probe.height, probe.width) > self.max_side:
            th, tw = fit_long_side((probe.height, probe.width), self.max_side)
            filters.append(f"scale={tw}:{th}:flags=area")
        if probe.fps:  # after the downscale: the rate filter holds frames back, small ones
            self.fps = probe.fps
            filters.append(f"fps={probe.fps:.6g}")
            if probe.duration:
                self.num_frames = max(1, round(probe.duration * probe.fps))
        self._filters = probe.filters = ",".join(filters) or None
        return probe

    def _read_gif_meta(self) -> None:
        import imageio.v3 as iio

        try:
            with iio.imopen(self.path, "r", plugin="pillow") as file:
                self.num_frames = int(file.properties(index=...).n_images)
                duration_ms = file.metadata(index=0).get("duration") or 0
        except Exception as err:  # any decoder failure: a bad file
            raise InputError(f"{self.path}: not a readable GIF ({one_line(str(err))})") from None
        if duration_ms and duration_ms > 0:
            self.fps = 1000.0 / float(duration_ms)

    def _open_source(self, first: bool = False) -> Generator[np.ndarray, None, None]:
        if self._kind == "ffmpeg":
            if first:  # the probe, which decoded the first frame, goes on as the decoder
                return self._probe_ffmpeg().frames()
            return FfmpegDecoder(self.path, self._filters).frames()
        if self._kind == "gif":
            return self._gif_frames()
        if self._kind == "strip":
            return self._strip_frames(first)
        return self._folder_frames()

    def _gif_frames(self) -> Generator[np.ndarray, None, None]:
        import imageio.v3 as iio

        try:
            with iio.imopen(self.path, "r", plugin="pillow") as file:
                yield from file.iter(mode="RGBA")
        except InputError:
            raise
        except Exception as err:
            raise InputError(f"{self.path}: corrupt GIF ({one_line(str(err))})") from None

    def _strip_frames(self, first: bool) -> Generator[np.ndarray, None, None]:
        strip = read_image(self.path)
        h, w = strip.shape[:2]
        if w % h:
            raise InputError(
                f"{self.path}: not a frame strip (width {w} is not a multiple of height {h}; "
                "expected n square frames side by side)"
            )
        if first:
            self.num_frames = w // h
        for i in range(w // h):
            yield strip[:, i * h : (i + 1) * h]

    def _folder_frames(self) -> Generator[np.ndarray, None, None]:
        for f in self._files:
            yield read_image(f)

    # -- public API

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._closed:
            raise ValueError(f"{self.path}: VideoReader is closed")
        return self._iterate()

    def _iterate(self) -> Generator[np.ndarray, None, None]:
        if self._pending is not None:
            first, source = self._pending
            self._pending = None
        else:
            first, source = None, self._open_source()
        self._active.add(source)
        count = 0
        try:
            if first is not None:
                count += 1
                yield self._convert(first, count)
                del first
            for raw in source:
                count += 1
                yield self._convert(raw, count)
        finally:
            source.close()
            self._active.discard(source)
        if count == 0:
            raise InputError(f"{self.path}: no frames could be decoded")
        self.num_frames = count

    def _convert(self, raw: np.ndarray, index: int) -> np.ndarray:
        if self.size is not None:
            return fit_frame(raw, self.size)  # one conversion to float, at the smaller size
        frame = as_rgb01(raw, str(self.path))
        if self.max_side is not None and frame.shape[:2] == self.frame_size:
            return frame  # scaled by FFmpeg
        if frame.shape[:2] != self.source_size:
            h, w = frame.shape[:2]
            sh, sw = self.source_size
            raise InputError(
                f"{self.path}: frame {index} is {w}x{h} but frame 1 is {sw}x{sh} "
                "(pass size= to resize all frames)"
            )
        if self.max_side is not None:
            h, w = self.frame_size
            frame = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
        return frame

    def batches(self, batch_size: int) -> Iterator[np.ndarray]:
        """Yield ``(n, h, w, 3)`` float32 stacks of ``batch_size`` frames; the last may be short.

        Streaming: at most ``batch_size`` frames are buffered at any time.
        """
        frames = iter(self)
        try:
            yield from batched(frames, batch_size)
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()

    def close(self) -> None:
        """Stop any decoding in progress (idempotent)."""
        if self._pending is not None:
            self._pending[1].close()
            self._pending = None
        for source in list(self._active):
            with contextlib.suppress(ValueError):  # "generator already executing"
                source.close()
        self._active.clear()
        self._closed = True

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"VideoReader({str(self.path)!r}, kind={self._kind!r}, fps={self.fps:.3g}, "
            f"num_frames={self.num_frames}, frame_size={self.frame_size})"
        )


def probe_video(path: PathLike) -> tuple[int, float, tuple[int, int]]:
    """Decode a whole video and return ``(num_frames, fps, (h, w))``; exact but not free."""
    with VideoReader(path) as reader:
        count = sum(1 for _ in reader)
        return count, reader.fps, reader.frame_size
