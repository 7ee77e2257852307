package org.fommtf.core;

import java.util.function.Supplier;

/**
 * The app's live animation without Android: the engine, the source photo and the driving
 * frames, all on one inference thread (a {@link FrameScheduler}'s).
 *
 * <ul>
 *   <li>{@link #load(boolean)}: the contract is read and the engine created on the inference
 *       thread, then run and finally closed there too (LiteRT's GPU path wants one thread);
 *       the current source is applied to the new engine.</li>
 *   <li>{@link #setSource(Frame)}: the source photo goes through {@code kp_detector} and
 *       {@code source_encoder} once; its features are written into the generator's buffers
 *       once per source ({@link BufferedEngine}).</li>
 *   <li>{@link #offer(Supplier)}: a camera frame is copied only when the thread is idle; a
 *       frame that is dropped costs no copy. {@link #submit(Frame)}: a ready frame (the clip).
 *       Frame buffers go back to the {@link BufferPool} once processed or dropped.</li>
 *   <li>{@link #pause()} / {@link #resume()}: the screen is not visible (onStop / onStart).</li>
 * </ul>
 *
 * An object that outlives the screen (the app keeps it in a ViewModel), so a configuration
 * change neither reloads the graphs nor reruns the source.
 */
public final class LiveSession implements AutoCloseable {
    /** Makes the engine; called on the inference thread. */
    public interface EngineFactory {
        ModelContract contract() throws Exception;

        Engine create(ModelContract contract, boolean gpu) throws Exception;
    }

    /** What the screen shows; called on the inference thread. */
    public interface Listener {
        /** An animated frame: opaque ARGB pixels, {@code height x width}, and the stats line. */
        void onFrame(int[] argb, int width, int height, String stats);

        void onStatus(String text);

        void onError(String message);
    }

    private final EngineFactory factory;
    private final Listener listener;
    private final BufferPool pool;
    private final FrameScheduler<Frame> scheduler;
    // touched on the inference thread only
    private AnimationPipeline pipeline;
    private Frame source;

    public LiveSession(EngineFactory factory, Listener listener, BufferPool pool) {
        this.factory = factory;
        this.listener = listener;
        this.pool = pool;
        this.scheduler = new FrameScheduler<>("fomm-inference", this::process, this::recycle,
                this::report);
    }

    /** Load (again) the contract and the engine, on the GPU when {@code gpu}. */
    public void load(boolean gpu) {
        scheduler.execute(() -> {
            listener.onStatus("loading the model…");
            ModelContract contract = factory.contract();
            Engine engine = factory.create(contract, gpu);
            AnimationPipeline fresh;
            try {
                fresh = new AnimationPipeline(contract, engine);
                if (source != null) {
                    fresh.setSource(source); // the same photo on the new engine
                }
            } catch (Exception e) {
                engine.close();
                throw e;
            }
            closePipeline();
            pipeline = fresh;
            listener.onStatus(engine.describe() + " · model " + contract.width + "x"
                    + contract.height + ", " + contract.quant + " · motion " + contract.motion);
        });
    }

    /** A new source photo: applied once, before the next driving frame. */
    public void setSource(Frame photo) {
        scheduler.execute(() -> {
            source = photo;
            if (pipeline != null) {
                pipeline.setSource(photo);
            }
        });
    }

    /** The next driving frame becomes the reference pose (relative motion starts there). */
    public void recentre() {
        scheduler.execute(() -> {
            if (pipeline != null) {
                pipeline.resetDriving();
            }
        });
    }

    /** Offer a ready frame (the clip); false when it was refused at once. */
    public boolean submit(Frame frame) {
        return scheduler.submit(frame);
    }

    /** Make a frame only if it will be processed now (the camera); see {@link FrameScheduler#offer}. */
    public boolean offer(Supplier<Frame> make) {
        return scheduler.offer(make);
    }

    public void pause() {
        scheduler.pause();
    }

    public void resume() {
        scheduler.resume();
    }

    public boolean isPaused() {
        return scheduler.isPaused();
    }

    /** The scheduler (its counters; tests). */
    public FrameScheduler<Frame> scheduler() {
        return scheduler;
    }

    private void process(Frame frame) throws Exception {
        try {
            AnimationPipeline p = pipeline;
            if (p == null || p.source() == null) {
                return;
            }
            AnimationPipeline.Result r = p.animate(frame);
            String stats = p.timer().summary() + "\nscale " + r.scale + " · dropped "
                    + scheduler.dropped() + " of " + scheduler.submitted();
            listener.onFrame(r.argb, p.contract().width, p.contract().height, stats);
        } finally {
            recycle(frame);
        }
    }

    private void recycle(Frame frame) {
        if (pool != null && frame != null) {
            pool.release(frame.rgbaBuffer());
        }
    }

    private void report(Throwable error) {
        String message = error instanceof ContractException
                ? "Model contract: " + error.getMessage()
                : error.getClass().getSimpleName() + ": " + error.getMessage();
        listener.onError(message);
    }

    private void closePipeline() {
        if (pipeline != null) {
            try {
                pipeline.engine().close();
            } catch (Exception e) {
                report(e);
            }
            pipeline = null;
        }
    }

    /** Close the engine on the inference thread, then end it (the frame in progress finishes). */
    @Override
    public void close() {
        scheduler.execute(this::closePipeline);
        scheduler.close();
    }

    /** {@link #close()} and wait for the thread to end. */
    public boolean closeAndWait(long timeoutMs) throws InterruptedException {
        close();
        return scheduler.join(timeoutMs);
    }
}
