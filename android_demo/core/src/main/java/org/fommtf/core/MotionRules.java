package org.fommtf.core;

/**
 * The numeric degenerate-input rules of the contract's {@code motion.rules}, shared with
 * {@code fomm_tf.animation.motion} (Python): never hard-coded here, always read from the contract.
 */
public final class MotionRules {
    /** A hull area at most this large counts as degenerate. */
    public final double degenerateArea;
    /** An RMS spread at most this large counts as degenerate. */
    public final double degenerateSpread;
    /** |det| at most this large: a singular 2x2 matrix. */
    public final double singularDet;
    public final double kpLimit;
    public final double jacobianLimit;

    public MotionRules(double degenerateArea, double degenerateSpread, double singularDet,
            double kpLimit, double jacobianLimit) {
        this.degenerateArea = degenerateArea;
        this.degenerateSpread = degenerateSpread;
        this.singularDet = singularDet;
        this.kpLimit = kpLimit;
        this.jacobianLimit = jacobianLimit;
    }
}
