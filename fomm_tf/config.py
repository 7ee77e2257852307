"""Official FOMM YAML configs → typed configs.

A config is the official schema unchanged: ``model_params`` with ``common_params``,
``kp_detector_params`` and ``generator_params.dense_motion_params`` (every key a constructor
argument of the matching network), plus ``dataset_params``, ``train_params`` and the rest kept
as plain dicts for training and evaluation. One optional section is ours, ignored by the
official code:

```yaml
fomm_tf:
  align_corners: false   # grid_sample convention; true reproduces torch <= 1.2
  warped_skips: false    # generator: warped encoder features at every scale (ours, off in
                         # every official config; see OcclusionAwareGenerator)
  source_blend: false    # generator: the output blended with the warped source by the
                         # occlusion map (ours, off in every official config)
  centred_grid: false    # coordinates at pixel centres, one place at every scale (ours, off
                         # in every official config; needs align_corners false, see
                         # fomm_tf.nets.layers.warp)
```
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

SHIPPED = (
    "vox-256",
    "vox-adv-256",
    "taichi-256",
    "taichi-adv-256",
    "bair-256",
    "mgif-256",
    "nemo-256",
    "tiny-64",
    "face-128",
    "face-128-adv",
)


@dataclass(frozen=True)
class KeypointDetectorConfig:
    num_kp: int = 10
    num_channels: int = 3
    estimate_jacobian: bool = True
    temperature: float = 0.1
    block_expansion: int = 32
    max_features: int = 1024
    num_blocks: int = 5
    scale_factor: float = 0.25
    single_jacobian_map: bool = False
    pad: int = 0
    centred_grid: bool = False


@dataclass(frozen=True)
class DenseMotionConfig:
    num_kp: int = 10
    num_channels: int = 3
    estimate_occlusion_map: bool = True
    block_expansion: int = 64
    max_features: int = 1024
    num_blocks: int = 5
    scale_factor: float = 0.25
    kp_variance: float = 0.01
    centred_grid: bool = False


@dataclass(frozen=True)
class GeneratorConfig:
    num_kp: int = 10
    num_channels: int = 3
    estimate_jacobian: bool = True
    block_expansion: int = 64
    max_features: int = 512
    num_down_blocks: int = 2
    num_bottleneck_blocks: int = 6
    estimate_occlusion_map: bool = True
    dense_motion_params: DenseMotionConfig | None = None
    align_corners: bool = False
    warped_skips: bool = False
    source_blend: bool = False
    centred_grid: bool = False


@dataclass(frozen=True)
class FommConfig:
    """Everything one YAML file says, typed where the networks need it."""

    kp_detector: KeypointDetectorConfig
    generator: GeneratorConfig
    image_size: tuple[int, int] = (256, 256)
    name: str = "custom"
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def num_kp(self) -> int:
        return self.kp_detector.num_kp

    @property
    def align_corners(self) -> bool:
        return self.generator.align_corners

    @property
    def centred_grid(self) -> bool:
        return self.generator.centred_grid

    def with_align_corners(self, value: bool) -> FommConfig:
        if value and self.centred_grid:
            raise ConfigError(f"{self.name}: centred_grid needs align_corners false")
        return dataclasses.replace(
            self, generator=dataclasses.replace(self.generator, align_corners=bool(value))
        )

    def to_yaml(self) -> str:
        raw = dict(self.raw)
        raw.setdefault("fomm_tf", {})
        ours = dict(raw["fomm_tf"], align_corners=self.align_corners)
        for key in ("warped_skips", "source_blend", "centred_grid"):
            if getattr(self.generator, key):
                ours[key] = True
        raw["fomm_tf"] = ours
        return yaml.safe_dump(raw, sort_keys=False)


def _build(cls, params: dict[str, Any], where: str):
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(params) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
    return cls(**params)


def config_from_dict(raw: dict[str, Any], name: str = "custom") -> FommConfig:
    """Build a :class:`FommConfig` from a parsed official YAML document."""
    if not isinstance(raw, dict) or "model_params" not in raw:
        raise ConfigError(f"{name}: not a FOMM config (no 'model_params' section)")
    mp = raw["model_params"]
    try:
        common = dict(mp["common_params"])
        kp_params = dict(mp["kp_detector_params"])
        gen_params = dict(mp["generator_params"])
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"{name}: model_params lacks section {exc}") from None
    ours = raw.get("fomm_tf") or {}
    centred = bool(ours.get("centred_grid", False))
    if centred and ours.get("align_corners", False):
        raise ConfigError(f"{name}: fomm_tf.centred_grid needs align_corners false")
    kp = _build(
        KeypointDetectorConfig,
        {**common, **kp_params, "centred_grid": centred},
        f"{name}: kp_detector_params",
    )
    dm_raw = gen_params.pop("dense_motion_params", None)
    dense = None
    if dm_raw is not None:
        dm_common = {k: common[k] for k in ("num_kp", "num_channels") if k in common}
        occl = gen_params.get("estimate_occlusion_map", False)
        dense = _build(
            DenseMotionConfig,
            {**dm_common, "estimate_occlusion_map": occl, **dict(dm_raw), "centred_grid": centred},
            f"{name}: dense_motion_params",
        )
    gen = _build(
        GeneratorConfig,
        {
            **common,
            **gen_params,
            "dense_motion_params": dense,
            "align_corners": bool(ours.get("align_corners", False)),
            "warped_skips": bool(ours.get("warped_skips", False)),
            "source_blend": bool(ours.get("source_blend", False)),
            "centred_grid": centred,
        },
        f"{name}: generator_params",
    )
    shape = (raw.get("dataset_params") or {}).get("frame_shape", [256, 256, 3])
    if int(shape[-1]) != kp.num_channels:
        raise ConfigError(
            f"{name}: frame_shape {shape} disagrees with num_channels {kp.num_channels}"
        )
    return FommConfig(
        kp_detector=kp, generator=gen, image_size=(int(shape[0]), int(shape[1])), name=name, raw=raw
    )


def shipped_config_path(name: str) -> Path:
    return Path(str(resources.files("fomm_tf") / "configs" / f"{name}.yaml"))


def load_config(name_or_path: str | os.PathLike) -> FommConfig:
    """Load a shipped config by name (``"vox-256"``) or any official YAML file by path."""
    text = str(name_or_path)
    path = Path(text)
    if not path.exists() and text in SHIPPED:
        path = shipped_config_path(text)
    if not path.exists():
        raise ConfigError(f"{text}: config not found (a YAML path or one of: {', '.join(SHIPPED)})")
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not a readable YAML file ({type(exc).__name__})") from None
    return config_from_dict(raw, name=path.stem)
