"""Decoding with FFmpeg's libraries in process (PyAV): frames turned upright, filtered, and
every decoder complaint an :class:`~fomm_tf.errors.InputError` of one line."""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Generator
from pathlib import Path

import numpy as np

from ..errors import InputError
from .messages import one_line

logger = logging.getLogger(__name__)


def _rotation_filters(rotation: float) -> list[str]:
    """The filters that turn a frame stored with display ``rotation`` upright (degrees,
    counter-clockwise, as FFmpeg's display matrix gives it): what the ``ffmpeg`` command does
    by default, so a phone's portrait clip reads as portrait."""
    turn = round(rotation / 90) % 4
    return [[], ["transpose=cclock"], ["hflip", "vflip"], ["transpose=clock"]][turn]


class FfmpegDecoder:
    """The first video stream of a file, decoded by FFmpeg's libraries (PyAV) to RGB24 frames.

    Opening reads the header and decodes the first frame (so ``height``/``width`` are the
    upright display size, after the stream's rotation); :meth:`frames` yields every frame
    through FFmpeg's own filters ``filters`` (``"fps=25,crop=..,scale=..:flags=area"``, a
    comma-separated chain without escaped commas). Any FFmpeg error (not a video, a corrupt
    or missing packet midway) is an :class:`InputError` naming the file.
    """

    def __init__(self, path: Path, filters: str | None = None) -> None:
        import av

        self._av = av  # imported here: reading images and folders does not load FFmpeg
        self.path = path
        self.filters = filters
        try:
            self._container = av.open(os.path.abspath(path), metadata_errors="ignore")
        except (av.error.FFmpegError, OSError, UnicodeDecodeError) as err:
            raise InputError(f"{path}: not a readable video ({one_line(str(err))})") from None
        try:
            if not self._container.streams.video:
                raise InputError(f"{path}: not a readable video (no video stream)")
            self._stream = self._container.streams.video[0]
            self._stream.thread_type = "SLICE"  # frame threads hold more full-size frames
            rate = self._stream.average_rate or self._stream.base_rate
            self.fps = float(rate) if rate and math.isfinite(rate) and rate > 0 else None
            duration = self._container.duration
            self.duration = duration / av.time_base if duration and duration > 0 else None
            self._decoded = self._container.decode(self._stream)
            self._first = self._next_frame(0)
            if self._first is None:
                raise InputError(f"{path}: no frames could be decoded")
        except BaseException:
            self.close()
            raise
        self._upright = _rotation_filters(float(self._first.rotation or 0))
        self.width, self.height = self._first.width, self._first.height
        if len(self._upright) == 1:  # a quarter turn
            self.width, self.height = self.height, self.width

    def _next_frame(self, count: int):
        try:
            return next(self._decoded, None)
        except (self._av.error.FFmpegError, OSError) as err:
            raise InputError(
                f"{self.path}: corrupt video, decoding failed after {count} frames "
                f"({one_line(str(err))})"
            ) from None

    def _graph(self):
        """FFmpeg's filter graph: the upright turn, then ``filters``; None when there is none."""
        chain = [*self._upright, *(self.filters.split(",") if self.filters else [])]
        if not chain:
            return None
        graph = self._av.filter.Graph()
        nodes = [graph.add_buffer(template=self._stream)]
        for item in chain + ["format=rgb24"]:  # scaled from full chroma, as ffmpeg -pix_fmt
            name, _, args = item.partition("=")
            nodes.append(graph.add(name, args or None))
        nodes.append(graph.add("buffersink"))
        for a, b in zip(nodes, nodes[1:]):
            a.link_to(b)
        graph.configure()
        return graph

    def frames(self) -> Generator[np.ndarray, None, None]:
        """Yield ``uint8`` ``(h, w, 3)`` frames; raise InputError if decoding fails midway."""
        graph = self._graph()
        count = 0
        frame, self._first = self._first, None  # not kept alive: the decoder reuses its buffer
        try:
            while frame is not None:
                count += 1
                if graph is None:
                    yield frame.to_ndarray(format="rgb24")
                else:
                    graph.vpush(frame)
                    yield from self._drain(graph)
                frame = self._next_frame(count)
            if graph is not None:
                graph.vpush(None)  # end of stream: the fps filter emits its last frames
                yield from self._drain(graph)
            self._check_complete(count)
        except self._av.error.FFmpegError as err:  # from the filters
            raise InputError(f"{self.path}: corrupt video ({one_line(str(err))})") from None
        finally:
            self.close()

    def _check_complete(self, count: int) -> None:
        """A file cut short (a copy that stopped, a download that broke) still demuxes until
        its data runs out; its index (MP4/MOV) says where the missing frames were."""
        size = os.path.getsize(self.path)
        needed = max((e.pos + e.size for e in self._stream.index_entries if e.pos >= 0), default=0)
        if needed > size:
            raise InputError(
                f"{self.path}: corrupt video, decoding stopped after {count} frames (the file "
                f"ends at byte {size}, its index needs {needed}: truncated?)"
            )

    def _drain(self, graph) -> Generator[np.ndarray, None, None]:
        while True:
            try:
                out = graph.vpull()
            except (self._av.error.BlockingIOError, self._av.error.EOFError):
                return
            yield out.to_ndarray(format="rgb24")

    def close(self) -> None:
        """Release the file and the decoder (idempotent)."""
        container = getattr(self, "_container", None)
        if container is not None:
            self._container = None
            self._decoded = None
            with contextlib.suppress(Exception):
                container.close()


# --------------------------------------------------------------------------------------------
# reading videos
