package org.fommtf.core;

import java.util.function.Consumer;

/**
 * Runs frames through a processor on one background thread, never queueing: while a frame is
 * being processed, at most one newer frame waits, and a newer one still replaces it (the
 * replaced frame is handed to {@code onDropped}, e.g. to close a camera image). When inference
 * is slower than the camera, frames are dropped and latency stays at one frame.
 *
 * @param <T> the frame type
 */
public final class FrameScheduler<T> implements AutoCloseable {
    /** The work done per frame (runs on the scheduler's thread). */
    public interface Processor<T> {
        void process(T frame) throws Exception;
    }

    private final Processor<T> processor;
    private final Consumer<T> onDropped;
    private final Consumer<Throwable> onError;
    private final Thread thread;
    private final Object lock = new Object();
    private T pending;
    private boolean busy;
    private boolean closed;
    private long submitted;
    private long processed;
    private long dropped;

    public FrameScheduler(String name, Processor<T> processor, Consumer<T> onDropped,
            Consumer<Throwable> onError) {
        this.processor = processor;
        this.onDropped = onDropped != null ? onDropped : f -> { };
        this.onError = onError != null ? onError : Throwable::printStackTrace;
        this.thread = new Thread(this::loop, name);
        this.thread.setDaemon(true);
        this.thread.start();
    }

    /**
     * Offer a frame. Returns false when it was refused (scheduler closed; the frame is handed
     * to {@code onDropped}). A waiting older frame is replaced and dropped.
     */
    public boolean submit(T frame) {
        T drop;
        synchronized (lock) {
            submitted++;
            if (closed) {
                dropped++;
                drop = frame;
            } else {
                drop = pending;
                if (drop != null) {
                    dropped++;
                }
                pending = frame;
                lock.notifyAll();
            }
        }
        if (drop != null) {
            onDropped.accept(drop);
        }
        return drop != frame;
    }

    /** True while a frame is processed or waiting. */
    public boolean isBusy() {
        synchronized (lock) {
            return busy || pending != null;
        }
    }

    public long submitted() {
        synchronized (lock) {
            return submitted;
        }
    }

    public long processed() {
        synchronized (lock) {
            return processed;
        }
    }

    public long dropped() {
        synchronized (lock) {
            return dropped;
        }
    }

    /** Wait until nothing is processed or waiting (tests, shutdown). */
    public boolean awaitIdle(long timeoutMs) throws InterruptedException {
        long end = System.currentTimeMillis() + timeoutMs;
        synchronized (lock) {
            while (busy || pending != null) {
                long left = end - System.currentTimeMillis();
                if (left <= 0) {
                    return false;
                }
                lock.wait(left);
            }
            return true;
        }
    }

    private void loop() {
        while (true) {
            T frame;
            synchronized (lock) {
                while (pending == null && !closed) {
                    try {
                        lock.wait();
                    } catch (InterruptedException e) {
                        closed = true;
                    }
                }
                if (closed && pending == null) {
                    lock.notifyAll();
                    return;
                }
                frame = pending;
                pending = null;
                busy = true;
            }
            try {
                processor.process(frame);
            } catch (Throwable t) {
                onError.accept(t);
            } finally {
                synchronized (lock) {
                    busy = false;
                    processed++;
                    lock.notifyAll();
                }
            }
        }
    }

    /** Stop after the frame in progress; a waiting frame is dropped. */
    @Override
    public void close() {
        T drop;
        synchronized (lock) {
            closed = true;
            drop = pending;
            pending = null;
            if (drop != null) {
                dropped++;
            }
            lock.notifyAll();
        }
        if (drop != null) {
            onDropped.accept(drop);
        }
    }
}
