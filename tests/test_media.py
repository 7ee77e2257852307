"""Tests for fomm_tf.media: streaming readers, fitting, and atomic writers."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
import pytest

from fomm_tf.data.synthetic import render_video
from fomm_tf.errors import InputError
from fomm_tf.media.atomic import atomic_path
from fomm_tf.media.images import fit_frame, read_image, to_uint8, write_image
from fomm_tf.media.video_reader import VideoReader, probe_video
from fomm_tf.media.video_writer import VideoWriter


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return render_video(num_frames=12, size=64, seed=1)


@pytest.fixture(scope="module")
def mp4(tmp_path_factory: pytest.TempPathFactory, clip: np.ndarray) -> Path:
    path = tmp_path_factory.mktemp("mp4") / "clip.mp4"
    with VideoWriter(path, fps=15) as writer:
        writer.write(clip)
    return path


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_mp4_round_trip_keeps_frame_count_fps_and_pixels(mp4: Path, clip: np.ndarray) -> None:
    with VideoReader(mp4) as reader:
        assert reader.fps == pytest.approx(15)
        assert reader.num_frames == 12
        assert reader.frame_size == (64, 64)
        frames = np.stack(list(reader))
    assert frames.shape == (12, 64, 64, 3) and frames.dtype == np.float32
    assert np.abs(frames - clip).mean() < 0.05
    assert probe_video(mp4) == (12, pytest.approx(15), (64, 64))


def test_gif_is_read_with_right_frame_count(tmp_path: Path, clip: np.ndarray) -> None:
    path = tmp_path / "clip.gif"
    with VideoWriter(path, fps=10) as writer:
        writer.write(clip[:7])
    frames = list(VideoReader(path))
    assert len(frames) == 7 and frames[0].shape == (64, 64, 3)
    assert np.abs(np.stack(frames) - clip[:7]).mean() < 0.05


def test_frame_folder_is_read_in_natural_order(tmp_path: Path, clip: np.ndarray) -> None:
    folder = tmp_path / "frames"
    for i in range(11):  # 0.png ... 10.png: "10" must come last, not after "1"
        write_image(folder / f"{i}.png", clip[i])
    with VideoReader(folder) as reader:
        assert reader.num_frames == 11
        frames = np.stack(list(reader))
    assert frames.shape == (11, 64, 64, 3)
    assert np.abs(frames[10] - clip[10]).max() < 1 / 255 + 1e-6


def test_strip_is_read_with_right_frame_count(tmp_path: Path, clip: np.ndarray) -> None:
    path = tmp_path / "strip.png"
    write_image(path, np.concatenate(list(clip[:5]), axis=1))
    with VideoReader(path) as reader:
        assert reader.num_frames == 5
        frames = list(reader)
    assert len(frames) == 5 and frames[4].shape == (64, 64, 3)


def test_strip_with_non_square_frames_raises_input_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.png"
    write_image(path, np.zeros((10, 25, 3), np.float32))
    with pytest.raises(InputError, match="bad.png"):
        VideoReader(path)


def test_grayscale_png_becomes_rgb(tmp_path: Path) -> None:
    path = tmp_path / "gray.png"
    iio.imwrite(path, np.full((20, 30), 128, np.uint8))
    img = read_image(path)
    assert img.shape == (20, 30, 3) and img.dtype == np.float32
    assert np.allclose(img, 128 / 255)


def test_rgba_png_is_composited_on_white(tmp_path: Path) -> None:
    path = tmp_path / "rgba.png"
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[:, :4, 3] = 255  # left half opaque black, right half fully transparent
    iio.imwrite(path, rgba)
    img = read_image(path)
    assert img.shape == (8, 8, 3)
    assert np.allclose(img[:, :4], 0) and np.allclose(img[:, 4:], 1)


@pytest.mark.parametrize("channels", [1, 3])
def test_sixteen_bit_png_keeps_precision(tmp_path: Path, channels: int) -> None:
    path = tmp_path / "deep.png"
    iio.imwrite(path, np.full((4, 4, channels), 1000, np.uint16).squeeze(), plugin="opencv")
    assert np.allclose(read_image(path), 1000 / 65535, atol=1e-6)


def test_fit_frame_crops_the_centre_to_a_square() -> None:
    frame = np.zeros((100, 60, 3), np.float32)
    frame[20:80] = 1.0  # the centre 60x60 square is white, the 20-row bands are black
    out = fit_frame(frame, 64)
    assert out.shape == (64, 64, 3) and out.dtype == np.float32
    assert out.min() > 0.99  # only the centre survived the crop


def test_fit_frame_to_height_width_pair() -> None:
    out = fit_frame(np.random.default_rng(0).random((48, 48, 3)), (32, 64))
    assert out.shape == (32, 64, 3) and 0 <= out.min() and out.max() <= 1


def test_reader_fits_frames_to_size(mp4: Path) -> None:
    with VideoReader(mp4, size=(32, 48)) as reader:
        assert reader.frame_size == (32, 48) and reader.source_size == (64, 64)
        assert next(iter(reader)).shape == (32, 48, 3)


def test_to_uint8_rounds_and_clips() -> None:
    out = to_uint8(np.array([-0.5, 0.0, 0.5, 1.0, 2.0], np.float32))
    assert out.dtype == np.uint8 and out.tolist() == [0, 0, 128, 255, 255]


def test_text_file_renamed_png_raises_input_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("this is not an image\n")
    with pytest.raises(InputError, match=r"notes\.png: not a readable image"):
        read_image(path)


def test_text_file_renamed_mp4_raises_input_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 20)
    with pytest.raises(InputError, match=r"notes\.mp4"):
        VideoReader(path)


def test_truncated_mp4_raises_input_error(tmp_path: Path, mp4: Path) -> None:
    data = mp4.read_bytes()
    path = tmp_path / "half.mp4"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"half\.mp4"):
        with VideoReader(path) as reader:
            list(reader)


def test_truncated_faststart_mp4_raises_input_error_midway(
    tmp_path: Path, clip: np.ndarray
) -> None:
    # index at the front: ffmpeg decodes the first frames, then hits the missing data
    good = tmp_path / "fast.mp4"
    gen = imageio_ffmpeg.write_frames(
        str(good),
        (64, 64),
        fps=15,
        quality=10,
        macro_block_size=1,
        ffmpeg_log_level="error",
        output_params=["-movflags", "+faststart"],
    )
    gen.send(None)
    for frame in to_uint8(clip):
        gen.send(frame)
    gen.close()
    data = good.read_bytes()
    path = tmp_path / "fast_half.mp4"
    path.write_bytes(data[: len(data) // 2])
    decoded = []
    with pytest.raises(InputError, match=r"fast_half\.mp4: corrupt video"):
        with VideoReader(path) as reader:
            decoded.extend(reader)
    assert 0 < len(decoded) < len(clip)


def test_empty_mp4_raises_input_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.touch()
    with pytest.raises(InputError, match=r"empty\.mp4"):
        VideoReader(path)


def test_missing_file_raises_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nowhere\.mp4"):
        VideoReader(tmp_path / "nowhere.mp4")
    with pytest.raises(InputError, match=r"nowhere\.png: not a readable image"):
        read_image(tmp_path / "nowhere.png")


def test_video_writer_leaves_nothing_when_the_block_raises(
    tmp_path: Path, clip: np.ndarray
) -> None:
    path = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="boom"):
        with VideoWriter(path, fps=15) as writer:
            writer.write(clip[:4])
            raise RuntimeError("boom")
    assert _listing(tmp_path) == []


def test_video_writer_file_appears_only_after_close(tmp_path: Path, clip: np.ndarray) -> None:
    path = tmp_path / "out.mp4"
    writer = VideoWriter(path, fps=15)
    writer.write(clip[:3])
    writer.write(clip[3])
    assert not path.exists()
    writer.close()
    assert _listing(tmp_path) == ["out.mp4"]
    assert probe_video(path)[0] == 4


def test_video_writer_pads_odd_sizes_to_even(tmp_path: Path, clip: np.ndarray) -> None:
    path = tmp_path / "odd.mp4"
    with VideoWriter(path, fps=15) as writer:
        writer.write(clip[:2, :63, :61])
    assert probe_video(path)[2] == (64, 62)


def test_atomic_path_renames_on_success_and_cleans_up_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "stats.json"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".json"
        tmp.write_text("{}")
        assert not target.exists()
    assert target.read_text() == "{}"
    with pytest.raises(ValueError):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise ValueError
    assert target.read_text() == "{}" and _listing(tmp_path) == ["stats.json"]


def test_batches_yield_right_shapes_and_stream(mp4: Path) -> None:
    produced = 0

    class CountingReader(VideoReader):
        def __iter__(self):
            nonlocal produced
            for frame in super().__iter__():
                produced += 1
                yield frame

    with CountingReader(mp4) as reader:
        consumed = 0
        shapes = []
        for batch in reader.batches(5):
            consumed += len(batch)
            shapes.append(batch.shape)
            # frames are pulled lazily: nothing beyond this batch was decoded yet
            assert produced == consumed
    assert shapes == [(5, 64, 64, 3), (5, 64, 64, 3), (2, 64, 64, 3)]
