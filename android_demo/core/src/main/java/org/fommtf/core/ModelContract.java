package org.fommtf.core;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code model_contract.json} as {@code fomm export} writes it (fomm_tf/export/contract.py),
 * read and validated: every problem is a {@link ContractException} naming the field, never a
 * crash later in the pipeline.
 *
 * <p>Checked: format and version, quantization mode, image size, keypoint count, batch size 1,
 * the pre-processing promise (NHWC RGB float32 in [0, 1]), the motion options and every numeric
 * rule, and for each of the three graphs its file, size, digest and tensors (names, positions,
 * shapes, dtypes, ranges, quantization), including that the graphs fit together: the frame
 * shape of {@code kp_detector.image} and {@code source_encoder.source}, keypoint shapes
 * {@code [1, K, 2]} and {@code [1, K, 2, 2]}, every {@code source_encoder} output feeding the
 * generator input of the same name and shape, and {@code generator.prediction}.
 */
public final class ModelContract {
    public static final String FORMAT = "fomm-tf/tflite-contract";
    public static final int VERSION = 2;
    public static final String KP_DETECTOR = "kp_detector";
    public static final String SOURCE_ENCODER = "source_encoder";
    public static final String GENERATOR = "generator";
    private static final List<String> GRAPHS = Arrays.asList(KP_DETECTOR, SOURCE_ENCODER, GENERATOR);
    private static final Set<String> QUANT = new HashSet<>(
            Arrays.asList("fp32", "fp16", "dynamic", "int8"));
    private static final Set<String> DTYPES = new HashSet<>(
            Arrays.asList("float32", "float16", "int8", "uint8", "int32"));

    public final String quant;
    public final int height;
    public final int width;
    public final int numKp;
    public final int numChannels;
    public final MotionOptions motion;
    public final MotionRules rules;
    public final boolean withJacobian;
    private final Map<String, GraphSpec> graphs;
    private final JsonObject json;

    private ModelContract(JsonObject root) {
        this.json = root;
        String format = string(root, "format", "format");
        if (!FORMAT.equals(format)) {
            throw new ContractException("format", "'" + format + "', expected '" + FORMAT + "'");
        }
        int version = integer(root, "version", "version");
        if (version != VERSION) {
            throw new ContractException("version", "contract version " + version
                    + ", this app reads version " + VERSION + "; export the model again");
        }
        quant = string(root, "quant", "quant");
        if (!QUANT.contains(quant)) {
            throw new ContractException("quant", "'" + quant + "', expected one of " + QUANT);
        }
        int[] size = ints(array(root, "image_size", "image_size"), "image_size");
        if (size.length != 2 || size[0] < 1 || size[1] < 1) {
            throw new ContractException("image_size", Arrays.toString(size)
                    + ", expected [height, width] > 0");
        }
        height = size[0];
        width = size[1];
        numKp = positive(root, "num_kp");
        numChannels = positive(root, "num_channels");
        if (numChannels != 3) {
            throw new ContractException("num_channels", numChannels
                    + ": the app feeds RGB frames (3 channels)");
        }
        if (integer(root, "batch_size", "batch_size") != 1) {
            throw new ContractException("batch_size", "must be 1");
        }
        JsonObject pre = object(root, "preprocessing", "preprocessing");
        expect(pre, "layout", "preprocessing.layout", "NHWC");
        expect(pre, "color", "preprocessing.color", "RGB");
        expect(pre, "dtype", "preprocessing.dtype", "float32");
        double[] range = range(pre.get("range"), "preprocessing.range");
        if (range[0] != 0.0 || range[1] != 1.0) {
            throw new ContractException("preprocessing.range", Arrays.toString(range)
                    + ", expected [0, 1]");
        }
        object(root, "postprocessing", "postprocessing");
        JsonObject m = object(root, "motion", "motion");
        motion = new MotionOptions(bool(m, "relative", "motion.relative"),
                bool(m, "adapt_movement_scale", "motion.adapt_movement_scale"),
                bool(m, "relative_jacobian", "motion.relative_jacobian"));
        JsonObject r = object(m, "rules", "motion.rules");
        rules = new MotionRules(nonNegative(r, "degenerate_area", "motion.rules"),
                nonNegative(r, "degenerate_spread", "motion.rules"),
                nonNegative(r, "singular_det", "motion.rules"),
                nonNegative(r, "kp_limit", "motion.rules"),
                nonNegative(r, "jacobian_limit", "motion.rules"));
        JsonObject g = object(root, "graphs", "graphs");
        graphs = new LinkedHashMap<>();
        for (String name : GRAPHS) {
            graphs.put(name, graph(name, object(g, name, "graphs." + name)));
        }
        for (String name : g.keySet()) {
            if (!GRAPHS.contains(name)) {
                throw new ContractException("graphs." + name, "unknown graph");
            }
        }
        withJacobian = graphs.get(KP_DETECTOR).outputs.stream()
                .anyMatch(t -> t.name.equals("jacobian"));
        checkTopology();
    }

    /** Parse and validate a contract document. */
    public static ModelContract parse(String text) {
        JsonElement root;
        try {
            root = JsonParser.parseString(text);
        } catch (JsonParseException e) {
            throw new ContractException("model_contract.json", "not JSON (" + e.getMessage() + ")");
        }
        if (root == null || !root.isJsonObject()) {
            throw new ContractException("model_contract.json", "not a JSON object");
        }
        return new ModelContract(root.getAsJsonObject());
    }

    public static ModelContract parse(byte[] utf8) {
        return parse(new String(utf8, StandardCharsets.UTF_8));
    }

    /** The contract's JSON (a copy). */
    public JsonObject json() {
        return json.deepCopy();
    }

    public GraphSpec graph(String name) {
        GraphSpec spec = graphs.get(name);
        if (spec == null) {
            throw new ContractException("graphs." + name, "no such graph");
        }
        return spec;
    }

    public Map<String, GraphSpec> graphs() {
        return java.util.Collections.unmodifiableMap(graphs);
    }

    /** Frame elements: height x width x channels. */
    public int frameSize() {
        return height * width * numChannels;
    }

    /**
     * Check a graph file against the contract's byte count and SHA-256 (a model from another
     * export, or a truncated asset).
     */
    public void verifyGraphFile(String graph, byte[] content) {
        checkSizeAndDigest(graph, content.length, sha256(content));
    }

    /**
     * {@link #verifyGraphFile} on a stream (an asset), read in 64 KiB blocks: the graph is
     * hashed without a copy of it on the heap. The stream is read to its end, not closed.
     */
    public void verifyGraphStream(String graph, java.io.InputStream in) throws java.io.IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        byte[] block = new byte[1 << 16];
        long total = 0;
        for (int n = in.read(block); n >= 0; n = in.read(block)) {
            digest.update(block, 0, n);
            total += n;
        }
        checkSizeAndDigest(graph, total, hex(digest.digest()));
    }

    private void checkSizeAndDigest(String graph, long length, String digest) {
        GraphSpec spec = graph(graph);
        String field = "graphs." + graph;
        if (length != spec.bytes) {
            throw new ContractException(field + ".bytes", spec.file + " has " + length
                    + " bytes, the contract says " + spec.bytes);
        }
        if (!digest.equals(spec.sha256)) {
            throw new ContractException(field + ".sha256", spec.file + " has SHA-256 " + digest
                    + ", the contract says " + spec.sha256 + " (graphs and contract from"
                    + " different exports?)");
        }
    }

    /**
     * Check the tensor shapes a runtime reports for a graph against the contract. Shapes are
     * listed by the contract's {@code position} (the graph's own input/output order).
     */
    public void checkGraphShapes(String graph, List<int[]> inputShapes, List<int[]> outputShapes) {
        GraphSpec spec = graph(graph);
        compareShapes("graphs." + graph + ".inputs", spec.inputs, inputShapes);
        compareShapes("graphs." + graph + ".outputs", spec.outputs, outputShapes);
    }

    /**
     * Check what a runtime that only exposes buffers can tell: the number of inputs and
     * outputs and each output's element count (by the contract's {@code position}).
     */
    public void checkGraphSizes(String graph, int inputCount, int[] outputSizes) {
        GraphSpec spec = graph(graph);
        String field = "graphs." + graph;
        if (inputCount != spec.inputs.size()) {
            throw new ContractException(field + ".inputs", "the graph has " + inputCount
                    + " inputs, the contract lists " + spec.inputs.size());
        }
        if (outputSizes.length != spec.outputs.size()) {
            throw new ContractException(field + ".outputs", "the graph has "
                    + outputSizes.length + " outputs, the contract lists " + spec.outputs.size());
        }
        for (TensorSpec t : spec.outputs) {
            if (outputSizes[t.position] != t.size()) {
                throw new ContractException(field + ".outputs[" + t.name + "].shape", "contract "
                        + Arrays.toString(t.shape()) + " (" + t.size() + " values), the graph "
                        + "returns " + outputSizes[t.position]);
            }
        }
    }

    private static void compareShapes(String field, List<TensorSpec> specs, List<int[]> actual) {
        if (actual.size() != specs.size()) {
            throw new ContractException(field, "the graph has " + actual.size()
                    + " tensors, the contract lists " + specs.size());
        }
        for (TensorSpec t : specs) {
            int[] got = actual.get(t.position);
            if (!Arrays.equals(got, t.shape())) {
                throw new ContractException(field + "[" + t.name + "].shape", "contract "
                        + Arrays.toString(t.shape()) + ", graph " + Arrays.toString(got));
            }
        }
    }

    static String sha256(byte[] content) {
        try {
            return hex(MessageDigest.getInstance("SHA-256").digest(content));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String hex(byte[] d) {
        StringBuilder sb = new StringBuilder();
        for (byte b : d) {
            sb.append(String.format("%02x", b & 0xff));
        }
        return sb.toString();
    }

    // ---------------------------------------------------------------------------------------
    // the graphs and how they fit together

    private GraphSpec graph(String name, JsonObject g) {
        String field = "graphs." + name;
        String file = string(g, "file", field + ".file");
        if (!file.matches("[a-z_]+\\.tflite")) {
            throw new ContractException(field + ".file", "'" + file + "' is not a .tflite name");
        }
        long bytes = integer(g, "bytes", field + ".bytes");
        if (bytes < 1) {
            throw new ContractException(field + ".bytes", "must be positive");
        }
        String sha = string(g, "sha256", field + ".sha256");
        if (!sha.matches("[0-9a-f]{64}")) {
            throw new ContractException(field + ".sha256", "not a hex SHA-256");
        }
        return new GraphSpec(name, file, bytes, sha, tensors(g, "inputs", field),
                tensors(g, "outputs", field));
    }

    private static List<TensorSpec> tensors(JsonObject g, String key, String graphField) {
        String field = graphField + "." + key;
        JsonArray arr = array(g, key, field);
        if (arr.size() == 0) {
            throw new ContractException(field, "empty");
        }
        List<TensorSpec> out = new ArrayList<>();
        Set<Integer> positions = new HashSet<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < arr.size(); i++) {
            if (!arr.get(i).isJsonObject()) {
                throw new ContractException(field + "[" + i + "]", "not an object");
            }
            JsonObject t = arr.get(i).getAsJsonObject();
            String name = string(t, "name", field + "[" + i + "].name");
            String tf = field + "[" + name + "]";
            if (!names.add(name)) {
                throw new ContractException(tf + ".name", "listed twice");
            }
            int position = integer(t, "position", tf + ".position");
            if (position < 0 || position >= arr.size() || !positions.add(position)) {
                throw new ContractException(tf + ".position", position + " is out of range or"
                        + " taken");
            }
            String tensorName = t.has("tensor_name") && !t.get("tensor_name").isJsonNull()
                    ? string(t, "tensor_name", tf + ".tensor_name") : name;
            int[] shape = ints(array(t, "shape", tf + ".shape"), tf + ".shape");
            if (shape.length == 0 || Arrays.stream(shape).anyMatch(d -> d < 1)) {
                throw new ContractException(tf + ".shape", Arrays.toString(shape)
                        + ": dimensions must be positive");
            }
            String dtype = string(t, "dtype", tf + ".dtype");
            if (!DTYPES.contains(dtype)) {
                throw new ContractException(tf + ".dtype", "'" + dtype + "', expected one of "
                        + DTYPES);
            }
            double[] range = range(t.get("range"), tf + ".range");
            Quantization q = quantization(t.get("quantization"), tf + ".quantization");
            if (q == null && (dtype.equals("int8") || dtype.equals("uint8"))) {
                throw new ContractException(tf + ".quantization", dtype
                        + " tensor without scale and zero point");
            }
            out.add(new TensorSpec(name, position, tensorName, shape, dtype,
                    Double.isNaN(range[0]) ? null : range[0],
                    Double.isNaN(range[1]) ? null : range[1], q));
        }
        return out;
    }

    private static Quantization quantization(JsonElement e, String field) {
        if (e == null) {
            throw new ContractException(field, "missing");
        }
        if (e.isJsonNull()) {
            return null;
        }
        if (!e.isJsonObject()) {
            throw new ContractException(field, "expected null or {scale, zero_point}");
        }
        JsonObject q = e.getAsJsonObject();
        JsonArray s = array(q, "scale", field + ".scale");
        int[] z = ints(array(q, "zero_point", field + ".zero_point"), field + ".zero_point");
        float[] scale = new float[s.size()];
        for (int i = 0; i < scale.length; i++) {
            scale[i] = number(s.get(i), field + ".scale").floatValue();
            if (!(scale[i] > 0) || Float.isInfinite(scale[i])) {
                throw new ContractException(field + ".scale", "scales must be finite and > 0");
            }
        }
        if (scale.length == 0 || scale.length != z.length) {
            throw new ContractException(field, scale.length + " scales and " + z.length
                    + " zero points");
        }
        return new Quantization(scale, z);
    }

    private void checkTopology() {
        int[] frame = {1, height, width, numChannels};
        GraphSpec kp = graphs.get(KP_DETECTOR);
        GraphSpec enc = graphs.get(SOURCE_ENCODER);
        GraphSpec gen = graphs.get(GENERATOR);
        expectShape(kp, true, "image", frame);
        expectShape(kp, false, "value", new int[] {1, numKp, 2});
        expectShape(enc, true, "source", frame);
        if (kp.inputs.size() != 1) {
            throw new ContractException("graphs.kp_detector.inputs", "expected one input, image");
        }
        if (enc.inputs.size() != 1) {
            throw new ContractException("graphs.source_encoder.inputs",
                    "expected one input, source");
        }
        for (TensorSpec out : enc.outputs) {
            expectShape(gen, true, out.name, out.shape());
        }
        for (String who : new String[] {"kp_source", "kp_driving"}) {
            expectShape(gen, true, who + "_value", new int[] {1, numKp, 2});
        }
        int expectedInputs = enc.outputs.size() + 2;
        if (withJacobian) {
            expectShape(kp, false, "jacobian", new int[] {1, numKp, 2, 2});
            for (String who : new String[] {"kp_source", "kp_driving"}) {
                expectShape(gen, true, who + "_jacobian", new int[] {1, numKp, 2, 2});
            }
            expectedInputs += 2;
        }
        if (gen.inputs.size() != expectedInputs) {
            throw new ContractException("graphs.generator.inputs", gen.inputs.size()
                    + " inputs, expected the source_encoder outputs and the keypoints ("
                    + expectedInputs + ")");
        }
        expectShape(gen, false, "prediction", new int[] {1, height, width, 3});
        for (TensorSpec frameInput : new TensorSpec[] {kp.input("image"), enc.input("source")}) {
            if (frameInput.min == null || frameInput.max == null || frameInput.min != 0.0
                    || frameInput.max != 1.0) {
                throw new ContractException("graphs." + (frameInput == kp.input("image")
                        ? "kp_detector.inputs[image]" : "source_encoder.inputs[source]")
                        + ".range", "frames are fed in [0, 1]; the contract says ["
                        + frameInput.min + ", " + frameInput.max + "]");
            }
        }
    }

    private static void expectShape(GraphSpec g, boolean input, String tensor, int[] shape) {
        String field = "graphs." + g.name + (input ? ".inputs" : ".outputs") + "[" + tensor + "]";
        List<TensorSpec> list = input ? g.inputs : g.outputs;
        for (TensorSpec t : list) {
            if (t.name.equals(tensor)) {
                if (!Arrays.equals(t.shape(), shape)) {
                    throw new ContractException(field + ".shape", Arrays.toString(t.shape())
                            + ", expected " + Arrays.toString(shape));
                }
                return;
            }
        }
        throw new ContractException(field, "missing");
    }

    // ---------------------------------------------------------------------------------------
    // JSON helpers: every failure names the field

    private static JsonElement get(JsonObject o, String key, String field) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            throw new ContractException(field, "missing");
        }
        return e;
    }

    private static JsonObject object(JsonObject o, String key, String field) {
        JsonElement e = get(o, key, field);
        if (!e.isJsonObject()) {
            throw new ContractException(field, "expected an object");
        }
        return e.getAsJsonObject();
    }

    private static JsonArray array(JsonObject o, String key, String field) {
        JsonElement e = get(o, key, field);
        if (!e.isJsonArray()) {
            throw new ContractException(field, "expected an array");
        }
        return e.getAsJsonArray();
    }

    private static String string(JsonObject o, String key, String field) {
        JsonElement e = get(o, key, field);
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw new ContractException(field, "expected a string");
        }
        return e.getAsString();
    }

    private static boolean bool(JsonObject o, String key, String field) {
        JsonElement e = get(o, key, field);
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) {
            throw new ContractException(field, "expected true or false");
        }
        return e.getAsBoolean();
    }

    private static Number number(JsonElement e, String field) {
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw new ContractException(field, "expected a number");
        }
        return e.getAsNumber();
    }

    private static int integer(JsonObject o, String key, String field) {
        double v = number(get(o, key, field), field).doubleValue();
        if (v != Math.rint(v) || Math.abs(v) > Integer.MAX_VALUE) {
            throw new ContractException(field, v + " is not an integer");
        }
        return (int) v;
    }

    private static int positive(JsonObject o, String key) {
        int v = integer(o, key, key);
        if (v < 1) {
            throw new ContractException(key, v + ", expected >= 1");
        }
        return v;
    }

    private static double nonNegative(JsonObject o, String key, String parent) {
        String field = parent + "." + key;
        double v = number(get(o, key, field), field).doubleValue();
        if (!(v >= 0) || Double.isInfinite(v)) {
            throw new ContractException(field, v + ", expected a finite number >= 0");
        }
        return v;
    }

    private static void expect(JsonObject o, String key, String field, String value) {
        String got = string(o, key, field);
        if (!value.equals(got)) {
            throw new ContractException(field, "'" + got + "', expected '" + value + "'");
        }
    }

    private static int[] ints(JsonArray arr, String field) {
        int[] out = new int[arr.size()];
        for (int i = 0; i < out.length; i++) {
            double v = number(arr.get(i), field).doubleValue();
            if (v != Math.rint(v)) {
                throw new ContractException(field, v + " is not an integer");
            }
            out[i] = (int) v;
        }
        return out;
    }

    /** {@code [min, max]} with null → NaN (unbounded). */
    private static double[] range(JsonElement e, String field) {
        if (e == null || !e.isJsonArray() || e.getAsJsonArray().size() != 2) {
            throw new ContractException(field, "expected [min, max]");
        }
        double[] out = new double[2];
        for (int i = 0; i < 2; i++) {
            JsonElement v = e.getAsJsonArray().get(i);
            out[i] = v.isJsonNull() ? Double.NaN : number(v, field).doubleValue();
        }
        return out;
    }
}
