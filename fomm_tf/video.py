"""Streaming video I/O through the ffmpeg binary ``imageio-ffmpeg`` ships: read, write.

Readable videos (:class:`VideoReader`):

* ``.mp4 .avi .mov .mkv .webm`` (and anything else ffmpeg understands), decoded by the ffmpeg
  binary that ``imageio-ffmpeg`` ships, one frame at a time through a pipe;
* ``.gif``, decoded frame by frame through imageio's pillow plugin;
* a folder of frames (``.png``/``.jpg``/``.jpeg``/``.bmp``, natural sort order: ``2.png``
  before ``10.png``), the layout of the official preprocessed datasets;
* a single ``.png``/``.jpg`` *strip* of square frames side by side (``width = n * height``),
  the other official dataset layout.

Every problem with a user's file surfaces as :class:`fomm_tf.errors.InputError` with one line
that names the file; ffmpeg's own complaint is kept, shortened to one line
(:func:`one_line`), in the message. :class:`VideoWriter` never leaves a partial file behind.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import subprocess
import threading
from collections import deque
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import FommError, InputError
from .media import (
    DEFAULT_FPS,
    IMAGE_SUFFIXES,
    AtomicFile,
    as_rgb01,
    batched,
    fit_frame,
    fit_long_side,
    list_frame_files,
    normalize_size,
    one_line,
    read_image,
    to_uint8,
)

__all__ = ["VIDEO_WRITE_SUFFIXES", "VideoReader", "VideoWriter", "probe_video"]

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike

#: Suffixes :class:`VideoWriter` can produce (H.264 in a container, or an animated GIF).
VIDEO_WRITE_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".m4v", ".gif")
_HEADER_TIMEOUT_S = 30.0


# --------------------------------------------------------------------------------------------
# ffmpeg decoding


class _FfmpegDecoder:
    """One ffmpeg process decoding the first video stream of a file to raw RGB24 frames.

    The header (size, fps, duration) is parsed from ffmpeg's log at construction; frames are
    then read one at a time from the pipe by :meth:`frames`. ``-xerror`` makes ffmpeg stop
    with a non-zero exit code on a decoding error, which turns into ``InputError`` instead of
    a silently shortened video.
    """

    def __init__(self, path: Path, filters: str | None = None) -> None:
        import imageio_ffmpeg

        self.path = path
        cmd = [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-hide_banner",
            "-nostdin",
            "-nostats",
            "-xerror",
            "-i",
            os.path.abspath(path),  # absolute: a name like "a:b.mp4" is not a protocol
            "-map",
            "0:v:0",
            *(["-vf", filters] if filters else []),
            "-fps_mode",
            "passthrough",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "pipe:1",
        ]
        self._proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self._tail: deque[str] = deque(maxlen=40)
        self._header: list[str] | None = None
        self._header_event = threading.Event()
        self._thread = threading.Thread(target=self._pump_stderr, daemon=True)
        self._thread.start()
        if not self._header_event.wait(_HEADER_TIMEOUT_S):
            self.close()
            raise InputError(f"{path}: not a readable video (ffmpeg gave no stream information)")
        if self._header is None:
            self._proc.wait()
            self._thread.join(timeout=5)
            self.close()
            raise InputError(f"{path}: not a readable video ({self.stderr_tail()})")
        try:
            self.height, self.width, self.fps, self.duration = self._parse(self._header)
        except ValueError as err:
            self.close()
            raise InputError(f"{path}: not a readable video ({err})") from None

    def _pump_stderr(self) -> None:
        assert self._proc.stderr is not None
        lines: list[str] = []
        in_output = False
        try:
            for raw in iter(self._proc.stderr.readline, b""):
                line = raw.decode("utf-8", errors="replace").rstrip()
                self._tail.append(line)
                if self._header is not None:
                    continue
                lines.append(line)
                if line.startswith("Output #0"):
                    in_output = True
                elif in_output and "Video:" in line:
                    self._header = lines
                    self._header_event.set()
        except (OSError, ValueError):  # pipe closed under us during close()
            pass
        finally:
            self._header_event.set()

    @staticmethod
    def _parse(header: list[str]) -> tuple[int, int, float | None, float | None]:
        out_idx = next(i for i, ln in enumerate(header) if ln.startswith("Output #0"))
        in_video = [ln for ln in header[:out_idx] if "Stream #" in ln and "Video:" in ln]
        out_video = [ln for ln in header[out_idx:] if "Video:" in ln]
        size_re = re.compile(r"(?<=[ ,])(\d+)x(\d+)(?=[,\s\[]|$)")
        match = size_re.search(out_video[0].split("Video:", 1)[1]) if out_video else None
        if match is None:
            raise ValueError("no video stream size in ffmpeg's output")
        width, height = int(match.group(1)), int(match.group(2))
        fps = None
        if in_video:
            for unit in ("fps", "tbr"):
                m = re.search(rf"([\d.]+)(k?) {unit}\b", in_video[0])
                if m:
                    fps = float(m.group(1)) * (1000.0 if m.group(2) else 1.0)
                    break
        duration = None
        for ln in header[:out_idx]:
            m = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", ln)
            if m:
                duration = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
                break
        if fps is not None and not (math.isfinite(fps) and fps > 0):
            fps = None
        return height, width, fps, duration

    def stderr_tail(self) -> str:
        return one_line("\n".join(self._tail))

    def frames(self) -> Generator[np.ndarray, None, None]:
        """Yield ``uint8`` ``(h, w, 3)`` frames; raise InputError if ffmpeg fails midway."""
        assert self._proc.stdout is not None
        nbytes = self.width * self.height * 3
        count = 0
        try:
            while True:
                buf = self._proc.stdout.read(nbytes)
                if not buf:
                    break
                if len(buf) < nbytes:
                    self._proc.wait(timeout=30)
                    self._thread.join(timeout=5)
                    raise InputError(
                        f"{self.path}: corrupt video, frame {count + 1} is incomplete "
                        f"({self.stderr_tail()})"
                    )
                count += 1
                yield np.frombuffer(buf, dtype=np.uint8).reshape(self.height, self.width, 3)
            rc = self._proc.wait(timeout=60)
            self._thread.join(timeout=5)
            if rc != 0:
                raise InputError(
                    f"{self.path}: corrupt video, decoding failed after {count} frames "
                    f"({self.stderr_tail()})"
                )
        finally:
            self.close()

    def close(self) -> None:
        """Stop ffmpeg (if still running) and release its pipes."""
        proc = self._proc
        if proc.poll() is None:
            proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        self._thread.join(timeout=5)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


# --------------------------------------------------------------------------------------------
# reading videos


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
            inside ffmpeg for video files).
        source_size: ``(h, w)`` of the decoded frames before fitting.

    Iterating yields float32 RGB frames in ``[0, 1]`` of shape ``frame_size + (3,)``, fitted
    with :func:`fit_frame` when ``size`` is given. A reader may be iterated several times; each
    pass decodes the source again. Use it as a context manager (or call :meth:`close`) so the
    ffmpeg process is stopped when you stop early.
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

    def _probe_ffmpeg(self) -> None:
        """Read the stream header once and choose the decoder's ffmpeg filters.

        - ``fps=<average rate>``: frames come out at a constant rate with the container's
          duration, so a variable-frame-rate clip (phones) is resampled instead of drifting;
          for a constant-rate file it passes every frame through unchanged.
        - when ``size`` is given and the source is larger in both dimensions: the centre crop
          and the area downscale of :func:`fit_frame` run inside ffmpeg, so a 4K driver is
          never piped or converted to float at full resolution.
        """
        probe = _FfmpegDecoder(self.path)
        probe.close()
        filters = []
        if probe.fps:
            self.fps = probe.fps
            filters.append(f"fps={probe.fps:.6g}")
            if probe.duration:
                self.num_frames = max(1, round(probe.duration * probe.fps))
        self._ffmpeg_source_size = (probe.height, probe.width)
        if self.size is not None and probe.height > self.size[0] and probe.width > self.size[1]:
            th, tw = self.size
            filters.append(
                f"crop=trunc(min(iw\\,ih*{tw}/{th})):trunc(min(ih\\,iw*{th}/{tw})),"
                f"scale={tw}:{th}:flags=area"
            )
        if self.max_side is not None and max(probe.height, probe.width) > self.max_side:
            th, tw = fit_long_side((probe.height, probe.width), self.max_side)
            filters.append(f"scale={tw}:{th}:flags=area")
        self._filters = ",".join(filters) or None

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
            if first:
                self._probe_ffmpeg()
            return _FfmpegDecoder(self.path, self._filters).frames()
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
            return frame  # scaled by ffmpeg
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


# --------------------------------------------------------------------------------------------
# writing videos


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
