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

    /**
     * Run {@code graph} where some inputs are known not to have changed: {@code stable} maps
     * an input's name to a token (the source they came from), and an input whose token is the
     * same object as at the engine's last write of it may be left in the engine's buffer (the
     * source encoder's features are written once per source, not once per frame). The default
     * writes everything ({@link BufferedEngine} does not).
     */
    default Map<String, float[]> run(String graph, Map<String, float[]> inputs,
            Map<String, Object> stable) throws Exception {
        return run(graph, inputs);
    }

    /** Which accelerator runs the graphs, in words (for the screen). */
    default String describe() {
        return getClass().getSimpleName();
    }

    @Override
    default void close() {}
}
