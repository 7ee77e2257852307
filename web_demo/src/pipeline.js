// The three exported graphs on LiteRT.js, driven as fomm_tf/animation/tflite_backend.py's TFLiteAnimator drives
// them: the source once (keypoints + source_encoder), then per driving frame the keypoint
// detector, relative motion (motion.js) and the generator.

import {
  isWebGPUSupported,
  loadAndCompile,
  loadLiteRt,
  supportsFeature,
  Tensor,
  unloadLiteRt,
} from "@litertjs/core";

import { checkContract, checkGraphBytes, ContractError, GRAPHS, matchGraph } from "./contract.js";
import { FaceDetector } from "./faces.js";
import { MotionTransfer } from "./motion.js";
import { dequantize, quantize } from "./quant.js";

let runtime = null; // {promise, key, threads, jspi}

/** LiteRT.js's WebAssembly runtime from `wasmDir` (same origin), loaded once per option set. */
async function ensureRuntime(wasmDir, { jspi = false, threads: allowThreads = true } = {}) {
  const threads =
    allowThreads &&
    !jspi &&
    globalThis.crossOriginIsolated === true &&
    (await supportsFeature("threads"));
  const key = `${wasmDir}|${threads}|${jspi}`;
  if (runtime && runtime.key === key) return runtime.promise.then(() => runtime);
  if (runtime) {
    await runtime.promise.catch(() => {});
    unloadLiteRt();
  }
  const promise = loadLiteRt(wasmDir, { threads, jspi });
  runtime = { key, promise, threads, jspi };
  try {
    await promise;
  } catch (err) {
    runtime = null;
    throw err;
  }
  return runtime;
}

async function webGpuAdapter() {
  if (!isWebGPUSupported() || !globalThis.navigator || !navigator.gpu) return null;
  try {
    return await navigator.gpu.requestAdapter();
  } catch {
    return null;
  }
}

async function fetchBytes(url, fetchFn) {
  let res;
  try {
    res = await fetchFn(url);
  } catch (err) {
    throw new ContractError(`${url}: cannot be fetched (${err.message})`);
  }
  if (!res.ok) throw new ContractError(`${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** One compiled graph with its contract mapping. */
class Graph {
  constructor(name, model, mapping) {
    this.name = name;
    this.model = model;
    this.inputs = mapping.inputs;
    this.outputs = mapping.outputs;
  }

  /** A LiteRT.js tensor for input `name` from float values (quantized when the graph is). */
  tensor(name, x) {
    const t = this.inputs.find((i) => i.name === name);
    if (!t) throw new RangeError(`${this.name} has no input ${name}`);
    if (!x || x.length !== t.size) {
      throw new RangeError(`${this.name}.${t.name}: ${x ? x.length : 0} values, ${t.size} expected`);
    }
    let data = x;
    if (t.quantization && t.dtype !== "float32") {
      data = quantize(x, t.quantization.scale, t.quantization.zero_point, t.dtype);
    } else if (t.dtype === "int32") data = Int32Array.from(x);
    else if (t.dtype === "uint8") data = Uint8Array.from(x);
    return new Tensor(data, t.shape);
  }

  /**
   * Run with feeds {name: Float32Array | Tensor}; returns {name: Float32Array} (copies).
   * Tensors passed in stay the caller's (e.g. the generator's per-source inputs, made once).
   */
  async run(feeds) {
    const made = [];
    try {
      const tensors = this.inputs.map((t) => {
        const x = feeds[t.name];
        if (x instanceof Tensor) return x;
        const tensor = this.tensor(t.name, x);
        made.push(tensor);
        return tensor;
      });
      const results = await this.model.run(tensors);
      const out = {};
      try {
        for (let i = 0; i < this.outputs.length; i++) {
          const t = this.outputs[i];
          let tensor = results[i];
          if (tensor.accelerator !== "wasm") {
            const moved = await tensor.moveTo("wasm");
            results[i] = moved;
            tensor = moved;
          }
          const raw = tensor.toTypedArray();
          out[t.name] =
            t.quantization && t.dtype !== "float32"
              ? dequantize(raw, t.quantization.scale, t.quantization.zero_point)
              : Float32Array.from(raw);
        }
      } finally {
        for (const r of results) r.delete();
      }
      return out;
    } finally {
      for (const t of made) t.delete();
    }
  }

  delete() {
    this.model.delete();
  }
}

const now = () => performance.now();

/**
 * The animation pipeline of one export folder.
 *
 * `Animator.load(baseUrl)` fetches and checks `model_contract.json` and the graphs, compiles
 * them on the chosen accelerator ('wasm' = CPU/XNNPACK, 'webgpu' falls back to 'wasm' when
 * the browser has no adapter or a graph does not compile there). Then `setSource(rgb)` once
 * per source and `animate(rgb)` per driving frame (HWC float32 frames in [0, 1]);
 * `resetDriving()` makes the next frame the initial driving frame again.
 */
export class Animator {
  static async load(
    baseUrl,
    {
      accelerator = "wasm",
      wasmDir,
      threads = true,
      numThreads = 0,
      fetchFn = globalThis.fetch.bind(globalThis),
      onStatus,
    } = {},
  ) {
    const status = onStatus || (() => {});
    const base = baseUrl.endsWith("/") ? baseUrl : baseUrl + "/";
    status(`reading ${base}model_contract.json`);
    const text = new TextDecoder().decode(await fetchBytes(base + "model_contract.json", fetchFn));
    const contract = checkContract(text);
    const motion = MotionTransfer.fromContract(contract);
    const files = {};
    for (const name of GRAPHS) {
      const entry = contract.graphs[name];
      status(`fetching ${entry.file}`);
      files[name] = await fetchBytes(base + entry.file, fetchFn);
      await checkGraphBytes(name, entry, files[name]);
    }
    const notes = [];
    let accel = accelerator;
    if (accel === "webgpu" && !(await webGpuAdapter())) {
      notes.push("WebGPU is not available in this browser: running on the CPU (wasm)");
      accel = "wasm";
    }
    const rt = await ensureRuntime(wasmDir, {
      threads,
      jspi: accel === "webgpu" && (await supportsFeature("jspi")),
    });
    // XNNPACK's threads (the threaded build only; LiteRT.js's default: hardwareConcurrency).
    const cpu = rt.threads && numThreads > 0 ? { cpuOptions: { numThreads } } : {};
    const graphs = {};
    const used = {};
    try {
      for (const name of GRAPHS) {
        status(`compiling ${name} (${accel})`);
        let model;
        let on = accel;
        try {
          model = await loadAndCompile(files[name], { accelerator: accel, ...cpu });
        } catch (err) {
          if (accel !== "webgpu") throw err;
          notes.push(`${name}: WebGPU failed (${err.message}); running it on the CPU (wasm)`);
          on = "wasm";
          model = await loadAndCompile(files[name], { accelerator: "wasm", ...cpu });
        }
        used[name] = on;
        const mapping = matchGraph(
          name,
          contract.graphs[name],
          model.getInputDetails(),
          model.getOutputDetails(),
        );
        graphs[name] = new Graph(name, model, mapping);
      }
    } catch (err) {
      for (const g of Object.values(graphs)) g.delete();
      throw err;
    }
    const info = {
      accelerators: used,
      notes,
      threads: rt.threads,
      numThreads: rt.threads ? numThreads || globalThis.navigator?.hardwareConcurrency || 0 : 1,
    };
    return new Animator(contract, motion, graphs, info);
  }

  constructor(contract, motion, graphs, info) {
    this.contract = contract;
    this.motion = motion;
    this.graphs = graphs;
    this.info = info;
    const [h, w] = contract.image_size;
    this.height = h;
    this.width = w;
    this.kpSource = null;
    this.cache = null;
    this.sourceTensors = null;
    this.kpInitial = null;
    this.scale = null;
  }

  get accelerator() {
    const set = new Set(Object.values(this.info.accelerators));
    return set.size === 1 ? [...set][0] : "mixed";
  }

  async keypoints(rgb) {
    const out = await this.graphs.kp_detector.run({ image: rgb });
    return { value: out.value, jacobian: out.jacobian || null };
  }

  /** Cache a source frame: its keypoints and the source_encoder outputs. Returns ms. */
  async setSource(rgb) {
    const t0 = now();
    this.kpSource = await this.keypoints(rgb);
    const t1 = now();
    this.cache = await this.graphs.source_encoder.run({ source: rgb });
    const t2 = now();
    // The generator's per-source inputs as tensors, made once (not per frame).
    this.deleteSourceTensors();
    const gen = this.graphs.generator;
    const fixed = { ...this.cache };
    for (const [k, v] of Object.entries(this.kpSource)) if (v) fixed[`kp_source_${k}`] = v;
    this.sourceTensors = {};
    for (const [k, v] of Object.entries(fixed)) this.sourceTensors[k] = gen.tensor(k, v);
    this.resetDriving();
    return { kp: t1 - t0, encoder: t2 - t1 };
  }

  resetDriving() {
    this.kpInitial = null;
    this.scale = null;
  }

  /** One driving frame -> {prediction (HWC float32), kpNorm, kp, scale, ms: {...}}. */
  async animate(rgb) {
    if (!this.kpSource) throw new Error("Animator.animate() before setSource()");
    const t0 = now();
    const kp = await this.keypoints(rgb);
    const t1 = now();
    if (!this.kpInitial) {
      this.kpInitial = kp;
      this.scale = this.motion.scaleFor(this.kpSource, kp);
    }
    const kpNorm = this.motion.normalize(this.kpSource, kp, this.kpInitial, this.scale.value);
    const feeds = { ...this.sourceTensors };
    for (const [k, v] of Object.entries(kpNorm)) if (v) feeds[`kp_driving_${k}`] = v;
    const t2 = now();
    const out = await this.graphs.generator.run(feeds);
    const t3 = now();
    return {
      prediction: out.prediction,
      kp,
      kpNorm,
      scale: this.scale,
      ms: { kp: t1 - t0, motion: t2 - t1, generator: t3 - t2, total: t3 - t0 },
    };
  }

  deleteSourceTensors() {
    for (const t of Object.values(this.sourceTensors || {})) t.delete();
    this.sourceTensors = null;
  }

  delete() {
    this.deleteSourceTensors();
    for (const g of Object.values(this.graphs)) g.delete();
    this.graphs = {};
  }
}

/**
 * The face detector of a face folder (what `make web-assets` writes into models/face/):
 * detector.json, the two BlazeFace graphs (size and SHA-256 checked) compiled on LiteRT.js's
 * CPU path with the runtime the animator uses, and crop_rules.json. Resolves to
 * {detector: FaceDetector, rules, info, delete()}.
 */
export async function loadFaceDetector(
  baseUrl,
  { wasmDir, threads = true, numThreads = 0, fetchFn = globalThis.fetch.bind(globalThis) } = {},
) {
  const base = baseUrl.endsWith("/") ? baseUrl : baseUrl + "/";
  const json = async (name) => {
    const text = new TextDecoder().decode(await fetchBytes(base + name, fetchFn));
    try {
      return JSON.parse(text);
    } catch {
      throw new ContractError(`${base}${name} is not valid JSON`);
    }
  };
  const doc = await json("detector.json");
  if (!doc.models || !doc.models.full || !doc.models.short || !doc.fdlite) {
    throw new ContractError(`${base}detector.json: not a face detector description`);
  }
  const rules = await json(doc.rules || "crop_rules.json");
  for (const key of ["crop", "detector", "tracking"]) {
    if (!rules[key]) throw new ContractError(`crop_rules.json: no "${key}" section`);
  }
  const rt = await ensureRuntime(wasmDir, { threads, jspi: runtime ? runtime.jspi : false });
  const cpu = rt.threads && numThreads > 0 ? { cpuOptions: { numThreads } } : {};
  const graphs = {};
  try {
    for (const which of ["full", "short"]) {
      const entry = doc.models[which];
      const bytes = await fetchBytes(base + entry.file, fetchFn);
      await checkGraphBytes(`face ${which}`, entry, bytes);
      const model = await loadAndCompile(bytes, { accelerator: "wasm", ...cpu });
      graphs[which] = model;
      const [input] = model.getInputDetails();
      const size = entry.ssd.input_size_height;
      if (!input || Array.from(input.shape).join() !== [1, size, size, 3].join()) {
        throw new ContractError(`${entry.file}: input [1, ${size}, ${size}, 3] expected`);
      }
      const outs = model.getOutputDetails();
      const last = (d) => Number(d.shape[d.shape.length - 1]);
      graphs[`${which}_order`] = [outs.findIndex((d) => last(d) === 16), outs.findIndex((d) => last(d) === 1)];
      if (graphs[`${which}_order`].includes(-1)) {
        throw new ContractError(`${entry.file}: no box (…, 16) and score (…, 1) outputs`);
      }
      graphs[`${which}_shape`] = Array.from(input.shape);
    }
  } catch (err) {
    for (const which of ["full", "short"]) if (graphs[which]) graphs[which].delete();
    throw err;
  }
  const runModel = async (which, tensor) => {
    const input = new Tensor(tensor, graphs[`${which}_shape`]);
    let results;
    try {
      results = await graphs[which].run([input]);
      const [bi, si] = graphs[`${which}_order`];
      return { boxes: Float32Array.from(results[bi].toTypedArray()), scores: Float32Array.from(results[si].toTypedArray()) };
    } finally {
      input.delete();
      if (results) for (const r of results) r.delete();
    }
  };
  return {
    detector: new FaceDetector(runModel, doc, rules),
    rules,
    info: doc.package,
    delete() {
      for (const which of ["full", "short"]) graphs[which].delete();
    },
  };
}
