package org.fommtf.core;

import java.util.ArrayDeque;

/**
 * Reused byte buffers for camera frames: a frame is copied into a buffer taken with
 * {@link #acquire(int)} and the buffer comes back with {@link #release(byte[])} once the frame
 * was processed or dropped, so a running camera allocates nothing per frame. At most
 * {@code capacity} free buffers are kept; a buffer of another size (the camera's resolution
 * changed) is not kept. Thread-safe.
 */
public final class BufferPool {
    private final int capacity;
    private final ArrayDeque<byte[]> free = new ArrayDeque<>();
    private long allocated;

    public BufferPool(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity " + capacity + ": at least 1");
        }
        this.capacity = capacity;
    }

    /** A buffer of exactly {@code size} bytes: a free one when there is one, else a new one. */
    public synchronized byte[] acquire(int size) {
        while (!free.isEmpty()) {
            byte[] b = free.pollFirst();
            if (b.length == size) {
                return b;
            }
        }
        allocated++;
        return new byte[size];
    }

    /** Give a buffer back (null is ignored). */
    public synchronized void release(byte[] buffer) {
        if (buffer != null && free.size() < capacity) {
            for (byte[] b : free) {
                if (b == buffer) {
                    return; // released twice
                }
            }
            free.addLast(buffer);
        }
    }

    /** Buffers allocated so far (tests: a steady stream allocates only the first ones). */
    public synchronized long allocated() {
        return allocated;
    }
}
