"""fd 2 under `fomm`: TensorFlow's start-up chatter filtered out, everything else kept."""

from __future__ import annotations

import subprocess
import sys

from fomm_tf.native_log import is_noise

CHATTER = [
    "I0000 00:00:1796184182.409925     305 port.cc:153] oneDNN custom operations are on.",
    "E0000 00:00:1796183118.782187   28080 cuda_platform.cc:52] failed call to cuInit: INTERNAL",
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow "
    "with the appropriate compiler flags.",
    "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
]
KEPT = [
    "E0000 00:00:1796184217.615505     305 collective_ops.cc:91] worker 1 is gone",
    "F0000 00:00:1.5     305 check.cc:1] Check failed: x > 0",
    "Fatal Python error: Segmentation fault",
    "terminate called after throwing an instance of 'std::bad_alloc'",
]


def test_chatter_is_noise_and_errors_are_not():
    assert all(is_noise(line) for line in CHATTER)
    assert not any(is_noise(line) for line in KEPT)


def test_a_crashing_process_still_shows_what_it_wrote_to_fd_2():
    lines = "\n".join(CHATTER + KEPT) + "\n"
    code = (
        "import os\n"
        "from fomm_tf.native_log import filter_native_stderr\n"
        "filter_native_stderr()\n"
        f"os.write(2, {lines.encode()!r})\n"
        "os.abort()\n"  # dies at once: no Python clean-up, no flush
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode != 0
    got = [line for line in res.stderr.splitlines() if line]
    assert got == KEPT
