"""``fomm evaluate`` and ``fomm make-dataset`` through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import assert_one_line_error, fomm

from fomm_tf.data.annotated import write_annotated_dataset
from fomm_tf.data.photo_clips import write_photo_dataset
from fomm_tf.errors import InputError
from fomm_tf.media.images import read_image


def _evaluate(data, out, official_dir, *extra):
    return fomm(
        "evaluate",
        "--config",
        "tiny-64",
        "--checkpoint",
        official_dir / "checkpoint.pth.tar",
        "--data",
        data,
        "-o",
        out,
        "--no-progress",
        *extra,
    )


def test_synthetic_dataset_evaluates_into_a_full_report(tmp_path: Path, official_dir):
    data = write_annotated_dataset(tmp_path / "ds", 0, 2, 6, size=64, seed=1, progress=False)
    out = tmp_path / "report"
    res = _evaluate(data, out, official_dir, "--json", "--batch-size", "4")
    assert res.returncode == 0, res.stderr
    report = json.loads((out / "metrics.json").read_text())
    assert json.loads(res.stdout.strip().splitlines()[-1]) == report
    assert report["detector"] == "synthetic-face"
    assert report["videos"] == 2 and report["frames"] == 12
    for metrics in (report["model"], *report["baselines"].values()):
        assert set(metrics) == {"l1", "akd", "mkr", "aed"}
        assert 0 < metrics["l1"] < 1 and 0 <= metrics["mkr"] <= 1
    assert set(report["baselines"]) == {"copy_source", "global_affine"}
    assert "| copy source |" in (out / "metrics.md").read_text()
    sheet = read_image(out / "contact_sheet.png")
    assert sheet.shape[1] == 5 * 64 and sheet.shape[0] > 2 * 4 * 64  # 2 videos × 4 frames
    assert read_image(out / "l1_per_frame.png").shape[0] > 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "report"]  # no temporaries


def test_real_face_clip_with_the_face_detector(tmp_path: Path, official_dir):
    data = write_photo_dataset(tmp_path / "photo", 0, 1, 4, size=64, progress=False)
    res = _evaluate(data, tmp_path / "report", official_dir, "--detector", "face", "--json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout.strip().splitlines()[-1])
    assert report["detector"] == "face" and report["frames"] == 4
    for name, metrics in report["baselines"].items():
        assert None not in metrics.values(), name  # the face is found in every baseline frame
    assert report["baselines"]["copy_source"]["akd"] > 0
    assert report["model"]["l1"] > 0 and report["model"]["mkr"] is not None


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, official_dir):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_line_error(_evaluate(empty, tmp_path / "r1", official_dir), "holds no videos")
    assert not (tmp_path / "r1").exists()


def _run_in_process(*argv):
    from fomm_tf.cli import build_parser

    args = build_parser().parse_args(["evaluate", *map(str, argv)])
    return args._run(args)


def test_unreadable_videos_and_a_missing_model_are_input_errors(
    tmp_path: Path, official_dir, monkeypatch
):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.mp4").write_text("not a video\n")
    (broken / "b.gif").write_bytes(b"GIF89a garbage")
    with pytest.raises(InputError, match="no readable videos .*2 unreadable"):
        _run_in_process(
            "--config",
            "tiny-64",
            "--checkpoint",
            official_dir / "checkpoint.pth.tar",
            "--data",
            broken,
            "-o",
            tmp_path / "r2",
            "--no-progress",
        )
    assert not (tmp_path / "r2").exists()
    with pytest.raises(InputError, match="--config tiny-64 needs --checkpoint"):
        _run_in_process("--data", broken, "--config", "tiny-64")
    import fomm_tf.bundled

    monkeypatch.setattr(fomm_tf.bundled, "DEFAULT_DIR", tmp_path / "nothing-here")
    with pytest.raises(InputError, match="bundled default model is missing.*--checkpoint"):
        _run_in_process("--data", broken)
