#!/usr/bin/env node
// End-to-end test of the page in headless Chromium (playwright-core + Debian's chromium).
//
//   node tools/e2e.mjs DIR      (DIR: what `python -m fomm_tf.apps.web prepare DIR` wrote)
//
// Serves web_demo/ and DIR on 127.0.0.1, then in the page: animates DIR/driving.webm with the
// int8 graphs of DIR/model and writes what it decoded, fed and produced to DIR/page.json (for
// `python -m fomm_tf.apps.web compare DIR`); a large photo with an off-centre face and a
// real-face clip with a cut are cropped around the face, per shot, as `fomm animate` crops
// them (DIR/faces_expected.json), and pasted back (DIR/photo/page.json + composed.json for
// `python -m fomm_tf.apps.web photo DIR`); saves the WebM, runs the fake webcam (hidden tab,
// ended track), checks the page's words (status, hints, stats, model line, labels), its phone
// layout, and that bad input shows a message and throws nothing. Any request to another host
// fails the test.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

import { startServer } from "../serve.mjs";
import { blockOtherHosts, launch } from "./browser.mjs";

const dir = path.resolve(process.argv[2] || "");
if (!process.argv[2] || !existsSync(path.join(dir, "model", "model_contract.json"))) {
  console.error("usage: node tools/e2e.mjs DIR (prepared by python -m fomm_tf.apps.web prepare DIR)");
  process.exit(2);
}
const TIMEOUT = 120_000;

const { server, url: origin } = await startServer({
  // DIR also stands in for web_demo/models/ (source.png + driving.webm: the sample; face/).
  mounts: [
    { prefix: "/fixtures", dir },
    { prefix: "/models", dir },
  ],
});
const browser = await launch({ acceptDownloads: true });
const { context, page } = browser;

// Nothing may leave the page's own origin: record and block every other request.
const foreign = await blockOtherHosts(context, origin);
const pageErrors = [];
page.on("pageerror", (err) => pageErrors.push(String(err && err.stack ? err.stack : err)));
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
const text = (id) => page.evaluate((i) => document.getElementById(i).textContent, id);
const fixture = (name) => path.join(dir, name);
const expected = JSON.parse(readFileSync(fixture("faces_expected.json"), "utf8"));
const near = (a, b, tol) => Math.abs(a - b) <= tol;
const cropNear = (got, want, what) => {
  const tol = Math.max(3, 0.04 * want.side);
  assert.ok(
    near(got.x0, want.x0, tol) && near(got.y0, want.y0, tol) && near(got.side, want.side, tol),
    `${what}: the page cropped ${JSON.stringify(got)}, fomm animate ${JSON.stringify(want)}`,
  );
};
/** Pixels of the result canvas, hashed (does it change?). */
const resultHash = () =>
  page.evaluate(() => {
    const c = document.getElementById("result-canvas");
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let h = 0;
    for (let i = 0; i < d.length; i += 7) h = (h * 31 + d[i]) | 0;
    return h;
  });

let failed = null;
try {
  await check("the network guard blocks other hosts", async () => {
    await page.goto(`${origin}?model=/fixtures/model/&capture=1`);
    await page.evaluate(() => fetch("http://192.0.2.1/probe").catch(() => null));
    assert.deepEqual(foreign, ["http://192.0.2.1/probe"]);
    foreign.length = 0;
  });

  await check("the model line, the hints of disabled buttons, labelled canvases", async () => {
    await waitState(["ready", "error"]);
    assert.equal(await state(), "ready", JSON.stringify(await message()));
    assert.match(await text("model-line"), /^Model: tiny-64, int8, 64×64; trained on nothing: random weights\./);
    assert.equal(await page.getAttribute("#animate", "title"), "pick a source photo first");
    assert.match(await text("hint"), /Animate: pick a source photo first/);
    for (const id of ["result-canvas", "source-canvas", "driving-canvas"]) {
      assert.equal(await page.getAttribute(`#${id}`, "role"), "img");
      assert.ok((await page.getAttribute(`#${id}`, "aria-label")).length > 10);
    }
    assert.equal(await page.getAttribute("#status", "aria-live"), "polite");
    assert.equal(await text("status"), "model ready");
  });

  await check("animate the driving clip with the int8 graphs (wasm); the status is not per frame", async () => {
    await page.setInputFiles("#source-file", fixture("source.png"));
    await page.waitForFunction(() => /^source:/.test(document.getElementById("status").textContent));
    assert.match(await page.getAttribute("#animate", "title"), /pick a driving video/);
    await page.setInputFiles("#driving-file", fixture("driving.webm"));
    assert.equal(await page.getAttribute("#animate", "title"), "");
    await page.evaluate(() => {
      window.statusChanges = [];
      new MutationObserver(() => window.statusChanges.push(document.getElementById("status").textContent))
        .observe(document.getElementById("status"), { childList: true, characterData: true, subtree: true });
    });
    await page.click("#animate");
    await waitState(["done", "error"]);
    assert.equal(await state(), "done", JSON.stringify(await message()));
    const dump = await page.evaluate(() => window.fommDemo.dump());
    assert.ok(dump.results.length >= 8, `${dump.results.length} result frames`);
    assert.equal(dump.driving.length, dump.results.length);
    assert.ok(dump.face_detector, "the face detector loaded");
    writeFileSync(path.join(dir, "page.json"), JSON.stringify(dump));
    const changes = await page.evaluate(() => window.statusChanges);
    assert.ok(changes.length <= 3, `the live region changed ${changes.length} times: ${changes}`);
    assert.match(changes.at(-1), /^done: \d+ frames of driving\.webm$/);
    const stats = await text("stats");
    assert.match(stats, /ms\/frame/);
    assert.match(stats, /frames\/s for the model/);
  });

  await check("the result loops after the run", async () => {
    const a = await resultHash();
    await page.waitForTimeout(150);
    const b = await resultHash();
    await page.waitForTimeout(150);
    const c = await resultHash();
    assert.ok(a !== b || b !== c, "the result canvas does not change after the run");
    assert.match(await page.getAttribute("#result-canvas", "aria-label"), /playing in a loop/);
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

  await check("a new source resets the stats", async () => {
    assert.match(await text("stats"), /frames \d+/);
    await page.setInputFiles("#source-file", fixture("source2.png"));
    await page.waitForFunction(() => !/frames \d+/.test(document.getElementById("stats").textContent));
    assert.doesNotMatch(await text("stats"), /driver:/);
    assert.equal(await page.getAttribute("#save", "title"), "animate something first");
  });

  await check("a non-image source: a visible message", async () => {
    await page.setInputFiles("#source-file", fixture("not_an_image.png"));
    await page.waitForFunction(() => !document.getElementById("message").hidden);
    const msg = await message();
    assert.equal(msg.kind, "error");
    assert.match(msg.text, /not a picture/);
    assert.ok(await page.isVisible("#message"));
    assert.match(await text("status"), /^error: .*not a picture/);
  });

  await check("an undecodable video: a visible message, and the status names the error", async () => {
    await page.setInputFiles("#source-file", fixture("source.png"));
    await page.waitForFunction(() => /^source:/.test(document.getElementById("status").textContent));
    await page.setInputFiles("#driving-file", fixture("broken.webm"));
    await page.click("#animate");
    await waitState(["error", "done"]);
    const msg = await message();
    assert.equal(msg && msg.kind, "error", JSON.stringify(msg));
    assert.match(msg.text, /broken\.webm: this browser cannot decode the video/);
    assert.ok(await page.isVisible("#message"));
    assert.match(await text("status"), /^error: broken\.webm: this browser cannot decode the video/);
    assert.doesNotMatch(await text("progress"), /opening/);
  });

  await check("the webcam (Chromium's fake camera); stopped when the tab is hidden", async () => {
    await page.waitForFunction(() => !document.getElementById("webcam").disabled);
    await page.click("#webcam");
    await page.waitForFunction(() => window.fommDemo.timing().frames >= 3, null, { timeout: TIMEOUT });
    await page.evaluate(() => {
      Object.defineProperty(document, "hidden", { value: true, configurable: true });
      document.dispatchEvent(new Event("visibilitychange"));
    });
    await page.waitForFunction(() => !document.getElementById("webcam").disabled);
    assert.match((await message()).text, /tab was hidden/);
    await page.evaluate(() => {
      delete document.hidden;
    });
  });

  await check("the webcam: a clear message when its track ends", async () => {
    await page.click("#webcam");
    await page.waitForFunction(() => window.fommDemo.timing().frames >= 2, null, { timeout: TIMEOUT });
    await page.evaluate(() => window.fommDemo.endCamera());
    await page.waitForFunction(() => !document.getElementById("webcam").disabled);
    assert.match((await message()).text, /the camera stopped: its track ended/);
    assert.match(await text("status"), /the camera stopped/);
  });

  await check("a large photo with an off-centre face: cropped and pasted back like fomm animate", async () => {
    await page.setInputFiles("#source-file", fixture("photo.png"));
    await page.waitForFunction(() => /^source: photo\.png/.test(document.getElementById("status").textContent), null, {
      timeout: TIMEOUT,
    });
    assert.match(await text("status"), /face found/);
    await page.setInputFiles("#driving-file", fixture("faces.webm"));
    await page.click("#animate");
    await waitState(["done", "error"]);
    assert.equal(await state(), "done", JSON.stringify(await message()));
    const dump = await page.evaluate(() => window.fommDemo.dump());
    assert.deepEqual(dump.canvas_size, expected.photo.canvas_size);
    assert.ok(dump.paste, "the crop is pasted back into the photo");
    cropNear(dump.canvas_crop, expected.photo.crop, "source crop");
    assert.equal(dump.plan.length, expected.driving.length, JSON.stringify(dump.plan));
    for (const [i, shot] of expected.driving.entries()) {
      assert.equal(dump.plan[i].start, shot.start);
      assert.equal(dump.plan[i].face, shot.face);
      cropNear(dump.plan[i].crop, shot.crop, `driving shot ${i}`);
    }
    const composed = await page.evaluate(() => window.fommDemo.composed(0));
    assert.deepEqual([composed.height, composed.width], expected.photo.canvas_size);
    mkdirSync(path.join(dir, "photo"), { recursive: true });
    writeFileSync(path.join(dir, "photo", "page.json"), JSON.stringify(dump));
    writeFileSync(path.join(dir, "photo", "composed.json"), JSON.stringify(composed));
  });

  await check("the sample button fills both fields (what make web-assets writes)", async () => {
    await page.goto(`${origin}?model=/models/model/`);
    await waitState(["ready", "error"]);
    await page.waitForSelector("#sample", { state: "visible" });
    await page.click("#sample");
    await waitState(["done", "error"]);
    assert.equal(await state(), "done", JSON.stringify(await message()));
    assert.ok((await page.evaluate(() => window.fommDemo.timing().frames)) >= 8);
    const names = await page.evaluate(() =>
      ["source-file", "driving-file"].map((id) => document.getElementById(id).files[0]?.name),
    );
    assert.deepEqual(names, ["source.png", "driving.webm"]);
  });

  await check("a phone (390 px): one column, the result in view", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${origin}?model=/models/model/`);
    await waitState(["ready", "error"]);
    await page.click("#sample");
    await waitState(["done", "error"]);
    const layout = await page.evaluate(() => {
      const r = document.getElementById("result-canvas").getBoundingClientRect();
      const s = document.getElementById("source-canvas").getBoundingClientRect();
      return { scroll: document.documentElement.scrollWidth, top: r.top, bottom: r.bottom, width: r.width, below: s.top >= r.bottom };
    });
    assert.ok(layout.scroll <= 390, `the page is ${layout.scroll} px wide at 390`);
    assert.ok(layout.width >= 300, `the result is ${layout.width} px wide`);
    assert.ok(layout.top < 844 && layout.bottom <= 844 + 1, `the result spans ${layout.top}-${layout.bottom} px`);
    assert.ok(layout.below, "the crops come below the result");
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await check("a contract that does not match its graphs: a visible message", async () => {
    await page.goto(`${origin}?model=/fixtures/bad_model/`);
    await waitState(["error", "ready"]);
    assert.equal(await state(), "error");
    const msg = await message();
    assert.equal(msg.kind, "error");
    assert.match(msg.text, /contract says shape/);
    assert.ok(await page.isVisible("#message"));
    assert.equal(await page.getAttribute("#animate", "title"), "the model is not loaded");
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

  await check("no face detector: centre crops, and the page says so", async () => {
    await page.goto(`${origin}?model=/fixtures/model/&face=/fixtures/no_such_face/`);
    await waitState(["ready", "error"]);
    assert.equal(await state(), "ready");
    assert.match((await message()).text, /no face detector .*centre-cropped/);
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
