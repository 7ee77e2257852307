"""A ``tensorflow-datasets`` builder, ``fomm_videos``, for a local dataset in the official layout.

The videos are not downloaded: point the builder at a folder holding ``train/`` and ``test/``
(see :mod:`fomm_tf.data.pipeline`) through the manual dir::

    import tensorflow_datasets as tfds
    import fomm_tf.data.tfds_builder  # registers "fomm_videos"

    ds = tfds.load("fomm_videos", split="train", data_dir="~/tfds",
                   download_and_prepare_kwargs={"download_config":
                       tfds.download.DownloadConfig(manual_dir="data/vox-png")})

Each example holds one whole video: ``video`` (T, H, W, 3) uint8 (frames are stored as PNG, the
size of the source), ``name`` (the file or folder name), ``id`` (the identity before ``#``)
and ``num_frames``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds

from .pipeline import LAYOUT_HELP, read_video, scan_split, video_id


class FommVideos(tfds.core.GeneratorBasedBuilder):
    """Videos of a FOMM dataset folder (``train`` and ``test`` splits)."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = f"Pass the dataset root as manual_dir; {LAYOUT_HELP}."

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(
                {
                    "video": tfds.features.Video(shape=(None, None, None, 3)),
                    "name": tfds.features.Text(),
                    "id": tfds.features.Text(),
                    "num_frames": np.int32,
                }
            ),
            description=__doc__,
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        root = Path(dl_manager.manual_dir)
        splits = {}
        for split in ("train", "test"):
            if (root / split).is_dir():
                splits[split] = self._generate_examples(root, split)
        if not splits:
            scan_split(root, "train")  # raises the layout error
        return splits

    def _generate_examples(self, root: Path, split: str):
        index = scan_split(root, split)
        for path in index.videos:
            frames = read_video(path)
            video = np.round(frames * 255.0).astype(np.uint8)
            yield (
                path.name,
                {
                    "video": video,
                    "name": path.name,
                    "id": video_id(path),
                    "num_frames": len(video),
                },
            )
