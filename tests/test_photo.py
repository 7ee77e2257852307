"""Source crop and paste-back, alone and through `fomm animate` on a photo with a known face."""

import subprocess
import sys

import imageio_ffmpeg
import numpy as np
import pytest
from skimage import data as skimage_data

from fomm_tf.animation.faces import FaceBox
from fomm_tf.animation.photo import (
    Crop,
    PasteBack,
    center_crop,
    face_crop,
    prepare_source,
    scale_to_max_size,
    whole_crop,
)
from fomm_tf.media.images import read_image, write_image
from fomm_tf.media.video_reader import VideoReader, probe_video

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
# Hand-marked face of skimage.data.astronaut() (brows to chin, cheek to cheek), see test_faces.
ASTRONAUT_FACE = FaceBox(183, 82, 273, 172)


# --------------------------------------------------------------------------------------------
# geometry


def test_face_crop_is_square_around_the_face_and_inside_the_picture():
    box = FaceBox(500, 300, 600, 400)
    crop = face_crop(box, 1080, 1920, scale=2.4)
    assert crop.side == 240
    assert crop.x0 == 550 - 120 and crop.y0 == round(350 + 10 - 120)
    # Near the edge the square moves inside the picture; it never grows past the long side.
    edge = face_crop(FaceBox(0, 0, 100, 100), 1080, 1920, scale=2.4)
    assert (edge.x0, edge.y0, edge.side) == (0, 0, 240)
    huge = face_crop(FaceBox(0, 0, 900, 900), 1000, 1500, scale=2.4)
    assert huge.side == 1500 and huge.x0 == 0 and huge.y0 < 0  # padded above and below
    assert huge.covers(1000, 1500)


def test_center_and_whole_crops():
    assert center_crop(300, 400) == Crop(50, 0, 300)
    assert whole_crop(300, 400) == Crop(0, -50, 400)
    assert whole_crop(300, 400).covers(300, 400) and not center_crop(300, 400).covers(300, 400)


def test_extract_is_the_slice_inside_and_the_repeated_edge_outside():
    rng = np.random.default_rng(0)
    pic = rng.random((50, 60, 3)).astype(np.float32)
    np.testing.assert_array_equal(Crop(10, 5, 32).extract(pic, 32), pic[5:37, 10:42])
    padded = Crop(-8, -8, 32).extract(pic, 32)
    np.testing.assert_array_equal(padded[8:, 8:], pic[:24, :24])
    np.testing.assert_array_equal(padded[:8, 8:], np.broadcast_to(pic[0, :24], (8, 24, 3)))
    shrunk = Crop(0, 0, 40).extract(pic, 20)
    np.testing.assert_allclose(shrunk[3, 4], pic[6:8, 8:10].mean(axis=(0, 1)), atol=1e-6)


def test_paste_back_touches_only_the_crop_and_feathers_inner_edges():
    canvas = np.random.default_rng(1).integers(0, 256, (120, 200, 3), np.uint8)
    crop = Crop(-10, 30, 80)  # crosses the left edge
    paste = PasteBack(canvas, crop, feather=0.1)
    white = np.ones((64, 64, 3), np.float32)
    out = paste(white)
    assert out.shape == canvas.shape and out.dtype == np.uint8
    inside = np.zeros(canvas.shape[:2], bool)
    inside[30:110, 0:70] = True
    np.testing.assert_array_equal(out[~inside], canvas[~inside])
    assert np.all(out[50:90, 0:55] == 255)  # interior, and the hard edge on the border
    # the right edge (inside the picture) fades out: columns approach the canvas
    ramp = np.abs(out[70, 55:70].astype(int) - canvas[70, 55:70].astype(int)).sum(axis=1)
    w = 255 - canvas[70, 55:70].astype(int)
    frac = ramp / np.maximum(w.sum(axis=1), 1)
    assert frac[0] > 0.95 and frac[-1] < 0.1 and np.all(np.diff(frac) <= 0.02)


def test_scale_to_max_size_keeps_the_aspect():
    pic = np.zeros((3000, 4000, 3), np.uint8)
    canvas, factor = scale_to_max_size(pic, 1920)
    assert canvas.shape == (1440, 1920, 3) and factor == pytest.approx(0.48)
    small, f1 = scale_to_max_size(pic[:100, :200], 1920)
    assert small.shape == (100, 200, 3) and f1 == 1.0


def test_prepare_source_finds_the_astronaut_off_centre_in_a_large_picture():
    big = np.full((2400, 3200, 3), 0.4, np.float32)
    astro = skimage_data.astronaut().astype(np.float32) / 255
    big[1500:2012, 2400:2912] = astro
    prep = prepare_source(big, mode="auto", max_size=1600)
    assert prep.mode == "face" and prep.canvas.shape == (1200, 1600, 3)
    face = ASTRONAUT_FACE.shifted(2400, 1500, 1.0).shifted(0, 0, 0.5)  # in canvas pixels
    assert prep.face.iou(face) > 0.5
    cx, cy = face.center
    c = prep.crop
    assert c.x0 < cx < c.x0 + c.side and c.y0 < cy < c.y0 + c.side
    assert not prep.crop_is_whole_picture
    # the model input is the face: the middle of the crop is the astronaut's face, not the wall
    mid = prep.model_input(big, 64)[24:40, 24:40]
    assert np.abs(mid - 0.4).mean() > 0.1


def test_prepare_source_center_and_none_and_face_errors():
    pic = np.full((90, 160, 3), 0.5, np.float32)
    assert prepare_source(pic, mode="center").crop == Crop(35, 0, 90)
    assert prepare_source(pic, mode="auto").mode == "center"
    prep = prepare_source(pic, mode="none")
    assert prep.crop_is_whole_picture and prep.model_input(pic, 32).shape == (32, 32, 3)
    from fomm_tf.errors import InputError

    with pytest.raises(InputError, match="plain.png: no face found"):
        prepare_source(pic, mode="face", name="plain.png")


# --------------------------------------------------------------------------------------------
# end to end


def fomm(*args):
    return subprocess.run(
        [sys.executable, "-m", "fomm_tf.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def stream_seconds(path, sel):
    res = subprocess.run(
        [FFMPEG, "-hide_banner", "-i", str(path), "-map", sel, "-f", "null", "-"],
        capture_output=True,
        text=True,
    )
    times = [ln for ln in res.stderr.replace("\r", "\n").splitlines() if "time=" in ln]
    if res.returncode != 0 or not times:
        return None
    h, m, s = times[-1].split("time=")[1].split()[0].split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def test_animate_a_photo_pastes_back_at_full_size_and_keeps_the_sound(tmp_path):
    canvas = np.full((540, 960, 3), 0.35, np.float32)
    canvas[:, :300] = np.linspace(0.1, 0.9, 300)[None, :, None]  # something far from the face
    y0, x0 = 20, 420
    canvas[y0 : y0 + 512, x0 : x0 + 512] = skimage_data.astronaut().astype(np.float32) / 255
    write_image(tmp_path / "photo.png", canvas)
    driver = tmp_path / "talk.mp4"
    subprocess.run(
        [FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=12:duration=1.5",
         "-f", "lavfi", "-i", "sine=frequency=300:sample_rate=44100:duration=1.5",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(driver)],
        check=True,
    )  # fmt: skip
    out = tmp_path / "out.mp4"
    res = fomm("animate", "--config", "tiny-64", "--random-weights", "--source",
               tmp_path / "photo.png", "--driving", driver, "-o", out, "--batch-size", "6")  # fmt: skip
    assert res.returncode == 0, res.stderr
    frames, fps, size = probe_video(out)
    assert (frames, fps, size) == (18, 12, (540, 960))
    assert abs(stream_seconds(out, "0:a:0") - 18 / 12) <= 1 / 12
    picture = read_image(tmp_path / "photo.png")
    result = np.stack(list(VideoReader(out)))
    face = ASTRONAUT_FACE.shifted(x0, y0)
    far = np.ones((540, 960), bool)
    far[: int(face.y1 + 2.5 * face.size), int(face.x0 - 1.5 * face.size) :] = False
    diff = np.abs(result - picture)
    assert diff[:, far].mean() < 2 / 255 and np.percentile(diff[:, far], 99) < 8 / 255
    fy0, fy1, fx0, fx1 = int(face.y0), int(face.y1), int(face.x0), int(face.x1)
    assert diff[:, fy0:fy1, fx0:fx1].mean() > 0.05  # random weights: the face is redrawn


def test_animate_crop_face_without_a_face_is_one_line_naming_the_file(tmp_path):
    write_image(tmp_path / "wall.png", np.full((120, 160, 3), 0.5, np.float32))
    subprocess.run(
        [FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x64:rate=10:duration=0.3",
         "-pix_fmt", "yuv420p", str(tmp_path / "d.mp4")],
        check=True,
    )  # fmt: skip
    res = fomm("animate", "--config", "tiny-64", "--random-weights", "--crop", "face",
               "--source", tmp_path / "wall.png", "--driving", tmp_path / "d.mp4",
               "-o", tmp_path / "o.mp4")  # fmt: skip
    assert res.returncode == 2
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("fomm: error: ") and "wall.png: no face found" in last
    assert "Traceback" not in res.stderr and not (tmp_path / "o.mp4").exists()
