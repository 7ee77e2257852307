"""End-to-end tests of the ``fomm`` command on files the tests make."""

from pathlib import Path

import numpy as np
import pytest
from helpers import assert_one_line_error, fomm, last_line, tiny_config

from fomm_tf.data.synthetic import render_video
from fomm_tf.media.images import write_image
from fomm_tf.media.video_reader import probe_video
from fomm_tf.media.video_writer import VideoWriter


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    write_image(root / "source.png", render_video(1, 80, seed=5)[0])
    with VideoWriter(root / "driving.mp4", fps=15) as w:
        w.write(render_video(11, 64, seed=6))
    return root


def test_animate_writes_a_playable_video_with_the_drivers_frames_and_fps(inputs, official_dir):
    out = inputs / "result.mp4"
    # tiny-64 has the fixture's network widths and a 64x64 frame shape.
    res = fomm(
        "animate",
        "--config",
        "tiny-64",
        "--checkpoint",
        official_dir / "checkpoint.pth.tar",
        "--source",
        inputs / "source.png",
        "--driving",
        inputs / "driving.mp4",
        "-o",
        out,
        "--batch-size",
        "4",
        "--find-best-frame",
        "--side-by-side",
    )
    assert res.returncode == 0, res.stderr
    frames, fps, (h, w) = probe_video(out)
    assert (frames, fps, h, w) == (11, 15, 64, 3 * 64)
    assert "Traceback" not in res.stderr


def animate_random(source, driving, out):
    """``fomm animate`` with tiny-64's random networks."""
    args = ("--source", source, "--driving", driving, "-o", out)
    return fomm("animate", "--config", "tiny-64", "--random-weights", *args)


def test_truncated_driving_video_is_one_line_error_and_leaves_no_output(inputs, official_dir):
    data = (inputs / "driving.mp4").read_bytes()
    bad = inputs / "truncated.mp4"
    bad.write_bytes(data[: len(data) // 3])
    out = inputs / "never.mp4"
    res = animate_random(inputs / "source.png", bad, out)
    assert_one_line_error(res, "truncated.mp4")
    assert not out.exists()
    assert not [p for p in inputs.iterdir() if p.name.startswith(".tmp-")]


def test_text_file_named_png_is_one_line_error(inputs):
    fake = inputs / "fake.png"
    fake.write_text("this is not an image\n")
    out = inputs / "never2.mp4"
    res = animate_random(fake, inputs / "driving.mp4", out)
    assert_one_line_error(res, "fake.png")
    assert not out.exists()


def test_checkpoint_that_does_not_fit_the_config_exits_2(inputs, official_dir):
    res = fomm(
        "convert",
        official_dir / "checkpoint.pth.tar",
        "--config",
        "tiny-64",
        "-o",
        inputs / "x.weights.h5",
    )
    assert res.returncode == 0, res.stderr  # tiny-64 has the fixture's widths
    res = fomm(
        "convert",
        official_dir / "checkpoint.pth.tar",
        "--config",
        "vox-256",
        "-o",
        inputs / "y.weights.h5",
    )
    assert res.returncode == 2
    assert "does not fit the config" in last_line(res.stderr)
    assert not (inputs / "y.weights.h5").exists()


def test_converted_weights_animate_like_the_official_checkpoint(inputs, official_dir):
    converted = inputs / "x.weights.h5"
    if not converted.exists():
        assert (
            fomm(
                "convert",
                official_dir / "checkpoint.pth.tar",
                "--config",
                "tiny-64",
                "-o",
                converted,
            ).returncode
            == 0
        )
    assert (inputs / "x.yaml").exists()
    import fomm_tf

    a = fomm_tf.load_models(converted, inputs / "x.yaml")
    b = fomm_tf.load_official(official_dir / "checkpoint.pth.tar", official_dir / "config.yaml")
    x = np.random.default_rng(0).random((1, 64, 64, 3)).astype(np.float32)
    kp_a, kp_b = a.kp_detector(x), b.kp_detector(x)
    np.testing.assert_allclose(kp_a["value"], kp_b["value"], atol=1e-6)
    pa = a.generator(x, kp_source=kp_a, kp_driving=kp_a)["prediction"]
    pb = b.generator(x, kp_source=kp_b, kp_driving=kp_b)["prediction"]
    np.testing.assert_allclose(pa, pb, atol=1e-6)


def test_missing_checkpoint_and_no_random_weights_is_an_error(inputs):
    res = fomm(
        "animate",
        "--config",
        "tiny-64",
        "--source",
        inputs / "source.png",
        "--driving",
        inputs / "driving.mp4",
        "-o",
        inputs / "z.mp4",
    )
    assert res.returncode == 2
    assert "--random-weights" in last_line(res.stderr)


def test_help_explains_every_animate_flag():
    res = fomm("animate", "--help")
    assert res.returncode == 0
    for flag in (
        "--relative",
        "--absolute",
        "--adapt-scale",
        "--find-best-frame",
        "--batch-size",
        "--side-by-side",
        "--align-corners",
        "--backend",
    ):
        assert flag in res.stdout


def test_demo_runs_end_to_end_on_the_bundled_model(tmp_path):
    res = fomm("demo", "--out", tmp_path, "--frames", "6")
    assert res.returncode == 0, res.stderr
    assert "bundled default model face-128" in res.stderr
    for name, width in (("demo.mp4", 3 * 128), ("demo.gif", 3 * 128), ("demo-driving.mp4", 128)):
        frames, _, (h, w) = probe_video(Path(tmp_path) / name)
        assert frames == 6 and (w, h) == (width, 128), (name, frames, w, h)
    rows = {
        line.split()[0]: float(line.split()[-2])
        for line in res.stderr.splitlines()
        if line.strip().startswith(("animation", "copy"))
    }
    assert set(rows) == {"animation", "copy"}
    # The printed L1s are those of the animation and of the still source against the
    # renderer's ground truth (identity 900001 moving as 900002 does), recomputed here.
    from fomm_tf.bundled import resolve_model
    from fomm_tf.data.annotated import render_annotated
    from fomm_tf.eval.cross import animate_clip
    from fomm_tf.nets.models import load_models

    truth = render_annotated(6, 128, identity=900001, clip=0, motion_identity=900002).frames
    driving = render_annotated(6, 128, identity=900002, clip=0).frames
    config, checkpoint = resolve_model(None, None)
    models = load_models(checkpoint, config)
    result = animate_clip(models, truth[0], driving)
    truth = truth.astype(np.float64)
    # printed with 4 decimals: within half a unit of the last one
    assert rows["copy"] == pytest.approx(np.abs(truth - truth[:1]).mean(), abs=5e-5)
    assert rows["animation"] == pytest.approx(np.abs(truth - result).mean(), abs=5e-5)
    # The printed detail: variance of the 4-neighbour Laplacian of the grey frames (BT.601
    # weights, edges replicated), result over source, recomputed in numpy.
    said = [line for line in res.stderr.splitlines() if "detail is" in line]
    assert len(said) == 1, res.stderr[-2000:]
    printed = float(said[0].split("detail is ")[1].split("x")[0])

    def detail(frame):
        g = np.asarray(frame, np.float64) @ [0.299, 0.587, 0.114]
        p = np.pad(g, 1, mode="reflect")
        lap = p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4 * g
        return lap.var()

    want = np.mean([detail(f) for f in result]) / detail(truth[0])
    assert printed == pytest.approx(want, abs=0.006), (printed, want)


def test_tflite_backend_reproduces_the_keras_animation(inputs, official_dir):
    model_dir = inputs / "tflite-fp32"
    res = fomm(
        "export",
        "--config",
        "tiny-64",
        "--checkpoint",
        official_dir / "checkpoint.pth.tar",
        "--quant",
        "fp32",
        "-o",
        model_dir,
    )
    assert res.returncode == 0, res.stderr
    common = [
        "--source",
        inputs / "source.png",
        "--driving",
        inputs / "driving.mp4",
        "--batch-size",
        "4",
    ]
    keras_out, tflite_out = inputs / "keras.mp4", inputs / "tflite.mp4"
    res_k = fomm(
        "animate",
        "--config",
        "tiny-64",
        "--checkpoint",
        official_dir / "checkpoint.pth.tar",
        "-o",
        keras_out,
        *common,
    )
    res_t = fomm(
        "animate",
        "--config",
        "tiny-64",
        "--backend",
        "tflite",
        "--model-dir",
        model_dir,
        "--threads",
        "2",
        "-o",
        tflite_out,
        *common,
    )
    assert res_k.returncode == 0, res_k.stderr
    assert res_t.returncode == 0, res_t.stderr
    from fomm_tf.media.video_reader import VideoReader

    a = np.stack(list(VideoReader(keras_out)))
    b = np.stack(list(VideoReader(tflite_out)))
    assert a.shape == b.shape == (11, 64, 64, 3)
    # Both went through the same lossy encoder; identical frames encode identically.
    assert float(np.mean(np.abs(a - b))) < 2e-3


def test_train_evaluate_animate_chain_through_the_cli(tmp_path):
    from fomm_tf.data.synthetic import write_dataset

    data = write_dataset(
        tmp_path / "data", num_train=3, num_test=1, num_frames=5, size=32, layout="mp4"
    )
    cfg = tiny_config(tmp_path / "cfg.yaml", gan=False)
    log_dir = tmp_path / "run"
    res = fomm(
        "train",
        "--config",
        cfg,
        "--data",
        data,
        "--log-dir",
        log_dir,
        "--max-steps",
        "2",
        "--vgg19-weights",
        "random",
        "--no-progress",
    )
    assert res.returncode == 0, res.stderr
    assert "strategy: MirroredStrategy, replicas: 1" in res.stderr
    from fomm_tf.nets.layers.precision import missing_hardware

    # The precision fomm train picked, said in one line (bfloat16 where the CPU has it).
    picked = "bfloat16" if missing_hardware("bfloat16") is None else "float32"
    said = [ln for ln in res.stderr.splitlines() if "precision: " in ln]
    assert len(said) == 1 and f"precision: {picked} (" in said[0], said
    weights = log_dir / "export" / "fomm.weights.h5"
    assert weights.is_file()
    res = fomm(
        "evaluate",
        "--config",
        log_dir / "export" / "config.yaml",
        "--checkpoint",
        weights,
        "--data",
        data,
        "--json",
    )
    assert res.returncode == 0, res.stderr
    import json

    report = json.loads(res.stdout.strip().splitlines()[-1])
    assert report["videos"] == 1 and report["frames"] == 5 and 0 < report["l1"] < 1
    video = next((data / "test").iterdir())
    animate = [
        "animate",
        "--config",
        log_dir / "export" / "config.yaml",
        "--checkpoint",
        weights,
        "--source",
        tmp_path / "src.png",
        "--driving",
        video,
        "-o",
        tmp_path / "out.mp4",
    ]
    res = fomm(*animate)
    assert res.returncode == 2 and "src.png" in last_line(res.stderr)  # no such source yet
    write_image(tmp_path / "src.png", render_video(1, 32, seed=9)[0])
    res = fomm(*animate)
    assert res.returncode == 0, res.stderr
    assert probe_video(tmp_path / "out.mp4")[0] == 5


def test_train_on_an_empty_dataset_is_a_one_line_error(tmp_path):
    (tmp_path / "data" / "train").mkdir(parents=True)
    res = fomm(
        "train",
        "--config",
        "tiny-64",
        "--data",
        tmp_path / "data",
        "--log-dir",
        tmp_path / "run",
        "--max-steps",
        "1",
        "--vgg19-weights",
        "random",
    )
    assert res.returncode == 2
    assert last_line(res.stderr).startswith("fomm: error: ")
    assert "Traceback" not in res.stderr


def test_every_flag_of_every_command_has_help():
    import argparse

    from fomm_tf.cli import build_parser

    missing = []
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                missing += [
                    f"{name} {a.option_strings or a.dest}" for a in sub._actions if not a.help
                ]
    assert not missing


# `fomm animate`'s motion flags against fomm_tf.animation.motion: the keypoints each run hands the
# generator are normalize_kp's with the flag's options, and its frames are the networks' output
# for them (both videos through the same H.264 writer: identical frames encode identically).
MOTION_FLAGS = {
    "default": ([], (True, True, True)),
    "absolute": (["--absolute"], (False, True, True)),
    "no-relative-jacobian": (["--no-relative-jacobian"], (True, True, False)),
    "no-adapt-scale": (["--no-adapt-scale"], (True, False, True)),
}


@pytest.fixture(scope="module")
def motion_runs(tmp_path_factory, official_dir):
    """A 64² source of another identity than the driver's and, per option set (relative,
    adapt scale, relative Jacobian), the keypoints fomm_tf.animation.motion gives and the video."""
    from fomm_tf.animation.motion import normalize_kp
    from fomm_tf.media.images import read_image
    from fomm_tf.media.video_reader import VideoReader
    from fomm_tf.nets.models import load_models

    root = tmp_path_factory.mktemp("motion")
    write_image(root / "source.png", render_video(12, 64, seed=21)[11])
    with VideoWriter(root / "driving.mp4", fps=15) as w:
        w.write(render_video(11, 64, seed=6))
    models = load_models(official_dir / "checkpoint.pth.tar", "tiny-64")
    src = read_image(root / "source.png")[None]
    with VideoReader(root / "driving.mp4") as reader:
        frames = np.stack(list(reader))  # the frames the command reads
    kp_s = {k: np.asarray(v) for k, v in models.kp_detector(src).items()}
    kp_d = {k: np.asarray(v) for k, v in models.kp_detector(frames).items()}
    kp_d0 = {k: v[:1] for k, v in kp_d.items()}
    expected = {}
    for name, (_, (relative, adapt, rel_jac)) in MOTION_FLAGS.items():
        kp = normalize_kp(
            kp_s,
            kp_d,
            kp_d0,
            adapt_movement_scale=adapt,
            use_relative_movement=relative,
            use_relative_jacobian=rel_jac,
        )
        kp = {k: np.asarray(v) for k, v in kp.items()}
        out = models.generator(src, kp_source=kp_s, kp_driving=kp)["prediction"]
        with VideoWriter(root / f"expected-{name}.mp4", fps=15) as w:
            w.write(np.asarray(out))
        with VideoReader(root / f"expected-{name}.mp4") as reader:
            expected[name] = (kp, np.stack(list(reader)))
    return root, expected


@pytest.mark.parametrize("name", list(MOTION_FLAGS))
def test_animate_motion_flags_follow_the_motion_functions(
    motion_runs, official_dir, monkeypatch, name
):
    from fomm_tf import cli
    from fomm_tf.animation.keras_backend import KerasBackend
    from fomm_tf.media.video_reader import VideoReader

    root, expected = motion_runs
    fed = []
    real_generate = KerasBackend.generate

    def recording(self, kp_driving):
        fed.append({k: np.array(v) for k, v in kp_driving.items()})
        return real_generate(self, kp_driving)

    monkeypatch.setattr(KerasBackend, "generate", recording)
    out = root / f"cli-{name}.mp4"
    rc = cli.main(
        ["animate", "--config", "tiny-64", "--checkpoint", str(official_dir / "checkpoint.pth.tar"),
         "--source", str(root / "source.png"), "--driving", str(root / "driving.mp4"),
         "--crop", "center", "--driving-crop", "center", "--no-audio", "-o", str(out),
         *MOTION_FLAGS[name][0]]
    )  # fmt: skip
    assert rc == 0
    kp = {k: np.concatenate([f[k] for f in fed]) for k in fed[0]}
    kp_gaps = {
        other: max(float(np.abs(kp[k] - want[k]).max()) for k in kp)
        for other, (want, _) in expected.items()
    }
    with VideoReader(out) as reader:
        got = np.stack(list(reader))
    frame_gaps = {other: float(np.abs(got - want).mean()) for other, (_, want) in expected.items()}
    # Keypoints: measured ≤ 6e-7 from its own option set's (tf.function against eager round-off),
    # ≥ 0.047 from every other's.
    assert kp_gaps[name] <= 1e-5, kp_gaps
    assert all(gap >= 1e-2 for other, gap in kp_gaps.items() if other != name), kp_gaps
    # Frames, mean |difference| after H.264: measured ≤ 2.4e-4 from its own option set's video
    # (0 for three of the four), ≥ 1.9e-3 from every other's.
    assert frame_gaps[name] <= 6e-4, frame_gaps
    assert all(gap >= 1.2e-3 for other, gap in frame_gaps.items() if other != name), frame_gaps
