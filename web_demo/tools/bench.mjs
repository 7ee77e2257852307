#!/usr/bin/env node
// The page's speed on an export: ms per stage and fps in headless Chromium (CPU, wasm).
//
//   node tools/bench.mjs MODEL_DIR [--frames N] [--samples DIR] [--threads 0]
//
// Animates the sample clip (DIR/source.png + DIR/driving.webm, default web_demo/models/, which
// `make web-assets` writes) with the export in MODEL_DIR; prints one JSON object.
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { startServer } from "../serve.mjs";
import { launch } from "./browser.mjs";

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const model = path.resolve(args[0] || "");
const samples = path.resolve(
  opt("--samples", path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "models")),
);
const frames = Number(opt("--frames", "20"));
if (!args[0] || !existsSync(path.join(model, "model_contract.json"))) {
  console.error("usage: node tools/bench.mjs MODEL_DIR [--frames N] [--samples DIR]");
  process.exit(2);
}
const { server, url } = await startServer({
  mounts: [
    { prefix: "/bench-model", dir: model },
    { prefix: "/models", dir: samples },
  ],
});
const browser = await launch();
const { page } = browser;
try {
  await page.goto(`${url}?model=/bench-model/&threads=${opt("--threads", "1") === "0" ? 0 : 1}`);
  await page.waitForFunction(() => ["ready", "error"].includes(document.body.dataset.state), null, {
    timeout: 300_000,
  });
  await page.fill("#max-frames", String(frames));
  await page.click("#sample");
  await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state), null, {
    timeout: 600_000,
  });
  const result = await page.evaluate(() => {
    const d = window.fommDemo.dump();
    const n = Math.max(1, d.timing.frames);
    const ms = Object.fromEntries(Object.entries(d.timing.sums).map(([k, v]) => [k, v / n]));
    return {
      state: document.body.dataset.state,
      message: document.getElementById("message").textContent,
      frames: d.timing.frames,
      ms_per_stage: ms,
      fps: (1000 * d.timing.frames) / d.timing.wallMs,
      source_ms: d.source_ms,
      accelerators: d.accelerators,
      threads: d.threads,
    };
  });
  console.log(JSON.stringify(result, null, 2));
} finally {
  await browser.close();
  server.close();
}
