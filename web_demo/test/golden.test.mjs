// The page's pre/post-processing, dequantisation and motion math against the golden vectors
// `fomm export --golden DIR` writes for the Android core (fomm_tf/apps/golden.py): the same files,
// the same 1e-5 tolerance. FOMM_GOLDEN_DIR names the folder; a missing folder or file fails.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";

import { fitFrame, toUint8 } from "../src/image.js";
import { MotionTransfer, motionFromContract } from "../src/motion.js";
import { dequantize, quantize } from "../src/quant.js";
import { checkContract, GRAPHS as GRAPH_NAMES } from "../src/contract.js";

const DIR = process.env.FOMM_GOLDEN_DIR;
const FILES = ["images.json", "preprocess.json", "postprocess.json", "quantization.json", "motion.json", "full_frame.json", "contract.json"];

test("golden vectors: FOMM_GOLDEN_DIR names a folder holding every file", () => {
  assert.ok(DIR, "FOMM_GOLDEN_DIR is not set (make web-test writes the vectors and sets it)");
  for (const name of FILES) {
    assert.ok(existsSync(path.join(DIR, name)), `${path.join(DIR, name)} is missing`);
  }
});
const TOL = 1e-5;

const load = (name) => JSON.parse(readFileSync(path.join(DIR, name), "utf8"));
const f32 = (entry) => Float32Array.from(entry.data);

function rgba(entry) {
  return { data: new Uint8Array(Buffer.from(entry.rgba_b64, "base64")), w: entry.width, h: entry.height };
}

function assertClose(actual, expected, what, tol = TOL) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  assert.ok(worst <= tol, `${what}: max abs error ${worst} at ${at} (tolerance ${tol})`);
  return worst;
}

test("preprocessing: fit_frame of every golden image (rotation, mirror, crop, area, cubic, alpha)", () => {
  const images = load("images.json");
  const { cases } = load("preprocess.json");
  assert.ok(cases.length >= 5);
  for (const c of cases) {
    const img = rgba(images[c.image]);
    const [th, tw] = c.size;
    const got = fitFrame(img.data, img.w, img.h, th, tw, { rotation: c.rotation, mirror: c.mirror });
    assertClose(got, f32(c.expected), `${c.image} rot ${c.rotation} mirror ${c.mirror} ${c.size}`);
  }
});

test("postprocessing: float -> uint8", () => {
  const doc = load("postprocess.json");
  const got = Array.from(f32(doc.input), toUint8);
  assert.deepEqual(got, doc.expected);
});

test("quantization: int8 and uint8, both directions", () => {
  for (const c of load("quantization.json").cases) {
    assertClose(dequantize(c.q, [c.scale], [c.zero_point]), f32(c.dequantized), `${c.dtype} dequantize`);
    const q = Array.from(quantize(f32(c.x), [c.scale], [c.zero_point], c.dtype));
    assert.deepEqual(q, c.quantized, `${c.dtype} quantize`);
  }
});

test("motion: normalize_kp on random, collinear and coincident+singular cases", () => {
  const doc = load("motion.json");
  const { rules } = motionFromContract({
    motion: { relative: true, adapt_movement_scale: true, relative_jacobian: true, rules: doc.rules },
  });
  assert.ok(doc.cases.length >= 5);
  const rulesSeen = new Set();
  for (const c of doc.cases) {
    const kp = (e) => ({ value: f32(e.value), jacobian: f32(e.jacobian) });
    const src = kp(c.kp_source);
    const drv0 = kp(c.kp_driving_initial);
    const k = src.value.length / 2;
    const frames = c.kp_driving.value.shape[0];
    for (const r of c.results) {
      const mt = new MotionTransfer(
        { relative: r.relative, adaptMovementScale: r.adapt_movement_scale, relativeJacobian: r.relative_jacobian },
        rules,
      );
      const scale = mt.scaleFor(src, drv0);
      if (r.relative && r.adapt_movement_scale) {
        assert.equal(scale.rule, c.rule, `${c.name}: rule`);
        assert.ok(Math.abs(scale.value - c.scale) <= TOL * Math.max(1, Math.abs(c.scale)), `${c.name}: scale ${scale.value} vs ${c.scale}`);
        rulesSeen.add(scale.rule);
      }
      const value = new Float32Array(frames * k * 2);
      const jac = new Float32Array(frames * k * 4);
      for (let f = 0; f < frames; f++) {
        const drv = {
          value: f32(c.kp_driving.value).subarray(f * k * 2, (f + 1) * k * 2),
          jacobian: f32(c.kp_driving.jacobian).subarray(f * k * 4, (f + 1) * k * 4),
        };
        const out = mt.normalize(src, drv, drv0, scale.value);
        value.set(out.value, f * k * 2);
        jac.set(out.jacobian, f * k * 4);
      }
      const what = `${c.name} relative=${r.relative} adapt=${r.adapt_movement_scale} rel_jac=${r.relative_jacobian}`;
      assertClose(value, f32(r.value), `${what}: value`);
      assertClose(jac, f32(r.jacobian), `${what}: jacobian`);
    }
  }
  for (const rule of ["area", "spread", "one"]) assert.ok(rulesSeen.has(rule), `rule ${rule} covered`);
});

test("full frame: preprocessing, scale and normalized keypoints of the recorded graph calls", () => {
  const doc = load("full_frame.json");
  const contract = checkContract(load("contract.json"));
  const [h, w] = contract.image_size;
  const mt = MotionTransfer.fromContract(contract);
  const src = rgba(doc.source);
  const kpCalls = doc.calls.filter((c) => c.graph === "kp_detector");
  assertClose(fitFrame(src.data, src.w, src.h, h, w), f32(kpCalls[0].inputs.image), "source fit");
  const out = (call) => ({ value: f32(call.outputs.value), jacobian: f32(call.outputs.jacobian) });
  const kpSource = out(kpCalls[0]);
  const kpInitial = out(kpCalls[1]);
  const scale = mt.scaleFor(kpSource, kpInitial);
  assert.ok(Math.abs(scale.value - doc.scale) <= TOL * Math.max(1, doc.scale), `scale ${scale.value} vs ${doc.scale}`);
  doc.driving.forEach((d, i) => {
    const img = rgba(d);
    assertClose(fitFrame(img.data, img.w, img.h, h, w), f32(kpCalls[i + 1].inputs.image), `driving ${i} fit`);
    const norm = mt.normalize(kpSource, out(kpCalls[i + 1]), kpInitial, scale.value);
    assertClose(norm.value, f32(doc.frames[i].kp_norm.value), `frame ${i} kp value`);
    assertClose(norm.jacobian, f32(doc.frames[i].kp_norm.jacobian), `frame ${i} kp jacobian`);
    const pred = f32(doc.frames[i].prediction);
    assert.deepEqual(Array.from(pred, toUint8), doc.frames[i].prediction_uint8, `frame ${i} uint8`);
  });
});

test("full frame through the page's Animator: each graph fed what Python fed it, by name", async () => {
  const { Animator } = await import("../src/pipeline.js");
  const doc = load("full_frame.json");
  const contract = checkContract(load("contract.json"));
  const [h, w] = contract.image_size;
  let next = 0;
  const unwrap = (v) => (v && v.held ? v.held : v);
  const replay = (graph) => ({
    tensor: (name, data) => ({ held: data, delete() {} }),
    async run(feeds) {
      const call = doc.calls[next];
      assert.ok(call, `more graph calls than Python made (${graph})`);
      const where = `call ${next} (${graph})`;
      assert.equal(call.graph, graph, `${where}: graph`);
      assert.deepEqual(Object.keys(feeds).sort(), Object.keys(call.inputs).sort(), `${where}: input names`);
      for (const [name, entry] of Object.entries(call.inputs)) {
        assertClose(Float32Array.from(unwrap(feeds[name])), f32(entry), `${where}: ${name}`);
      }
      next += 1;
      return Object.fromEntries(Object.entries(call.outputs).map(([k, v]) => [k, f32(v)]));
    },
    delete() {},
  });
  const graphs = Object.fromEntries(GRAPH_NAMES.map((g) => [g, replay(g)]));
  const animator = new Animator(contract, MotionTransfer.fromContract(contract), graphs, { accelerators: {} });
  const src = rgba(doc.source);
  await animator.setSource(fitFrame(src.data, src.w, src.h, h, w));
  for (const [i, d] of doc.driving.entries()) {
    const img = rgba(d);
    const r = await animator.animate(fitFrame(img.data, img.w, img.h, h, w));
    assertClose(r.prediction, f32(doc.frames[i].prediction), `frame ${i} prediction`);
  }
  assert.equal(next, doc.calls.length, "every recorded call replayed");
});
