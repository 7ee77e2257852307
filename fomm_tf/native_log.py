"""Native stderr (fd 2) filtered, not dropped: TensorFlow's start-up chatter goes, the rest stays.

TensorFlow, XNNPACK and CUDA stubs write informational lines straight to fd 2 from C++ (absl
logging), bypassing Python's ``logging``. ``fomm`` hides them so a user sees the progress bars
and its own one-line messages, but anything else written to fd 2 — a native crash report, a
warning from a collective op, an error of a worker — must still reach the terminal.

:func:`filter_native_stderr` points fd 2 at a pipe read by a small child process that copies
every line to the real stderr except :data:`NOISE`. A child, not a thread: if the main process
dies (a segfault, ``os._exit``), the child still drains the pipe to the end and prints what
was written before the crash. It ignores Ctrl-C so it never dies before its parent.
Python's own ``sys.stderr`` keeps writing to the real stderr directly.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

__all__ = ["NOISE", "filter_native_stderr", "is_noise"]

#: Lines dropped: absl INFO lines, the absl preamble, CPU-feature and no-GPU notices, the
#: LiteRT delegate banner. Warnings, errors and fatal lines of any other origin pass.
NOISE = re.compile(
    r"^(?:I\d{4} [\d:.]+\s+\d+ \S+\] "  # absl INFO (I0000 00:00:1796….4099     305 port.cc:153] …)
    r"|[WE]\d{4} [\d:.]+\s+\d+ (?:cuda_\w+|cudart_stub|gpu_\w+)\.cc:\d+\] "
    r"|E\d{4} [\d:.]+\s+\d+ util\.cc:\d+\] oneDNN supports DT_INT32 only on platforms with AVX-512"
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|To enable the following instructions: .* rebuild TensorFlow"
    r"|INFO: Created TensorFlow Lite XNNPACK delegate"
    r"|\S*cuda\S*: .*(?:Unable to register|failed call to cuInit))"
)

_CHILD = r"""
import os, re, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
noise = re.compile(sys.argv[1])
out = os.fdopen(1, "wb", buffering=0)
for line in os.fdopen(0, "rb", buffering=0):
    if not noise.search(line.decode("utf-8", "replace")):
        try:
            out.write(line)
        except OSError:
            pass
"""


def is_noise(line: str) -> bool:
    """Whether :func:`filter_native_stderr` drops this line."""
    return NOISE.search(line) is not None


def filter_native_stderr() -> None:
    """From now on, fd 2 goes through the filter; ``sys.stderr`` writes to the real stderr."""
    real = os.dup(2)
    read, write = os.pipe()
    subprocess.Popen(  # noqa: S603 - our own interpreter running the fixed code above
        [sys.executable, "-S", "-c", _CHILD, NOISE.pattern],
        stdin=read,
        stdout=real,
        stderr=subprocess.DEVNULL,
        close_fds=True,
    )
    os.close(read)
    os.dup2(write, 2)
    os.close(write)
    sys.stderr = os.fdopen(real, "w", buffering=1)
