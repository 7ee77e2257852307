package org.fommtf.core;

/**
 * How driving motion is transferred (paper sec. 3.4), as the contract's {@code motion} section
 * records it: relative (eq. 14-15) or absolute, adapt the movement scale, relative Jacobians.
 */
public final class MotionOptions {
    public final boolean relative;
    public final boolean adaptMovementScale;
    public final boolean relativeJacobian;

    public MotionOptions(boolean relative, boolean adaptMovementScale, boolean relativeJacobian) {
        this.relative = relative;
        this.adaptMovementScale = adaptMovementScale;
        this.relativeJacobian = relativeJacobian;
    }

    @Override
    public String toString() {
        return "MotionOptions(relative=" + relative + ", adapt_movement_scale="
                + adaptMovementScale + ", relative_jacobian=" + relativeJacobian + ")";
    }
}
