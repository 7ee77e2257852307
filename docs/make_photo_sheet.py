"""Make ``docs/real-photos.png``: photo / driving frame / result, with the crops drawn.

    python docs/make_photo_sheet.py [--config vox-256 --checkpoint vox-cpk.pth.tar] [-o PNG]

Inputs are made offline: the photo is scikit-image's astronaut, off-centre in a wider
picture; the driver is the project's synthetic talking head in a 640×360 frame with a tone
for sound. ``fomm animate`` runs with its defaults (face crop, tracked driving crop,
paste-back, sound). Panels: the photo with the detected face box (green) and the crop the
model sees (yellow); a driving frame with its shot's crop; the same frame of the result.
Without ``--checkpoint`` the networks are random (``tiny-64``): the sheet then shows where
things go (crops, paste-back, resolution), not what a trained model draws.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2
import imageio_ffmpeg
import numpy as np

from fomm_tf import cli
from fomm_tf.animation.driver import plan_crops
from fomm_tf.animation.photo import prepare_source
from fomm_tf.data.synthetic import render_video
from fomm_tf.media.images import read_image, to_uint8, write_image
from fomm_tf.media.video_reader import VideoReader
from fomm_tf.media.video_writer import VideoWriter

HEIGHT = 300


def make_inputs(folder: Path) -> tuple[Path, Path]:
    import skimage.data

    photo = np.full((720, 1280, 3), (88, 96, 110), np.uint8)
    photo[:, :400] = np.linspace(40, 200, 400, dtype=np.uint8)[None, :, None]
    photo[140:652, 620:1132] = skimage.data.astronaut()
    write_image(folder / "photo.png", photo)
    heads = render_video(48, 256, seed=3, kind="face")
    frames = np.zeros((48, 360, 640, 3), np.float32)
    frames[:] = np.linspace(0.2, 0.5, 640)[None, None, :, None]
    frames[:, 60:316, 300:556] = heads
    with VideoWriter(folder / "silent.mp4", fps=24) as w:
        w.write(frames)
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(folder / "silent.mp4"),
         "-f", "lavfi", "-i", "sine=frequency=330:duration=2", "-map", "0:v", "-map", "1:a",
         "-c:v", "copy", "-c:a", "aac", "-shortest", str(folder / "driver.mp4")],
        check=True,
    )  # fmt: skip
    return folder / "photo.png", folder / "driver.mp4"


def _panel(img: np.ndarray, boxes) -> np.ndarray:
    img = np.ascontiguousarray(to_uint8(img))
    for (x0, y0, x1, y1), colour in boxes:
        t = max(2, img.shape[0] // 180)
        cv2.rectangle(img, (int(x0), int(y0)), (int(x1), int(y1)), colour, t)
    h, w = img.shape[:2]
    return cv2.resize(img, (round(w * HEIGHT / h), HEIGHT), interpolation=cv2.INTER_AREA)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="tiny-64", help="model config (default tiny-64)")
    parser.add_argument("--checkpoint", help="trained weights (default: random networks)")
    parser.add_argument("-o", "--output", default=str(Path(__file__).with_name("real-photos.png")))
    parser.add_argument("--frame", type=int, default=30, help="driving frame to show")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        photo, driver = make_inputs(folder)
        weights = ["--checkpoint", args.checkpoint] if args.checkpoint else ["--random-weights"]
        out = folder / "result.mp4"
        rc = cli.main(
            ["animate", "--config", args.config, *weights, "--source", str(photo),
             "--driving", str(driver), "-o", str(out)]
        )  # fmt: skip
        if rc:
            return rc
        picture = read_image(photo)
        prep = prepare_source(picture)
        f, c = prep.face, prep.crop
        yellow, green = (255, 210, 0), (0, 220, 0)
        p1 = _panel(
            prep.canvas,
            [
                ((f.x0, f.y0, f.x1, f.y1), green),
                ((c.x0, c.y0, c.x0 + c.side, c.y0 + c.side), yellow),
            ],
        )
        with VideoReader(driver) as r:
            drv = [fr for i, fr in zip(range(args.frame + 1), r)][-1]
            size = r.frame_size
        shot, dc = next(
            (s, c) for s, c in plan_crops(driver, work_size=size) if s.stop > args.frame
        )
        p2 = _panel(drv, [((dc.x0, dc.y0, dc.x0 + dc.side, dc.y0 + dc.side), yellow)])
        with VideoReader(out) as r:
            res = [fr for i, fr in zip(range(args.frame + 1), r)][-1]
        p3 = _panel(res, [])
        gap = np.full((HEIGHT, 8, 3), 255, np.uint8)
        write_image(args.output, np.concatenate([p1, gap, p2, gap, p3], axis=1))
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
