// Checks of the page's pure modules that need no golden vectors: the degenerate-input rules
// of the motion math (thresholds from the contract), the contract checks, pre-processing
// basics and the server's path handling.
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";

import { checkContract, ContractError, matchGraph } from "../src/contract.js";
import { centreCrop, fitFrame, orient, psnr, rint, toUint8 } from "../src/image.js";
import { hullArea, MotionTransfer, motionFromContract, movementScale, relativeJacobian } from "../src/motion.js";
import { resolvePath } from "../serve.mjs";

const RULES = {
  degenerate_area: 1e-6,
  degenerate_spread: 1e-4,
  singular_det: 1e-6,
  kp_limit: 100,
  jacobian_limit: 1000,
};
const motion = (over = {}, rules = RULES) =>
  motionFromContract({
    motion: { relative: true, adapt_movement_scale: true, relative_jacobian: true, ...over, rules },
  });

test("movement scale: area, spread for collinear, one for coincident or NaN keypoints", () => {
  const { rules } = motion();
  const square = [0, 0, 1, 0, 1, 1, 0, 1];
  const big = square.map((v) => 2 * v);
  assert.equal(hullArea(square), 1);
  assert.deepEqual(movementScale(square, big, rules), { value: 0.5, rule: "area" });
  const line = [0, 0, 0.5, 0.5, 1, 1];
  const line2 = [0, 0, 1, 1, 2, 2];
  const s = movementScale(line, line2, rules);
  assert.equal(s.rule, "spread");
  assert.ok(Math.abs(s.value - 0.5) < 1e-12);
  assert.deepEqual(movementScale([0.3, 0.3, 0.3, 0.3, 0.3, 0.3], square, rules), { value: 1, rule: "one" });
  assert.deepEqual(movementScale([NaN, 0, 1, 0, 0, 1], square, rules), { value: 1, rule: "one" });
});

test("the thresholds come from the contract's motion.rules", () => {
  const tiny = [0, 0, 1e-2, 0, 0, 1e-2]; // hull area 5e-5
  const square = [0, 0, 1, 0, 1, 1, 0, 1];
  assert.equal(movementScale(tiny, square, motion().rules).rule, "area");
  const strict = motion({}, { ...RULES, degenerate_area: 1e-4 }).rules;
  assert.equal(movementScale(tiny, square, strict).rule, "spread");
  assert.throws(() => motion({}, { ...RULES, singular_det: "x" }), /singular_det/);
  assert.throws(() => motionFromContract({}), /motion/);
});

test("relative Jacobian: J_d inv(J_d0) J_s; a singular J_d0 keeps J_s", () => {
  const js = Float32Array.from([1, 2, 3, 4, 1, 0, 0, 1]);
  const jd = Float32Array.from([2, 0, 0, 2, 5, 6, 7, 8]);
  const jd0 = Float32Array.from([1, 0, 0, 1, 1, 2, 0.5, 1]); // second: det 0
  const out = relativeJacobian(js, jd, jd0, 1e-6);
  assert.deepEqual(Array.from(out), [2, 4, 6, 8, 1, 0, 0, 1]);
});

test("absolute mode passes the driving keypoints; relative mode moves the source's", () => {
  const src = { value: Float32Array.from([0.1, 0.2]), jacobian: Float32Array.from([1, 0, 0, 1]) };
  const d0 = { value: Float32Array.from([0, 0]), jacobian: Float32Array.from([1, 0, 0, 1]) };
  const d = { value: Float32Array.from([0.5, -0.5]), jacobian: Float32Array.from([2, 0, 0, 2]) };
  const { rules } = motion();
  const abs = new MotionTransfer({ relative: false, adaptMovementScale: true, relativeJacobian: true }, rules);
  assert.deepEqual(Array.from(abs.normalize(src, d, d0, 1).value), Array.from(d.value));
  const rel = new MotionTransfer({ relative: true, adaptMovementScale: false, relativeJacobian: false }, rules);
  const out = rel.normalize(src, d, d0, 2);
  assert.deepEqual(Array.from(out.value), [Math.fround(1.1), Math.fround(-0.8)]);
  assert.deepEqual(Array.from(out.jacobian), [2, 0, 0, 2]);
});

function contract() {
  const t = (name, shape, position = 0) => ({
    name, position, tensor_name: name, shape, dtype: "float32", range: [null, null], quantization: null,
  });
  const g = (file, inputs, outputs) => ({ file, inputs, outputs });
  return {
    format: "fomm-tf/tflite-contract",
    version: 2,
    image_size: [64, 64],
    num_kp: 10,
    graphs: {
      kp_detector: g("kp_detector.tflite", [t("image", [1, 64, 64, 3])], [t("value", [1, 10, 2])]),
      source_encoder: g("source_encoder.tflite", [t("source", [1, 64, 64, 3])], [t("features", [1, 16, 16, 32])]),
      generator: g("generator.tflite", [t("features", [1, 16, 16, 32])], [t("prediction", [1, 64, 64, 3])]),
    },
    motion: { relative: true, adapt_movement_scale: true, relative_jacobian: true, rules: RULES },
  };
}

test("contract checks: JSON, format, version, graphs", () => {
  assert.equal(checkContract(JSON.stringify(contract())).num_kp, 10);
  assert.throws(() => checkContract("{"), ContractError);
  assert.throws(() => checkContract({ ...contract(), format: "x" }), /not a fomm-tf/);
  assert.throws(() => checkContract({ ...contract(), version: 1 }), /version 1/);
  const c = contract();
  delete c.graphs.generator;
  assert.throws(() => checkContract(c), /generator/);
  const d = contract();
  d.image_size = [128, 128];
  assert.throws(() => checkContract(d), /kp_detector.image/);
});

test("contract vs compiled graph: shape, dtype and count differences are named", () => {
  const entry = contract().graphs.kp_detector;
  const det = (name, shape, dtype = "float32", index = 0) => ({ name, index, dtype, shape: Int32Array.from(shape) });
  const ok = matchGraph("kp_detector", entry, [det("image", [1, 64, 64, 3])], [det("value", [1, 10, 2])]);
  assert.equal(ok.inputs[0].size, 64 * 64 * 3);
  assert.throws(
    () => matchGraph("kp_detector", entry, [det("image", [1, 32, 32, 3])], [det("value", [1, 10, 2])]),
    /contract says shape \[1,64,64,3\], the graph has \[1,32,32,3\]/,
  );
  assert.throws(
    () => matchGraph("kp_detector", entry, [det("image", [1, 64, 64, 3], "uint8")], [det("value", [1, 10, 2])]),
    /float32, the graph has uint8/,
  );
  assert.throws(() => matchGraph("kp_detector", entry, [], [det("value", [1, 10, 2])]), /1 inputs, the graph has 0/);
});

test("pre/post-processing basics", () => {
  assert.equal(rint(2.5), 2);
  assert.equal(rint(3.5), 4);
  assert.equal(rint(-2.5), -2);
  assert.deepEqual(centreCrop(100, 50, 64, 64), { x0: 25, y0: 0, cw: 50, ch: 50 });
  const px = Uint8ClampedArray.from([0, 0, 0, 0, 1, 1, 1, 255, 2, 2, 2, 255, 3, 3, 3, 255, 4, 4, 4, 255, 5, 5, 5, 255]);
  const rot = orient(px, 3, 2, 90, false); // [[0,1,2],[3,4,5]] -> [[3,0],[4,1],[5,2]]
  assert.deepEqual([...rot.data].filter((_, i) => i % 4 === 0), [3, 0, 4, 1, 5, 2]);
  const same = fitFrame(Uint8ClampedArray.from([255, 0, 0, 0]), 1, 1, 1, 1); // alpha 0: white
  assert.deepEqual(Array.from(same), [1, 1, 1]);
  assert.equal(toUint8(NaN), 0);
  assert.equal(toUint8(0.5 / 255), 1);
  assert.equal(psnr([1, 2], [1, 2]), Infinity);
});

test("the server never leaves its folders", () => {
  const root = "/srv/web";
  const mounts = [{ prefix: "/fixtures", dir: "/data/fx" }];
  assert.equal(resolvePath("/index.html", mounts, root), path.join(root, "index.html"));
  assert.equal(resolvePath("/fixtures/model/a.json", mounts, root), "/data/fx/model/a.json");
  assert.equal(resolvePath("/../etc/passwd", mounts, root), path.join(root, "etc/passwd"));
  assert.equal(resolvePath("/fixtures/%2e%2e/%2e%2e/etc/passwd", mounts, root), "/data/fx/etc/passwd");
  assert.equal(resolvePath("/%E0%A4%A", mounts, root), null);
});

test("serve.mjs over HTTPS (a self-signed certificate): the page's headers, a secure origin", async (t) => {
  const { execFileSync } = await import("node:child_process");
  const { mkdtempSync, readFileSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const https = await import("node:https");
  const { startServer, parseArgs } = await import("../serve.mjs");
  const dir = mkdtempSync(path.join(tmpdir(), "fomm-tls-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  try {
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
      "-subj", "/CN=test", "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem")],
    { stdio: "ignore" });
  } catch {
    t.skip("no openssl");
    return;
  }
  assert.throws(() => parseArgs(["--tls-cert", "c.pem"]), /go together/);
  const tls = { cert: readFileSync(path.join(dir, "cert.pem")), key: readFileSync(path.join(dir, "key.pem")) };
  const { server, url } = await startServer({ tls });
  t.after(() => server.close());
  assert.match(url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
  const res = await new Promise((resolve, reject) =>
    https.get(url, { rejectUnauthorized: false }, resolve).on("error", reject),
  );
  res.resume();
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers["cross-origin-opener-policy"], "same-origin");
  assert.equal(res.headers["cross-origin-embedder-policy"], "require-corp");
});
