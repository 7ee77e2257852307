// Pre- and post-processing of frames, as fomm_tf.media.fit_frame and fomm_tf.media.to_uint8
// do them in Python (and android_demo/core's ImageProcessing in Java).
//
// Pre-processing: make the frame upright (rotation clockwise, then mirror), convert to float
// RGB in [0, 1] (alpha composited on white), centre-crop to the model's aspect ratio and
// resize to the model size: OpenCV's INTER_AREA when shrinking (area-weighted averages) and
// INTER_CUBIC (a = -0.75, edge pixels replicated) when enlarging, then clip to [0, 1].
// Output: NHWC float32, batch 1, flat. Post-processing: uint8 = floor(255 * clip(x) + 0.5).
// Pure functions on typed arrays: no DOM, so Node's test runner checks them too.

const f32 = Math.fround;

/** Round half to even, as Python's round() and Java's Math.rint. */
export function rint(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The centre crop {x0, y0, cw, ch} of a w x h image for a th x tw target. */
export function centreCrop(w, h, th, tw) {
  const target = tw / th;
  let cw;
  let ch;
  if (w / h > target) {
    cw = Math.max(1, Math.min(w, rint(h * target)));
    ch = h;
  } else {
    cw = w;
    ch = Math.max(1, Math.min(h, rint(w / target)));
  }
  return { x0: Math.floor((w - cw) / 2), y0: Math.floor((h - ch) / 2), cw, ch };
}

/**
 * An RGBA image (w x h, row-major bytes) made upright: rotated `rotation` degrees clockwise,
 * then mirrored left-right when `mirror` (a front camera's preview).
 */
export function orient(rgba, w, h, rotation = 0, mirror = false) {
  const rot = ((rotation % 360) + 360) % 360;
  if (rot % 90) throw new RangeError(`rotation ${rotation}: a multiple of 90 expected`);
  if (rot === 0 && !mirror) return { data: rgba, width: w, height: h };
  const ow = rot % 180 ? h : w;
  const oh = rot % 180 ? w : h;
  const out = new Uint8ClampedArray(ow * oh * 4);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const ux = mirror ? ow - 1 - x : x; // mirror after rotating
      let sx;
      let sy;
      if (rot === 0) [sx, sy] = [ux, y];
      else if (rot === 90) [sx, sy] = [y, h - 1 - ux];
      else if (rot === 180) [sx, sy] = [w - 1 - ux, h - 1 - y];
      else [sx, sy] = [w - 1 - y, ux];
      const s = (sy * w + sx) * 4;
      const o = (y * ow + x) * 4;
      out[o] = rgba[s];
      out[o + 1] = rgba[s + 1];
      out[o + 2] = rgba[s + 2];
      out[o + 3] = rgba[s + 3];
    }
  }
  return { data: out, width: ow, height: oh };
}

const clip01 = (v) => (v < 0 ? 0 : v > 1 ? 1 : v);

/** The crop of an RGBA image as float RGB in [0, 1], alpha composited on white (float32). */
function cropToRgb01(rgba, w, x0, y0, cw, ch) {
  const img = new Float32Array(cw * ch * 3);
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      const s = ((y0 + y) * w + x0 + x) * 4;
      const o = (y * cw + x) * 3;
      const a = f32(rgba[s + 3] / 255);
      for (let c = 0; c < 3; c++) {
        let v = f32(rgba[s + c] / 255);
        if (a < 1) v = f32(f32(v * a) + f32(1 - a));
        img[o + c] = clip01(v);
      }
    }
  }
  return img;
}

/** One axis of OpenCV's area resize: for each output index, source indices and weights. */
function areaTable(ssize, dsize) {
  const scale = 1 / (dsize / ssize);
  const tab = [];
  for (let dx = 0; dx < dsize; dx++) {
    const fsx1 = dx * scale;
    const fsx2 = fsx1 + scale;
    const cell = Math.min(scale, ssize - fsx1);
    let sx1 = Math.ceil(fsx1);
    let sx2 = Math.floor(fsx2);
    sx2 = Math.min(sx2, ssize - 1);
    sx1 = Math.min(sx1, sx2);
    const index = [];
    const weight = [];
    if (sx1 - fsx1 > 1e-3) {
      index.push(sx1 - 1);
      weight.push((sx1 - fsx1) / cell);
    }
    for (let sx = sx1; sx < sx2; sx++) {
      index.push(sx);
      weight.push(1 / cell);
    }
    if (fsx2 - sx2 > 1e-3) {
      index.push(sx2);
      weight.push(Math.min(Math.min(fsx2 - sx2, 1), cell) / cell);
    }
    tab.push({ index, weight });
  }
  return tab;
}

/** OpenCV INTER_AREA for shrinking (both axes), 3 channels, HWC float. */
export function resizeArea(src, sh, sw, th, tw) {
  const xs = areaTable(sw, tw);
  const ys = areaTable(sh, th);
  const rows = new Float64Array(sh * tw * 3);
  for (let y = 0; y < sh; y++) {
    for (let dx = 0; dx < tw; dx++) {
      const { index, weight } = xs[dx];
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < index.length; k++) {
        const o = (y * sw + index[k]) * 3;
        r += src[o] * weight[k];
        g += src[o + 1] * weight[k];
        b += src[o + 2] * weight[k];
      }
      const o = (y * tw + dx) * 3;
      rows[o] = r;
      rows[o + 1] = g;
      rows[o + 2] = b;
    }
  }
  const out = new Float32Array(th * tw * 3);
  for (let dy = 0; dy < th; dy++) {
    const { index, weight } = ys[dy];
    for (let x = 0; x < tw * 3; x++) {
      let v = 0;
      for (let k = 0; k < index.length; k++) v += rows[index[k] * tw * 3 + x] * weight[k];
      out[dy * tw * 3 + x] = v;
    }
  }
  return out;
}

function cubicCoeffs(x) {
  const a = -0.75;
  const x1 = f32(x + 1);
  const c0 = f32(f32(f32(f32(f32(a * x1) - 5 * a) * x1) + 8 * a) * x1 - 4 * a);
  const c1 = f32(f32(f32(f32(f32((a + 2) * x) - (a + 3)) * x) * x) + 1);
  const y = f32(1 - x);
  const c2 = f32(f32(f32(f32(f32((a + 2) * y) - (a + 3)) * y) * y) + 1);
  const c3 = f32(f32(f32(1 - c0) - c1) - c2);
  return [c0, c1, c2, c3];
}

/** Per output index: the first tap (floor(fx) - 1) and the 4 weights. */
function cubicTable(ssize, dsize) {
  const scale = 1 / (dsize / ssize);
  const tab = [];
  for (let d = 0; d < dsize; d++) {
    const fx = f32((d + 0.5) * scale - 0.5);
    const s = Math.floor(fx);
    tab.push({ first: s - 1, w: cubicCoeffs(f32(fx - s)) });
  }
  return tab;
}

const clampIndex = (i, n) => Math.max(0, Math.min(n - 1, i));

/** OpenCV INTER_CUBIC (float images), border pixels replicated, 3 channels, HWC float. */
export function resizeCubic(src, sh, sw, th, tw) {
  const xs = cubicTable(sw, tw);
  const ys = cubicTable(sh, th);
  const rows = new Float32Array(sh * tw * 3);
  for (let y = 0; y < sh; y++) {
    for (let dx = 0; dx < tw; dx++) {
      const { first, w } = xs[dx];
      for (let c = 0; c < 3; c++) {
        let v = 0;
        for (let k = 0; k < 4; k++) {
          v = f32(v + f32(src[(y * sw + clampIndex(first + k, sw)) * 3 + c] * w[k]));
        }
        rows[(y * tw + dx) * 3 + c] = v;
      }
    }
  }
  const out = new Float32Array(th * tw * 3);
  for (let dy = 0; dy < th; dy++) {
    const { first, w } = ys[dy];
    for (let x = 0; x < tw * 3; x++) {
      let v = 0;
      for (let k = 0; k < 4; k++) {
        v = f32(v + f32(rows[clampIndex(first + k, sh) * tw * 3 + x] * w[k]));
      }
      out[dy * tw * 3 + x] = v;
    }
  }
  return out;
}

/**
 * Fit an RGBA image (w x h bytes) to th x tw: float32 RGB, HWC, flat, values in [0, 1].
 * `rotation` (clockwise degrees) and `mirror` make a camera frame upright first.
 */
export function fitFrame(rgba, w, h, th, tw, { rotation = 0, mirror = false } = {}) {
  if (!(w > 0 && h > 0) || rgba.length < w * h * 4) {
    throw new RangeError(`fitFrame: ${rgba.length} bytes for a ${w}x${h} RGBA image`);
  }
  const up = orient(rgba, w, h, rotation, mirror);
  const { x0, y0, cw, ch } = centreCrop(up.width, up.height, th, tw);
  const img = cropToRgb01(up.data, up.width, x0, y0, cw, ch);
  if (ch === th && cw === tw) return img;
  const out =
    ch * cw >= th * tw && ch >= th && cw >= tw
      ? resizeArea(img, ch, cw, th, tw)
      : resizeCubic(img, ch, cw, th, tw);
  for (let i = 0; i < out.length; i++) out[i] = clip01(out[i]);
  return out;
}

/** floor(255 * clip(x, 0, 1) + 0.5), NaN -> 0, as fomm_tf.media.to_uint8 (float32 math). */
export function toUint8(x) {
  const c = x < 0 ? 0 : x > 1 ? 1 : x;
  if (Number.isNaN(c)) return 0;
  return Math.floor(f32(f32(f32(c) * 255) + 0.5));
}

/** An HWC RGB float frame -> RGBA bytes (alpha 255), e.g. for ImageData. */
export function toRgba(rgb, height, width, out = null) {
  const n = height * width;
  if (rgb.length < 3 * n) {
    throw new RangeError(`${rgb.length} floats for a ${height}x${width} RGB frame`);
  }
  const px = out && out.length >= 4 * n ? out : new Uint8ClampedArray(4 * n);
  for (let i = 0; i < n; i++) {
    px[4 * i] = toUint8(rgb[3 * i]);
    px[4 * i + 1] = toUint8(rgb[3 * i + 1]);
    px[4 * i + 2] = toUint8(rgb[3 * i + 2]);
    px[4 * i + 3] = 255;
  }
  return px;
}

/** Peak signal-to-noise ratio in dB of two equally long uint8 (or [0, 255]) arrays. */
export function psnr(a, b) {
  if (a.length !== b.length) throw new RangeError(`psnr: ${a.length} vs ${b.length} values`);
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    se += d * d;
  }
  const mse = se / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}
