"""``fomm convert``: an official PyTorch checkpoint → a fomm-tf ``.weights.h5`` + its YAML."""

from __future__ import annotations

import argparse
import sys


def add_convert_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="official PyTorch checkpoint (.pth.tar, zip or legacy)")
    p.add_argument(
        "--config",
        required=True,
        help="the config the checkpoint was trained with (shipped name or YAML path)",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="output .weights.h5 (both networks); the config is written beside it as <name>.yaml",
    )


def run_convert(args) -> int:
    from ..config import load_config
    from ..media.atomic import atomic_path
    from ..nets.models import load_official, save_weights

    cfg = load_config(args.config)
    models = load_official(args.checkpoint, cfg)
    out = save_weights(models, args.output)
    yaml_path = out.with_name(out.name[: -len(".weights.h5")] + ".yaml")
    with atomic_path(yaml_path) as tmp:
        tmp.write_text(models.config.to_yaml())
    print(f"wrote {out} and {yaml_path}", file=sys.stderr)
    return 0
