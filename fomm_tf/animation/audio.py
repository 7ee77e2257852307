"""The driver's sound in the output: probe for an audio stream, mux it with ffmpeg.

The ffmpeg binary is the one ``imageio-ffmpeg`` ships. The animated video is first written
without sound to a hidden temporary file; the driver's first audio stream is then encoded to
AAC next to the copied video stream, cut to the video's duration, into another temporary file
that is renamed onto the output. A driver without sound gives a video without sound, silently;
an audio stream ffmpeg cannot decode costs the sound, with a warning, never the video.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

from ..errors import FommError
from ..media.atomic import AtomicFile
from ..media.messages import one_line
from ..media.video_writer import VideoWriter

__all__ = ["AudioError", "has_audio", "mux_audio", "video_with_audio"]

log = logging.getLogger(__name__)

_AUDIO_STREAM = re.compile(r"^\s*Stream #\d+:\d+.*: Audio: ", re.MULTILINE)
#: Containers that take AAC; a GIF has no sound.
_AUDIO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".avi")


class AudioError(FommError):
    """ffmpeg could not read or write the sound (the video itself is fine)."""


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def has_audio(path: str | os.PathLike) -> bool:
    """True when ``path`` is a media file with at least one audio stream."""
    p = Path(path)
    if not p.is_file():
        return False
    res = subprocess.run(
        [_ffmpeg(), "-hide_banner", "-nostdin", "-i", os.path.abspath(p)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=60,
    )
    return bool(_AUDIO_STREAM.search(res.stderr))


def mux_audio(
    video: str | os.PathLike,
    audio_source: str | os.PathLike,
    output: str | os.PathLike,
    duration: float,
) -> None:
    """Write ``video``'s picture (copied) with ``audio_source``'s first audio stream (AAC, cut
    to ``duration`` seconds) to ``output``.

    Raises:
        AudioError: ffmpeg failed; any decoding error in the audio counts (``-xerror``).
    """
    cmd = [
        _ffmpeg(),
        "-hide_banner",
        "-nostdin",
        "-nostats",
        "-loglevel",
        "error",
        "-xerror",
        "-y",
        "-i",
        os.path.abspath(video),
        "-i",
        os.path.abspath(audio_source),
        "-map",
        "0:v:0",
        "-map",
        "1:a:0",
        "-c:v",
        "copy",
        "-c:a",
        "aac",
        "-b:a",
        "160k",
        "-t",
        f"{duration:.6f}",
    ]
    if Path(output).suffix.lower() in (".mp4", ".mov", ".m4v"):
        cmd += ["-movflags", "+faststart"]
    cmd.append(os.path.abspath(output))
    try:
        res = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace"
        )
    except OSError as err:
        raise AudioError(f"could not run ffmpeg ({err})") from None
    if res.returncode != 0:
        raise AudioError(one_line(res.stderr))


@contextlib.contextmanager
def video_with_audio(
    output: str | os.PathLike,
    fps: float,
    audio_source: str | os.PathLike | None,
) -> Iterator[VideoWriter]:
    """A :class:`VideoWriter` for ``output`` that adds ``audio_source``'s sound when it closes.

    With ``audio_source=None``, a GIF output, or a source without audio this is a plain
    ``VideoWriter``. Otherwise frames go to a hidden temporary video, which is muxed with the
    sound (cut to ``frames / fps`` seconds) into ``output`` atomically; if that fails the
    video is kept without sound and a warning is logged. ``output`` appears only complete.
    """
    out = Path(output)
    if (
        audio_source is None
        or out.suffix.lower() not in _AUDIO_SUFFIXES
        or not has_audio(audio_source)
    ):
        with VideoWriter(out, fps=fps) as writer:
            yield writer
        return
    silent = AtomicFile(out.with_name(f".silent-{out.name}"))  # reserves a unique temp name
    try:
        with VideoWriter(silent.tmp, fps=fps) as writer:
            yield writer
        target = AtomicFile(out)
        try:
            try:
                mux_audio(silent.tmp, audio_source, target.tmp, writer.num_written / writer.fps)
            except AudioError as err:
                log.warning(
                    "%s: the sound could not be kept, writing the video without it (%s)",
                    audio_source,
                    err,
                )
                os.replace(silent.tmp, target.tmp)
        except BaseException:
            target.discard()
            raise
        target.commit()
    finally:
        silent.discard()
