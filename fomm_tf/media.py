"""Streaming image and video I/O: read, fit, write (atomically), with no network and no torch.

Conventions used everywhere in fomm-tf:

* A *frame* is a ``float32`` RGB array of shape ``(h, w, 3)`` with values in ``[0, 1]``.
  Readers always return frames in this form; writers also accept ``uint8`` frames.
* Grayscale images are repeated to three channels. Images with an alpha channel are
  **composited on a white background** (``rgb * a + (1 - a)``) and the alpha is dropped,
  so transparent regions of a PNG or GIF become white, as most viewers show them.
* 16-bit images are scaled by ``1 / 65535``; floating point images are clipped to ``[0, 1]``.

Readable videos (:class:`VideoReader`):

* ``.mp4 .avi .mov .mkv .webm`` (and anything else ffmpeg understands), decoded by the ffmpeg
  binary that ``imageio-ffmpeg`` ships, one frame at a time through a pipe;
* ``.gif``, decoded frame by frame through imageio's pillow plugin;
* a folder of frames (``.png``/``.jpg``/``.jpeg``/``.bmp``, natural sort order: ``2.png``
  before ``10.png``), the layout of the official preprocessed datasets;
* a single ``.png``/``.jpg`` *strip* of square frames side by side (``width = n * height``),
  the other official dataset layout.

Every problem with a user's file surfaces as :class:`fomm_tf.errors.InputError` with one line
that names the file; ffmpeg's own complaint is kept, shortened to one line, in the message.

Writers (:class:`VideoWriter`, :func:`write_image`, :func:`atomic_path`) never leave a partial
file behind: they write to a hidden temporary file in the destination folder and rename it
over the final path only once everything was written.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
from collections import deque
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from fomm_tf.errors import FommError, InputError

__all__ = [
    "DEFAULT_FPS",
    "IMAGE_SUFFIXES",
    "VIDEO_WRITE_SUFFIXES",
    "VideoReader",
    "VideoWriter",
    "atomic_dir",
    "atomic_path",
    "fit_frame",
    "list_frame_files",
    "probe_video",
    "read_image",
    "to_uint8",
    "write_image",
]

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike

#: Frame rate assumed when the source does not store one (frame folders, strips, some files).
DEFAULT_FPS = 25.0
#: Still-image suffixes: read as single images, frame-folder members, or frame strips.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
#: Suffixes :class:`VideoWriter` can produce (H.264 in a container, or an animated GIF).
VIDEO_WRITE_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".m4v", ".gif")

_HEADER_TIMEOUT_S = 30.0
_PILLOW_CONVERT_MODES = {"CMYK", "YCbCr", "LAB", "HSV"}
_SKIP_PREFIXES = ("ffmpeg version", "built with", "configuration:", "lib", "Metadata:", "=== ")
_LOG_PREFIX = re.compile(r"^(\[[^\]]*\]\s*)+")
_ERROR_LINE = re.compile(
    r"error|invalid|corrupt|partial file|not found|no such|matches no streams|"
    r"cannot|could not|failed|truncat|missing",
    re.IGNORECASE,
)
_NOISE_LINE = re.compile(
    r"^(Stream #|Input #|Output #|Duration:|frame=)|Conversion failed|Terminating thread|"
    r"Task finished|Nothing was written|^Error opening (input|output) file "
)


# --------------------------------------------------------------------------------------------
# small helpers


def _one_line(text: str, limit: int = 300) -> str:
    """Squeeze a (possibly multi-line) tool message into one short line.

    For ffmpeg logs this keeps the last few lines that look like errors (dropping log-context
    prefixes such as ``[h264 @ 0x...]`` and generic trailers such as "Conversion failed!"),
    or else the last few lines.
    """
    lines = []
    for raw in str(text).splitlines():
        line = _LOG_PREFIX.sub("", raw.strip()).strip()
        if line and not line.startswith(_SKIP_PREFIXES) and (not lines or lines[-1] != line):
            lines.append(line)
    errors = [ln for ln in lines if _ERROR_LINE.search(ln) and not _NOISE_LINE.search(ln)]
    keep = errors[-3:] if errors else lines[-3:]
    msg = " | ".join(keep) if keep else str(text).strip()
    msg = re.sub(r"\s+", " ", msg)
    if len(msg) > limit:
        msg = "..." + msg[-(limit - 3) :]
    return msg or "unknown error"


def batched(frames, batch_size: int, dtype=None) -> Iterator[np.ndarray]:
    """Stacks of ``batch_size`` items of ``frames`` (any iterable), the last one shorter;
    each item converted with ``np.asarray(item, dtype)`` first. Holds one batch at a time."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise InputError(f"batch_size must be a positive int, got {batch_size!r}")
    if batch_size < 1:
        raise InputError(f"batch_size must be a positive int, got {batch_size!r}")
    buf: list[np.ndarray] = []
    for frame in frames:
        buf.append(np.asarray(frame, dtype))
        if len(buf) == batch_size:
            yield np.stack(buf)
            buf = []
    if buf:
        yield np.stack(buf)


def _natural_key(name: str) -> list[Any]:
    """Sort key that orders ``frame2.png`` before ``frame10.png``."""
    return [int(tok) if tok.isdigit() else tok.lower() for tok in re.split(r"(\d+)", name)]


def list_frame_files(folder: PathLike) -> list[Path]:
    """The frame images of a folder in natural order (``2.png`` before ``10.png``).

    The one listing every reader of frame folders uses (animate, training, evaluation).
    """
    files = (
        f
        for f in Path(folder).iterdir()
        if f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith(".")
    )
    return sorted(files, key=lambda f: _natural_key(f.name))


def _as_rgb01(img: np.ndarray, source: str) -> np.ndarray:
    """Convert any decoded image array to a float32 ``(h, w, 3)`` RGB frame in ``[0, 1]``.

    Grayscale is repeated to RGB; gray+alpha and RGBA are composited on white.
    """
    arr = np.asarray(img)
    if arr.dtype == np.uint8:
        x = arr.astype(np.float32) / 255.0
    elif arr.dtype == np.uint16:
        x = arr.astype(np.float32) / 65535.0
    elif arr.dtype == np.bool_:
        x = arr.astype(np.float32)
    elif np.issubdtype(arr.dtype, np.floating):
        x = arr.astype(np.float32)
    elif np.issubdtype(arr.dtype, np.integer):
        # e.g. pillow's 32-bit "I" mode for 16-bit PNGs
        scale = 65535.0 if arr.size and int(arr.max()) > 255 else 255.0
        x = arr.astype(np.float32) / scale
    else:
        raise InputError(f"{source}: unsupported pixel type {arr.dtype}")
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3 or x.shape[0] == 0 or x.shape[1] == 0:
        raise InputError(f"{source}: expected an image of shape (h, w[, c]), got {arr.shape}")
    channels = x.shape[2]
    if channels == 1:
        rgb = np.repeat(x, 3, axis=2)
    elif channels == 2:
        alpha = np.clip(x[:, :, 1:2], 0.0, 1.0)
        rgb = np.repeat(x[:, :, 0:1] * alpha + (1.0 - alpha), 3, axis=2)
    elif channels == 3:
        rgb = x
    elif channels == 4:
        alpha = np.clip(x[:, :, 3:4], 0.0, 1.0)
        rgb = x[:, :, :3] * alpha + (1.0 - alpha)
    else:
        raise InputError(f"{source}: expected 1 to 4 colour channels, got {channels}")
    return np.ascontiguousarray(np.clip(rgb, 0.0, 1.0), dtype=np.float32)


def _fit_long_side(hw: tuple[int, int], max_side: int) -> tuple[int, int]:
    """``(h, w)`` scaled so the long side is at most ``max_side`` (never enlarged)."""
    h, w = hw
    f = min(1.0, max_side / max(h, w))
    return max(1, round(h * f)), max(1, round(w * f))


def _normalize_size(size: int | tuple[int, int]) -> tuple[int, int]:
    """``64`` -> ``(64, 64)``; ``(h, w)`` -> ``(h, w)``; anything else -> InputError."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        hw = (int(size), int(size))
    elif (
        isinstance(size, (tuple, list))
        and len(size) == 2
        and all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in size)
    ):
        hw = (int(size[0]), int(size[1]))
    else:
        raise InputError(f"frame size must be an int or a (height, width) pair, got {size!r}")
    if hw[0] < 1 or hw[1] < 1:
        raise InputError(f"frame size must be positive, got {size!r}")
    return hw


# --------------------------------------------------------------------------------------------
# images


def _is_deep_colour_png(path: Path) -> bool:
    """True for a PNG whose header says 16-bit RGB or RGBA."""
    try:
        with open(path, "rb") as f:
            head = f.read(26)
    except OSError:
        return False
    return (
        head[:8] == b"\x89PNG\r\n\x1a\n"
        and len(head) == 26
        and head[24] == 16
        and head[25] in (2, 6)
    )


def read_image(path: PathLike) -> np.ndarray:
    """Read one image of any size as a float32 RGB ``(h, w, 3)`` frame in ``[0, 1]``.

    Decoded with imageio's pillow plugin (EXIF orientation applied; for animated files the
    first frame), falling back to OpenCV for formats pillow cannot read (e.g. EXR, some TIFF).
    Grayscale becomes RGB, alpha is composited on white, 16-bit data keeps its precision.

    Raises:
        InputError: ``"<path>: not a readable image (<reason>)"`` for a missing or empty file,
            a folder, or bytes that no decoder understands.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: not a readable image (no such file)")
    if p.is_dir():
        raise InputError(f"{p}: not a readable image (it is a folder)")
    if p.stat().st_size == 0:
        raise InputError(f"{p}: not a readable image (empty file)")
    if _is_deep_colour_png(p):  # pillow would reduce 16-bit RGB(A) to 8 bits; OpenCV does not
        arr = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        if arr is not None and arr.ndim == 3 and arr.shape[2] in (3, 4):
            code = cv2.COLOR_BGR2RGB if arr.shape[2] == 3 else cv2.COLOR_BGRA2RGBA
            return _as_rgb01(cv2.cvtColor(arr, code), str(p))
    try:
        import imageio.v3 as iio

        with iio.imopen(p, "r", plugin="pillow") as file:
            mode = file.metadata(index=0, exclude_applied=False).get("mode")
            want = "RGB" if mode in _PILLOW_CONVERT_MODES else None
            arr = file.read(index=0, rotate=True, mode=want)
    except Exception as err:  # any decoder failure: try the fallback
        arr = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        if arr is None:
            raise InputError(f"{p}: not a readable image ({_one_line(str(err), 160)})") from None
        if arr.ndim == 3 and arr.shape[2] == 3:
            arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
        elif arr.ndim == 3 and arr.shape[2] == 4:
            arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA)
    return _as_rgb01(arr, str(p))


def fit_frame(frame: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Centre-crop ``frame`` to the aspect ratio of ``size`` and resize it to exactly ``size``.

    ``size`` is an int (square output) or ``(height, width)``. The crop keeps the middle of the
    image and removes equal amounts from both sides of the longer dimension. The resize uses
    ``cv2.INTER_AREA`` when shrinking (no aliasing) and ``cv2.INTER_CUBIC`` when enlarging;
    the result is clipped to ``[0, 1]`` since cubic interpolation overshoots.

    Args:
        frame: an image array (float ``[0, 1]``, uint8, grayscale or RGB(A) all accepted).
        size: target size.

    Returns:
        float32 array of shape ``(height, width, 3)``.
    """
    th, tw = _normalize_size(size)
    frame = np.asarray(frame)
    if frame.ndim < 2:
        raise InputError(f"frame: expected an image array, got shape {frame.shape}")
    h, w = frame.shape[:2]
    target_ratio = tw / th
    if w / h > target_ratio:  # too wide: crop columns
        cw, ch = max(1, min(w, round(h * target_ratio))), h
    else:  # too tall: crop rows
        cw, ch = w, max(1, min(h, round(w / target_ratio)))
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    # Crop before converting to float: a large frame is converted only where it is kept.
    img = _as_rgb01(frame[y0 : y0 + ch, x0 : x0 + cw], "frame")
    if (ch, cw) != (th, tw):
        interp = cv2.INTER_AREA if ch * cw >= th * tw else cv2.INTER_CUBIC
        img = cv2.resize(img, (tw, th), interpolation=interp)
        if img.ndim == 2:  # pragma: no cover - cv2 keeps 3 channels, but be safe
            img = img[:, :, None].repeat(3, axis=2)
    return np.ascontiguousarray(np.clip(img, 0.0, 1.0), dtype=np.float32)


def to_uint8(frames01: np.ndarray) -> np.ndarray:
    """Map float frames in ``[0, 1]`` (any shape) to ``uint8`` with rounding and clipping.

    ``uint8`` input is returned unchanged.
    """
    arr = np.asarray(frames01)
    if arr.dtype == np.uint8:
        return arr
    return (np.clip(arr.astype(np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


# --------------------------------------------------------------------------------------------
# atomic writes


class _AtomicFile:
    """A hidden temporary file next to ``path`` that is either renamed onto it or deleted."""

    def __init__(self, path: PathLike) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise InputError(f"{self.path}: cannot write a file here (it is a folder)")
        parent = self.path.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InputError(f"{self.path}: cannot create its folder ({err.strerror})") from None
        name = self.path.name
        for _ in range(100):
            tmp = parent / f".tmp-{secrets.token_hex(4)}-{name}"
            try:
                # O_EXCL: never clobber; mode 0o666 so the umask decides the final permissions
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:  # pragma: no cover - 32 random bits collided
                continue
            except OSError as err:
                raise InputError(f"{self.path}: cannot write here ({err.strerror})") from None
            os.close(fd)
            self.tmp = tmp
            break
        else:  # pragma: no cover
            raise FommError(f"{self.path}: could not create a temporary file")
        self.finished = False

    def commit(self) -> None:
        """Move the temporary file onto the final path (atomic on one filesystem)."""
        try:
            os.replace(self.tmp, self.path)
        except OSError:
            self.discard()
            raise
        self.finished = True
        logger.debug("wrote %s", self.path)

    def discard(self) -> None:
        """Delete the temporary file; the final path is left untouched."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)
        self.finished = True


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path in the folder of ``path``; rename it onto ``path`` on success.

    The temporary file (``.tmp-XXXXXXXX-<name>``, created empty, same suffix so tools
    that pick the format from the suffix keep working) lives in the destination folder, so
    the final ``os.replace`` is atomic: readers see the old file or the complete new one,
    never a partial one. If the ``with`` block raises, the temporary file is removed and the
    destination is left as it was. Missing parent folders are created.

    Example::

        with atomic_path("out/stats.json") as tmp:
            tmp.write_text(json.dumps(stats))
    """
    target = _AtomicFile(path)
    try:
        yield target.tmp
    except BaseException:
        target.discard()
        raise
    target.commit()


@contextlib.contextmanager
def atomic_dir(path: PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path`` that replaces ``path`` when the block ends.

    A previous ``path`` is moved aside, the new folder renamed into place, then the old one
    removed; if the block raises, the temporary folder is removed and ``path`` is left as it
    was. Missing parent folders are created. The folder gets the permissions the umask
    gives a new folder.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.tmp-"))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0700 would hide the result from other users
    try:
        yield tmp
        if path.exists():
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.old-"))
            os.replace(path, old / "previous")
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_image(path: PathLike, frame01: np.ndarray) -> None:
    """Write one frame (float ``[0, 1]`` or uint8, gray or RGB) as ``.png``/``.jpg``/``.bmp``.

    Atomic, like :func:`atomic_path`. JPEG quality is 95.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise InputError(f"{p}: cannot write '{suffix}' images (use one of {IMAGE_SUFFIXES})")
    arr = np.asarray(frame01)
    if not (arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3):
        arr = to_uint8(_as_rgb01(arr, str(p)))
    bgr = cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if suffix in (".jpg", ".jpeg") else []
    with atomic_path(p) as tmp:
        if not cv2.imwrite(str(tmp), bgr, params):
            raise FommError(f"{p}: OpenCV could not write the image")


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
        return _one_line("\n".join(self._tail))

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
        self.size = None if size is None else _normalize_size(size)
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
            self.frame_size = _fit_long_side(self.source_size, self.max_side)
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
            th, tw = _fit_long_side((probe.height, probe.width), self.max_side)
            filters.append(f"scale={tw}:{th}:flags=area")
        self._filters = ",".join(filters) or None

    def _read_gif_meta(self) -> None:
        import imageio.v3 as iio

        try:
            with iio.imopen(self.path, "r", plugin="pillow") as file:
                self.num_frames = int(file.properties(index=...).n_images)
                duration_ms = file.metadata(index=0).get("duration") or 0
        except Exception as err:  # any decoder failure: a bad file
            raise InputError(f"{self.path}: not a readable GIF ({_one_line(str(err))})") from None
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
            raise InputError(f"{self.path}: corrupt GIF ({_one_line(str(err))})") from None

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
        frame = _as_rgb01(raw, str(self.path))
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
        self._target = _AtomicFile(self.path)

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
            raise FommError(
                f"{self.path}: could not start ffmpeg ({_one_line(str(err))})"
            ) from None

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
            frame = to_uint8(_as_rgb01(frame, str(self.path)))
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
                f"{self.path}: ffmpeg failed to encode ({_one_line(str(err))})"
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
                f"{self.path}: ffmpeg failed to finish ({_one_line(str(err))})"
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
