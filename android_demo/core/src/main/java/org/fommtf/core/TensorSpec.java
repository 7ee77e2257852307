package org.fommtf.core;

import java.util.Arrays;

/** One input or output of a graph as the contract describes it. */
public final class TensorSpec {
    public final String name;
    public final int position;
    public final String tensorName;
    private final int[] shape;
    public final String dtype;
    /** Value range; {@code null} entries are unbounded. */
    public final Double min;
    public final Double max;
    /** {@code null} for float tensors. */
    public final Quantization quantization;

    public TensorSpec(String name, int position, String tensorName, int[] shape, String dtype,
            Double min, Double max, Quantization quantization) {
        this.name = name;
        this.position = position;
        this.tensorName = tensorName;
        this.shape = shape.clone();
        this.dtype = dtype;
        this.min = min;
        this.max = max;
        this.quantization = quantization;
    }

    public int[] shape() {
        return shape.clone();
    }

    /** Number of elements. */
    public int size() {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    public boolean isQuantized() {
        return quantization != null && !"float32".equals(dtype) && !"float16".equals(dtype);
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape) + ":" + dtype;
    }
}
