"""The synthetic dataset with ground truth: determinism, landmark validity, layout, bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fomm_tf.data.annotated import (
    BODY_LANDMARKS,
    FACE_LANDMARKS,
    read_sidecar,
    render_annotated,
    write_annotated_dataset,
)
from fomm_tf.data.pipeline import read_video, scan_split, video_id
from fomm_tf.errors import InputError


@pytest.mark.parametrize("kind", ["face", "body"])
def test_visible_landmarks_lie_in_the_frame_and_some_hide(kind):
    names = FACE_LANDMARKS if kind == "face" else BODY_LANDMARKS
    hidden = 0
    for identity in range(3):
        v = render_annotated(24, 64, identity=identity, clip=1, kind=kind)
        assert v.frames.shape == (24, 64, 64, 3) and v.landmarks.shape == (24, len(names), 2)
        xy = v.landmarks[v.visible]
        assert np.all((xy >= 0) & (xy <= 63))
        assert v.visible.mean() > 0.6  # mostly visible ...
        hidden += int((~v.visible).sum())
        # landmarks move smoothly: under 6 px per frame at 64x64
        assert np.abs(np.diff(v.landmarks, axis=0)).max() < 6
    assert hidden > 0  # ... but the motion does hide some (yaw, blinks, self-occlusion)


def test_face_landmarks_sit_on_the_drawn_features():
    v = render_annotated(1, 128, identity=5, kind="face")
    frame, lm = v.frames[0], v.landmarks[0]
    # a visible pupil is darker than the skin at the nose tip
    nose = frame[int(round(lm[10, 1])), int(round(lm[10, 0]))].mean()
    for k in (0, 1):
        if v.visible[0, k]:
            x, y = (int(round(c)) for c in lm[k])
            assert frame[y, x].mean() < nose


def test_same_arguments_give_byte_identical_files(tmp_path: Path):
    args = dict(num_train=2, num_test=2, num_frames=4, size=48, seed=4, progress=False)
    a = write_annotated_dataset(tmp_path / "a", **args)
    b = write_annotated_dataset(tmp_path / "b", **args)
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b and len(files_a) == 8
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_dataset_layout_sidecars_and_disjoint_identities(tmp_path: Path):
    root = write_annotated_dataset(
        tmp_path / "ds", 4, 2, 5, size=48, kind="body", seed=1, layout="frames", progress=False
    )
    train, test = scan_split(root, "train"), scan_split(root, "test")
    assert len(train.videos) == 4 and len(test.videos) == 2
    assert not {video_id(p) for p in train.videos} & {video_id(p) for p in test.videos}
    for path in test.videos:
        side = read_sidecar(path)
        assert side.landmarks.shape == (5, len(BODY_LANDMARKS), 2)
        assert side.visible.shape == (5, len(BODY_LANDMARKS))
        assert side.landmark_names == BODY_LANDMARKS
        assert f"id{side.identity:07d}" == video_id(path)
        video = read_video(path)
        ref = render_annotated(5, 48, side.identity, int(path.name[-2:]) - 1, "body")
        assert np.abs(video - ref.frames).max() <= 1 / 255 + 1e-6  # PNG: exact to 8 bits
        assert np.array_equal(side.landmarks, ref.landmarks)


def test_non_empty_folder_needs_overwrite_and_failure_leaves_nothing(tmp_path: Path):
    out = tmp_path / "ds"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    cmd = [sys.executable, "-m", "fomm_tf.cli", "make-dataset", "synthetic", "--out", str(out)]
    cmd += ["--train-videos", "0", "--test-videos", "1", "--frames", "2", "--size", "32"]
    cmd += ["--seed", "0"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and "--overwrite" in res.stderr.strip().splitlines()[-1]
    assert "Traceback" not in res.stderr
    assert (out / "keep.txt").exists()
    res = subprocess.run(cmd + ["--overwrite"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert not (out / "keep.txt").exists() and len(list((out / "test").iterdir())) == 2
    # bad arguments fail before anything is written, and no temporary folder is left
    with pytest.raises(InputError):
        write_annotated_dataset(tmp_path / "bad", 1, 0, 3, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_a_failure_midway_leaves_the_previous_dataset_untouched(tmp_path: Path, monkeypatch):
    import fomm_tf.data.annotated as annotated

    root = write_annotated_dataset(tmp_path / "ds", 0, 1, 2, size=32, progress=False)
    before = sorted(p.name for p in (root / "test").iterdir())
    real = annotated.render_annotated
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(annotated, "render_annotated", flaky)
    with pytest.raises(RuntimeError, match="disk full"):
        write_annotated_dataset(root, 1, 2, 2, size=32, seed=5, overwrite=True, progress=False)
    assert sorted(p.name for p in (root / "test").iterdir()) == before
    assert not any((root / "train").iterdir())  # the first dataset had no train videos
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]  # no temporary folder left
