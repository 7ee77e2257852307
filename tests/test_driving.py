"""The driver's face crop: shots, one square per shot, `fomm crop-video`."""

import subprocess
import sys

import cv2
import imageio_ffmpeg
import numpy as np
import pytest
from skimage import data as skimage_data

from fomm_tf.animation.driver import CroppedVideo, plan_crops
from fomm_tf.errors import InputError
from fomm_tf.media.video_reader import VideoReader, probe_video
from fomm_tf.media.video_writer import VideoWriter

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
# Face centre of skimage.data.astronaut() at 256x256 (hand-marked at 512: (228, 127)).
FACE_256 = (114, 63.5)


def two_shot_clip(path, audio=False):
    """12 frames of the astronaut drifting right on grey, a cut, 12 frames of her mirrored on
    blue at the other side; 12 fps. Returns the face centre per shot (in clip pixels)."""
    small = cv2.resize(skimage_data.astronaut(), (128, 128), interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(24):
        c = np.full((180, 320, 3), 60, np.uint8)
        if i < 12:
            c[20:148, 20 + i : 148 + i] = small
        else:
            c[:] = (30, 90, 160)
            c[45:173, 180:308] = small[:, ::-1]
        frames.append(c)
    silent = path.with_name("silent-" + path.name) if audio else path
    with VideoWriter(silent, fps=12) as w:
        w.write(np.stack(frames))
    if audio:
        subprocess.run(
            [FFMPEG, "-v", "error", "-y", "-i", str(silent), "-f", "lavfi", "-i",
             "sine=frequency=500:sample_rate=44100:duration=2", "-map", "0:v", "-map", "1:a",
             "-c:v", "copy", "-c:a", "aac", "-shortest", str(path)],
            check=True,
        )  # fmt: skip
    fx, fy = FACE_256[0] / 2, FACE_256[1] / 2
    return [(20 + 6 + fx, 20 + fy), (180 + 128 - fx, 45 + fy)]


def test_max_side_scales_whole_frames_inside_ffmpeg(tmp_path):
    two_shot_clip(tmp_path / "c.mp4")
    with VideoReader(tmp_path / "c.mp4", max_side=160) as r:
        frames = np.stack(list(r))
        assert "scale=160:90" in r._filters
    assert frames.shape == (24, 90, 160, 3)


def test_each_shot_gets_a_square_around_its_face(tmp_path):
    faces = two_shot_clip(tmp_path / "c.mp4")
    plan = plan_crops(tmp_path / "c.mp4", mode="face", every=4, work_size=(180, 320))
    assert [(s.start, s.stop) for s, _ in plan] == [(0, 12), (12, 24)]
    for (_, crop), (fx, fy) in zip(plan, faces):
        assert crop.x0 + 0.3 * crop.side < fx < crop.x0 + 0.7 * crop.side
        assert crop.y0 + 0.25 * crop.side < fy < crop.y0 + 0.7 * crop.side
        assert 40 < crop.side < 128
    video = CroppedVideo(tmp_path / "c.mp4", 64, mode="face", every=4)
    frames = np.stack(list(video))
    assert frames.shape == (24, 64, 64, 3) and video.fps == 12
    # cut from the first shot's square: the grey background is not in the middle of it
    assert np.abs(frames[3, 24:40, 24:40] - 60 / 255).mean() > 0.1


def test_a_driver_without_a_face(tmp_path):
    clip = tmp_path / "wall.mp4"
    with VideoWriter(clip, fps=10) as w:
        w.write(np.full((6, 90, 160, 3), 0.5, np.float32))
    with pytest.raises(InputError, match="wall.mp4: no face found"):
        plan_crops(clip, mode="face")
    plan = plan_crops(clip, mode="auto", work_size=(90, 160))
    assert [c for _, c in plan] == [plan[0][1]] and plan[0][1].side == 90  # the centre square


def test_crop_video_command(tmp_path):
    two_shot_clip(tmp_path / "talk.mp4", audio=True)
    out = tmp_path / "out.mp4"
    res = subprocess.run(
        [sys.executable, "-m", "fomm_tf.cli", "crop-video", str(tmp_path / "talk.mp4"), "-o",
         str(out), "--size", "96", "--detect-every", "3"],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "2 shot(s)" in res.stderr
    assert probe_video(out) == (24, 12, (96, 96))
    streams = subprocess.run(
        [FFMPEG, "-hide_banner", "-i", str(out)], capture_output=True, text=True
    )
    assert "Audio: aac" in streams.stderr
