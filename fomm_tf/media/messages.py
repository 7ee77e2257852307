"""Tool messages (ffmpeg's logs) squeezed into the one line an error shows."""

from __future__ import annotations

import re

__all__ = ["one_line"]

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


def one_line(text: str, limit: int = 300) -> str:
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
