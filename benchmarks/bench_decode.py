"""``make bench-decode``: decoding a video to RGB frames, library against library, on this machine.

The two libraries the project can decode with, each reading the same H.264 files to ``uint8``
RGB arrays, every case in its own process (so its peak memory is its own), rounds
interleaved (so load changes on the machine hit all alike):

* ``imageio-ffmpeg``: ``imageio_ffmpeg.read_frames``, the ffmpeg binary in a child process,
  frames through a pipe;
* ``pyav``: PyAV (``av``), FFmpeg's libraries in this process, frames straight from the
  decoder (``thread_type="AUTO"``);
* ``reader``: :class:`fomm_tf.media.video_reader.VideoReader`, the project's reader on top of its library
  (frames as float32 in ``[0, 1]``, as ``fomm animate`` gets them), at full size and fitted to
  256² (``size=256``: crop and scale inside the decoder).

Clips are the project's own synthetic faces (``fomm_tf.data.synthetic.render_video``): 256²
× 300 frames, and the same motion scaled to 1920×1080 × 120 frames (a phone's driving video).
Reports, median over rounds: frames/s of a whole clip, the time to open a clip and decode its
first frame (median of 10; what the training pipeline pays for each clip it samples two
frames from), and peak RSS: the process's own (``VmHWM``) plus its child's (the ffmpeg process of
``imageio-ffmpeg``; its figure starts from the parent's size when it was started, so it is an
upper bound by a few tens of MB).

Usage::

    python benchmarks/bench_decode.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIPS = {"256": (256, 256, 300), "1080p": (1080, 1920, 120)}
CASES = ("imageio-ffmpeg", "pyav", "reader", "reader-fit256")


def _make_clip(path: Path, height: int, width: int, frames: int) -> None:
    import cv2
    import imageio_ffmpeg
    import numpy as np

    from fomm_tf.data.synthetic import render_video

    video = render_video(num_frames=frames, size=256, seed=4)
    gen = imageio_ffmpeg.write_frames(
        str(path), (width, height), fps=25, quality=8, macro_block_size=1,
        ffmpeg_log_level="error",
    )  # fmt: skip
    gen.send(None)
    for frame in video:
        if (height, width) != (256, 256):
            frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)
        gen.send(np.ascontiguousarray((frame * 255 + 0.5).astype(np.uint8)))
    gen.close()


def _decode(case: str, path: str) -> int:
    """Decode every frame of ``path``; return the count."""
    import numpy as np

    count = 0
    if case == "imageio-ffmpeg":
        import imageio_ffmpeg

        gen = imageio_ffmpeg.read_frames(path)
        meta = next(gen)
        w, h = meta["size"]
        for buf in gen:
            np.frombuffer(buf, np.uint8).reshape(h, w, 3)
            count += 1
    elif case == "pyav":
        import av

        with av.open(path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                frame.to_ndarray(format="rgb24")
                count += 1
    else:
        from fomm_tf.media.video_reader import VideoReader

        with VideoReader(path, size=256 if case == "reader-fit256" else None) as reader:
            for _ in reader:
                count += 1
    return count


def _first_frame(case: str, path: str) -> None:
    """Open ``path`` and decode its first frame (what reading two frames of a clip costs)."""
    if case == "imageio-ffmpeg":
        import imageio_ffmpeg

        gen = imageio_ffmpeg.read_frames(path)
        next(gen), next(gen)
        gen.close()
    elif case == "pyav":
        import av

        with av.open(path) as container:
            next(container.decode(container.streams.video[0])).to_ndarray(format="rgb24")
    else:
        from fomm_tf.media.video_reader import VideoReader

        with VideoReader(path, size=256 if case == "reader-fit256" else None) as reader:
            next(iter(reader))


def _one(case: str, path: str) -> None:
    _first_frame(case, path)  # warm-up: imports, first open
    opens = []
    for _ in range(10):
        t0 = time.perf_counter()
        _first_frame(case, path)
        opens.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    count = _decode(case, path)
    elapsed = time.perf_counter() - t0
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # ffmpeg, if any
    with open("/proc/self/status", encoding="ascii") as f:  # this process's own peak
        own = next(int(ln.split()[1]) for ln in f if ln.startswith("VmHWM"))
    first_ms = 1000 * statistics.median(opens)
    print(json.dumps({"frames": count, "seconds": elapsed, "rss_mb": (own + kids) / 1024,
                      "first_ms": first_ms}))  # fmt: skip


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--one", nargs=2, metavar=("CASE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--make-clips", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        _one(*args.one)
        return 0
    if args.make_clips:
        for name, (h, w, n) in CLIPS.items():
            _make_clip(Path(args.make_clips) / f"{name}.mp4", h, w, n)
        return 0

    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    results: dict[tuple[str, str], list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        # in another process: this one stays small, as a child's peak RSS starts from it
        subprocess.run([sys.executable, __file__, "--make-clips", tmp], check=True, env=env)
        clips = {name: Path(tmp) / f"{name}.mp4" for name in CLIPS}
        for r in range(args.rounds):
            for name, path in clips.items():
                for case in CASES:
                    out = subprocess.run(
                        [sys.executable, __file__, "--one", case, str(path)],
                        check=True, capture_output=True, text=True, env=env,
                    )  # fmt: skip
                    res = json.loads(out.stdout.strip().splitlines()[-1])
                    results.setdefault((name, case), []).append(res)
                    print(f"round {r + 1} {name:6s} {case:15s} {res['frames']} frames "
                          f"{res['frames'] / res['seconds']:8.1f} frames/s "
                          f"{res['rss_mb']:6.0f} MB, first frame {res['first_ms']:.1f} ms",
                          file=sys.stderr)  # fmt: skip

    from fomm_tf.bench.timing import cpu_name

    print(f"\nbench-decode, {time.strftime('%Y-%m-%d')}, {cpu_name()}, "
          f"{os.cpu_count()} cores, median of {args.rounds} rounds\n")  # fmt: skip
    print("| clip | decoder | frames/s | open + first frame (ms) | peak RSS (MB) |")
    print("|---|---|---|---|---|")
    for (name, case), runs in results.items():
        fps = statistics.median(r["frames"] / r["seconds"] for r in runs)
        rss = statistics.median(r["rss_mb"] for r in runs)
        first = statistics.median(r["first_ms"] for r in runs)
        print(f"| {name} | {case} | {fps:.1f} | {first:.1f} | {rss:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
