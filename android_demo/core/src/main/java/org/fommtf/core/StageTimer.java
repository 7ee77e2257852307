package org.fommtf.core;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Per-stage milliseconds (the last value and an exponential moving average) and frames per
 * second over a sliding window of completed frames. Thread-safe.
 */
public final class StageTimer {
    private final LongSupplier nanos;
    private final double smoothing;
    private final Map<String, double[]> stages = new LinkedHashMap<>(); // {last, average}
    private final long[] done;
    private int doneCount;
    private int doneNext;

    public StageTimer() {
        this(System::nanoTime, 0.1, 30);
    }

    /**
     * @param nanos a clock in nanoseconds
     * @param smoothing weight of the newest value in the moving average (0, 1]
     * @param window frames the frame rate is measured over
     */
    public StageTimer(LongSupplier nanos, double smoothing, int window) {
        this.nanos = nanos;
        this.smoothing = smoothing;
        this.done = new long[Math.max(2, window)];
    }

    public long now() {
        return nanos.getAsLong();
    }

    /** Record {@code stage} as lasting from {@code startNanos} until now; returns now. */
    public synchronized long lap(String stage, long startNanos) {
        long t = now();
        record(stage, (t - startNanos) / 1e6);
        return t;
    }

    public synchronized void record(String stage, double ms) {
        double[] s = stages.get(stage);
        if (s == null) {
            stages.put(stage, new double[] {ms, ms});
        } else {
            s[0] = ms;
            s[1] += smoothing * (ms - s[1]);
        }
    }

    /** Mark one frame completed (for {@link #fps()}). */
    public synchronized void frameDone() {
        done[doneNext] = now();
        doneNext = (doneNext + 1) % done.length;
        doneCount = Math.min(doneCount + 1, done.length);
    }

    /** Completed frames per second over the window; 0 before two frames. */
    public synchronized double fps() {
        if (doneCount < 2) {
            return 0.0;
        }
        long newest = done[(doneNext - 1 + done.length) % done.length];
        long oldest = done[(doneNext - doneCount + done.length) % done.length];
        return newest > oldest ? (doneCount - 1) * 1e9 / (newest - oldest) : 0.0;
    }

    /** Last milliseconds of a stage (NaN when never recorded). */
    public synchronized double lastMs(String stage) {
        double[] s = stages.get(stage);
        return s == null ? Double.NaN : s[0];
    }

    /** Moving-average milliseconds of a stage (NaN when never recorded). */
    public synchronized double averageMs(String stage) {
        double[] s = stages.get(stage);
        return s == null ? Double.NaN : s[1];
    }

    /** One line for the screen: {@code "12.3 fps | preprocess 2.1 ms | kp_detector 20.4 ms …"}. */
    public synchronized String summary() {
        StringBuilder sb = new StringBuilder(String.format("%.1f fps", fps()));
        for (Map.Entry<String, double[]> e : stages.entrySet()) {
            sb.append(String.format(" | %s %.1f ms", e.getKey(), e.getValue()[1]));
        }
        return sb.toString();
    }
}
