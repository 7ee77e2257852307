package org.fommtf.core;

import java.util.Arrays;

/**
 * Affine quantization of a tensor, {@code x = scale * (q - zeroPoint)}, as the contract's
 * {@code quantization} entry records it: one scale/zero point per tensor, or one per channel
 * of the last axis.
 */
public final class Quantization {
    private final float[] scale;
    private final int[] zeroPoint;

    public Quantization(float[] scale, int[] zeroPoint) {
        if (scale.length == 0 || scale.length != zeroPoint.length) {
            throw new IllegalArgumentException(
                    "quantization: " + scale.length + " scales and " + zeroPoint.length
                            + " zero points");
        }
        this.scale = scale.clone();
        this.zeroPoint = zeroPoint.clone();
    }

    public float[] scale() {
        return scale.clone();
    }

    public int[] zeroPoint() {
        return zeroPoint.clone();
    }

    /** Channels the parameters cover (1: per tensor). */
    public int channels() {
        return scale.length;
    }

    /** The value range of a quantized dtype: {@code [min, max]}. */
    public static int[] limits(String dtype) {
        switch (dtype) {
            case "int8":
                return new int[] {-128, 127};
            case "uint8":
                return new int[] {0, 255};
            case "int32":
                return new int[] {Integer.MIN_VALUE, Integer.MAX_VALUE};
            default:
                throw new IllegalArgumentException("not a quantized dtype: " + dtype);
        }
    }

    /** {@code scale * (q - zeroPoint)} per element; {@code q} holds the integer values. */
    public float[] dequantize(int[] q) {
        float[] out = new float[q.length];
        for (int i = 0; i < q.length; i++) {
            int c = i % scale.length;
            out[i] = scale[c] * (float) (q[i] - zeroPoint[c]);
        }
        return out;
    }

    /** Dequantize raw tensor bytes of {@code dtype} int8 or uint8. */
    public float[] dequantize(byte[] raw, String dtype) {
        int[] q = new int[raw.length];
        boolean unsigned = "uint8".equals(dtype);
        for (int i = 0; i < raw.length; i++) {
            q[i] = unsigned ? (raw[i] & 0xff) : raw[i];
        }
        return dequantize(q);
    }

    /** {@code clamp(rint(x / scale) + zeroPoint)} to the range of {@code dtype} (half to even). */
    public int[] quantize(float[] x, String dtype) {
        int[] lim = limits(dtype);
        int[] out = new int[x.length];
        for (int i = 0; i < x.length; i++) {
            int c = i % scale.length;
            double q = Math.rint(x[i] / scale[c]) + zeroPoint[c];
            out[i] = (int) Math.max(lim[0], Math.min(lim[1], q));
        }
        return out;
    }

    /** {@link #quantize(float[], String)} as the raw bytes of an int8/uint8 tensor. */
    public byte[] quantizeToBytes(float[] x, String dtype) {
        int[] q = quantize(x, dtype);
        byte[] out = new byte[q.length];
        for (int i = 0; i < q.length; i++) {
            out[i] = (byte) q[i];
        }
        return out;
    }

    @Override
    public String toString() {
        return "Quantization(scale=" + Arrays.toString(scale) + ", zero_point="
                + Arrays.toString(zeroPoint) + ")";
    }
}
