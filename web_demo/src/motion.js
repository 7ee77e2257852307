// Motion transfer at test time (paper sec. 3.4, eq. 14-15): the rules of fomm_tf.animation.motion
// (Python) and android_demo/core's MotionTransfer (Java), with the thresholds read from the
// contract's `motion.rules`, never hard-coded.
//
// - Absolute: the driving keypoints as they are.
// - Relative: kp_s + s * (kp_d - kp_d0); s is the movement scale when adapt_movement_scale,
//   else 1.
// - Movement scale: sqrt(hull area(src) / hull area(drv0)) when both hulls are larger than
//   degenerate_area; otherwise (collinear or coincident keypoints) the ratio of the RMS spreads
//   around the mean when both exceed degenerate_spread; otherwise 1. Always finite and > 0.
// - Relative Jacobian: J_d * inv(J_d0) * J_s with the regularized inverse
//   adj(M) det / (det^2 + singular_det^2); a keypoint whose |det J_d0| is at most singular_det
//   (or not finite) keeps J_s. Without relative Jacobians the driving Jacobians pass unchanged.
//
// Keypoints: {value: Float32Array(K*2) x first, jacobian: Float32Array(K*4) row-major}.
// Arithmetic on keypoints is float32 (Math.fround), as the Python and Java paths compute it.

const f32 = Math.fround;

/** The motion options and rules of a contract's `motion` section (checked). */
export function motionFromContract(contract) {
  const m = contract && contract.motion;
  if (!m || typeof m !== "object") throw new TypeError("contract: no `motion` section");
  const rules = m.rules || {};
  const num = (k) => {
    const v = rules[k];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new TypeError(`contract: motion.rules.${k} must be a non-negative number`);
    }
    return v;
  };
  const flag = (k) => {
    if (typeof m[k] !== "boolean") throw new TypeError(`contract: motion.${k} must be a boolean`);
    return m[k];
  };
  return {
    options: {
      relative: flag("relative"),
      adaptMovementScale: flag("adapt_movement_scale"),
      relativeJacobian: flag("relative_jacobian"),
    },
    rules: {
      degenerateArea: num("degenerate_area"),
      degenerateSpread: num("degenerate_spread"),
      singularDet: num("singular_det"),
      kpLimit: num("kp_limit"),
      jacobianLimit: num("jacobian_limit"),
    },
  };
}

const cross = (o, a, b) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);

/** Area of the convex hull of K points (x, y interleaved); 0 when any is not finite. */
export function hullArea(xy) {
  const n = xy.length >> 1;
  const pts = [];
  for (let i = 0; i < n; i++) {
    const x = xy[2 * i];
    const y = xy[2 * i + 1];
    if (!Number.isFinite(x) || !Number.isFinite(y)) return 0;
    pts.push([x, y]);
  }
  if (n < 3) return 0;
  pts.sort((a, b) => (a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1]));
  const hull = [];
  for (const p of pts) {
    while (hull.length >= 2 && cross(hull[hull.length - 2], hull[hull.length - 1], p) <= 0) {
      hull.pop();
    }
    hull.push(p);
  }
  const lower = hull.length + 1;
  for (let i = n - 2; i >= 0; i--) {
    const p = pts[i];
    while (hull.length >= lower && cross(hull[hull.length - 2], hull[hull.length - 1], p) <= 0) {
      hull.pop();
    }
    hull.push(p);
  }
  let area = 0;
  for (let i = 0; i < hull.length - 1; i++) {
    area += hull[i][0] * hull[i + 1][1] - hull[i + 1][0] * hull[i][1];
  }
  return Math.abs(area) / 2;
}

/** Root-mean-square distance of the points from their mean; 0 when any is not finite. */
export function spread(xy) {
  const n = xy.length >> 1;
  if (n === 0) return 0;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(xy[2 * i]) || !Number.isFinite(xy[2 * i + 1])) return 0;
    mx += xy[2 * i];
    my += xy[2 * i + 1];
  }
  mx /= n;
  my /= n;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const dx = xy[2 * i] - mx;
    const dy = xy[2 * i + 1] - my;
    sum += dx * dx + dy * dy;
  }
  return Math.sqrt(sum / n);
}

/** The adapt-scale factor of fomm_tf.animation.motion.movement_scale_rule: {value, rule}. */
export function movementScale(srcValue, drv0Value, rules) {
  const as = hullArea(srcValue);
  const ad = hullArea(drv0Value);
  if (as > rules.degenerateArea && ad > rules.degenerateArea) {
    return { value: Math.sqrt(as) / Math.sqrt(ad), rule: "area" };
  }
  const rs = spread(srcValue);
  const rd = spread(drv0Value);
  if (rs > rules.degenerateSpread && rd > rules.degenerateSpread) {
    return { value: rs / rd, rule: "spread" };
  }
  return { value: 1, rule: "one" };
}

function matmul2(x, xo, y, yo) {
  return [
    f32(f32(x[xo] * y[yo]) + f32(x[xo + 1] * y[yo + 2])),
    f32(f32(x[xo] * y[yo + 1]) + f32(x[xo + 1] * y[yo + 3])),
    f32(f32(x[xo + 2] * y[yo]) + f32(x[xo + 3] * y[yo + 2])),
    f32(f32(x[xo + 2] * y[yo + 1]) + f32(x[xo + 3] * y[yo + 3])),
  ];
}

/** Eq. 15 per keypoint: J_d * inv(J_d0) * J_s; a singular J_d0 keeps J_s. */
export function relativeJacobian(js, jd, jd0, singularDet) {
  const out = new Float32Array(jd.length);
  const eps = singularDet;
  const eps2 = f32(singularDet * singularDet); // Python: SINGULAR_DET * SINGULAR_DET, then float32
  for (let o = 0; o < jd.length; o += 4) {
    const [a, b, c, d] = [jd0[o], jd0[o + 1], jd0[o + 2], jd0[o + 3]];
    const det = f32(f32(a * d) - f32(b * c));
    if (!(Math.abs(det) > eps) || !Number.isFinite(det)) {
      out.set(js.subarray(o, o + 4), o);
      continue;
    }
    const sc = f32(det / f32(f32(det * det) + eps2));
    const inv = [f32(d * sc), f32(-b * sc), f32(-c * sc), f32(a * sc)];
    const m = matmul2(jd, o, inv, 0);
    out.set(matmul2(m, 0, js, o), o);
  }
  return out;
}

/**
 * Motion transfer for one driving sequence: the options and rules of a contract.
 * `scaleFor` once when the initial driving frame is set, `normalize` per frame.
 */
export class MotionTransfer {
  constructor(options, rules) {
    this.options = options;
    this.rules = rules;
  }

  static fromContract(contract) {
    const { options, rules } = motionFromContract(contract);
    return new MotionTransfer(options, rules);
  }

  /** The scale a new driving sequence uses: the movement scale, or 1 without adapt-scale. */
  scaleFor(source, drivingInitial) {
    if (this.options.relative && this.options.adaptMovementScale) {
      return movementScale(source.value, drivingInitial.value, this.rules);
    }
    return { value: 1, rule: "one" };
  }

  /** Driving keypoints to feed the generator (fomm_tf.animation.motion.normalize_kp). */
  normalize(source, driving, drivingInitial, scale) {
    if (!this.options.relative) {
      return {
        value: Float32Array.from(driving.value),
        jacobian: driving.jacobian ? Float32Array.from(driving.jacobian) : null,
      };
    }
    const n = driving.value.length;
    if (source.value.length !== n || drivingInitial.value.length !== n) {
      throw new RangeError(
        `keypoint counts differ: source ${source.value.length / 2}, driving ${n / 2}, ` +
          `initial ${drivingInitial.value.length / 2}`,
      );
    }
    const s = f32(scale);
    const value = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const diff = f32(driving.value[i] - drivingInitial.value[i]);
      value[i] = f32(f32(diff * s) + source.value[i]);
    }
    let jacobian = driving.jacobian ? Float32Array.from(driving.jacobian) : null;
    if (this.options.relativeJacobian && driving.jacobian) {
      jacobian = relativeJacobian(
        source.jacobian,
        driving.jacobian,
        drivingInitial.jacobian,
        this.rules.singularDet,
      );
    }
    return { value, jacobian };
  }
}
