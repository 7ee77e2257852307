"""``make demo``: animate a picture end to end on this machine, offline.

Renders a synthetic source picture and driving video (no downloads), then runs
``fomm animate`` on them. Until a trained default model ships with the package, the networks
are randomly initialised (tiny-64 config) and the demo says so: it shows that every stage of
the pipeline runs, not what a trained model produces. With an official checkpoint, run
``fomm animate --config vox-256 --checkpoint vox-cpk.pth.tar ...`` instead (see README).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/demo", help="folder for the inputs and the result")
    parser.add_argument("--frames", type=int, default=48, help="driving video length")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from .data.synthetic import render_video
    from .media import VideoWriter, write_image

    source, driving = out / "source.png", out / "driving.mp4"
    write_image(source, render_video(1, 256, seed=7)[0])
    with VideoWriter(driving, fps=25) as writer:
        writer.write(render_video(args.frames, 256, seed=3))
    print(
        "demo: no trained default model is bundled yet: animating with a randomly "
        "initialised tiny-64 model (the pipeline runs; the picture will not move "
        "meaningfully)",
        file=sys.stderr,
    )
    result = out / "result.mp4"
    code = cli.main(
        [
            "animate",
            "--config",
            "tiny-64",
            "--random-weights",
            "--source",
            str(source),
            "--driving",
            str(driving),
            "-o",
            str(result),
            "--side-by-side",
            "--find-best-frame",
        ]
    )
    if code == 0:
        print(
            f"demo: inputs in {out}/, result (source | driving | animation) in {result}",
            file=sys.stderr,
        )
    return code


if __name__ == "__main__":
    sys.exit(main())
