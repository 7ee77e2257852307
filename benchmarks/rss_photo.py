"""Peak memory of `fomm animate` on a large photo with a long full-HD driver.

Makes the inputs (offline): a 4000×3000 JPEG photo with the astronaut (scikit-image) pasted
off-centre and enlarged to a 1200-pixel square, and a 1920×1080 H.264 driver with AAC sound
in which the astronaut's face drifts over a moving test pattern; then runs
``fomm animate`` (face crop, tracked driving crop, paste-back at 1920×1440, sound) in a child
Python process and prints that process's peak RSS (``ru_maxrss``; the ffmpeg processes it
starts are separate programs and not counted).

    python benchmarks/rss_photo.py --config tiny-64 --seconds 60   # the pipeline, 1 minute
    python benchmarks/rss_photo.py --config vox-256 --seconds 2    # with the real model size

The animation streams, so the peak does not grow with the driver's length: compare runs of
different ``--seconds``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import resource, sys
from fomm_tf import cli
rc = cli.main(sys.argv[1:])
print("PEAK_RSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "RC", rc)
"""


def make_inputs(folder: Path, seconds: float, fps: int = 30) -> tuple[Path, Path]:
    import skimage.data

    astro = skimage.data.astronaut()
    photo = np.full((3000, 4000, 3), (70, 80, 95), np.uint8)
    photo[:, :1500] = np.linspace(30, 220, 1500, dtype=np.uint8)[None, :, None]
    photo[1400:2600, 2500:3700] = cv2.resize(astro, (1200, 1200), interpolation=cv2.INTER_CUBIC)
    photo_path = folder / "photo.jpg"
    cv2.imwrite(
        str(photo_path), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92]
    )
    face_path = folder / "face.png"
    cv2.imwrite(str(face_path), cv2.cvtColor(cv2.resize(astro, (480, 480)), cv2.COLOR_RGB2BGR))
    driver = folder / "driver.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate={fps}:duration={seconds}",
         "-loop", "1", "-i", str(face_path),
         "-f", "lavfi", "-i", f"sine=frequency=220:sample_rate=48000:duration={seconds}",
         "-filter_complex", "[0][1]overlay=x=700+150*sin(t):y=300+40*sin(2*t):shortest=1[v]",
         "-map", "[v]", "-map", "2:a", "-c:v", "libx264", "-preset", "ultrafast",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-t", str(seconds), str(driver)],
        check=True,
    )  # fmt: skip
    return photo_path, driver


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="tiny-64", help="model config (default tiny-64)")
    parser.add_argument("--seconds", type=float, default=60, help="driver length (default 60)")
    parser.add_argument("--keep", help="keep inputs and output in this folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        photo, driver = make_inputs(folder, args.seconds)
        cmd = [sys.executable, "-c", _CHILD, "animate", "--config", args.config,
               "--random-weights", "--source", str(photo), "--driving", str(driver),
               "-o", str(folder / "out.mp4")]  # fmt: skip
        res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        line = [ln for ln in res.stdout.splitlines() if ln.startswith("PEAK_RSS_KB")]
        if not line or not line[-1].endswith("RC 0"):
            print(res.stderr[-3000:], file=sys.stderr)
            return 1
        kb = int(line[-1].split()[1])
        from fomm_tf.media.video_reader import probe_video

        frames, fps, (h, w) = probe_video(folder / "out.mp4")
        print(
            f"{args.config}: 4000x3000 photo, {args.seconds:g} s 1920x1080 driver -> {frames} "
            f"frames {w}x{h} at {fps:g} fps; peak RSS {kb / 1024**2:.2f} GB (target < 2 GB)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
