"""The default model's exports in the page, timed (``make web-bench``, ``make web-test``'s
last step): frames/s per export and thread setting, each run's frames against Python's."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .web_assets import export_model, write_samples
from .web_compare import MIN_PSNR_DB, compare, db_text


def _machine() -> dict:
    """What a speed figure needs beside it: date, CPU, cores and the load average."""
    import datetime

    from fomm_tf.bench.timing import cpu_name

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def bench(
    directory: str | os.PathLike,
    quants: list[str],
    threads: list[str],
    frames: int = 50,
    web_dir: str | os.PathLike = "web_demo",
    min_psnr: float = MIN_PSNR_DB,
) -> dict:
    """The default model's graphs in each of ``quants`` (exported into ``directory/<quant>``,
    reused when current) animated by the page in headless Chromium (``tools/bench.mjs``,
    other hosts blocked) under each thread setting, each run's frames compared with the
    Python LiteRT runner's. Returns ``{"machine": ..., "runs": [...]}`` (also
    ``directory/bench.json``)."""
    import subprocess

    out = Path(directory).absolute()
    models = []
    for quant in quants:
        export_model(out / quant, quant)
        models.append(out / quant)
    if not (out / "source.png").is_file() or not (out / "driving.webm").is_file():
        write_samples(out)
    before = _machine()
    cmd = ["node", "tools/bench.mjs", *map(str, models), "--samples", str(out)]
    cmd += ["--frames", str(frames), "--threads", ",".join(threads), "--out", str(out / "runs")]
    done = subprocess.run(cmd, cwd=web_dir, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"web bench: {' '.join(cmd)} failed:\n{done.stderr[-4000:]}")
    runs = json.loads(done.stdout)
    after = os.getloadavg()
    for run in runs:
        report = compare(
            out,
            min_psnr,
            model=run["model"],
            page_json=out / "runs" / run["label"] / "page.json",
            video=out / "driving.webm",
        )
        run.update(
            quant=Path(run["model"]).name,
            psnr_db=float(report["psnr_db"]),
            psnr_min_db=float(report["psnr_min_db"]),
            passed=bool(report["passed"]) and run["state"] == "done",
        )
    before["load_average_after"] = [round(x, 2) for x in after]
    result = {"machine": before, "runs": runs}
    (out / "bench.json").write_text(
        json.dumps(result, indent=2).replace("Infinity", '"inf"') + "\n"
    )
    return result


def bench_table(result: dict) -> str:
    m = result["machine"]
    first = result["runs"][0]
    card = first.get("card")
    lines = [
        f"page: {first.get('model_line', '').strip()}"
        + (f" [card: HTTP {card['status']}]" if card else " [no model card]"),
        f"{m['date']} · {m['cpu']} · {m['cores']} cores · load average "
        f"{'/'.join(map(str, m['load_average']))} before, "
        f"{'/'.join(map(str, m['load_average_after']))} after",
        "",
        "| export | wasm threads | keypoints ms | generator ms | model ms/frame | "
        "model frames/s | page loop frames/s | PSNR vs Python LiteRT |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in result["runs"]:
        ms = r["ms_per_stage"]
        threads = f"{r['num_threads']} (threaded)" if r["threads"] else "1 (single-threaded)"
        lines.append(
            f"| {r['quant']} | {threads} | {ms['kp']:.1f} | {ms['generator']:.1f} | "
            f"{ms['total']:.1f} | {r['model_fps']:.1f} | {r['loop_fps']:.1f} | "
            f"{db_text(r['psnr_db'])}{'' if r['passed'] else ' FAILED'} |"
        )
    return "\n".join(lines)
