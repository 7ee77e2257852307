#!/usr/bin/env node
// The page's speed on one or more exports, in headless Chromium (CPU, wasm), every request to
// another host blocked:
//
//   node tools/bench.mjs MODEL_DIR... [--frames N] [--samples DIR] [--threads LIST] [--out DIR]
//
// For each export and each thread setting (LIST: comma separated; 0 = LiteRT.js's
// single-threaded build, N = the threaded build with N XNNPACK threads, auto = the page's
// default; default "0,2") the
// page animates the sample clip (DIR/source.png + DIR/driving.webm, default web_demo/models/,
// which `make web-assets` writes) and reports ms per stage, the model's frames/s (keypoints +
// motion + generator) and the loop's (with seeking, pre-processing and drawing). With --out,
// what the page decoded and produced goes to OUT/<export>-t<threads>/page.json for
// `python -m fomm_tf.apps.web compare`. Prints one JSON array.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { startServer } from "../serve.mjs";
import { blockOtherHosts, launch } from "./browser.mjs";

const args = process.argv.slice(2);
const options = {};
const models = [];
for (let i = 0; i < args.length; i++) {
  if (args[i].startsWith("--")) options[args[i].slice(2)] = args[++i];
  else models.push(path.resolve(args[i]));
}
const here = path.dirname(fileURLToPath(import.meta.url));
const samples = path.resolve(options.samples || path.join(here, "..", "models"));
const frames = Number(options.frames || "30");
const threads = (options.threads || "0,2").split(",").map((t) => (t === "auto" ? t : Number(t)));
const bad = models.find((m) => !existsSync(path.join(m, "model_contract.json")));
if (!models.length || bad || threads.some((t) => t !== "auto" && !(Number.isInteger(t) && t >= 0))) {
  console.error(
    "usage: node tools/bench.mjs MODEL_DIR... [--frames N] [--samples DIR] [--threads 0,2] [--out DIR]" +
      (bad ? `\n${bad}: no model_contract.json` : ""),
  );
  process.exit(2);
}
const mounts = models.map((dir, i) => ({ prefix: `/bench-model-${i}`, dir }));
const { server, url } = await startServer({ mounts: [...mounts, { prefix: "/models", dir: samples }] });
const browser = await launch();
const { context, page } = browser;
const foreign = await blockOtherHosts(context, url);
const results = [];
try {
  for (const [i, dir] of models.entries()) {
    for (const t of threads) {
      const threadParam = t === "auto" ? "" : `&threads=${t}`;
      await page.goto(`${url}?model=/bench-model-${i}/${threadParam}&capture=1`);
      await page.waitForFunction(() => ["ready", "error"].includes(document.body.dataset.state), null, {
        timeout: 300_000,
      });
      await page.evaluate((n) => (document.getElementById("max-frames").value = String(n)), frames);
      await page.click("#sample");
      await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state), null, {
        timeout: 900_000,
      });
      const dump = await page.evaluate(() => window.fommDemo.dump());
      const card = await page.evaluate(async () => {
        const a = document.querySelector("#model-line a");
        if (!a) return null;
        const r = await fetch(a.href, { method: "HEAD" });
        return { href: a.getAttribute("href"), status: r.status };
      });
      const modelLine = await page.textContent("#model-line");
      const state = await page.evaluate(() => document.body.dataset.state);
      const message = await page.textContent("#message");
      const n = Math.max(1, dump.timing.frames);
      const ms = Object.fromEntries(Object.entries(dump.timing.sums).map(([k, v]) => [k, v / n]));
      const label = `${path.basename(dir)}-t${t}`;
      if (options.out) {
        mkdirSync(path.join(options.out, label), { recursive: true });
        writeFileSync(path.join(options.out, label, "page.json"), JSON.stringify(dump));
      }
      results.push({
        model: dir,
        label,
        state,
        message,
        frames: dump.timing.frames,
        threads: dump.threads,
        num_threads: dump.numThreads,
        ms_per_stage: ms,
        model_fps: 1000 / ms.total,
        loop_fps: (1000 * dump.timing.frames) / dump.timing.wallMs,
        source_ms: dump.source_ms,
        model_line: modelLine,
        card,
        accelerators: dump.accelerators,
      });
    }
  }
  if (foreign.length) throw new Error(`requests to other hosts: ${foreign.join(", ")}`);
} finally {
  await browser.close();
  server.close();
}
console.log(JSON.stringify(results, null, 2));
