package org.fommtf.core;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An {@link Engine} over per-graph input and output buffers (LiteRT's {@code TensorBuffer}s in
 * the app): subclasses write one input, invoke a graph and read one output; this class decides
 * what to write. An input passed as stable ({@link Engine#run(String, Map, Map)}) is written
 * only when its token differs from the one of its last write: the generator's per-source
 * inputs (the source encoder's features, the source keypoints) go into the buffers once per
 * source, as the web page does. Not thread-safe: use it from one thread.
 */
public abstract class BufferedEngine implements Engine {
    private final ModelContract contract;
    private final Map<String, Object> written = new HashMap<>(); // "graph/input" -> token
    private final Map<String, Long> writes = new HashMap<>(); // "graph/input" -> count

    protected BufferedEngine(ModelContract contract) {
        this.contract = contract;
    }

    public ModelContract contract() {
        return contract;
    }

    /** Copy {@code values} into the buffer of {@code graph}'s input {@code input}. */
    protected abstract void write(GraphSpec graph, TensorSpec input, float[] values)
            throws Exception;

    /** Run {@code graph} on its buffers. */
    protected abstract void invoke(GraphSpec graph) throws Exception;

    /** The values of {@code graph}'s output {@code output} after {@link #invoke}. */
    protected abstract float[] read(GraphSpec graph, TensorSpec output) throws Exception;

    @Override
    public final Map<String, float[]> run(String graph, Map<String, float[]> inputs)
            throws Exception {
        return run(graph, inputs, Map.of());
    }

    @Override
    public final Map<String, float[]> run(String graph, Map<String, float[]> inputs,
            Map<String, Object> stable) throws Exception {
        GraphSpec spec = contract.graph(graph);
        for (TensorSpec t : spec.inputs) {
            float[] values = inputs.get(t.name);
            if (values == null) {
                throw new IllegalArgumentException(graph + ": no " + t.name);
            }
            String key = graph + "/" + t.name;
            Object token = stable.get(t.name);
            if (token != null && written.get(key) == token) {
                continue; // the buffer still holds these values
            }
            written.remove(key); // a failed write leaves the buffer unknown
            write(spec, t, values);
            writes.merge(key, 1L, Long::sum);
            if (token != null) {
                written.put(key, token);
            }
        }
        invoke(spec);
        Map<String, float[]> out = new LinkedHashMap<>();
        for (TensorSpec t : spec.outputs) {
            out.put(t.name, read(spec, t));
        }
        return out;
    }

    /** How many times an input was written into its buffer (tests, the app's stats). */
    public long writes(String graph, String input) {
        return writes.getOrDefault(graph + "/" + input, 0L);
    }

    /** Forget what the buffers hold (after they were re-created). */
    protected void forgetWrites() {
        written.clear();
    }
}
