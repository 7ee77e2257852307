// The demo page: wires the controls to the pipeline. URL parameters:
//   model=FOLDER/   the export folder (default models/default/, which `make web-assets` fills)
//   accelerator=wasm|webgpu
//   threads=0       LiteRT.js's single-threaded wasm even where the threaded one would run
//   capture=1       keep every decoded driving frame for window.fommDemo.dump() (tests)

import { fitFrame, toRgba } from "./image.js";
import { Animator } from "./pipeline.js";
import { decodeImage, MediaError, openWebcam, pixelsOf, recordWebM, VideoFrames } from "./video.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const WASM_DIR = new URL("../node_modules/@litertjs/core/wasm/", import.meta.url).href;
const SAMPLE = { source: "models/source.png", driving: "models/driving.webm" };

const state = {
  animator: null,
  source: null, // ImageData of the picked photo
  sourceName: "",
  busy: false,
  stop: false,
  webcam: null,
  results: [], // ImageData of each result frame
  resultFps: 25,
  capture: params.get("capture") === "1",
  driving: [], // captured driving frames (capture=1)
  timing: { frames: 0, sums: { kp: 0, motion: 0, generator: 0, total: 0 }, wallMs: 0 },
  source_ms: null,
};

function setState(name) {
  document.body.dataset.state = name;
}

function showMessage(text, kind = "error") {
  const el = $("message");
  el.textContent = text;
  el.className = kind;
  el.hidden = false;
}

function clearMessage() {
  $("message").hidden = true;
  $("message").textContent = "";
}

const status = (text) => ($("status").textContent = text);

function fail(err, what) {
  const known = err instanceof MediaError || err.name === "ContractError";
  const text = known ? err.message : `${what}: ${err.message || err}`;
  showMessage(text, "error");
  console.warn(what, err);
}

function updateButtons() {
  const ready = !!state.animator && !state.busy;
  $("animate").disabled = !(ready && state.source && $("driving-file").files.length);
  $("webcam").disabled = !(ready && state.source);
  $("stop").disabled = !state.busy;
  $("reset-initial").disabled = !state.busy;
  $("save").disabled = state.busy || state.results.length === 0;
  $("load-model").disabled = state.busy;
  $("source-file").disabled = state.busy; // the source is cached in the graphs while running
  $("sample").disabled = state.busy;
}

function draw(canvasId, rgb, h, w) {
  const c = $(canvasId);
  if (c.width !== w) c.width = w;
  if (c.height !== h) c.height = h;
  const img = new ImageData(toRgba(rgb, h, w), w, h);
  c.getContext("2d").putImageData(img, 0, 0);
  return img;
}

function resetTiming() {
  state.timing = { frames: 0, sums: { kp: 0, motion: 0, generator: 0, total: 0 }, wallMs: 0 };
}

function showStats(extra = "") {
  const t = state.timing;
  const n = Math.max(1, t.frames);
  const f = (x) => (x / n).toFixed(1);
  const fps = t.wallMs > 0 ? ((1000 * t.frames) / t.wallMs).toFixed(1) : "–";
  const src = state.source_ms
    ? `source (once): keypoints ${state.source_ms.kp.toFixed(1)} ms, encoder ${state.source_ms.encoder.toFixed(1)} ms\n`
    : "";
  $("stats").textContent =
    src +
    `frames ${t.frames}${extra}: keypoints ${f(t.sums.kp)} ms · motion ${f(t.sums.motion)} ms · ` +
    `generator ${f(t.sums.generator)} ms · ${f(t.sums.total)} ms/frame · ${fps} fps`;
}

async function loadModel() {
  const url = $("model-url").value.trim() || "models/default/";
  const accelerator = $("accelerator").value;
  if (state.animator) {
    state.animator.delete();
    state.animator = null;
  }
  clearMessage();
  setState("loading");
  updateButtons();
  try {
    state.animator = await Animator.load(new URL(url, location.href).href, {
      accelerator,
      wasmDir: WASM_DIR,
      threads: params.get("threads") !== "0",
      onStatus: status,
    });
  } catch (err) {
    state.animator = null;
    setState("error");
    status("no model loaded");
    fail(err, "the model could not be loaded");
    updateButtons();
    return;
  }
  const a = state.animator;
  const c = a.contract;
  $("model-info").textContent =
    `model ${url}: ${c.quant}, ${c.image_size.join("×")}, ${c.num_kp} keypoints · ` +
    `${Object.entries(a.info.accelerators).map(([g, x]) => `${g} on ${x}`).join(", ")} · ` +
    `${a.info.threads ? "threaded" : "single-threaded"} wasm · motion: ` +
    `${a.motion.options.relative ? "relative" : "absolute"}` +
    `${a.motion.options.adaptMovementScale ? ", adapt scale" : ""}` +
    `${a.motion.options.relativeJacobian ? ", relative Jacobian" : ""}`;
  const notes = [...a.info.notes];
  if (c.export_options && c.export_options.random_weights) {
    notes.push(
      "this export has random weights (no trained model yet): it proves the pipeline, the " +
        "result is not a picture; export a checkpoint with make web-assets WEB_CHECKPOINT=…",
    );
  }
  if (notes.length) showMessage(notes.join("\n"), "info");
  status("model ready");
  setState("ready");
  if (state.source) await prepareSource();
  updateButtons();
}

async function prepareSource() {
  const a = state.animator;
  if (!a || !state.source) return;
  const { data, width, height } = state.source;
  const rgb = fitFrame(data, width, height, a.height, a.width);
  draw("source-canvas", rgb, a.height, a.width);
  state.source_ms = await a.setSource(rgb);
  showStats();
}

async function pickSource(file) {
  clearMessage();
  try {
    const img = await decodeImage(file);
    state.source = img;
    state.sourceName = file.name;
    await prepareSource();
    status(`source: ${file.name} (${img.width}×${img.height})`);
  } catch (err) {
    fail(err, "the source could not be used");
  }
  updateButtons();
}

function beginRun() {
  clearMessage();
  state.busy = true;
  state.stop = false;
  state.results = [];
  state.driving = [];
  resetTiming();
  state.animator.resetDriving();
  setState("running");
  updateButtons();
}

function endRun(ok) {
  state.busy = false;
  if (ok) setState("done");
  else if (document.body.dataset.state === "running") setState("ready");
  updateButtons();
}

async function step(frame, mirror = false) {
  const a = state.animator;
  const rgb = fitFrame(frame.data, frame.width, frame.height, a.height, a.width, { mirror });
  draw("driving-canvas", rgb, a.height, a.width);
  const out = await a.animate(rgb);
  const img = draw("result-canvas", out.prediction, a.height, a.width);
  for (const k of Object.keys(state.timing.sums)) state.timing.sums[k] += out.ms[k];
  state.timing.frames += 1;
  return img;
}

async function animateVideo(file) {
  if (!state.animator || !state.source) return;
  const fps = Math.max(1, Number($("fps").value) || 25);
  const maxFrames = Math.max(1, Number($("max-frames").value) || 300);
  beginRun();
  let video;
  let ok = false;
  try {
    status(`opening ${file.name}`);
    video = await VideoFrames.open(file);
    const n = Math.min(video.count(fps), maxFrames);
    state.resultFps = fps;
    const t0 = performance.now();
    for (let i = 0; i < n && !state.stop; i++) {
      const frame = await video.frame(i, fps);
      if (state.capture) state.driving.push(frame);
      state.results.push(await step(frame));
      state.timing.wallMs = performance.now() - t0;
      showStats(` of ${n}`);
      status(`frame ${i + 1} of ${n}`);
    }
    ok = !state.stop;
    status(ok ? `done: ${n} frames` : "stopped");
  } catch (err) {
    fail(err, "the animation stopped");
    setState("error");
  } finally {
    if (video) video.close();
    endRun(ok);
  }
}

async function runWebcam() {
  if (!state.animator || !state.source) return;
  beginRun();
  let cam;
  try {
    cam = await openWebcam();
    state.webcam = cam;
    const canvas = document.createElement("canvas");
    const maxFrames = Math.max(1, Number($("max-frames").value) || 300);
    const t0 = performance.now();
    status("webcam: running (Stop ends it)");
    while (!state.stop) {
      const { videoWidth: w, videoHeight: h } = cam.video;
      if (w && h) {
        const img = await step(pixelsOf(cam.video, w, h, canvas), true);
        state.results.push(img);
        if (state.results.length > maxFrames) state.results.shift();
        state.timing.wallMs = performance.now() - t0;
        state.resultFps = Math.max(1, Math.round((1000 * state.timing.frames) / state.timing.wallMs));
        showStats(" (webcam)");
      }
      await new Promise((r) => requestAnimationFrame(r));
    }
    status("webcam stopped");
  } catch (err) {
    fail(err, "the webcam stopped");
  } finally {
    if (cam) cam.stop();
    state.webcam = null;
    endRun(false);
  }
}

async function save() {
  if (!state.results.length) return;
  $("save").disabled = true;
  status("recording the WebM…");
  try {
    const blob = await recordWebM(state.results, state.resultFps);
    if (!blob) {
      showMessage("this browser cannot record WebM", "error");
      return;
    }
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "fomm-result.webm";
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    status(`saved fomm-result.webm (${(blob.size / 1024).toFixed(0)} KiB)`);
  } catch (err) {
    fail(err, "the WebM could not be written");
  } finally {
    updateButtons();
  }
}

async function useSample() {
  try {
    const [src, drv] = await Promise.all(Object.values(SAMPLE).map((u) => fetch(u)));
    if (!src.ok || !drv.ok) throw new Error("the sample files are missing (make web-assets)");
    const sourceFile = new File([await src.blob()], "source.png", { type: "image/png" });
    const drivingFile = new File([await drv.blob()], "driving.webm", { type: "video/webm" });
    const dt = new DataTransfer();
    dt.items.add(drivingFile);
    $("driving-file").files = dt.files;
    await pickSource(sourceFile);
    await animateVideo(drivingFile);
  } catch (err) {
    fail(err, "the sample could not be used");
  }
}

function b64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

const imageEntry = (img) => ({
  width: img.width,
  height: img.height,
  rgba_b64: b64(new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength)),
});

// What the end-to-end test reads back (and a handle for debugging in the console).
window.fommDemo = {
  get state() {
    return document.body.dataset.state;
  },
  timing: () => JSON.parse(JSON.stringify(state.timing)),
  dump: () => ({
    source: state.source ? imageEntry(state.source) : null,
    driving: state.driving.map(imageEntry),
    results: state.results.map(imageEntry),
    timing: state.timing,
    source_ms: state.source_ms,
    accelerators: state.animator ? state.animator.info.accelerators : null,
    threads: state.animator ? state.animator.info.threads : null,
    scale: state.animator && state.animator.scale,
  }),
};

window.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  fail(e.reason || new Error("unknown"), "unexpected error");
});
window.addEventListener("error", (e) => fail(e.error || new Error(e.message), "unexpected error"));

$("model-url").value = params.get("model") || "models/default/";
if (params.get("accelerator")) $("accelerator").value = params.get("accelerator");
$("source-file").addEventListener("change", (e) => e.target.files[0] && pickSource(e.target.files[0]));
$("driving-file").addEventListener("change", () => updateButtons());
$("animate").addEventListener("click", () => animateVideo($("driving-file").files[0]));
$("webcam").addEventListener("click", () => runWebcam());
$("stop").addEventListener("click", () => (state.stop = true));
$("reset-initial").addEventListener("click", () => state.animator && state.animator.resetDriving());
$("save").addEventListener("click", () => save());
$("load-model").addEventListener("click", () => loadModel());
$("sample").addEventListener("click", () => useSample());
fetch(SAMPLE.source, { method: "HEAD" })
  .then((r) => ($("sample").hidden = !r.ok))
  .catch(() => {});
loadModel();
