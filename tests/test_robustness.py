"""What a camera or a phone can give: degenerate keypoints, odd drivers, huge frames.

Keras networks and motion rules here; every exported variant is checked in test_export.py.
"""

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fomm_tf
from fomm_tf import cli
from fomm_tf.animation.motion import (
    MotionOptions,
    movement_scale,
    movement_scale_rule,
    relative_jacobian,
)
from fomm_tf.data import pipeline
from fomm_tf.data.synthetic import render_video
from fomm_tf.media import decoder
from fomm_tf.media import images as media
from fomm_tf.media.images import write_image
from fomm_tf.media.video_reader import VideoReader, probe_video
from fomm_tf.media.video_writer import VideoWriter
from fomm_tf.nets.dense_motion import inverse_2x2
from fomm_tf.nets.layers.warp import grid_sample

K = 10  # tiny-64
EXTREMES = [math.nan, math.inf, -math.inf, 1e30, -1e30, 0.0, 50.0, -50.0, 1e-30]


def extreme_floats():
    """Mostly extremes, some ordinary values: every array holds a mix."""
    return st.one_of(st.sampled_from(EXTREMES), st.floats(-2, 2, width=32))


def keypoint_arrays():
    values = st.lists(extreme_floats(), min_size=K * 2, max_size=K * 2)
    jacobians = st.one_of(
        st.just([0.0] * (K * 4)),  # all singular
        st.lists(extreme_floats(), min_size=K * 4, max_size=K * 4),
    )
    return st.tuples(values, jacobians).map(
        lambda vj: {
            "value": np.asarray(vj[0], np.float32).reshape(1, K, 2),
            "jacobian": np.asarray(vj[1], np.float32).reshape(1, K, 2, 2),
        }
    )


@pytest.fixture(scope="module")
def tiny():
    return fomm_tf.build_models("tiny-64", seed=3)


@pytest.fixture(scope="module")
def source():
    return render_video(1, 64, seed=11)[0:1].astype(np.float32)


# ----------------------------------------------------------------------------- Keras networks


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(kp_s=keypoint_arrays(), kp_d=keypoint_arrays())
def test_keras_generator_output_is_finite_and_in_range_for_any_keypoints(tiny, source, kp_s, kp_d):
    out = tiny.generator(source, kp_source=kp_s, kp_driving=kp_d)
    pred = np.asarray(out["prediction"])
    assert np.isfinite(pred).all() and pred.min() >= 0.0 and pred.max() <= 1.0
    for key in ("mask", "occlusion_map", "deformed"):
        assert np.isfinite(np.asarray(out[key])).all(), key


def test_zero_jacobians_and_nan_keypoints_each_give_a_finite_frame(tiny, source):
    kp = {k: np.asarray(v) for k, v in tiny.kp_detector(source).items()}
    cases = {
        "zero jacobians": {**kp, "jacobian": np.zeros_like(kp["jacobian"])},
        "nan values": {**kp, "value": np.full_like(kp["value"], np.nan)},
        "inf jacobian": {**kp, "jacobian": np.full_like(kp["jacobian"], np.inf)},
        "far away": {**kp, "value": np.full_like(kp["value"], 1e30)},
    }
    for name, kp_d in cases.items():
        pred = np.asarray(tiny.generator(source, kp_source=kp, kp_driving=kp_d)["prediction"])
        assert np.isfinite(pred).all() and 0 <= pred.min() and pred.max() <= 1, name


def test_guards_leave_ordinary_keypoints_alone(tiny, source):
    """Finite, in-range keypoints: the guarded networks equal the plain computation."""
    from fomm_tf.nets.dense_motion import sparse_motions

    kp = {k: np.asarray(v) for k, v in tiny.kp_detector(source).items()}
    rng = np.random.default_rng(0)
    kp_d = {
        "value": kp["value"] + rng.normal(0, 0.1, kp["value"].shape).astype(np.float32),
        "jacobian": kp["jacobian"] + rng.normal(0, 0.1, kp["jacobian"].shape).astype(np.float32),
    }
    motions = np.asarray(sparse_motions(kp, kp_d, 16, 16))
    jac = kp["jacobian"] @ np.linalg.inv(kp_d["jacobian"])
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 16), np.linspace(-1, 1, 16)), -1)
    rel = grid[None, :, :, None, :] - kp_d["value"][:, None, None]
    expect = np.einsum("bkij,bhwkj->bhwki", jac, rel) + kp["value"][:, None, None]
    np.testing.assert_allclose(motions[..., 1:, :], expect, atol=2e-5)


@pytest.mark.parametrize("fill", [0.0, 1.0, np.nan])
def test_kp_detector_and_animation_survive_black_white_and_nan_frames(tiny, source, fill):
    from fomm_tf.animation.animator import Animator
    from fomm_tf.animation.keras_backend import KerasBackend

    frames = np.full((3, 64, 64, 3), fill, np.float32)
    kp = tiny.kp_detector(frames)
    assert kp["value"].shape == (3, K, 2)
    if not np.isnan(fill):
        assert np.isfinite(np.asarray(kp["value"])).all()
    anim = Animator(KerasBackend(tiny, batch_size=2), MotionOptions(adapt_movement_scale=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NaN keypoints: the fallback warns
        out = np.concatenate(list(anim.animate(source[0], list(frames))))
    assert out.shape == (3, 64, 64, 3)
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


def test_grid_sample_maps_nan_and_inf_coordinates_to_zero():
    image = np.ones((1, 8, 8, 2), np.float32)
    grid = np.array([[[[np.nan, 0.0], [0.0, np.inf], [-np.inf, np.nan], [0.0, 0.0]]]], np.float32)
    out = np.asarray(grid_sample(image, grid))
    np.testing.assert_array_equal(out[0, 0, :3], 0.0)
    np.testing.assert_allclose(out[0, 0, 3], 1.0)


def test_inverse_of_a_singular_matrix_is_zero_and_regular_ones_are_exact():
    rng = np.random.default_rng(1)
    m = rng.normal(size=(50, 2, 2)).astype(np.float32) + 2 * np.eye(2, dtype=np.float32)
    np.testing.assert_allclose(inverse_2x2(m), np.linalg.inv(m), rtol=1e-4, atol=1e-5)
    singular = np.array([np.zeros((2, 2)), [[1, 2], [2, 4]], [[0, 0], [0, 3]]], np.float32)
    np.testing.assert_array_equal(np.asarray(inverse_2x2(singular)), 0.0)


# ----------------------------------------------------------------------------- motion rules


SQUARE = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]], np.float32)
LINE = np.stack([np.linspace(-0.4, 0.4, 4), np.zeros(4)], -1).astype(np.float32)


def _kp(xy):
    return {"value": np.asarray(xy, np.float32)[None]}


def test_collinear_source_hull_uses_the_spread_ratio_with_a_warning():
    with pytest.warns(RuntimeWarning, match="spread rule"):
        scale = movement_scale(_kp(LINE), _kp(SQUARE))
    expect = np.sqrt(np.mean(np.sum((LINE - LINE.mean(0)) ** 2, 1))) / np.sqrt(0.5)
    assert scale == pytest.approx(expect, rel=1e-5) and scale > 0


@pytest.mark.parametrize(
    "src, drv",
    [
        (np.zeros((4, 2)), SQUARE),  # coincident source
        (SQUARE, np.zeros((4, 2))),  # coincident driver
        (np.full((4, 2), np.nan), SQUARE),  # non-finite
    ],
)
def test_coincident_or_nonfinite_keypoints_fall_back_to_one(src, drv):
    with pytest.warns(RuntimeWarning, match="one rule"):
        assert movement_scale(_kp(src), _kp(drv)) == 1.0


def test_regular_hulls_keep_the_official_area_rule_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert movement_scale(_kp(SQUARE * 0.5), _kp(SQUARE)) == pytest.approx(0.5)
    assert movement_scale_rule(SQUARE, SQUARE)[1] == "area"


@settings(max_examples=60, deadline=None)
@given(st.lists(extreme_floats(), min_size=16, max_size=16))
def test_movement_scale_is_never_zero_or_nonfinite(xs):
    pts = np.asarray(xs, np.float32).reshape(2, 4, 2)
    scale, _rule = movement_scale_rule(pts[0], pts[1])
    assert math.isfinite(scale) and scale > 0


def test_relative_jacobian_keeps_the_source_jacobian_where_the_initial_one_is_singular():
    rng = np.random.default_rng(2)
    j_s, j_d, j_d0 = (rng.normal(size=(1, 3, 2, 2)) + 2 * np.eye(2) for _ in range(3))
    j_d0[0, 1] = 0.0  # singular
    j_d0[0, 2] = np.nan
    out = np.asarray(relative_jacobian(j_s, j_d, j_d0))
    np.testing.assert_allclose(
        out[0, 0], j_d[0, 0] @ np.linalg.inv(j_d0[0, 0]) @ j_s[0, 0], rtol=1e-4
    )
    np.testing.assert_allclose(out[0, 1:], j_s[0, 1:], rtol=1e-6)


# ----------------------------------------------------------------------------- motion options


def test_shipped_configs_and_the_cli_share_one_source_of_motion_options():
    from fomm_tf.config import load_config

    for name in ("vox-256", "taichi-256", "tiny-64", "mgif-256"):
        opts = MotionOptions.from_config(load_config(name).raw)
        assert opts == MotionOptions(True, True, True), name
    base = MotionOptions.from_config(load_config("tiny-64").raw)
    assert base.override(adapt_movement_scale=False, relative=None).adapt_movement_scale is False
    assert base.override(relative=None) == base
    args = cli.build_parser().parse_args(
        ["animate", "--config", "tiny-64", "--source", "a", "--driving", "b", "-o", "c"]
    )
    assert (args.relative, args.adapt_scale, args.relative_jacobian) == (None, None, None)


# ----------------------------------------------------------------------------- drivers


def _ffmpeg():
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _numbered_frames(n, size=64):
    """Frames whose mean brightness encodes their index (8 + 16·i)."""
    return np.stack([np.full((size, size, 3), (8 + 16 * i) / 255.0, np.float32) for i in range(n)])


def test_variable_frame_rate_clip_is_resampled_without_drift(tmp_path):
    """10 frames shown at 5 fps, then 10 at 20 fps: every output frame is the one on screen."""
    frames_dir = tmp_path / "f"
    frames_dir.mkdir()
    for i, f in enumerate(_numbered_frames(14)):
        write_image(frames_dir / f"{i:03d}.png", f)
    clip = tmp_path / "vfr.mp4"
    show = [0.2] * 7 + [0.05] * 7  # seconds each frame is on screen
    starts = np.concatenate([[0.0], np.cumsum(show)[:-1]])
    expr = "+".join(f"eq(N,{i})*{t:.3f}" for i, t in enumerate(starts))
    subprocess.run(
        [_ffmpeg(), "-v", "error", "-y", "-framerate", "25", "-i", str(frames_dir / "%03d.png"),
         "-vf", f"setpts='({expr})/TB'", "-fps_mode", "vfr", "-c:v", "libx264", "-qp", "0",
         "-pix_fmt", "yuv444p", str(clip)],
        check=True,
    )  # fmt: skip
    with VideoReader(clip) as reader:
        out = np.stack(list(reader))
        fps = reader.fps
    duration = sum(show)
    assert len(out) / fps == pytest.approx(duration, abs=1.5 / fps)
    for j, frame in enumerate(out):
        t = j / fps  # when output frame j is shown
        expect = int(np.searchsorted(starts, t + 0.25 / fps, side="right") - 1)
        got = int(round((frame.mean() * 255 - 8) / 16))
        assert abs(got - expect) <= 1, (j, got, expect)


def test_unpadded_frame_folders_are_read_in_numeric_order_everywhere(tmp_path):
    folder = tmp_path / "video"
    folder.mkdir()
    frames = _numbered_frames(12, 32)
    for i, f in enumerate(frames):
        write_image(folder / f"{i + 1}.png", f)  # 1.png ... 12.png
    order = lambda v: [int(round((f.mean() * 255 - 8) / 16)) for f in v]  # noqa: E731
    assert order(VideoReader(folder)) == list(range(12))
    assert order(pipeline.read_video(folder, size=(32, 32))) == list(range(12))
    rng = np.random.default_rng(0)
    for _ in range(20):
        pair = order(pipeline._read_two_frames(folder, rng, (32, 32)))
        assert pair == sorted(pair)
    assert [p.name for p in media.list_frame_files(folder)][:3] == ["1.png", "2.png", "3.png"]


def test_large_driver_is_scaled_inside_the_decoder(tmp_path):
    clip = tmp_path / "big.mp4"
    subprocess.run(
        [_ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i",
         "testsrc2=size=1280x720:rate=10:duration=0.5", "-pix_fmt", "yuv420p", str(clip)],
        check=True,
    )  # fmt: skip
    with VideoReader(clip, size=64) as reader:
        assert "scale=64:64" in (reader._filters or "")
        assert reader.source_size == (720, 1280) and reader.frame_size == (64, 64)
        frames = np.stack(list(reader))
    assert frames.shape == (5, 64, 64, 3)
    # The same picture as fitting the full-resolution frames in Python.
    with VideoReader(clip) as full:
        ref = np.stack([media.fit_frame(f, 64) for f in full])
    assert np.abs(frames - ref).mean() < 0.02


# Peak RSS from /proc/self/status (VmHWM: this process image's own high-water mark). Not
# getrusage's ru_maxrss, which keeps the parent's RSS at the fork: under pytest, a parent
# larger than the child would hide the child's peak.
_HWM = "int(next(ln for ln in open('/proc/self/status') if ln.startswith('VmHWM')).split()[1])"
_RSS_SCRIPT = f"""
import sys
from fomm_tf import cli
rc = cli.main(["animate", "--config", "tiny-64", "--random-weights", "--source", sys.argv[1],
               "--driving", sys.argv[2], "-o", sys.argv[3]])
print("RSS_KB", {_HWM}, rc)
"""
# FFmpeg's H.264 decoder alone (PyAV, slice threads), frames decoded and dropped.
_DECODE_RSS_SCRIPT = f"""
import sys, av
with av.open(sys.argv[1]) as container:
    stream = container.streams.video[0]
    stream.thread_type = "SLICE"
    n = sum(1 for _ in container.decode(stream))
print("RSS_KB", {_HWM}, 0 if n == 12 else n)
"""


def _peak_rss_kb(*args, script=_RSS_SCRIPT):
    res = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    line = [ln for ln in res.stdout.splitlines() if ln.startswith("RSS_KB")]
    assert line, res.stderr[-2000:]
    _, kb, rc = line[-1].split()
    assert rc == "0", res.stderr[-2000:]
    return int(kb)


def test_4k_driver_costs_at_most_two_decoders_working_sets(tmp_path):
    """Peak RSS of `fomm animate` with a 3840x2160 driver against a 256² one of the same
    length: the difference is FFmpeg's 4K decoder (its frames), nothing of ours at full size.
    The default driving crop decodes the driver twice (face planning at <= 640 px, then the
    animation); the first pass's freed buffers stay in the heap (measured: 56 MB of 110 MB
    after closing), so at most two decoders' working sets are resident. The working set is
    measured here too, by the decoder alone. Measured (MB): decoder 138 vs 39, so 99;
    animate 929 vs 760, a difference of 170 against the bound 2 × 99 = 198. (The old bound,
    1.25× the 256² run's peak, scaled with TensorFlow's 0.7 GB instead of the decoder.)"""
    write_image(tmp_path / "src.png", render_video(1, 64, seed=1)[0])
    for name, size in (("small", "256x256"), ("uhd", "3840x2160")):
        subprocess.run(
            [_ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i",
             f"testsrc2=size={size}:rate=10:duration=1.2", "-pix_fmt", "yuv420p",
             str(tmp_path / f"{name}.mp4")],
            check=True,
        )  # fmt: skip
    decoder = _peak_rss_kb(tmp_path / "uhd.mp4", script=_DECODE_RSS_SCRIPT) - _peak_rss_kb(
        tmp_path / "small.mp4", script=_DECODE_RSS_SCRIPT
    )
    assert decoder > 30_000, decoder  # a 4K frame alone is 12 MB in YUV 4:2:0
    small = _peak_rss_kb(tmp_path / "src.png", tmp_path / "small.mp4", tmp_path / "a.mp4")
    uhd = _peak_rss_kb(tmp_path / "src.png", tmp_path / "uhd.mp4", tmp_path / "b.mp4")
    assert uhd - small <= 2 * decoder, (uhd, small, decoder)
    assert probe_video(tmp_path / "b.mp4")[0] == 12


@pytest.mark.parametrize("crop, passes", [("center", 2), ("auto", 3)])
def test_find_best_frame_decodes_the_driver_twice_not_three_times(
    tmp_path, monkeypatch, crop, passes
):
    """Keypoints, then animation; the driving face crop adds one planning pass (at <= 640 px)."""
    write_image(tmp_path / "src.png", render_video(1, 64, seed=1)[0])
    with VideoWriter(tmp_path / "drv.mp4", fps=10) as w:
        w.write(render_video(9, 64, seed=2))
    decodes = []
    original = decoder.FfmpegDecoder.frames

    def counting(self):
        decodes.append(1)
        return original(self)

    monkeypatch.setattr(decoder.FfmpegDecoder, "frames", counting)
    rc = cli.main(
        ["animate", "--config", "tiny-64", "--random-weights", "--find-best-frame",
         "--source", str(tmp_path / "src.png"), "--driving", str(tmp_path / "drv.mp4"),
         "-o", str(tmp_path / "out.mp4"), "--driving-crop", crop]
    )  # fmt: skip
    assert rc == 0 and len(decodes) == passes
    assert probe_video(tmp_path / "out.mp4")[0] == 9


# ----------------------------------------------------------------------------- fomm animate


def _write_clip(path, frames, fps=10):
    with VideoWriter(path, fps=fps) as w:
        w.write(frames)
    return path


@pytest.fixture(scope="module")
def drivers(tmp_path_factory):
    root = tmp_path_factory.mktemp("drivers")
    write_image(root / "src.png", render_video(1, 64, seed=4)[0])
    out = {
        "black": (_write_clip(root / "black.mp4", np.zeros((6, 64, 64, 3), np.float32)), 6, 10),
        "white": (_write_clip(root / "white.mp4", np.ones((6, 64, 64, 3), np.float32)), 6, 10),
        "one-frame": (_write_clip(root / "one.mp4", render_video(1, 64, seed=5)), 1, 10),
    }
    folder = root / "unpadded"
    folder.mkdir()
    for i, f in enumerate(render_video(12, 64, seed=6)):
        write_image(folder / f"{i + 1}.png", f)
    out["unpadded-folder"] = (folder, 12, 25)  # a frame folder has no rate: 25 fps (README)
    return root, out


def animate_tiny(source, driving, out) -> tuple[int, float]:
    """`fomm animate` with the tiny random model; returns the output's frame count and fps."""
    args = ["animate", "--config", "tiny-64", "--random-weights", "--source", str(source)]
    assert cli.main([*args, "--driving", str(driving), "-o", str(out)]) == 0
    n, fps, _ = probe_video(out)
    return n, fps


@pytest.mark.parametrize("kind", ["black", "white", "one-frame", "unpadded-folder"])
def test_fomm_animate_on_odd_drivers_exits_0_with_the_right_length(drivers, kind):
    root, cases = drivers
    driving, frames, fps = cases[kind]
    n, got_fps = animate_tiny(root / "src.png", driving, root / f"{kind}.out.mp4")
    assert n == frames and got_fps == pytest.approx(fps)


def test_fomm_animate_on_a_variable_frame_rate_clip_keeps_its_duration(tmp_path):
    frames_dir = tmp_path / "f"
    frames_dir.mkdir()
    for i, f in enumerate(render_video(12, 64, seed=3)):
        write_image(frames_dir / f"{i:03d}.png", f)
    write_image(tmp_path / "src.png", render_video(1, 64, seed=4)[0])
    clip = tmp_path / "vfr.mp4"
    subprocess.run(
        [_ffmpeg(), "-v", "error", "-y", "-framerate", "25", "-i", str(frames_dir / "%03d.png"),
         "-vf", "setpts='if(lt(N,6),N/6,1+(N-6)/24)/TB'", "-fps_mode", "vfr",
         "-pix_fmt", "yuv420p", str(clip)],
        check=True,
    )  # fmt: skip
    n, fps = animate_tiny(tmp_path / "src.png", clip, tmp_path / "out.mp4")
    driver_duration = 1 + 6 / 24 + 1 / 24  # last frame shown for one 24-fps tick
    assert n / fps == pytest.approx(driver_duration, abs=1.5 / fps)
