#!/usr/bin/env node
// End-to-end test of the page in headless Chromium (playwright-core + Debian's chromium).
//
//   node tools/e2e.mjs DIR      (DIR: what `python -m export.web prepare DIR` wrote)
//
// Serves web_demo/ and DIR on 127.0.0.1, then in the page: animates DIR/driving.webm with the
// int8 graphs of DIR/model and writes what it decoded and produced to DIR/page.json (for
// `python -m export.web compare DIR`), saves the WebM, runs the fake webcam, and checks that
// bad input (a non-image source, an undecodable video, a contract that does not match its
// graphs) shows a message and throws nothing. Any request to another host fails the test.
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

import { startServer } from "../serve.mjs";
import { launch } from "./browser.mjs";

const dir = path.resolve(process.argv[2] || "");
if (!process.argv[2] || !existsSync(path.join(dir, "model", "model_contract.json"))) {
  console.error("usage: node tools/e2e.mjs DIR (prepared by python -m export.web prepare DIR)");
  process.exit(2);
}
const TIMEOUT = 90_000;

const { server, url: origin } = await startServer({
  // DIR also stands in for web_demo/models/ (its source.png + driving.webm: the sample).
  mounts: [
    { prefix: "/fixtures", dir },
    { prefix: "/models", dir },
  ],
});
const browser = await launch({ acceptDownloads: true });
const { context, page } = browser;

// Nothing may leave the page's own origin: record and block every other request.
const foreign = [];
const host = new URL(origin).host;
await context.route("**/*", (route) => {
  const u = new URL(route.request().url());
  if ((u.protocol === "http:" || u.protocol === "https:") && u.host !== host) {
    if (!foreign.includes(u.href)) foreign.push(u.href);
    return route.abort("blockedbyclient");
  }
  return route.continue();
});
const pageErrors = [];
page.on("pageerror", (err) => pageErrors.push(String(err && err.stack ? err.stack : err)));
page.on("request", (req) => {
  const u = new URL(req.url());
  if ((u.protocol === "http:" || u.protocol === "https:") && u.host !== host) {
    if (!foreign.includes(u.href)) foreign.push(u.href);
  }
});
page.on("console", (msg) => {
  if (process.env.E2E_VERBOSE) console.log(`[page] ${msg.text()}`);
});

const checks = [];
const t0 = Date.now();
async function check(name, fn) {
  const start = Date.now();
  await fn();
  checks.push(`${name} (${((Date.now() - start) / 1000).toFixed(1)} s)`);
}
const state = () => page.evaluate(() => document.body.dataset.state);
const waitState = (names, timeout = TIMEOUT) =>
  page.waitForFunction((ns) => ns.includes(document.body.dataset.state), names, { timeout });
const message = () =>
  page.evaluate(() => {
    const el = document.getElementById("message");
    return el.hidden ? null : { kind: el.className, text: el.textContent };
  });
const fixture = (name) => path.join(dir, name);

let failed = null;
try {
  await check("the network guard blocks other hosts", async () => {
    await page.goto(`${origin}?model=/fixtures/model/&capture=1`);
    await page.evaluate(() => fetch("http://192.0.2.1/probe").catch(() => null));
    assert.deepEqual(foreign, ["http://192.0.2.1/probe"]);
    foreign.length = 0;
  });

  await check("animate the driving clip with the int8 graphs (wasm)", async () => {
    await waitState(["ready", "error"]);
    assert.equal(await state(), "ready", JSON.stringify(await message()));
    await page.setInputFiles("#source-file", fixture("source.png"));
    await page.waitForFunction(() => /^source:/.test(document.getElementById("status").textContent));
    await page.setInputFiles("#driving-file", fixture("driving.webm"));
    await page.click("#animate");
    await waitState(["done", "error"]);
    assert.equal(await state(), "done", JSON.stringify(await message()));
    const dump = await page.evaluate(() => window.fommDemo.dump());
    assert.ok(dump.results.length >= 8, `${dump.results.length} result frames`);
    assert.equal(dump.driving.length, dump.results.length);
    writeFileSync(path.join(dir, "page.json"), JSON.stringify(dump));
    const stats = await page.textContent("#stats");
    assert.match(stats, /ms\/frame/);
    assert.match(stats, /fps/);
  });

  await check("save the result as a WebM", async () => {
    const [download] = await Promise.all([
      page.waitForEvent("download", { timeout: TIMEOUT }),
      page.click("#save"),
    ]);
    const file = path.join(dir, "result.webm");
    await download.saveAs(file);
    const head = readFileSync(file).subarray(0, 4);
    assert.ok(statSync(file).size > 200, "a WebM with some frames");
    assert.deepEqual([...head], [0x1a, 0x45, 0xdf, 0xa3], "EBML header");
  });

  await check("a non-image source: a visible message", async () => {
    await page.setInputFiles("#source-file", fixture("not_an_image.png"));
    await page.waitForFunction(() => !document.getElementById("message").hidden);
    const msg = await message();
    assert.equal(msg.kind, "error");
    assert.match(msg.text, /not a picture/);
    assert.ok(await page.isVisible("#message"));
  });

  await check("an undecodable video: a visible message", async () => {
    await page.setInputFiles("#source-file", fixture("source.png"));
    await page.waitForFunction(() => document.getElementById("message").hidden);
    await page.setInputFiles("#driving-file", fixture("broken.webm"));
    await page.click("#animate");
    await waitState(["error", "done"]);
    const msg = await message();
    assert.equal(msg && msg.kind, "error", JSON.stringify(msg));
    assert.match(msg.text, /cannot decode the video/);
    assert.ok(await page.isVisible("#message"));
  });

  await check("the webcam (Chromium's fake camera)", async () => {
    await page.waitForFunction(() => !document.getElementById("webcam").disabled);
    await page.click("#webcam");
    await page.waitForFunction(() => window.fommDemo.timing().frames >= 3, null, {
      timeout: TIMEOUT,
    });
    await page.click("#stop");
    await page.waitForFunction(() => !document.getElementById("webcam").disabled);
    assert.equal((await message()) === null || (await message()).kind !== "error", true);
  });

  await check("the sample button (what make web-assets writes)", async () => {
    await page.goto(`${origin}?model=/models/model/`);
    await waitState(["ready", "error"]);
    await page.waitForSelector("#sample", { state: "visible" });
    await page.click("#sample");
    await waitState(["done", "error"]);
    assert.equal(await state(), "done", JSON.stringify(await message()));
    assert.ok((await page.evaluate(() => window.fommDemo.timing().frames)) >= 8);
  });

  await check("a contract that does not match its graphs: a visible message", async () => {
    await page.goto(`${origin}?model=/fixtures/bad_model/`);
    await waitState(["error", "ready"]);
    assert.equal(await state(), "error");
    const msg = await message();
    assert.equal(msg.kind, "error");
    assert.match(msg.text, /contract says shape/);
    assert.ok(await page.isVisible("#message"));
  });

  await check("graphs that are not the contract's: a visible message", async () => {
    await page.goto(`${origin}?model=/fixtures/swapped_graphs/`);
    await waitState(["error", "ready"]);
    const msg = await message();
    assert.equal(msg.kind, "error");
    assert.match(msg.text, /kp_detector.tflite: .*the contract does not belong to these graphs/);
  });

  await check("a missing model folder: a visible message", async () => {
    await page.goto(`${origin}?model=/fixtures/no_such_model/`);
    await waitState(["error", "ready"]);
    const msg = await message();
    assert.equal(msg.kind, "error");
    assert.match(msg.text, /HTTP 404/);
  });

  await check("WebGPU requested without a GPU: falls back to the CPU", async () => {
    await page.goto(`${origin}?model=/fixtures/model/&accelerator=webgpu`);
    await waitState(["ready", "error"]);
    assert.equal(await state(), "ready", JSON.stringify(await message()));
    const msg = await message();
    assert.ok(msg && msg.kind === "info" && /CPU/.test(msg.text), JSON.stringify(msg));
  });

  assert.deepEqual(pageErrors, [], "uncaught exceptions in the page");
  assert.deepEqual(foreign, [], "requests to other hosts");
} catch (err) {
  failed = err;
} finally {
  await browser.close();
  server.close();
}

for (const c of checks) console.log(`  ok  ${c}`);
if (failed) {
  console.error(`web e2e FAILED: ${failed.message}`);
  if (pageErrors.length) console.error(`page errors:\n${pageErrors.join("\n")}`);
  if (foreign.length) console.error(`requests to other hosts:\n${foreign.join("\n")}`);
  process.exit(1);
}
console.log(`web e2e: ${checks.length} checks passed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
