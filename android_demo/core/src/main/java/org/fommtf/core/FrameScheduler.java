package org.fommtf.core;

import java.util.ArrayDeque;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Runs frames through a processor on one background thread, never queueing: while a frame is
 * being processed, at most one newer frame waits, and a newer one still replaces it (the
 * replaced frame is handed to {@code onDropped}, e.g. to recycle its buffer). When inference
 * is slower than the camera, frames are dropped and latency stays at one frame.
 *
 * <p>{@link #offer(Supplier)} decides before a frame is made: a camera image is copied only
 * when the thread is idle, otherwise it is refused without a copy. {@link #execute(Runnable)}
 * runs other work on the same thread between frames (loading and closing the engines, a new
 * source), in order, never dropped: the engine is created, run and closed on one thread.
 * {@link #pause()} refuses frames (the screen is not visible) until {@link #resume()}.
 *
 * @param <T> the frame type
 */
public final class FrameScheduler<T> implements AutoCloseable {
    /** The work done per frame (runs on the scheduler's thread). */
    public interface Processor<T> {
        void process(T frame) throws Exception;
    }

    /** Work run on the scheduler's thread (see {@link #execute}). */
    public interface Task {
        void run() throws Exception;
    }

    private final Processor<T> processor;
    private final Consumer<T> onDropped;
    private final Consumer<Throwable> onError;
    private final Thread thread;
    private final Object lock = new Object();
    private final ArrayDeque<Task> tasks = new ArrayDeque<>();
    private T pending;
    private boolean busy;
    private boolean making; // offer(): a frame is being made for the idle thread
    private boolean paused;
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
     * Offer a frame. Returns false when it was refused (scheduler closed or paused; the frame
     * is handed to {@code onDropped}). A waiting older frame is replaced and dropped.
     */
    public boolean submit(T frame) {
        T drop;
        boolean accepted;
        synchronized (lock) {
            submitted++;
            if (closed || paused) {
                dropped++;
                drop = frame;
                accepted = false;
            } else {
                drop = pending;
                if (drop != null) {
                    dropped++;
                }
                pending = frame;
                accepted = true;
                lock.notifyAll();
            }
        }
        if (drop != null) {
            onDropped.accept(drop);
        }
        return accepted;
    }

    /**
     * Make a frame only if the thread would take it now: when nothing is being processed or
     * waiting (and the scheduler is neither paused nor closed) {@code make} runs on the
     * caller's thread and its frame is processed next; otherwise {@code make} is not called
     * and the frame counts as dropped. Returns whether the frame was made. {@code make} may
     * return null (nothing to process).
     */
    public boolean offer(Supplier<T> make) {
        synchronized (lock) {
            submitted++;
            if (closed || paused || busy || making || pending != null || !tasks.isEmpty()) {
                dropped++;
                return false;
            }
            making = true;
        }
        T frame = null;
        boolean accepted = false;
        try {
            frame = make.get();
        } finally {
            synchronized (lock) {
                making = false;
                if (frame == null) {
                    submitted--; // nothing was made: not a frame
                } else if (!closed && !paused) {
                    pending = frame;
                    accepted = true;
                } else {
                    dropped++;
                }
                lock.notifyAll();
            }
        }
        if (frame != null && !accepted) {
            onDropped.accept(frame);
        }
        return accepted;
    }

    /**
     * Run {@code task} on the scheduler's thread, after the frame in progress and before the
     * next one; tasks run in order and are never dropped (errors go to {@code onError}).
     * Returns false when the scheduler is closed (the task does not run).
     */
    public boolean execute(Task task) {
        synchronized (lock) {
            if (closed) {
                return false;
            }
            tasks.addLast(task);
            lock.notifyAll();
            return true;
        }
    }

    /** Refuse frames until {@link #resume()}; a waiting frame is dropped. Tasks still run. */
    public void pause() {
        T drop;
        synchronized (lock) {
            paused = true;
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

    public void resume() {
        synchronized (lock) {
            paused = false;
        }
    }

    public boolean isPaused() {
        synchronized (lock) {
            return paused;
        }
    }

    /** True while a frame is processed or waiting, or a task waits. */
    public boolean isBusy() {
        synchronized (lock) {
            return busy || making || pending != null || !tasks.isEmpty();
        }
    }

    /** True on the scheduler's own thread. */
    public boolean onThread() {
        return Thread.currentThread() == thread;
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
            while (busy || making || pending != null || !tasks.isEmpty()) {
                long left = end - System.currentTimeMillis();
                if (left <= 0) {
                    return false;
                }
                lock.wait(left);
            }
            return true;
        }
    }

    /** Wait for the thread to end after {@link #close()} (false on timeout). */
    public boolean join(long timeoutMs) throws InterruptedException {
        thread.join(Math.max(1, timeoutMs));
        return !thread.isAlive();
    }

    private void loop() {
        while (true) {
            T frame = null;
            Task task = null;
            synchronized (lock) {
                while (pending == null && tasks.isEmpty() && !closed) {
                    try {
                        lock.wait();
                    } catch (InterruptedException e) {
                        closed = true;
                    }
                }
                if (!tasks.isEmpty()) {
                    task = tasks.pollFirst();
                } else if (pending != null) {
                    frame = pending;
                    pending = null;
                } else {
                    lock.notifyAll();
                    return; // closed, nothing left
                }
                busy = true;
            }
            try {
                if (task != null) {
                    task.run();
                } else {
                    processor.process(frame);
                }
            } catch (Throwable t) {
                onError.accept(t);
            } finally {
                synchronized (lock) {
                    busy = false;
                    if (task == null) {
                        processed++;
                    }
                    lock.notifyAll();
                }
            }
        }
    }

    /**
     * Stop after the frame in progress; a waiting frame is dropped, tasks already given still
     * run (e.g. closing the engine), then the thread ends.
     */
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
