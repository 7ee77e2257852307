"""The driver's sound in the output: kept, cut to the video, absent when absent, never fatal."""

import logging
import random
import subprocess

import imageio_ffmpeg
import numpy as np
import pytest

from fomm_tf.animation.audio import AudioError, has_audio, mux_audio, video_with_audio
from fomm_tf.data.synthetic import render_video

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg(*args):
    subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *map(str, args)], check=True
    )


def durations(path) -> dict[str, float]:
    """Duration of each stream type in seconds, decoded (not the container's claim)."""
    out = {}
    for kind, sel in (("video", "0:v:0"), ("audio", "0:a:0")):
        res = subprocess.run(
            [FFMPEG, "-hide_banner", "-i", str(path), "-map", sel, "-f", "null", "-"],
            capture_output=True,
            text=True,
        )
        times = [ln for ln in res.stderr.replace("\r", "\n").splitlines() if "time=" in ln]
        if res.returncode == 0 and times:
            h, m, s = times[-1].split("time=")[1].split()[0].split(":")
            out[kind] = int(h) * 3600 + int(m) * 60 + float(s)
    return out


def make_driver(path, seconds=2.0, fps=15, audio=True):
    args = ["-f", "lavfi", "-i", f"testsrc=size=64x64:rate={fps}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}"]
    ffmpeg(
        *args, "-c:v", "libx264", "-pix_fmt", "yuv420p", *(["-c:a", "aac"] if audio else []), path
    )
    return path


def write_frames(out, n, fps, driver):
    with video_with_audio(out, fps, driver) as writer:
        writer.write(render_video(n, 64, seed=1))
    return writer


def test_the_drivers_sound_is_kept_and_cut_to_the_animation(tmp_path):
    driver = make_driver(tmp_path / "talk.mp4", seconds=3.0)
    assert has_audio(driver)
    out = tmp_path / "out.mp4"
    write_frames(out, 20, 15.0, driver)  # 20 frames at 15 fps: 1.333 s of the 3 s driver
    d = durations(out)
    assert abs(d["video"] - 20 / 15) <= 1 / 15
    assert abs(d["audio"] - 20 / 15) <= 1 / 15
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4", "talk.mp4"]


def test_a_silent_driver_gives_a_silent_video(tmp_path):
    driver = make_driver(tmp_path / "silent.mp4", audio=False)
    assert not has_audio(driver)
    out = tmp_path / "out.mp4"
    write_frames(out, 10, 15.0, driver)
    assert "audio" not in durations(out) and not has_audio(out)
    assert not has_audio(tmp_path)  # a folder of frames has no sound


def test_no_audio_flag_and_gif_output_give_no_sound(tmp_path):
    driver = make_driver(tmp_path / "talk.mp4")
    write_frames(tmp_path / "off.mp4", 10, 15.0, None)
    write_frames(tmp_path / "out.gif", 10, 15.0, driver)
    assert not has_audio(tmp_path / "off.mp4")
    assert not has_audio(tmp_path / "out.gif")


def corrupt_audio_driver(tmp_path):
    """A driver whose AAC frames after the 10th hold random bytes (headers intact)."""
    aac = tmp_path / "sound.aac"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=2", aac)
    data = bytearray(aac.read_bytes())
    rng = random.Random(0)
    i = n = 0
    while i < len(data) - 7:
        if data[i] == 0xFF and data[i + 1] & 0xF0 == 0xF0:  # ADTS sync word
            length = ((data[i + 3] & 3) << 11) | (data[i + 4] << 3) | (data[i + 5] >> 5)
            if n >= 10:
                data[i + 7 : i + length] = bytes(rng.randrange(256) for _ in range(length - 7))
            i, n = i + length, n + 1
        else:
            i += 1
    aac.write_bytes(bytes(data))
    driver = tmp_path / "broken.mkv"
    video = ["-f", "lavfi", "-i", "testsrc=size=64x64:rate=15:duration=2"]
    ffmpeg(
        *video, "-i", aac, "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-c:a", "copy", driver
    )
    return driver


def test_a_corrupt_sound_costs_the_sound_not_the_video(tmp_path, caplog):
    driver = corrupt_audio_driver(tmp_path)
    assert has_audio(driver)
    with pytest.raises(AudioError):
        mux_audio(driver, driver, tmp_path / "direct.mp4", 1.0)
    out = tmp_path / "out.mp4"
    with caplog.at_level(logging.WARNING, logger="fomm_tf.animation.audio"):
        write_frames(out, 12, 15.0, driver)
    assert "could not be kept" in caplog.text
    d = durations(out)
    assert "audio" not in d and abs(d["video"] - 12 / 15) <= 1 / 15
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_failing_animation_leaves_no_file(tmp_path):
    driver = make_driver(tmp_path / "talk.mp4")
    with pytest.raises(RuntimeError), video_with_audio(tmp_path / "out.mp4", 15, driver) as w:
        w.write(np.zeros((2, 64, 64, 3), np.float32))
        raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["talk.mp4"]


RATE = 44100


def pcm(path) -> np.ndarray:
    """The first audio stream decoded to mono float32 samples at 44.1 kHz (ffmpeg honours
    the MP4 edit list, so AAC's priming samples are not counted)."""
    res = subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-i", str(path), "-map", "0:a:0",
         "-ac", "1", "-ar", str(RATE), "-f", "f32le", "-"],
        capture_output=True,
        check=True,
    )  # fmt: skip
    return np.frombuffer(res.stdout, np.float32)


def stream_starts(path) -> dict[str, float]:
    """Start time (s) of the first video and audio streams, from the container."""
    import av

    with av.open(str(path)) as container:
        return {
            kind: float(streams[0].start_time * streams[0].time_base)
            for kind, streams in (
                ("video", container.streams.video),
                ("audio", container.streams.audio),
            )
            if streams
        }


def chirp_driver(path, seconds=3.0, fps=15):
    """A driver whose sound is silent for 0.4 s, then a rising chirp (no two instants alike)."""
    sound = "if(lt(t\\,0.4)\\,0\\,0.5*sin(2*PI*(300+400*t)*t))"
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc=size=64x64:rate={fps}:duration={seconds}",
        "-f", "lavfi", "-i", f"aevalsrc={sound}:s={RATE}:d={seconds}",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "192k", path,
    )  # fmt: skip
    return path


def animate(driver, out, *flags):
    """``fomm animate`` (tiny-64, random weights) of a synthetic face by ``driver``."""
    from fomm_tf import cli
    from fomm_tf.media import write_image

    source = out.with_suffix(".png")
    write_image(source, render_video(1, 64, seed=4)[0])
    return cli.main(
        ["animate", "--config", "tiny-64", "--random-weights", "--source", str(source),
         "--driving", str(driver), "--crop", "center", "--driving-crop", "center",
         "-o", str(out), *flags]
    )  # fmt: skip


def test_fomm_animate_keeps_the_drivers_sound_from_its_first_instant(tmp_path):
    driver = chirp_driver(tmp_path / "chirp.mp4")
    out = tmp_path / "out.mp4"
    assert animate(driver, out) == 0
    starts = stream_starts(out)
    # the sound starts with the first frame (within one AAC frame, 1024 samples = 23 ms)
    assert abs(starts["audio"] - starts["video"]) <= 1024 / RATE, starts
    got, ref = pcm(out), pcm(driver)
    # the silence ends where the driver's does (0.4 s)
    onset = np.argmax(np.abs(got) > 0.1) / RATE
    assert abs(onset - 0.4) <= 0.005, onset  # measured: 0.40007 s
    # and it is the driver's sound sample for sample: the cross-correlation peaks at lag 0
    n = min(len(got), len(ref))
    a, b = got[:n].astype(np.float64), ref[:n].astype(np.float64)
    spectrum = np.fft.rfft(a, 2 * n) * np.conj(np.fft.rfft(b, 2 * n))
    xcorr = np.fft.irfft(spectrum)
    lag = int(np.argmax(xcorr))
    lag = lag - 2 * n if lag > n else lag
    corr = float(np.dot(a, b) / np.sqrt(np.dot(a, a) * np.dot(b, b)))
    assert lag == 0, lag
    assert corr >= 0.999, corr  # measured: 0.99999998 (decoded AAC encoded again at 160k)
    assert abs(len(got) / RATE - 3.0) <= 1024 / RATE  # the whole 45 frames at 15 fps


def test_fomm_animate_no_audio_writes_a_silent_video(tmp_path):
    driver = chirp_driver(tmp_path / "chirp.mp4", seconds=1.0)
    assert has_audio(driver)
    assert animate(driver, tmp_path / "quiet.mp4", "--no-audio") == 0
    assert not has_audio(tmp_path / "quiet.mp4")
    assert durations(tmp_path / "quiet.mp4") == pytest.approx({"video": 1.0}, abs=1 / 15)
