"""fomm-tf against the official PyTorch code, side by side on this machine, in one run.

``make bench-official OFFICIAL=path/to/first-order-model`` (a checkout of
AliaksandrSiarohin/first-order-model the user provides; nothing of it is copied here; torch
from the ``[dev]`` extra, ``torch==2.13.0``). The official networks are built from that
checkout with seeded random weights; ours load the very same weights through the official
checkpoint format (the safe reader), so both compute the same functions.

Measured, every case in its own process (so peak RSS is its own), rounds interleaved so all
cases see the same state of the machine; ratios are medians over rounds of ours / official
measured in the same round:

* **frame**: one animated frame at vox-256, batch 1 — keypoints of the driving frame +
  generator. Official: the generator from the source every frame (the official demo has no
  source cache); ours: with the source cache (``fomm animate``) and without.
* **train**: one training step (perceptual pyramid with a seeded random VGG19,
  equivariance, Adam; no GAN), small = tiny-64 widths at 64² batch 4, vox-256 at batch 1.
  The small case uses scales 1, 0.5, 0.25 on both sides (at 64² the official code crashes
  on the 1/8 level: relu5_1 of an 8×8 image is empty).
* **memory**: peak RSS per extra batch item of the small training step, from batch 2 and 6:
  what grows with the work (the fixed cost of importing either framework is not the target).

The official VGG19 comes from ``torchvision.models.vgg19``; torchvision is not needed: the
benchmark provides the same layer stack (random weights; none are downloaded).

Usage::

    python benchmarks/bench_official.py --official PATH [--rounds 3] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMALL_SCALES = [1, 0.5, 0.25]
TRAIN_CASES = {"small": ("tiny-64", 4), "vox-256": ("vox-256", 1)}
MEMORY_BATCHES = (2, 6)


def _config(name: str, scales=None) -> dict:
    """The official-format config dict (shipped YAML), perceptual pyramid scales overridden."""
    import yaml

    raw = yaml.safe_load((ROOT / "fomm_tf" / "configs" / f"{name}.yaml").read_text())
    raw.pop("fomm_tf", None)
    tp = raw["train_params"]
    tp["loss_weights"]["generator_gan"] = 0
    if scales is not None:
        tp["scales"] = scales
    return raw


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak_rss() -> None:
    """Start a new peak-RSS window (Linux: VmHWM reset through /proc/self/clear_refs), so the
    steps' own peak shows even where importing the framework peaked higher."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _window_peak_rss_mb() -> float:
    """Peak RSS since :func:`_reset_peak_rss` (VmHWM), else the process's peak."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return _peak_rss_mb()


# ------------------------------------------------------------------------------------------
# the official side (torch)


def _import_from_checkout(official: str, packages: tuple[str, ...]) -> None:
    """Register the checkout's top-level ``packages`` (``modules`` has no ``__init__.py``) so
    that its own absolute imports (``from modules.util import ...``) resolve, without putting
    the checkout on ``sys.path``."""
    import importlib.machinery
    import importlib.util

    for name in packages:
        spec = importlib.machinery.PathFinder.find_spec(name, [official])
        if spec is None:
            raise SystemExit(f"{official}: no {name}/ here; is it a first-order-model checkout?")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        if spec.loader is not None:
            spec.loader.exec_module(module)


def _official_modules(official: str):
    import types

    import torch
    from torch import nn

    if "torchvision" not in sys.modules:  # the official Vgg19 asks torchvision for the layers

        def vgg19(pretrained=False, **_):
            layers, c = [], 3
            for v in (
                [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M"]
                + [512] * 4
                + ["M"]
                + [512] * 4
                + ["M"]
            ):
                if v == "M":
                    layers.append(nn.MaxPool2d(2, 2))
                else:
                    layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=True)]
                    c = v
            net = nn.Module()
            net.features = nn.Sequential(*layers)
            return net

        tv, models = types.ModuleType("torchvision"), types.ModuleType("torchvision.models")
        models.vgg19 = vgg19
        tv.models = models
        sys.modules.update({"torchvision": tv, "torchvision.models": models})
    _import_from_checkout(official, ("modules", "sync_batchnorm"))
    from modules.generator import OcclusionAwareGenerator
    from modules.keypoint_detector import KPDetector
    from modules.model import GeneratorFullModel

    torch.set_num_threads(os.cpu_count() or 1)
    return KPDetector, OcclusionAwareGenerator, GeneratorFullModel


def _official_nets(official: str, raw: dict, seed: int = 0):
    import torch

    kp_cls, gen_cls, _ = _official_modules(official)
    mp = raw["model_params"]
    torch.manual_seed(seed)
    kp = kp_cls(**mp["kp_detector_params"], **mp["common_params"])
    gen = gen_cls(**mp["generator_params"], **mp["common_params"])
    return kp, gen


def official_checkpoint(official: str, config: str, path: str) -> None:
    """Seeded official networks, saved as an official checkpoint (what ours load)."""
    import torch

    kp, gen = _official_nets(official, _config(config))
    torch.save({"kp_detector": kp.state_dict(), "generator": gen.state_dict()}, path)


def official_frame(official: str, repeat: int) -> dict:
    import numpy as np
    import torch

    kp, gen = _official_nets(official, _config("vox-256"))
    kp.eval(), gen.eval()
    rng = np.random.default_rng(0)
    source = torch.tensor(rng.random((1, 3, 256, 256), np.float32))
    driving = torch.tensor(rng.random((1, 3, 256, 256), np.float32))
    times = []
    with torch.no_grad():
        kp_source = kp(source)
        for _ in range(repeat + 1):
            t = time.perf_counter()
            gen(source, kp_source=kp_source, kp_driving=kp(driving))["prediction"].numpy()
            times.append(time.perf_counter() - t)
    return {"ms": 1000 * float(np.median(times[1:])), "peak_rss_mb": _peak_rss_mb()}


def official_train(official: str, case: str, batch: int, repeat: int) -> dict:
    import numpy as np
    import torch

    config, _ = TRAIN_CASES[case]
    raw = _config(config, SMALL_SCALES if case == "small" else None)
    kp, gen = _official_nets(official, raw)
    import types

    _, _, full_cls = _official_modules(official)
    no_discriminator = types.SimpleNamespace(scales=[1])  # generator_gan is 0: never called
    full = full_cls(kp, gen, no_discriminator, raw["train_params"])
    for m in full.vgg.modules():  # random VGG19, the recipe of ours (He-normal, small bias)
        if isinstance(m, torch.nn.Conv2d):
            fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
            m.weight.data.normal_(0, (2.0 / fan_in) ** 0.5)
            m.bias.data.normal_(0, 0.01)
    tp = raw["train_params"]
    opt_g = torch.optim.Adam(gen.parameters(), lr=tp["lr_generator"], betas=(0.5, 0.999))
    opt_k = torch.optim.Adam(kp.parameters(), lr=tp["lr_kp_detector"], betas=(0.5, 0.999))
    h = raw["dataset_params"]["frame_shape"][0]
    rng = np.random.default_rng(0)
    x = {k: torch.tensor(rng.random((batch, 3, h, h), np.float32)) for k in ("source", "driving")}
    times = []
    _reset_peak_rss()
    for _ in range(repeat + 1):
        t = time.perf_counter()
        losses, _ = full(x)
        loss = sum(v.mean() for v in losses.values())
        loss.backward()
        opt_g.step(), opt_g.zero_grad(), opt_k.step(), opt_k.zero_grad()
        float(loss)
        times.append(time.perf_counter() - t)
    return {
        "s": float(np.median(times[1:])),
        "peak_rss_mb": _peak_rss_mb(),
        "step_peak_rss_mb": _window_peak_rss_mb(),
    }


# ------------------------------------------------------------------------------------------
# our side (TensorFlow)


def ours_frame(checkpoint: str, repeat: int, cached: bool, precision: str = "float32") -> dict:
    import numpy as np
    import tensorflow as tf

    from fomm_tf.animation.keras_backend import KerasBackend
    from fomm_tf.nets.models import load_models

    models = load_models(checkpoint, "vox-256", precision=precision)
    rng = np.random.default_rng(0)
    source = rng.random((1, 256, 256, 3), np.float32)
    driving = rng.random((1, 256, 256, 3), np.float32)
    backend = KerasBackend(models, batch_size=1)
    backend.prepare(source)
    kp_source = models.kp_detector(source)
    full = tf.function(
        lambda d: models.generator(source, kp_source=kp_source, kp_driving=models.kp_detector(d))[
            "prediction"
        ]
    )
    times = []
    for _ in range(repeat + 1):
        t = time.perf_counter()
        if cached:
            backend.generate(backend.kp(driving))
        else:
            full(driving).numpy()
        times.append(time.perf_counter() - t)
    return {"ms": 1000 * float(np.median(times[1:])), "peak_rss_mb": _peak_rss_mb()}


def ours_train(
    checkpoint: str, case: str, batch: int, repeat: int, precision: str = "float32"
) -> dict:
    import numpy as np

    from fomm_tf.bench.timing import random_trainer
    from fomm_tf.config import config_from_dict
    from fomm_tf.nets.models import load_official

    config, _ = TRAIN_CASES[case]
    raw = _config(config, SMALL_SCALES if case == "small" else None)
    cfg = config_from_dict(raw, name=config)
    trainer, data = random_trainer(cfg, batch, precision)
    official = load_official(checkpoint, cfg)
    for mine, theirs in (
        (trainer.models.kp_detector, official.kp_detector),
        (trainer.models.generator, official.generator),
    ):
        mine.set_weights(theirs.get_weights())
    times = []
    _reset_peak_rss()
    for _ in range(repeat + 1):
        t = time.perf_counter()
        float(trainer.train_step(data)[0]["perceptual"])
        times.append(time.perf_counter() - t)
    return {
        "s": float(np.median(times[1:])),
        "peak_rss_mb": _peak_rss_mb(),
        "step_peak_rss_mb": _window_peak_rss_mb(),
    }


# ------------------------------------------------------------------------------------------
# the driver


def _run(args: list[str]) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, env=env
    )
    if proc.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _one(spec: list[str]) -> dict:
    kind, side, *rest = spec
    if kind == "checkpoint":
        official_checkpoint(side, rest[0], rest[1])
        return {}
    precision = "bfloat16" if side.endswith("-bf16") else "float32"
    if kind == "frame":
        if side == "official":
            return official_frame(rest[0], int(rest[1]))
        return ours_frame(rest[0], int(rest[1]), side.startswith("ours-cached"), precision)
    if kind == "train":
        case, batch, repeat, path = rest[0], int(rest[1]), int(rest[2]), rest[3]
        if side == "official":
            return official_train(path, case, batch, repeat)
        return ours_train(path, case, batch, repeat, precision)
    raise ValueError(spec)


def main() -> int:
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", help="checkout of AliaksandrSiarohin/first-order-model")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--repeat", type=int, default=5, help="timed repeats per case")
    parser.add_argument(
        "--no-bf16",
        action="store_true",
        help="skip the bfloat16 rows (default: measured where the CPU has AVX512_BF16/AMX)",
    )
    parser.add_argument(
        "--parts",
        default="frame,train,mem",
        help="comma-separated parts to measure: frame, train, mem (default: all)",
    )
    parser.add_argument("--json", help="also write every measurement to this JSON file")
    parser.add_argument("--one", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    parts = set(filter(None, args.parts.split(",")))
    if args.one:
        print(json.dumps(_one(args.one)))
        return 0
    official = os.path.abspath(args.official or "")
    if not args.official or not (Path(official) / "modules" / "generator.py").is_file():
        print(
            "bench_official: --official (OFFICIAL=...) must be a checkout of "
            "AliaksandrSiarohin/first-order-model (modules/generator.py not found)",
            file=sys.stderr,
        )
        return 2
    try:
        import torch  # noqa: F401
    except ImportError:
        print("bench_official: torch is missing: pip install -e '.[dev]'", file=sys.stderr)
        return 2
    from fomm_tf.nets.layers.precision import missing_hardware

    missing = missing_hardware("bfloat16")
    bf16 = not args.no_bf16 and missing is None
    if missing and not args.no_bf16:
        print(f"bench_official: no bfloat16 rows: {missing}", file=sys.stderr)
    ours_sides = ["ours", "ours-bf16"] if bf16 else ["ours"]
    rows: dict[str, list] = {}
    with tempfile.TemporaryDirectory(prefix="bench-official-") as tmp:
        ckpt = {c: f"{tmp}/{c}.pth.tar" for c in ("vox-256", "tiny-64")}
        for config, path in ckpt.items():
            _run(["--one", "checkpoint", official, config, path])
        r = str(args.repeat)
        for _ in range(args.rounds):
            add = lambda key, value: rows.setdefault(key, []).append(value)  # noqa: E731
            if "frame" in parts:
                add("frame/official", _run(["--one", "frame", "official", official, r]))
            for ours in ours_sides if "frame" in parts else []:
                cached = ours.replace("ours", "ours-cached")
                add(f"frame/{cached}", _run(["--one", "frame", cached, ckpt["vox-256"], r]))
                add(f"frame/{ours}", _run(["--one", "frame", ours, ckpt["vox-256"], r]))
            for case, (config, batch) in TRAIN_CASES.items() if "train" in parts else []:
                sides = [("official", official)] + [(o, ckpt[config]) for o in ours_sides]
                for side, path in sides:
                    add(
                        f"train/{case}/{side}",
                        _run(["--one", "train", side, case, str(batch), r, path]),
                    )
            for b in MEMORY_BATCHES if "mem" in parts else []:
                sides = [("official", official)] + [(o, ckpt["tiny-64"]) for o in ours_sides]
                for side, path in sides:
                    add(
                        f"mem/{b}/{side}",
                        _run(["--one", "train", side, "small", str(b), "2", path]),
                    )

    def med(key, field):
        return float(np.median([row[field] for row in rows[key]]))

    def ratio(a, b, field):
        return float(np.median([x[field] / y[field] for x, y in zip(rows[a], rows[b])]))

    from fomm_tf.bench.timing import cpu_name

    print(
        f"fomm-tf vs official ({time.strftime('%Y-%m-%d')}, {cpu_name()}, {os.cpu_count()} cores; "
        f"median of {args.rounds} interleaved rounds, {args.repeat} timed repeats each)"
    )
    print(f"{'case':<44} {'official':>10} {'fomm-tf':>10} {'ratio':>7}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    for ours in ours_sides if "frame" in parts else []:
        label = " bfloat16" if ours.endswith("-bf16") else ""
        cached = ours.replace("ours", "ours-cached")
        for name, key in (
            (f"frame vox-256 b1, source cached{label}", cached),
            (f"frame vox-256 b1, uncached{label}", ours),
        ):
            print(
                f"{name:<44} {med('frame/official', 'ms'):>8.1f}ms "
                f"{med(f'frame/{key}', 'ms'):>8.1f}ms "
                f"{ratio(f'frame/{key}', 'frame/official', 'ms'):>6.2f}x"
            )
    for ours in ours_sides if "train" in parts else []:
        label = " bfloat16" if ours.endswith("-bf16") else ""
        for case, (_, batch) in TRAIN_CASES.items():
            print(
                f"{f'train step {case} b{batch}{label}':<44} "
                f"{med(f'train/{case}/official', 's'):>9.3f}s "
                f"{med(f'train/{case}/{ours}', 's'):>9.3f}s "
                f"{ratio(f'train/{case}/{ours}', f'train/{case}/official', 's'):>6.2f}x"
            )
    if "mem" not in parts:
        return 0
    lo, hi = MEMORY_BATCHES
    grow = {  # the training steps' own peak (VmHWM window), batch hi vs lo
        side: (
            med(f"mem/{hi}/{side}", "step_peak_rss_mb")
            - med(f"mem/{lo}/{side}", "step_peak_rss_mb")
        )
        / (hi - lo)
        for side in ("official", *ours_sides)
    }
    for ours in ours_sides:
        label = " bfloat16" if ours.endswith("-bf16") else ""
        print(
            f"{f'peak RSS per extra batch item (small){label}':<44} {grow['official']:>8.0f}MB "
            f"{grow[ours]:>8.1f}MB "
            + (f"{grow[ours] / grow['official']:>6.2f}x" if grow["official"] > 0 else "   n/a")
        )
    for side in ("official", *ours_sides):
        vox = (
            f"vox-256 train {med(f'train/vox-256/{side}', 'peak_rss_mb'):.0f} MB, "
            if "train" in parts
            else ""
        )
        print(
            f"  peak RSS {side}: {vox}small b{lo} {med(f'mem/{lo}/{side}', 'peak_rss_mb'):.0f} MB, "
            f"small b{hi} {med(f'mem/{hi}/{side}', 'peak_rss_mb'):.0f} MB; the steps' own peak "
            f"b{lo} {med(f'mem/{lo}/{side}', 'step_peak_rss_mb'):.0f} MB, "
            f"b{hi} {med(f'mem/{hi}/{side}', 'step_peak_rss_mb'):.0f} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
