"""Writing videos: :class:`VideoWriter`, H.264 in a container or an animated GIF, atomically.

Frames are encoded by the ffmpeg binary ``imageio-ffmpeg`` ships, through its
``write_frames``; the file appears only when the writer closes successfully.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FommError, InputError
from .atomic import AtomicFile
from .images import as_rgb01, to_uint8
from .messages import one_line

__all__ = ["VIDEO_WRITE_SUFFIXES", "VideoWriter"]

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike

#: Suffixes :class:`VideoWriter` can produce (H.264 in a container, or an animated GIF).
VIDEO_WRITE_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".m4v", ".gif")


class VideoWriter:
    """Write frames to an ``.mp4``/``.mov``/``.mkv``/``.avi`` (H.264) or ``.gif`` file, atomically.

    Frames go to ffmpeg as they are written (nothing is buffered here). The output is a hidden
    temporary file in the destination folder (``.tmp-XXXXXXXX-<name>``) that replaces
    ``path`` only when :meth:`close` succeeds; on an exception inside the ``with`` block, or on
    :meth:`abort`, the temporary file is deleted and ``path`` is left untouched.

    * H.264 output uses ``libx264``, ``yuv420p`` (plays everywhere) and CRF derived from
      ``quality`` (imageio-ffmpeg's mapping: 8 -> CRF 10, 10 -> lossless-ish CRF 0). yuv420p
      needs even dimensions, so an odd height or width is padded by one replicated row or
      column.
    * GIF output uses ffmpeg's two-pass palette (``palettegen``/``paletteuse``, no dithering),
      loops forever, and stores delays in 1/100 s, so the frame rate read back is approximate.

    Args:
        path: destination file; missing parent folders are created.
        fps: frames per second (> 0).
        quality: 1 (worst) .. 10 (best); ignored for GIF.
    """

    def __init__(self, path: PathLike, fps: float, quality: float = 8) -> None:
        self.path = Path(path)
        self.suffix = self.path.suffix.lower()
        if self.suffix not in VIDEO_WRITE_SUFFIXES:
            raise InputError(
                f"{self.path}: cannot write '{self.suffix}' videos "
                f"(use one of {', '.join(VIDEO_WRITE_SUFFIXES)})"
            )
        try:
            fps_value = float(fps)
        except (TypeError, ValueError):
            fps_value = float("nan")
        if not (math.isfinite(fps_value) and fps_value > 0):
            raise InputError(f"{self.path}: fps must be a positive number, got {fps!r}")
        if isinstance(quality, bool) or not isinstance(quality, (int, float)):
            raise InputError(f"{self.path}: quality must be a number in 1..10, got {quality!r}")
        if not 1 <= quality <= 10:
            raise InputError(f"{self.path}: quality must be a number in 1..10, got {quality!r}")
        self.fps = fps_value
        self.quality = quality
        self.num_written = 0
        self.frame_size: tuple[int, int] | None = None  # (h, w) of the frames given to write()
        self._encoder: Generator[None, Any, None] | None = None
        self._pad = (0, 0)
        self._closed = False
        self._target = AtomicFile(self.path)

    def _start(self, height: int, width: int) -> None:
        import imageio_ffmpeg

        self.frame_size = (height, width)
        if self.suffix == ".gif":
            kwargs: dict[str, Any] = dict(
                codec="gif",
                pix_fmt_out="pal8",
                quality=None,
                output_params=[
                    "-filter_complex",
                    "split[a][b];[a]palettegen=stats_mode=full[p];[b][p]paletteuse=dither=none",
                ],
            )
            out_h, out_w = height, width
        else:
            out_h, out_w = height + height % 2, width + width % 2
            if (out_h, out_w) != (height, width):
                logger.warning(
                    "%s: padding %dx%d frames to %dx%d (H.264 yuv420p needs even sizes)",
                    self.path,
                    width,
                    height,
                    out_w,
                    out_h,
                )
            kwargs = dict(codec="libx264", pix_fmt_out="yuv420p", quality=self.quality)
        self._pad = (out_h - height, out_w - width)
        try:
            self._encoder = imageio_ffmpeg.write_frames(
                os.path.abspath(self._target.tmp),
                (out_w, out_h),
                fps=self.fps,
                macro_block_size=1,
                ffmpeg_log_level="error",
                **kwargs,
            )
            self._encoder.send(None)
        except Exception as err:
            self.abort()
            raise FommError(f"{self.path}: could not start ffmpeg ({one_line(str(err))})") from None

    def write(self, frames: np.ndarray) -> None:
        """Append one frame ``(h, w, 3)`` or a batch ``(n, h, w, 3)``; float ``[0, 1]`` or uint8.

        All frames must have the size of the first one.
        """
        if self._closed:
            raise ValueError(f"{self.path}: VideoWriter is closed")
        arr = np.asarray(frames)
        if arr.ndim == 4:
            for frame in arr:
                self._write_one(frame)
        elif arr.ndim in (2, 3):
            self._write_one(arr)
        else:
            raise InputError(
                f"{self.path}: expected a frame (h, w, 3) or a batch (n, h, w, 3), got {arr.shape}"
            )

    def _write_one(self, frame: np.ndarray) -> None:
        if not (frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3):
            frame = to_uint8(as_rgb01(frame, str(self.path)))
        h, w = frame.shape[:2]
        if self._encoder is None:
            self._start(h, w)
        elif (h, w) != self.frame_size:
            fh, fw = self.frame_size  # type: ignore[misc]
            raise InputError(
                f"{self.path}: frame {self.num_written + 1} is {w}x{h}, but the video is {fw}x{fh}"
            )
        if self._pad != (0, 0):
            frame = np.pad(frame, ((0, self._pad[0]), (0, self._pad[1]), (0, 0)), mode="edge")
        try:
            self._encoder.send(np.ascontiguousarray(frame))  # type: ignore[union-attr]
        except Exception as err:
            self.abort()
            raise FommError(
                f"{self.path}: ffmpeg failed to encode ({one_line(str(err))})"
            ) from None
        self.num_written += 1

    def close(self) -> None:
        """Finish encoding and move the file onto ``path`` (idempotent)."""
        if self._closed:
            return
        if self._encoder is None:
            self.abort()
            raise InputError(f"{self.path}: no frames were written, so no video was made")
        try:
            self._encoder.close()
        except Exception as err:
            self.abort()
            raise FommError(
                f"{self.path}: ffmpeg failed to finish ({one_line(str(err))})"
            ) from None
        self._closed = True
        self._target.commit()
        logger.info("wrote %s (%d frames at %.3g fps)", self.path, self.num_written, self.fps)

    def abort(self) -> None:
        """Stop encoding and delete the temporary file; ``path`` is not created (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._encoder is not None:
            with contextlib.suppress(Exception):
                self._encoder.close()
        self._target.discard()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            with contextlib.suppress(Exception):
                self.abort()
