package org.fommtf.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.Test;

public class SchedulingTest {
    @Test
    public void slowInferenceDropsFramesInsteadOfQueueing() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        List<Integer> done = Collections.synchronizedList(new ArrayList<>());
        List<Integer> dropped = Collections.synchronizedList(new ArrayList<>());
        try (FrameScheduler<Integer> s = new FrameScheduler<>("test", f -> {
            started.countDown();
            release.await(5, TimeUnit.SECONDS);
            done.add(f);
        }, dropped::add, null)) {
            s.submit(0);
            assertTrue(started.await(5, TimeUnit.SECONDS)); // frame 0 is being processed
            for (int i = 1; i < 10; i++) {
                s.submit(i); // each replaces the waiting one
            }
            assertTrue(s.isBusy());
            release.countDown();
            assertTrue(s.awaitIdle(5000));
            assertEquals(List.of(0, 9), done); // the oldest and the newest, nothing queued
            assertEquals(List.of(1, 2, 3, 4, 5, 6, 7, 8), dropped);
            assertEquals(10, s.submitted());
            assertEquals(2, s.processed());
            assertEquals(8, s.dropped());
        }
    }

    @Test
    public void errorsAreReportedAndTheSchedulerGoesOn() throws Exception {
        List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
        List<Integer> done = Collections.synchronizedList(new ArrayList<>());
        List<Integer> dropped = Collections.synchronizedList(new ArrayList<>());
        FrameScheduler<Integer> s = new FrameScheduler<>("test", f -> {
            if (f == 1) {
                throw new IllegalStateException("bad frame");
            }
            done.add(f);
        }, dropped::add, errors::add);
        assertTrue(s.submit(1));
        assertTrue(s.awaitIdle(5000));
        assertTrue(s.submit(2));
        assertTrue(s.awaitIdle(5000));
        s.close();
        assertEquals(1, errors.size());
        assertEquals("bad frame", errors.get(0).getMessage());
        assertEquals(List.of(2), done);
        assertTrue("a closed scheduler refuses frames", !s.submit(3));
        assertEquals(List.of(3), dropped);
    }

    @Test
    public void tasksRunOnTheFrameThreadInOrderBetweenFrames() throws Exception {
        List<String> log = Collections.synchronizedList(new ArrayList<>());
        List<Thread> threads = Collections.synchronizedList(new ArrayList<>());
        FrameScheduler<Integer> s = new FrameScheduler<>("test", f -> {
            threads.add(Thread.currentThread());
            log.add("frame " + f);
        }, null, null);
        assertTrue(s.execute(() -> {
            threads.add(Thread.currentThread());
            log.add("load");
        }));
        s.submit(1);
        assertTrue(s.awaitIdle(5000));
        s.execute(() -> {
            threads.add(Thread.currentThread());
            log.add("source");
        });
        s.submit(2);
        assertTrue(s.awaitIdle(5000));
        s.execute(() -> {
            threads.add(Thread.currentThread());
            log.add("close");
        });
        s.close();
        assertTrue(s.join(5000));
        assertEquals(List.of("load", "frame 1", "source", "frame 2", "close"), log);
        assertEquals(1, threads.stream().distinct().count());
        assertTrue(threads.get(0) != Thread.currentThread());
        assertTrue("a closed scheduler runs no new task", !s.execute(() -> log.add("late")));
    }

    @Test
    public void offerMakesAFrameOnlyWhenTheThreadIsIdle() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicLong made = new AtomicLong();
        List<Integer> done = Collections.synchronizedList(new ArrayList<>());
        try (FrameScheduler<Integer> s = new FrameScheduler<>("test", f -> {
            started.countDown();
            release.await(5, TimeUnit.SECONDS);
            done.add(f);
        }, null, null)) {
            assertTrue(s.offer(() -> (int) made.incrementAndGet()));
            assertTrue(started.await(5, TimeUnit.SECONDS));
            for (int i = 0; i < 5; i++) {
                assertTrue(!s.offer(() -> (int) made.incrementAndGet()));
            }
            assertEquals("nothing made while busy", 1, made.get());
            release.countDown();
            assertTrue(s.awaitIdle(5000));
            assertTrue(s.offer(() -> (int) made.incrementAndGet()));
            assertTrue(s.awaitIdle(5000));
            assertTrue("null: nothing to process", !s.offer(() -> null));
            assertEquals(List.of(1, 2), done);
            assertEquals(5, s.dropped());
            assertEquals(7, s.submitted());
        }
    }

    @Test
    public void pausedSchedulerDropsTheWaitingFrameAndRefusesNewOnes() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        List<Integer> done = Collections.synchronizedList(new ArrayList<>());
        List<Integer> dropped = Collections.synchronizedList(new ArrayList<>());
        try (FrameScheduler<Integer> s = new FrameScheduler<>("test", f -> {
            started.countDown();
            release.await(5, TimeUnit.SECONDS);
            done.add(f);
        }, dropped::add, null)) {
            s.submit(1);
            assertTrue(started.await(5, TimeUnit.SECONDS));
            s.submit(2); // waits
            s.pause();
            assertTrue(!s.submit(3));
            release.countDown();
            assertTrue(s.awaitIdle(5000));
            assertEquals(List.of(1), done);
            assertEquals(List.of(2, 3), dropped);
            s.resume();
            assertTrue(s.submit(4));
            assertTrue(s.awaitIdle(5000));
            assertEquals(List.of(1, 4), done);
        }
    }

    @Test
    public void bufferPoolReusesBuffersOfTheSameSize() {
        BufferPool pool = new BufferPool(2);
        byte[] a = pool.acquire(16);
        pool.release(a);
        pool.release(a); // twice: kept once
        assertTrue(a == pool.acquire(16));
        byte[] b = pool.acquire(16);
        assertTrue(a != b);
        pool.release(a);
        pool.release(b);
        pool.release(new byte[16]); // over capacity: not kept
        byte[] c = pool.acquire(32); // another size (the camera's resolution changed)
        assertEquals(32, c.length);
        assertEquals(3, pool.allocated());
    }

    @Test
    public void stageTimerReportsMillisecondsAndFps() {
        AtomicLong clock = new AtomicLong();
        StageTimer t = new StageTimer(clock::get, 0.5, 10);
        for (int i = 0; i < 5; i++) {
            long start = t.now();
            clock.addAndGet(20_000_000L); // 20 ms
            t.lap("generator", start);
            clock.addAndGet(5_000_000L); // 5 ms outside the stage
            t.frameDone();
        }
        assertEquals(20.0, t.lastMs("generator"), 1e-9);
        assertEquals(20.0, t.averageMs("generator"), 1e-9);
        assertEquals(40.0, t.fps(), 1e-9); // one frame every 25 ms
        assertTrue(t.summary(), t.summary().startsWith("40.0 fps | generator 20.0 ms"));
        assertTrue(Double.isNaN(t.lastMs("nothing")));
    }
}
