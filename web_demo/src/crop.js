// Square crops around a face and the animated crop pasted back, as fomm_tf.animation.photo and
// fomm_tf.animation.driver do them. The numbers (crop scale, the drop of the crop's centre below the
// face, the paste-back feather, the canvas's long side) come from crop_rules.json, the file
// the Python side reads too (copied next to the face detector by `make web-assets`).
// Pure functions on typed arrays: no DOM, so Node's test runner checks them.

import { resizeArea, resizeCubic, rint } from "./image.js";

const f32 = Math.fround;

/** A face box {x0, y0, x1, y1, score} in pixels: its side as one number, sqrt(w * h). */
export function boxSize(b) {
  return Math.sqrt(Math.max(b.x1 - b.x0, 0) * Math.max(b.y1 - b.y0, 0));
}

export const boxCenter = (b) => [(b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2];

/** Start of a window of `side` around `center`, kept inside [0, length) when it fits. */
export function place(center, side, length) {
  const start = rint(center - side / 2);
  if (side <= length) return Math.min(Math.max(start, 0), length - side);
  return Math.min(Math.max(start, length - side), 0); // larger than the picture: cover it
}

/** fomm_tf.animation.photo.face_crop: the square {x0, y0, side} around a face box. */
export function faceCrop(box, height, width, rules) {
  const size = boxSize(box);
  const side = Math.max(1, Math.min(rint(rules.crop.scale * size), Math.max(height, width)));
  const [cx, cy0] = boxCenter(box);
  const cy = cy0 + rules.crop.center_drop * size;
  return { x0: place(cx, side, width), y0: place(cy, side, height), side };
}

/** The largest centred square (what fit_frame cuts). */
export function centerCrop(height, width) {
  const side = Math.min(height, width);
  return { x0: Math.floor((width - side) / 2), y0: Math.floor((height - side) / 2), side };
}

/** The smallest centred square that holds the whole picture (padded). */
export function wholeCrop(height, width) {
  const side = Math.max(height, width);
  return { x0: Math.floor((width - side) / 2), y0: Math.floor((height - side) / 2), side };
}

export function scaleCrop(crop, factor) {
  return {
    x0: rint(crop.x0 * factor),
    y0: rint(crop.y0 * factor),
    side: Math.max(1, rint(crop.side * factor)),
  };
}

/** The part of the square inside a picture: [x0, y0, x1, y1], x1/y1 exclusive. */
export function inside(crop, height, width) {
  return [
    Math.max(crop.x0, 0),
    Math.max(crop.y0, 0),
    Math.min(crop.x0 + crop.side, width),
    Math.min(crop.y0 + crop.side, height),
  ];
}

export const covers = (crop, height, width) =>
  crop.x0 <= 0 && crop.y0 <= 0 && crop.x0 + crop.side >= width && crop.y0 + crop.side >= height;

/**
 * fomm_tf.animation.photo.scale_to_max_size's size: {width, height, factor} of a picture whose long
 * side is brought down to at most `maxSize` (factor = canvas pixels per picture pixel).
 */
export function canvasSize(height, width, maxSize) {
  const factor = Math.min(1, maxSize / Math.max(height, width));
  if (factor >= 1) return { width, height, factor: 1 };
  const w = Math.max(1, rint(width * factor));
  const h = Math.max(1, rint(height * factor));
  return { width: w, height: h, factor: w / width };
}

/**
 * fomm_tf.animation.photo.Crop.extract: the square cut from an RGBA picture (w x h bytes), edge pixels
 * repeated outside it, resized to size x size: float32 RGB HWC in [0, 1] (alpha on white).
 * Only the part inside the picture is resized (area filter when shrinking, cubic when
 * enlarging); the padding is added at the output size.
 */
export function extractCrop(rgba, w, h, crop, size) {
  const [ix0, iy0, ix1, iy1] = inside(crop, h, w);
  if (ix1 <= ix0 || iy1 <= iy0) throw new RangeError("the crop does not overlap the picture");
  const f = size / crop.side;
  let ox0 = rint((ix0 - crop.x0) * f);
  let oy0 = rint((iy0 - crop.y0) * f);
  let ox1 = Math.min(Math.max(rint((ix1 - crop.x0) * f), ox0 + 1), size);
  let oy1 = Math.min(Math.max(rint((iy1 - crop.y0) * f), oy0 + 1), size);
  ox0 = Math.min(ox0, ox1 - 1);
  oy0 = Math.min(oy0, oy1 - 1);
  const cw = ix1 - ix0;
  const ch = iy1 - iy0;
  let part = new Float32Array(cw * ch * 3);
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      const s = ((iy0 + y) * w + ix0 + x) * 4;
      const o = (y * cw + x) * 3;
      const a = f32(rgba[s + 3] / 255);
      for (let c = 0; c < 3; c++) {
        let v = f32(rgba[s + c] / 255);
        if (a < 1) v = f32(f32(v * a) + f32(1 - a));
        part[o + c] = v;
      }
    }
  }
  const pw = ox1 - ox0;
  const ph = oy1 - oy0;
  if (ch !== ph || cw !== pw) {
    part = ch * cw >= ph * pw ? resizeArea(part, ch, cw, ph, pw) : resizeCubic(part, ch, cw, ph, pw);
  }
  const out = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const sy = Math.min(Math.max(y - oy0, 0), ph - 1);
    for (let x = 0; x < size; x++) {
      const sx = Math.min(Math.max(x - ox0, 0), pw - 1);
      const s = (sy * pw + sx) * 3;
      const o = (y * size + x) * 3;
      for (let c = 0; c < 3; c++) {
        const v = part[s + c];
        out[o + c] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
  }
  return out;
}

/** Smoothstep weights of `n` pixels starting `start` pixels into a crop of `side`. */
function ramp(n, start, side, feather, softLo, softHi) {
  const weight = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const pos = f32(start + i + 0.5);
    let wgt = 1;
    if (softLo) {
      const t = Math.min(Math.max(f32(pos / feather), 0), 1);
      wgt = f32(wgt * f32(f32(t * t) * f32(3 - 2 * t)));
    }
    if (softHi) {
      const t = Math.min(Math.max(f32(f32(side - pos) / feather), 0), 1);
      wgt = f32(wgt * f32(f32(t * t) * f32(3 - 2 * t)));
    }
    weight[i] = wgt;
  }
  return weight;
}

/**
 * fomm_tf.animation.photo.PasteBack's mask: {box: [x0, y0, x1, y1] of the crop inside the canvas,
 * mask: Float32Array (row-major over the box), 1 inside, falling smoothly to 0 over
 * feather x side pixels at each crop edge that lies inside the picture}.
 */
export function pasteMask(crop, height, width, feather) {
  const box = inside(crop, height, width);
  const [ix0, iy0, ix1, iy1] = box;
  if (ix1 <= ix0 || iy1 <= iy0) throw new RangeError("the crop does not overlap the canvas");
  const fw = Math.max(1, rint(feather * crop.side));
  const wx = ramp(ix1 - ix0, ix0 - crop.x0, crop.side, fw, crop.x0 > 0, crop.x0 + crop.side < width);
  const wy = ramp(iy1 - iy0, iy0 - crop.y0, crop.side, fw, crop.y0 > 0, crop.y0 + crop.side < height);
  const mask = new Float32Array(wx.length * wy.length);
  for (let y = 0; y < wy.length; y++) {
    for (let x = 0; x < wx.length; x++) mask[y * wx.length + x] = f32(wy[y] * wx[x]);
  }
  return { box, mask, width: wx.length, height: wy.length };
}

/** The median of numbers (the mean of the middle two for an even count), as numpy's. */
export function median(values) {
  const v = [...values].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/**
 * fomm_tf.animation.faces._shot_box: one stable box for a shot, the union of its boxes after dropping
 * those whose centre is more than one (median) face size from the median centre.
 */
export function shotBox(boxes) {
  if (!boxes.length) return null;
  const centers = boxes.map(boxCenter);
  const mx = median(centers.map((c) => c[0]));
  const my = median(centers.map((c) => c[1]));
  const size = median(boxes.map(boxSize));
  let kept = boxes.filter((b, i) => Math.hypot(centers[i][0] - mx, centers[i][1] - my) <= size);
  if (!kept.length) kept = boxes;
  return {
    x0: Math.min(...kept.map((b) => b.x0)),
    y0: Math.min(...kept.map((b) => b.y0)),
    x1: Math.max(...kept.map((b) => b.x1)),
    y1: Math.max(...kept.map((b) => b.y1)),
    score: kept.reduce((s, b) => s + b.score, 0) / kept.length,
  };
}

/** A box scaled by `factor` about the origin (analysis pixels -> work pixels). */
export const scaleBox = (b, factor) => ({
  x0: b.x0 * factor,
  y0: b.y0 * factor,
  x1: b.x1 * factor,
  y1: b.y1 * factor,
  score: b.score,
});

/**
 * fomm_tf.animation.driver.plan_crops for `auto`: shots [{start, stop, box}] (boxes in analysis
 * pixels) -> [{start, stop, crop, face}] in work pixels (a shot without a face: centre crop).
 */
export function planCrops(shots, analysisWidth, workHeight, workWidth, rules) {
  const factor = workWidth / analysisWidth;
  return shots.map((s) => ({
    start: s.start,
    stop: s.stop,
    face: !!s.box,
    crop: s.box
      ? faceCrop(scaleBox(s.box, factor), workHeight, workWidth, rules)
      : centerCrop(workHeight, workWidth),
  }));
}

/** fomm_tf.media.fit_long_side: {width, height} with the long side at most `maxSide`. */
export function fitLongSide(height, width, maxSide) {
  const f = Math.min(1, maxSide / Math.max(height, width));
  return { width: Math.max(1, rint(width * f)), height: Math.max(1, rint(height * f)) };
}
