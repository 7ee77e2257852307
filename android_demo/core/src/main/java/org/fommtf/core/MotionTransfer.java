package org.fommtf.core;

import java.util.Arrays;

/**
 * Motion transfer at test time (paper sec. 3.4, eq. 14-15), the same rules as
 * {@code fomm_tf.animation.motion} in Python, with the thresholds of the contract's
 * {@code motion.rules}.
 *
 * <ul>
 *   <li>Absolute: the driving keypoints as they are.
 *   <li>Relative: {@code kp_s + s * (kp_d - kp_d0)}; {@code s} is the movement scale when
 *       {@code adapt_movement_scale}, else 1.
 *   <li>Movement scale ({@link #movementScale}): {@code sqrt(hull area(src) / hull area(drv0))}
 *       when both hulls are larger than {@code degenerate_area}; otherwise (collinear or
 *       coincident keypoints) the ratio of the RMS spreads around the mean when both exceed
 *       {@code degenerate_spread}; otherwise 1. Always finite and &gt; 0.
 *   <li>Relative Jacobian: {@code J_d * inv(J_d0) * J_s} with the regularized inverse
 *       {@code adj(M) det / (det^2 + singular_det^2)}; a keypoint whose {@code |det J_d0|} is
 *       at most {@code singular_det} (or not finite) keeps {@code J_s}. Without relative
 *       Jacobians the driving Jacobians pass unchanged (as in Python).
 * </ul>
 */
public final class MotionTransfer {
    /** A movement scale and the rule that gave it: {@code area}, {@code spread} or {@code one}. */
    public static final class Scale {
        public final double value;
        public final String rule;

        public Scale(double value, String rule) {
            this.value = value;
            this.rule = rule;
        }

        @Override
        public String toString() {
            return String.format("%.4f (%s)", value, rule);
        }
    }

    private final MotionOptions options;
    private final MotionRules rules;

    public MotionTransfer(MotionOptions options, MotionRules rules) {
        this.options = options;
        this.rules = rules;
    }

    public MotionOptions options() {
        return options;
    }

    /** Area of the convex hull of K points (x, y interleaved); 0 when any is not finite. */
    public static double hullArea(float[] xy) {
        int n = xy.length / 2;
        double[][] pts = new double[n][];
        for (int i = 0; i < n; i++) {
            if (!Float.isFinite(xy[2 * i]) || !Float.isFinite(xy[2 * i + 1])) {
                return 0.0;
            }
            pts[i] = new double[] {xy[2 * i], xy[2 * i + 1]};
        }
        if (n < 3) {
            return 0.0;
        }
        Arrays.sort(pts, (a, b) -> a[0] != b[0] ? Double.compare(a[0], b[0])
                : Double.compare(a[1], b[1]));
        double[][] hull = new double[2 * n][];
        int k = 0;
        for (int i = 0; i < n; i++) { // lower hull (Andrew's monotone chain)
            while (k >= 2 && cross(hull[k - 2], hull[k - 1], pts[i]) <= 0) {
                k--;
            }
            hull[k++] = pts[i];
        }
        for (int i = n - 2, lower = k + 1; i >= 0; i--) { // upper hull
            while (k >= lower && cross(hull[k - 2], hull[k - 1], pts[i]) <= 0) {
                k--;
            }
            hull[k++] = pts[i];
        }
        double area = 0.0;
        for (int i = 0; i < k - 1; i++) { // shoelace over the closed polygon
            area += hull[i][0] * hull[i + 1][1] - hull[i + 1][0] * hull[i][1];
        }
        return Math.abs(area) / 2.0;
    }

    private static double cross(double[] o, double[] a, double[] b) {
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
    }

    /** Root-mean-square distance of the points from their mean; 0 when any is not finite. */
    public static double spread(float[] xy) {
        int n = xy.length / 2;
        double mx = 0;
        double my = 0;
        for (int i = 0; i < n; i++) {
            if (!Float.isFinite(xy[2 * i]) || !Float.isFinite(xy[2 * i + 1])) {
                return 0.0;
            }
            mx += xy[2 * i];
            my += xy[2 * i + 1];
        }
        if (n == 0) {
            return 0.0;
        }
        mx /= n;
        my /= n;
        double sum = 0;
        for (int i = 0; i < n; i++) {
            double dx = xy[2 * i] - mx;
            double dy = xy[2 * i + 1] - my;
            sum += dx * dx + dy * dy;
        }
        return Math.sqrt(sum / n);
    }

    /** The adapt-scale factor of {@code fomm_tf.animation.motion.movement_scale_rule}. */
    public Scale movementScale(Keypoints source, Keypoints drivingInitial) {
        double as = hullArea(source.value);
        double ad = hullArea(drivingInitial.value);
        if (as > rules.degenerateArea && ad > rules.degenerateArea) {
            return new Scale(Math.sqrt(as) / Math.sqrt(ad), "area");
        }
        double rs = spread(source.value);
        double rd = spread(drivingInitial.value);
        if (rs > rules.degenerateSpread && rd > rules.degenerateSpread) {
            return new Scale(rs / rd, "spread");
        }
        return new Scale(1.0, "one");
    }

    /** The scale a new driving sequence uses: the movement scale, or 1 without adapt-scale. */
    public Scale scaleFor(Keypoints source, Keypoints drivingInitial) {
        if (options.relative && options.adaptMovementScale) {
            return movementScale(source, drivingInitial);
        }
        return new Scale(1.0, "one");
    }

    /**
     * Driving keypoints to feed the generator ({@code fomm_tf.animation.motion.normalize_kp}).
     *
     * @param scale the movement scale of this driving sequence ({@link #scaleFor}, computed
     *     once when the initial frame is set)
     */
    public Keypoints normalize(Keypoints source, Keypoints driving, Keypoints drivingInitial,
            double scale) {
        if (!options.relative) {
            return driving.copy();
        }
        if (source.count != driving.count || drivingInitial.count != driving.count) {
            throw new IllegalArgumentException("keypoint counts differ: source " + source.count
                    + ", driving " + driving.count + ", initial " + drivingInitial.count);
        }
        float s = (float) scale;
        float[] value = new float[driving.value.length];
        for (int i = 0; i < value.length; i++) {
            float diff = driving.value[i] - drivingInitial.value[i];
            value[i] = diff * s + source.value[i];
        }
        float[] jac = driving.jacobian == null ? null : driving.jacobian.clone();
        if (options.relativeJacobian && driving.hasJacobian()) {
            jac = relativeJacobian(source.jacobian, driving.jacobian, drivingInitial.jacobian,
                    (float) rules.singularDet);
        }
        return new Keypoints(value, jac);
    }

    /** Eq. 15 per keypoint: {@code J_d * inv(J_d0) * J_s}; a singular {@code J_d0} keeps J_s. */
    public static float[] relativeJacobian(float[] js, float[] jd, float[] jd0, float singularDet) {
        float[] out = new float[jd.length];
        float eps2 = singularDet * singularDet;
        for (int k = 0; k < jd.length / 4; k++) {
            int o = 4 * k;
            float a = jd0[o];
            float b = jd0[o + 1];
            float c = jd0[o + 2];
            float d = jd0[o + 3];
            float det = a * d - b * c;
            if (!(Math.abs(det) > singularDet) || !Float.isFinite(det)) {
                System.arraycopy(js, o, out, o, 4);
                continue;
            }
            float sc = det / (det * det + eps2);
            float[] inv = {d * sc, -b * sc, -c * sc, a * sc};
            float[] m = matmul(jd, o, inv, 0);
            float[] r = matmul(m, 0, js, o);
            System.arraycopy(r, 0, out, o, 4);
        }
        return out;
    }

    private static float[] matmul(float[] x, int xo, float[] y, int yo) {
        return new float[] {
            x[xo] * y[yo] + x[xo + 1] * y[yo + 2],
            x[xo] * y[yo + 1] + x[xo + 1] * y[yo + 3],
            x[xo + 2] * y[yo] + x[xo + 3] * y[yo + 2],
            x[xo + 2] * y[yo + 1] + x[xo + 3] * y[yo + 3],
        };
    }
}
