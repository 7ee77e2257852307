package org.fommtf.core;

import java.util.Map;

/**
 * Runs one exported graph by name ({@code kp_detector}, {@code source_encoder},
 * {@code generator}) on named float buffers: the contract's tensor names, flat row-major
 * arrays of the contract's shapes. The app implements it with LiteRT's {@code CompiledModel}
 * (quantized tensors are encoded and decoded with the contract's {@link Quantization}); the
 * JVM tests implement it with recorded graph outputs.
 */
public interface Engine extends AutoCloseable {
    /**
     * Run {@code graph}; {@code inputs} holds every input of the graph by name. Returns every
     * output by name.
     */
    Map<String, float[]> run(String graph, Map<String, float[]> inputs) throws Exception;

    /** Which accelerator runs the graphs, in words (for the screen). */
    default String describe() {
        return getClass().getSimpleName();
    }

    @Override
    default void close() {}
}
