"""fomm_tf/apps/web.py, the Python half of ``make web-test`` (the browser half runs in
``web_demo/``): the clip writer, the PSNR and the report line."""

import base64

import numpy as np

from fomm_tf.apps.web import _format, _image, psnr, write_webm
from fomm_tf.media.video_reader import VideoReader


def test_psnr_and_report_line():
    a = np.zeros((2, 4, 4, 3), np.uint8)
    assert psnr(a, a) == float("inf")
    b = a.copy()
    b[0, 0, 0, 0] = 255
    assert abs(psnr(a, b) - 10 * np.log10(96)) < 1e-9
    report = {
        "frames": 2,
        "psnr_db": float("inf"),
        "psnr_min_db": 50.0,
        "max_abs_diff": 0,
        "ms_per_frame": 12.5,
        "ms": {"kp": 4.0, "motion": 0.1, "generator": 8.4, "total": 12.5},
        "fps": 24.0,
        "accelerators": {"kp_detector": "wasm", "generator": "wasm"},
        "threads": True,
        "decode_psnr_db": None,
    }
    line = _format(report, 40.0)
    assert line.startswith("web-test: PSNR page vs Python LiteRT inf dB (bit-identical)")
    assert "12.5 ms/frame" in line and "[wasm, threaded]" in line


def test_webm_clip_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    frames = np.repeat(np.linspace(0, 1, 40, dtype=np.float32)[None, None, :, None], 40, 1)
    frames = np.repeat(frames, 3, 3) * np.ones((5, 1, 1, 1), np.float32)
    frames[2] = rng.uniform(0, 1, frames[2].shape)
    path = write_webm(tmp_path / "clip.webm", frames, fps=25)
    assert path.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"
    with VideoReader(path) as reader:
        decoded = np.stack(list(reader))
    assert decoded.shape == frames.shape
    assert np.mean(np.abs(decoded[0] - frames[0])) < 0.02


def test_page_image_entries_decode():
    rgba = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    entry = {"width": 3, "height": 2, "rgba_b64": base64.b64encode(rgba.tobytes()).decode()}
    assert np.array_equal(_image(entry), rgba)
