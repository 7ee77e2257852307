// The demo page: wires the controls to the face crop and the pipeline. URL parameters:
//   model=FOLDER/   the export folder (default models/default/, which `make web-assets` fills)
//   face=FOLDER/    the face detector folder (default models/face/; missing: centre crops)
//   accelerator=wasm|webgpu
//   threads=0       LiteRT.js's single-threaded wasm even where the threaded one would run;
//   threads=N       the threaded build with N XNNPACK threads (default: hardwareConcurrency)
//   capture=1       keep what the model was fed for window.fommDemo.dump() (tests)
//
// The photo is prepared as `fomm animate` prepares it (fomm_tf.animation.photo.prepare_source): scaled
// to at most crop.max_size on its long side (the canvas), the face found on the canvas, the
// square around it (crop_rules.json) cut from the full-resolution photo at the model's size;
// each animated frame is pasted back into the canvas with a feathered edge. A driving video
// is planned as fomm_tf.animation.driver does it: frames at most tracking.analysis_side pixels long go
// through the face tracker (cuts, a detection every few frames, one square per shot), then
// frames at most tracking.work_side long are cut to their shot's square.

import { canvasSize, centerCrop, covers, extractCrop, faceCrop, fitLongSide, pasteMask, planCrops, scaleCrop } from "./crop.js";
import { FaceTracker } from "./faces.js";
import { orient, resizeArea, toRgba } from "./image.js";
import { Animator, loadFaceDetector } from "./pipeline.js";
import { decodeImage, MediaError, openWebcam, pixelsOf, recordWebM, VideoFrames } from "./video.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const WASM_DIR = new URL("../node_modules/@litertjs/core/wasm/", import.meta.url).href;
const SAMPLE = { source: "models/source.png", driving: "models/driving.webm" };
const RATE = { min: 1, max: 60, fallback: 25 };
const FRAMES = { min: 1, max: 3000, fallback: 300 };

const state = {
  animator: null,
  face: null, // {detector, rules, info, delete()} or null (centre crops)
  faceNote: "",
  source: null, // {name, picture: ImageData, canvas, crop (canvas px), face, paste, input}
  busy: false,
  stop: false,
  webcam: null,
  results: [], // RGBA bytes of each result frame (model size)
  resultFps: 25,
  loop: null,
  capture: params.get("capture") === "1",
  driving: [], // captured: {frame: ImageData (work size), crop}
  inputs: [], // captured: model inputs (Float32Array) of each driving frame
  plan: null,
  timing: null,
  wallMs: 0,
  compositor: null,
};

// ------------------------------------------------------------------------------------------
// messages, status, progress

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

/** A state change, announced (the live region): never per frame. */
const announce = (text) => ($("status").textContent = text);
/** Frame counters: shown, not announced. */
const progress = (text) => ($("progress").textContent = text);

function errorText(err, what) {
  const known = err instanceof MediaError || err.name === "ContractError";
  return known ? err.message : `${what}: ${err.message || err}`;
}

function fail(err, what) {
  const text = errorText(err, what);
  showMessage(text, "error");
  announce(`error: ${text}`);
  console.warn(what, err);
}

const label = (id, text) => $(id).setAttribute("aria-label", text);

// ------------------------------------------------------------------------------------------
// buttons and fields

function clampField(id, { min, max, fallback }) {
  const el = $(id);
  let v = Math.round(Number(el.value));
  if (!Number.isFinite(v)) v = fallback;
  const clamped = Math.min(max, Math.max(min, v));
  if (String(clamped) !== el.value) el.value = String(clamped);
  return clamped;
}

function updateButtons() {
  const ready = !!state.animator && !state.busy;
  const hasVideo = $("driving-file").files.length > 0;
  const why = {};
  if (!state.animator) why.all = state.busy ? "" : "the model is not loaded";
  if (state.busy) why.busy = "wait for the run to end, or Stop it";
  const needSource = state.source ? null : "pick a source photo first";
  why.animate = why.all || why.busy || needSource || (hasVideo ? null : "pick a driving video");
  why.webcam = why.all || why.busy || needSource;
  why.stop = state.busy ? null : "nothing is running";
  why.reset = state.busy ? null : "only while animating";
  why.save = state.busy ? why.busy : state.results.length ? null : "animate something first";
  const set = (id, reason) => {
    $(id).disabled = !!reason;
    $(id).title = reason || "";
  };
  set("animate", why.animate);
  set("webcam", why.webcam);
  set("stop", why.stop);
  set("reset-initial", why.reset);
  set("save", why.save);
  $("load-model").disabled = state.busy;
  $("source-file").disabled = state.busy; // the source is cached in the graphs while running
  $("sample").disabled = state.busy;
  const hints = [];
  if (why.animate) hints.push(`Animate: ${why.animate}`);
  if (why.webcam && why.webcam !== why.animate) hints.push(`Webcam: ${why.webcam}`);
  if (!why.animate && !state.busy) hints.push("Ready: Animate or Webcam");
  if (why.save && !state.busy && state.source && !why.animate) hints.push(`Save: ${why.save}`);
  $("hint").textContent = hints.join(" · ");
}

// ------------------------------------------------------------------------------------------
// drawing: the model-size views and the result pasted back into the photo

const smallCanvas = document.createElement("canvas");

function drawSmall(canvasId, rgb, h, w) {
  const c = $(canvasId);
  if (c.width !== w) c.width = w;
  if (c.height !== h) c.height = h;
  const px = toRgba(rgb, h, w);
  c.getContext("2d").putImageData(new ImageData(px, w, h), 0, 0);
  return px;
}

/**
 * Puts result frames (model-size RGBA) on the result canvas: pasted into the photo's canvas
 * through fomm_tf.animation.photo.PasteBack's feathered mask when the crop is not the whole photo,
 * else the result itself.
 */
class Compositor {
  constructor(canvas, source, size, feather) {
    this.canvas = canvas;
    this.size = size;
    this.paste = source.paste;
    if (!this.paste) {
      this.width = size;
      this.height = size;
      return;
    }
    const bg = source.canvas;
    this.width = bg.width;
    this.height = bg.height;
    this.background = document.createElement("canvas");
    this.background.width = bg.width;
    this.background.height = bg.height;
    this.background.getContext("2d").putImageData(bg, 0, 0);
    const m = pasteMask(source.crop, bg.height, bg.width, feather);
    this.crop = source.crop;
    this.box = m.box;
    const alpha = new ImageData(m.width, m.height);
    for (let i = 0; i < m.mask.length; i++) alpha.data[4 * i + 3] = Math.round(255 * m.mask[i]);
    this.mask = document.createElement("canvas");
    this.mask.width = m.width;
    this.mask.height = m.height;
    this.mask.getContext("2d").putImageData(alpha, 0, 0);
    this.part = document.createElement("canvas");
    this.part.width = m.width;
    this.part.height = m.height;
  }

  /** Draw one result (RGBA bytes, size x size) onto `ctx` (default: the result canvas). */
  draw(rgba, ctx = null) {
    const c = ctx || this.canvas.getContext("2d");
    if (!ctx) {
      if (this.canvas.width !== this.width) this.canvas.width = this.width;
      if (this.canvas.height !== this.height) this.canvas.height = this.height;
    }
    const s = this.size;
    if (smallCanvas.width !== s) smallCanvas.width = s;
    if (smallCanvas.height !== s) smallCanvas.height = s;
    smallCanvas.getContext("2d").putImageData(new ImageData(rgba, s, s), 0, 0);
    if (!this.paste) {
      c.drawImage(smallCanvas, 0, 0);
      return;
    }
    if (ctx) c.drawImage(this.background, 0, 0); // a fresh canvas (recording)
    const [x0, y0, x1, y1] = this.box;
    const p = this.part.getContext("2d");
    p.globalCompositeOperation = "copy";
    p.imageSmoothingEnabled = true;
    p.imageSmoothingQuality = "high";
    const side = this.crop.side;
    p.drawImage(smallCanvas, 0, 0, s, s, this.crop.x0 - x0, this.crop.y0 - y0, side, side);
    p.globalCompositeOperation = "destination-in";
    p.drawImage(this.mask, 0, 0);
    c.drawImage(this.background, x0, y0, x1 - x0, y1 - y0, x0, y0, x1 - x0, y1 - y0);
    c.drawImage(this.part, x0, y0);
  }

  /** The background alone (before the first frame). */
  drawBackground() {
    if (!this.paste) return;
    this.canvas.width = this.width;
    this.canvas.height = this.height;
    this.canvas.getContext("2d").drawImage(this.background, 0, 0);
  }
}

function stopLoop() {
  if (state.loop) clearInterval(state.loop);
  state.loop = null;
}

/** After a run the result plays in a loop at its rate until something else starts. */
function startLoop() {
  stopLoop();
  if (state.results.length < 2 || !state.compositor) return;
  let i = 0;
  state.loop = setInterval(() => {
    i = (i + 1) % state.results.length;
    state.compositor.draw(state.results[i]);
  }, 1000 / state.resultFps);
}

// ------------------------------------------------------------------------------------------
// stats

function resetStats() {
  state.timing = { frames: 0, sums: { kp: 0, motion: 0, generator: 0, total: 0 }, wallMs: 0 };
  $("stats").textContent = "";
}

function showStats(extra = "") {
  const t = state.timing;
  const n = Math.max(1, t.frames);
  const f = (x) => (x / n).toFixed(1);
  const fps = t.wallMs > 0 ? ((1000 * t.frames) / t.wallMs).toFixed(1) : "–";
  const model = t.frames ? (1000 / (t.sums.total / n)).toFixed(1) : "–";
  const src = state.source && state.source.ms
    ? `source (once): face ${state.source.ms.face.toFixed(0)} ms, keypoints ` +
      `${state.source.ms.kp.toFixed(1)} ms, encoder ${state.source.ms.encoder.toFixed(1)} ms\n`
    : "";
  const plan = state.plan ? `driver: ${state.plan.length} shot(s), planned in ${state.planMs.toFixed(0)} ms\n` : "";
  $("stats").textContent =
    src +
    plan +
    (t.frames
      ? `frames ${t.frames}${extra}: keypoints ${f(t.sums.kp)} ms · motion ${f(t.sums.motion)} ms · ` +
        `generator ${f(t.sums.generator)} ms = ${f(t.sums.total)} ms/frame (${model} frames/s ` +
        `for the model) · ${fps} frames/s with decoding and drawing`
      : "");
}

// ------------------------------------------------------------------------------------------
// the model and the face detector

function describeModel() {
  const c = state.animator.contract;
  const m = c.model || {};
  const name = m.name || (c.fomm_config && c.fomm_config.name) || "this model";
  const trained = m.trained_on ? `trained on ${m.trained_on}` : "what it was trained on is not recorded";
  const line = $("model-line");
  line.textContent = `Model: ${name}, ${c.quant}, ${c.image_size.join("×")}; ${trained}. `;
  if (m.card) {
    const a = document.createElement("a");
    a.href = new URL(m.card, state.modelUrl).href;
    a.textContent = "Model card";
    line.append(a);
  }
}

async function loadModel() {
  const url = $("model-url").value.trim() || "models/default/";
  const accelerator = $("accelerator").value;
  stopLoop();
  if (state.face) state.face.delete();
  state.face = null;
  if (state.animator) state.animator.delete();
  state.animator = null;
  clearMessage();
  setState("loading");
  announce("loading the model");
  updateButtons();
  const threads = params.get("threads") !== "0";
  const numThreads = Math.max(0, Math.floor(Number(params.get("threads")) || 0));
  try {
    state.modelUrl = new URL(url, location.href).href;
    state.animator = await Animator.load(state.modelUrl, {
      accelerator,
      wasmDir: WASM_DIR,
      threads,
      numThreads,
      onStatus: progress,
    });
  } catch (err) {
    state.animator = null;
    setState("error");
    $("model-line").textContent = "No model loaded.";
    fail(err, "the model could not be loaded");
    updateButtons();
    return;
  }
  const notes = [...state.animator.info.notes];
  try {
    progress("loading the face detector");
    const faceUrl = new URL(params.get("face") || "models/face/", location.href).href;
    state.face = await loadFaceDetector(faceUrl, { wasmDir: WASM_DIR, threads, numThreads });
    state.faceNote = "";
  } catch (err) {
    state.face = null;
    state.faceNote = `no face detector (${err.message}): photos and videos are centre-cropped`;
    notes.push(state.faceNote);
  }
  const a = state.animator;
  const c = a.contract;
  describeModel();
  $("model-info").textContent =
    `model ${url}: ${c.quant}, ${c.image_size.join("×")}, ${c.num_kp} keypoints · ` +
    `${Object.entries(a.info.accelerators).map(([g, x]) => `${g} on ${x}`).join(", ")} · ` +
    `${a.info.threads ? `threaded wasm (${a.info.numThreads} threads)` : "single-threaded wasm"} · motion: ` +
    `${a.motion.options.relative ? "relative" : "absolute"}` +
    `${a.motion.options.adaptMovementScale ? ", adapt scale" : ""}` +
    `${a.motion.options.relativeJacobian ? ", relative Jacobian" : ""}` +
    (state.face ? `\nface detector: ${state.face.info} (MediaPipe BlazeFace)` : "");
  if (c.export_options && c.export_options.random_weights) {
    notes.push(
      "this export has random weights (no trained model yet): it proves the pipeline, the " +
        "result is not a picture; export a checkpoint with make web-assets WEB_CHECKPOINT=…",
    );
  }
  if (notes.length) showMessage(notes.join("\n"), "info");
  progress("");
  setState("ready");
  announce("model ready");
  if (state.source) {
    try {
      await prepareSource();
    } catch (err) {
      fail(err, "the source could not be used");
    }
  }
  updateButtons();
}

// ------------------------------------------------------------------------------------------
// the source photo

const cropMode = () => (state.face && $("crop-mode").value === "auto" ? "auto" : "center");

/** ImageData of a picture scaled to w x h (the browser's high-quality filter). */
function scaled(picture, w, h) {
  if (picture.width === w && picture.height === h) return picture;
  const src = document.createElement("canvas");
  src.width = picture.width;
  src.height = picture.height;
  src.getContext("2d").putImageData(picture, 0, 0);
  const dst = document.createElement("canvas");
  dst.width = w;
  dst.height = h;
  const ctx = dst.getContext("2d", { willReadFrequently: true });
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(src, 0, 0, w, h);
  return ctx.getImageData(0, 0, w, h);
}

/** fomm_tf.animation.photo.prepare_source + the model's source pass (keypoints, encoder). */
async function prepareSource() {
  const a = state.animator;
  const picture = state.source ? state.source.picture : null;
  if (!a || !picture) return;
  const rules = state.face ? state.face.rules : null;
  const maxSize = rules ? rules.crop.max_size : Math.max(picture.width, picture.height);
  const { width, height, factor } = canvasSize(picture.height, picture.width, maxSize);
  const canvas = scaled(picture, width, height);
  const t0 = performance.now();
  let face = null;
  if (cropMode() === "auto") face = await state.face.detector.find(canvas, true);
  const faceMs = performance.now() - t0;
  const crop = face ? faceCrop(face, height, width, rules) : centerCrop(height, width);
  const full = scaleCrop(crop, 1 / factor);
  const input = extractCrop(picture.data, picture.width, picture.height, full, a.width);
  const ms = await a.setSource(input);
  ms.face = faceMs;
  Object.assign(state.source, {
    canvas,
    crop,
    fullCrop: full,
    face,
    factor,
    paste: !covers(crop, height, width),
    input,
    ms,
  });
  state.compositor = new Compositor($("result-canvas"), state.source, a.width, rules ? rules.crop.feather : 0.08);
  drawSmall("source-canvas", input, a.height, a.width);
  label("source-canvas", `the source crop: ${face ? "the face" : "the centre"} of ${state.source.name}`);
  state.compositor.drawBackground();
  if (!state.source.paste) drawSmall("result-canvas", input, a.height, a.width);
  label("result-canvas", `the result: ${state.source.name}, not animated yet`);
  state.results = [];
  state.plan = null;
  resetStats();
  showStats();
  const how = face
    ? `face found, ${crop.side}×${crop.side} crop${state.source.paste ? ", pasted back into the photo" : ""}`
    : state.face && cropMode() === "auto"
      ? "no face found: centre crop"
      : "centre crop";
  announce(`source: ${state.source.name} (${picture.width}×${picture.height}), ${how}`);
}

async function pickSource(file) {
  if (state.busy) return;
  stopLoop();
  clearMessage();
  try {
    const picture = await decodeImage(file);
    state.source = { name: file.name, file, picture };
    if (state.animator) await prepareSource();
    else announce(`source: ${file.name}; waiting for the model`);
  } catch (err) {
    state.source = null;
    state.results = [];
    resetStats();
    fail(err, "the source could not be used");
  }
  updateButtons();
}

// ------------------------------------------------------------------------------------------
// runs

function beginRun() {
  stopLoop();
  clearMessage();
  state.busy = true;
  state.stop = false;
  state.results = [];
  state.driving = [];
  state.inputs = [];
  state.plan = null;
  state.planMs = 0;
  resetStats();
  state.animator.resetDriving();
  state.compositor.drawBackground();
  setState("running");
  updateButtons();
}

function endRun(ok, text) {
  state.busy = false;
  if (ok) setState("done");
  else if (document.body.dataset.state === "running") setState("ready");
  progress("");
  if (text) announce(text);
  if (state.results.length) {
    label("result-canvas", `the result: ${state.source.name} animated, ${state.results.length} frames, playing in a loop`);
    startLoop();
  }
  updateButtons();
}

/** One driving frame cut at `crop` (work pixels) -> the model, the views, the results. */
async function step(frame, crop) {
  const a = state.animator;
  const input = extractCrop(frame.data, frame.width, frame.height, crop, a.width);
  drawSmall("driving-canvas", input, a.height, a.width);
  const out = await a.animate(input);
  const px = toRgba(out.prediction, a.height, a.width);
  state.compositor.draw(px);
  for (const k of Object.keys(state.timing.sums)) state.timing.sums[k] += out.ms[k];
  state.timing.frames += 1;
  if (state.capture) state.inputs.push(input);
  return px;
}

const areaResize = (grey3, h, w, side) => resizeArea(grey3, h, w, side, side);

/** fomm_tf.animation.driver.plan_crops over the first n frames (sampling `rate`). */
async function planDriver(video, n, rate, work) {
  if (cropMode() !== "auto") return [{ start: 0, stop: n, face: false, crop: centerCrop(work.height, work.width) }];
  const rules = state.face.rules;
  const analysis = fitLongSide(video.height, video.width, rules.tracking.analysis_side);
  const tracker = new FaceTracker(state.face.detector, rules, areaResize);
  for (let i = 0; i < n && !state.stop; i++) {
    progress(`finding the driver's face: frame ${i + 1} of ${n}`);
    await tracker.push(await video.frame(i, rate, analysis));
  }
  return planCrops(tracker.shots(), analysis.width, work.height, work.width, rules);
}

async function animateVideo(file) {
  if (!state.animator || !state.source || state.busy) return;
  const rate = clampField("rate", RATE);
  const maxFrames = clampField("max-frames", FRAMES);
  beginRun();
  let video;
  let ok = false;
  let text = "";
  try {
    announce(`animating ${file.name}`);
    progress(`opening ${file.name}`);
    video = await VideoFrames.open(file);
    const n = Math.min(video.count(rate), maxFrames);
    state.resultFps = rate;
    const rules = state.face ? state.face.rules : null;
    const work = rules ? fitLongSide(video.height, video.width, rules.tracking.work_side) : video;
    const p0 = performance.now();
    state.plan = await planDriver(video, n, rate, work);
    state.planMs = performance.now() - p0;
    const t0 = performance.now();
    let k = 0;
    for (let i = 0; i < n && !state.stop; i++) {
      while (k + 1 < state.plan.length && i >= state.plan[k].stop) k += 1;
      const frame = await video.frame(i, rate, { width: work.width, height: work.height });
      const crop = state.plan[k].crop;
      if (state.capture) state.driving.push({ frame, crop });
      state.results.push(await step(frame, crop));
      state.timing.wallMs = performance.now() - t0;
      if (i % 5 === 4 || i === n - 1) showStats(` of ${n}`);
      progress(`frame ${i + 1} of ${n}`);
    }
    ok = !state.stop;
    text = ok ? `done: ${state.results.length} frames of ${file.name}` : "stopped";
  } catch (err) {
    fail(err, "the animation stopped");
    setState("error");
  } finally {
    if (video) video.close();
    showStats();
    endRun(ok, text);
  }
}

/** The webcam frame, mirrored (the animation moves like a mirror image). */
function cameraFrame(cam, canvas) {
  const { videoWidth: w, videoHeight: h } = cam.video;
  if (!w || !h) return null;
  const img = pixelsOf(cam.video, w, h, canvas);
  const up = orient(img.data, w, h, 0, true);
  return { data: up.data, width: up.width, height: up.height };
}

async function runWebcam() {
  if (!state.animator || !state.source || state.busy) return;
  beginRun();
  let cam;
  let text = "webcam stopped";
  try {
    cam = await openWebcam();
    state.webcam = cam;
    cam.onEnded(() => {
      if (state.webcam !== cam) return;
      state.stop = true;
      text = "the camera stopped: its track ended (unplugged, or taken by another app)";
      showMessage(text, "error");
    });
    const canvas = document.createElement("canvas");
    const maxFrames = clampField("max-frames", FRAMES);
    const rules = state.face ? state.face.rules : null;
    const t0 = performance.now();
    let crop = null;
    let face = false;
    let sinceLook = 0;
    announce("webcam: running (Stop ends it)");
    while (!state.stop) {
      const frame = cameraFrame(cam, canvas);
      if (frame) {
        // One shot per start / Reset: the face is looked for until found, then kept.
        if (state.recrop || !crop || (!face && sinceLook >= (rules ? rules.tracking.every : 1))) {
          state.recrop = false;
          sinceLook = 0;
          const box = cropMode() === "auto" ? await state.face.detector.find(frame, false) : null;
          const next = box ? faceCrop(box, frame.height, frame.width, rules) : centerCrop(frame.height, frame.width);
          if (!crop || box) state.animator.resetDriving();
          crop = !crop || box ? next : crop;
          face = !!box;
        }
        sinceLook += 1;
        state.results.push(await step(frame, crop));
        if (state.results.length > maxFrames) state.results.shift();
        state.timing.wallMs = performance.now() - t0;
        state.resultFps = Math.max(1, Math.round((1000 * state.timing.frames) / state.timing.wallMs));
        if (state.timing.frames % 10 === 0) showStats(" (webcam)");
        progress(`webcam frame ${state.timing.frames}${face ? ", face crop" : ", centre crop"}`);
      }
      await new Promise((r) => requestAnimationFrame(r));
    }
  } catch (err) {
    fail(err, "the webcam stopped");
    text = "";
  } finally {
    if (cam) cam.stop();
    state.webcam = null;
    showStats(" (webcam)");
    endRun(false, text);
  }
}

async function save() {
  if (!state.results.length || !state.compositor) return;
  $("save").disabled = true;
  announce("recording the WebM");
  try {
    const comp = state.compositor;
    const blob = await recordWebM({
      width: comp.width,
      height: comp.height,
      count: state.results.length,
      fps: state.resultFps,
      draw: (ctx, i) => comp.draw(state.results[i], ctx),
    });
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
    announce(`saved fomm-result.webm (${(blob.size / 1024).toFixed(0)} KiB)`);
  } catch (err) {
    fail(err, "the WebM could not be written");
  } finally {
    updateButtons();
  }
}

async function useSample() {
  if (state.busy) return;
  try {
    const [src, drv] = await Promise.all(Object.values(SAMPLE).map((u) => fetch(u)));
    if (!src.ok || !drv.ok) throw new Error("the sample files are missing (make web-assets)");
    const sourceFile = new File([await src.blob()], "source.png", { type: "image/png" });
    const drivingFile = new File([await drv.blob()], "driving.webm", { type: "video/webm" });
    // Both fields show what is used.
    const s = new DataTransfer();
    s.items.add(sourceFile);
    $("source-file").files = s.files;
    const d = new DataTransfer();
    d.items.add(drivingFile);
    $("driving-file").files = d.files;
    await pickSource(sourceFile);
    if (state.source) await animateVideo(drivingFile);
  } catch (err) {
    fail(err, "the sample could not be used");
  }
}

// ------------------------------------------------------------------------------------------
// what the tests read back

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

const floatEntry = (x) => b64(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));

window.fommDemo = {
  get state() {
    return document.body.dataset.state;
  },
  timing: () => JSON.parse(JSON.stringify(state.timing)),
  dump: () => {
    const a = state.animator;
    const s = state.source;
    const size = a ? a.width : 0;
    return {
      source: s && s.picture ? imageEntry(s.picture) : null,
      source_crop: s ? s.fullCrop : null,
      canvas_crop: s ? s.crop : null,
      canvas_size: s && s.canvas ? [s.canvas.height, s.canvas.width] : null,
      face: s ? s.face : null,
      paste: s ? s.paste : null,
      source_input_b64: s && s.input ? floatEntry(s.input) : null,
      driving: state.driving.map((d) => ({ ...imageEntry(d.frame), crop: d.crop })),
      inputs_b64: state.inputs.map(floatEntry),
      plan: state.plan,
      results: state.results.map((px) => imageEntry({ width: size, height: size, data: px })),
      timing: state.timing,
      source_ms: s ? s.ms : null,
      accelerators: a ? a.info.accelerators : null,
      threads: a ? a.info.threads : null,
      numThreads: a ? a.info.numThreads : null,
      face_detector: !!state.face,
      scale: a && a.scale,
    };
  },
  /** As if the camera's track ended by itself (tests). */
  endCamera() {
    if (state.webcam) for (const t of state.webcam.stream.getVideoTracks()) t.dispatchEvent(new Event("ended"));
  },
  /** The result canvas after drawing result frame i (paste-back included). */
  composed(i) {
    stopLoop();
    state.compositor.draw(state.results[i]);
    const c = $("result-canvas");
    return imageEntry(c.getContext("2d").getImageData(0, 0, c.width, c.height));
  },
};

// ------------------------------------------------------------------------------------------
// wiring

window.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  fail(e.reason || new Error("unknown"), "unexpected error");
});
window.addEventListener("error", (e) => fail(e.error || new Error(e.message), "unexpected error"));
document.addEventListener("visibilitychange", () => {
  if (document.hidden && state.webcam) {
    state.stop = true;
    showMessage("the camera was stopped: the tab was hidden", "info");
  }
});

$("model-url").value = params.get("model") || "models/default/";
if (params.get("accelerator")) $("accelerator").value = params.get("accelerator");
$("source-file").addEventListener("change", (e) => e.target.files[0] && pickSource(e.target.files[0]));
$("driving-file").addEventListener("change", () => {
  const f = $("driving-file").files[0];
  if (f) announce(`driving video: ${f.name}`);
  updateButtons();
});
$("animate").addEventListener("click", () => animateVideo($("driving-file").files[0]));
$("webcam").addEventListener("click", () => runWebcam());
$("stop").addEventListener("click", () => (state.stop = true));
$("reset-initial").addEventListener("click", () => {
  if (!state.animator) return;
  state.animator.resetDriving();
  state.recrop = true;
});
$("save").addEventListener("click", () => save());
$("load-model").addEventListener("click", () => loadModel());
$("sample").addEventListener("click", () => useSample());
$("crop-mode").addEventListener("change", () => state.source && !state.busy && pickSource(state.source.file));
for (const [id, bounds] of [["rate", RATE], ["max-frames", FRAMES]]) {
  $(id).addEventListener("change", () => clampField(id, bounds));
}
fetch(SAMPLE.source, { method: "HEAD" })
  .then((r) => ($("sample").hidden = !r.ok))
  .catch(() => {});
resetStats();
updateButtons();
loadModel();
