// Affine quantization of a tensor, x = scale * (q - zero_point), as the contract's
// `quantization` entry records it: one scale/zero point per tensor, or one per channel of the
// last axis. Same rules as android_demo/core's Quantization (Java).

import { rint } from "./image.js";

const f32 = Math.fround;

const LIMITS = { int8: [-128, 127], uint8: [0, 255], int32: [-2147483648, 2147483647] };

/** The value range of a quantized dtype: [min, max]. */
export function limits(dtype) {
  const lim = LIMITS[dtype];
  if (!lim) throw new TypeError(`not a quantized dtype: ${dtype}`);
  return lim;
}

/** scale * (q - zero_point) per element (float32). */
export function dequantize(q, scale, zeroPoint) {
  const s = Array.from(scale, f32);
  const out = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) {
    const c = i % s.length;
    out[i] = f32(s[c] * (q[i] - zeroPoint[c]));
  }
  return out;
}

/** clamp(rint(x / scale) + zero_point) to the range of `dtype` (half to even). */
export function quantize(x, scale, zeroPoint, dtype) {
  const [lo, hi] = limits(dtype);
  const s = Array.from(scale, f32);
  const out = dtype === "uint8" ? new Uint8Array(x.length) : new Int32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = i % s.length;
    const q = rint(f32(x[i] / s[c])) + zeroPoint[c];
    out[i] = Number.isNaN(q) ? zeroPoint[c] : Math.max(lo, Math.min(hi, q));
  }
  return out;
}
