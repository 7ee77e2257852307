package org.fommtf.core;

/**
 * Pre- and post-processing of frames, as {@code fomm_tf.media.fit_frame} and
 * {@code fomm_tf.media.to_uint8} do them in Python.
 *
 * <p>Pre-processing: make the frame upright ({@link Frame#rotation}, then mirror), convert to
 * float RGB in [0, 1] (alpha composited on white), centre-crop to the model's aspect ratio and
 * resize to the model size: OpenCV's {@code INTER_AREA} when shrinking (area-weighted
 * averages) and {@code INTER_CUBIC} (a = -0.75, edge pixels replicated) when enlarging, then
 * clip to [0, 1]. Output: NHWC float32, batch 1, flat.
 *
 * <p>Post-processing: {@code uint8 = floor(255 * clip(x, 0, 1) + 0.5)}.
 */
public final class ImageProcessing {
    private ImageProcessing() {}

    /** The centre crop {@code {x0, y0, cw, ch}} of a w x h image for a th x tw target. */
    public static int[] centreCrop(int w, int h, int th, int tw) {
        double target = (double) tw / th;
        int cw;
        int ch;
        if ((double) w / h > target) { // too wide: crop columns
            cw = (int) Math.max(1, Math.min(w, Math.rint(h * target)));
            ch = h;
        } else { // too tall: crop rows
            cw = w;
            ch = (int) Math.max(1, Math.min(h, Math.rint(w / target)));
        }
        return new int[] {(w - cw) / 2, (h - ch) / 2, cw, ch};
    }

    /** Fit {@code frame} to {@code th x tw}: float RGB, HWC, flat, values in [0, 1]. */
    public static float[] fit(Frame frame, int th, int tw) {
        int w = frame.uprightWidth();
        int h = frame.uprightHeight();
        int[] crop = centreCrop(w, h, th, tw);
        int x0 = crop[0];
        int y0 = crop[1];
        int cw = crop[2];
        int ch = crop[3];
        float[] img = new float[ch * cw * 3];
        for (int y = 0; y < ch; y++) {
            for (int x = 0; x < cw; x++) {
                int p = frame.pixelUpright(x0 + x, y0 + y);
                int o = (y * cw + x) * 3;
                float a = ((p >>> 24) & 0xff) / 255.0f;
                float r = ((p >> 16) & 0xff) / 255.0f;
                float g = ((p >> 8) & 0xff) / 255.0f;
                float b = (p & 0xff) / 255.0f;
                if (a < 1.0f) {
                    r = r * a + (1.0f - a);
                    g = g * a + (1.0f - a);
                    b = b * a + (1.0f - a);
                }
                img[o] = clip01(r);
                img[o + 1] = clip01(g);
                img[o + 2] = clip01(b);
            }
        }
        if (ch == th && cw == tw) {
            return img;
        }
        float[] out;
        if ((long) ch * cw >= (long) th * tw && ch >= th && cw >= tw) {
            out = resizeArea(img, ch, cw, th, tw);
        } else {
            out = resizeCubic(img, ch, cw, th, tw);
        }
        for (int i = 0; i < out.length; i++) {
            out[i] = clip01(out[i]);
        }
        return out;
    }

    private static float clip01(float v) {
        return Math.min(1.0f, Math.max(0.0f, v));
    }

    /** One axis of OpenCV's area resize: for each output index, source indices and weights. */
    private static final class AreaTab {
        final int[][] index;
        final double[][] weight;

        AreaTab(int ssize, int dsize) {
            double scale = 1.0 / ((double) dsize / ssize);
            index = new int[dsize][];
            weight = new double[dsize][];
            for (int dx = 0; dx < dsize; dx++) {
                double fsx1 = dx * scale;
                double fsx2 = fsx1 + scale;
                double cell = Math.min(scale, ssize - fsx1);
                int sx1 = (int) Math.ceil(fsx1);
                int sx2 = (int) Math.floor(fsx2);
                sx2 = Math.min(sx2, ssize - 1);
                sx1 = Math.min(sx1, sx2);
                int n = Math.max(0, sx2 - sx1) + 2;
                int[] idx = new int[n];
                double[] wt = new double[n];
                int k = 0;
                if (sx1 - fsx1 > 1e-3) {
                    idx[k] = sx1 - 1;
                    wt[k++] = (sx1 - fsx1) / cell;
                }
                for (int sx = sx1; sx < sx2; sx++) {
                    idx[k] = sx;
                    wt[k++] = 1.0 / cell;
                }
                if (fsx2 - sx2 > 1e-3) {
                    idx[k] = sx2;
                    wt[k++] = Math.min(Math.min(fsx2 - sx2, 1.0), cell) / cell;
                }
                index[dx] = java.util.Arrays.copyOf(idx, k);
                weight[dx] = java.util.Arrays.copyOf(wt, k);
            }
        }
    }

    /** OpenCV {@code INTER_AREA} for shrinking (both axes), 3 channels. */
    static float[] resizeArea(float[] src, int sh, int sw, int th, int tw) {
        AreaTab xs = new AreaTab(sw, tw);
        AreaTab ys = new AreaTab(sh, th);
        double[] rows = new double[sh * tw * 3]; // horizontal pass
        for (int y = 0; y < sh; y++) {
            for (int dx = 0; dx < tw; dx++) {
                double r = 0;
                double g = 0;
                double b = 0;
                for (int k = 0; k < xs.index[dx].length; k++) {
                    int o = (y * sw + xs.index[dx][k]) * 3;
                    double wgt = xs.weight[dx][k];
                    r += src[o] * wgt;
                    g += src[o + 1] * wgt;
                    b += src[o + 2] * wgt;
                }
                int o = (y * tw + dx) * 3;
                rows[o] = r;
                rows[o + 1] = g;
                rows[o + 2] = b;
            }
        }
        float[] out = new float[th * tw * 3];
        for (int dy = 0; dy < th; dy++) {
            for (int x = 0; x < tw * 3; x++) {
                double v = 0;
                for (int k = 0; k < ys.index[dy].length; k++) {
                    v += rows[ys.index[dy][k] * tw * 3 + x] * ys.weight[dy][k];
                }
                out[dy * tw * 3 + x] = (float) v;
            }
        }
        return out;
    }

    private static void cubicCoeffs(float x, float[] c) {
        final float a = -0.75f;
        c[0] = ((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a;
        c[1] = ((a + 2) * x - (a + 3)) * x * x + 1;
        c[2] = ((a + 2) * (1 - x) - (a + 3)) * (1 - x) * (1 - x) + 1;
        c[3] = 1.f - c[0] - c[1] - c[2];
    }

    /** Per output index: the first tap ({@code floor(fx) - 1}) and the 4 weights. */
    private static void cubicTab(int ssize, int dsize, int[] first, float[][] w) {
        double scale = 1.0 / ((double) dsize / ssize);
        for (int d = 0; d < dsize; d++) {
            float f = (float) ((d + 0.5) * scale - 0.5);
            int s = (int) Math.floor(f);
            w[d] = new float[4];
            cubicCoeffs(f - s, w[d]);
            first[d] = s - 1;
        }
    }

    private static int clamp(int i, int n) {
        return Math.max(0, Math.min(n - 1, i));
    }

    /** OpenCV {@code INTER_CUBIC} (float images), border pixels replicated, 3 channels. */
    static float[] resizeCubic(float[] src, int sh, int sw, int th, int tw) {
        int[] fx = new int[tw];
        float[][] wx = new float[tw][];
        int[] fy = new int[th];
        float[][] wy = new float[th][];
        cubicTab(sw, tw, fx, wx);
        cubicTab(sh, th, fy, wy);
        float[] rows = new float[sh * tw * 3];
        for (int y = 0; y < sh; y++) {
            for (int dx = 0; dx < tw; dx++) {
                for (int c = 0; c < 3; c++) {
                    float v = 0;
                    for (int k = 0; k < 4; k++) {
                        v += src[(y * sw + clamp(fx[dx] + k, sw)) * 3 + c] * wx[dx][k];
                    }
                    rows[(y * tw + dx) * 3 + c] = v;
                }
            }
        }
        float[] out = new float[th * tw * 3];
        for (int dy = 0; dy < th; dy++) {
            for (int x = 0; x < tw * 3; x++) {
                float v = 0;
                for (int k = 0; k < 4; k++) {
                    v += rows[clamp(fy[dy] + k, sh) * tw * 3 + x] * wy[dy][k];
                }
                out[dy * tw * 3 + x] = v;
            }
        }
        return out;
    }

    /** {@code floor(255 * clip(x, 0, 1) + 0.5)} (NaN → 0), as {@code fomm_tf.media.to_uint8}. */
    public static int toUint8(float x) {
        float c = Math.min(1.0f, Math.max(0.0f, x));
        return Float.isNaN(c) ? 0 : (int) (c * 255.0f + 0.5f);
    }

    /** An HWC RGB float frame → opaque ARGB ints ({@code Bitmap.setPixels}). */
    public static int[] toArgb(float[] rgb, int height, int width) {
        return toArgb(rgb, height, width, null);
    }

    /** As {@link #toArgb(float[], int, int)}, into {@code out} when it is large enough. */
    public static int[] toArgb(float[] rgb, int height, int width, int[] out) {
        int n = height * width;
        if (rgb.length < 3 * n) {
            throw new IllegalArgumentException(rgb.length + " floats for a " + height + "x"
                    + width + " RGB frame");
        }
        int[] px = out != null && out.length >= n ? out : new int[n];
        for (int i = 0; i < n; i++) {
            px[i] = 0xff000000 | (toUint8(rgb[3 * i]) << 16) | (toUint8(rgb[3 * i + 1]) << 8)
                    | toUint8(rgb[3 * i + 2]);
        }
        return px;
    }

    /** An HWC RGB float frame → RGBA bytes (alpha 255). */
    public static byte[] toRgba(float[] rgb, int height, int width) {
        int n = height * width;
        byte[] out = new byte[4 * n];
        for (int i = 0; i < n; i++) {
            out[4 * i] = (byte) toUint8(rgb[3 * i]);
            out[4 * i + 1] = (byte) toUint8(rgb[3 * i + 1]);
            out[4 * i + 2] = (byte) toUint8(rgb[3 * i + 2]);
            out[4 * i + 3] = (byte) 0xff;
        }
        return out;
    }
}
