package org.fommtf.core;

/**
 * Keypoints of one frame: {@code value} (K x 2, x first, in [-1, 1]) and optionally
 * {@code jacobian} (K x 2 x 2, row-major), flat as the graphs' tensors hold them.
 */
public final class Keypoints {
    public final int count;
    public final float[] value;
    /** {@code null} for models without Jacobians. */
    public final float[] jacobian;

    public Keypoints(float[] value, float[] jacobian) {
        if (value.length % 2 != 0) {
            throw new IllegalArgumentException("keypoint values: " + value.length
                    + " floats, not K x 2");
        }
        this.count = value.length / 2;
        if (jacobian != null && jacobian.length != count * 4) {
            throw new IllegalArgumentException("keypoint jacobians: " + jacobian.length
                    + " floats for " + count + " keypoints, expected K x 2 x 2");
        }
        this.value = value;
        this.jacobian = jacobian;
    }

    public boolean hasJacobian() {
        return jacobian != null;
    }

    public Keypoints copy() {
        return new Keypoints(value.clone(), jacobian == null ? null : jacobian.clone());
    }
}
