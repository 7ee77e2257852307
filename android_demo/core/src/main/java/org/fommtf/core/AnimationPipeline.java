package org.fommtf.core;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The per-frame pipeline of the app, with no Android in it:
 *
 * <pre>
 * source photo  → fit → kp_detector → keypoints ┐
 *               → fit → source_encoder → tensors ┴ SourceCache (once per photo)
 * driving frame → fit → kp_detector → relative motion (MotionTransfer) → generator → frame
 * </pre>
 *
 * The first driving frame after {@link #setSource} or {@link #resetDriving} is the initial
 * frame that relative motion is measured from (and that fixes the movement scale). Every
 * stage is timed ({@link #timer()}). Not thread-safe: drive it from one thread (the
 * {@link FrameScheduler}'s, through {@link LiveSession}).
 */
public final class AnimationPipeline {
    /** Stage names of {@link #timer()}. */
    public static final String PREPROCESS = "preprocess";
    public static final String KEYPOINTS = "kp_detector";
    public static final String MOTION = "motion";
    public static final String GENERATOR = "generator";
    public static final String POSTPROCESS = "postprocess";
    public static final String SOURCE = "source";

    /** One animated frame. */
    public static final class Result {
        /** HWC RGB float in [0, 1] (the generator's prediction). */
        public final float[] prediction;
        /** Opaque ARGB pixels, height x width. */
        public final int[] argb;
        public final Keypoints driving;
        public final Keypoints normalized;
        public final MotionTransfer.Scale scale;

        Result(float[] prediction, int[] argb, Keypoints driving, Keypoints normalized,
                MotionTransfer.Scale scale) {
            this.prediction = prediction;
            this.argb = argb;
            this.driving = driving;
            this.normalized = normalized;
            this.scale = scale;
        }
    }

    private final ModelContract contract;
    private final Engine engine;
    private final MotionTransfer motion;
    private final StageTimer timer;
    private SourceCache source;
    private Keypoints initial;
    private MotionTransfer.Scale scale;
    private long sourceCount;

    public AnimationPipeline(ModelContract contract, Engine engine) {
        this(contract, engine, contract.motion, new StageTimer());
    }

    /** With motion options other than the contract's (a user setting) and a given timer. */
    public AnimationPipeline(ModelContract contract, Engine engine, MotionOptions options,
            StageTimer timer) {
        this.contract = contract;
        this.engine = engine;
        this.motion = new MotionTransfer(options, contract.rules);
        this.timer = timer;
    }

    public ModelContract contract() {
        return contract;
    }

    public Engine engine() {
        return engine;
    }

    public StageTimer timer() {
        return timer;
    }

    public MotionTransfer motion() {
        return motion;
    }

    public SourceCache source() {
        return source;
    }

    /** The movement scale of the current driving sequence (null before its first frame). */
    public MotionTransfer.Scale scale() {
        return scale;
    }

    /** Fit the source photo and cache its keypoints and encoder tensors; resets the driver. */
    public SourceCache setSource(Frame photo) throws Exception {
        long t0 = timer.now();
        float[] image = ImageProcessing.fit(photo, contract.height, contract.width);
        Keypoints kp = keypoints(image);
        Map<String, float[]> feeds = new LinkedHashMap<>();
        feeds.put("source", image);
        Map<String, float[]> encoded = run(ModelContract.SOURCE_ENCODER, feeds);
        source = new SourceCache(++sourceCount, image, kp, encoded);
        resetDriving();
        timer.lap(SOURCE, t0);
        return source;
    }

    /** The next driving frame becomes the initial one (e.g. the user re-centres the face). */
    public void resetDriving() {
        initial = null;
        scale = null;
    }

    /** Animate the source with one driving frame. */
    public Result animate(Frame driving) throws Exception {
        if (source == null) {
            throw new IllegalStateException("animate() before setSource(photo)");
        }
        long t = timer.now();
        float[] image = ImageProcessing.fit(driving, contract.height, contract.width);
        t = timer.lap(PREPROCESS, t);
        Keypoints kp = keypoints(image);
        t = timer.lap(KEYPOINTS, t);
        if (initial == null) {
            initial = kp;
            scale = motion.scaleFor(source.keypoints, initial);
        }
        Keypoints norm = motion.normalize(source.keypoints, kp, initial, scale.value);
        t = timer.lap(MOTION, t);
        float[] prediction = generate(norm);
        t = timer.lap(GENERATOR, t);
        int[] argb = ImageProcessing.toArgb(prediction, contract.height, contract.width);
        timer.lap(POSTPROCESS, t);
        timer.frameDone();
        return new Result(prediction, argb, kp, norm, scale);
    }

    /**
     * The generator on the cached source and normalized driving keypoints. The per-source
     * inputs (encoder features, source keypoints) are passed as stable, with the
     * {@link SourceCache} as their token: a {@link BufferedEngine} writes them once per source.
     */
    public float[] generate(Keypoints normalized) throws Exception {
        Map<String, float[]> feeds = new LinkedHashMap<>(source.encoded());
        feeds.put("kp_source_value", source.keypoints.value);
        feeds.put("kp_driving_value", normalized.value);
        if (contract.withJacobian) {
            feeds.put("kp_source_jacobian", source.keypoints.jacobian);
            feeds.put("kp_driving_jacobian", normalized.jacobian);
        }
        Map<String, Object> stable = new LinkedHashMap<>();
        for (String name : feeds.keySet()) {
            if (!name.startsWith("kp_driving_")) {
                stable.put(name, source);
            }
        }
        return run(ModelContract.GENERATOR, feeds, stable).get("prediction");
    }

    private Keypoints keypoints(float[] image) throws Exception {
        Map<String, float[]> feeds = new LinkedHashMap<>();
        feeds.put("image", image);
        Map<String, float[]> out = run(ModelContract.KP_DETECTOR, feeds);
        return new Keypoints(out.get("value"), contract.withJacobian ? out.get("jacobian") : null);
    }

    /** Run a graph, checking the feeds and the outputs against the contract's shapes. */
    private Map<String, float[]> run(String graph, Map<String, float[]> feeds) throws Exception {
        return run(graph, feeds, Map.of());
    }

    private Map<String, float[]> run(String graph, Map<String, float[]> feeds,
            Map<String, Object> stable) throws Exception {
        GraphSpec spec = contract.graph(graph);
        for (TensorSpec t : spec.inputs) {
            float[] v = feeds.get(t.name);
            if (v == null || v.length != t.size()) {
                throw new IllegalStateException(graph + "." + t.name + ": "
                        + (v == null ? "no feed" : v.length + " floats") + ", expected "
                        + t.size());
            }
        }
        Map<String, float[]> out = engine.run(graph, feeds, stable);
        for (TensorSpec t : spec.outputs) {
            float[] v = out.get(t.name);
            if (v == null || v.length != t.size()) {
                throw new ContractException("graphs." + graph + ".outputs[" + t.name + "]",
                        "the engine returned " + (v == null ? "nothing" : v.length + " floats")
                                + ", the contract's shape holds " + t.size());
            }
        }
        return out;
    }
}
