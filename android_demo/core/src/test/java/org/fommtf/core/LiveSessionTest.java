package org.fommtf.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Test;

/**
 * The app's session logic on the JVM: one inference thread creates, runs and closes the
 * engine; the source's features go into the generator's buffers once per source; camera
 * frames are dropped before they are copied; buffers are reused; pause/resume.
 */
public class LiveSessionTest {
    /** A BufferedEngine that records threads and writes, returns constant outputs. */
    static final class FakeEngine extends BufferedEngine {
        final Set<Thread> threads = ConcurrentHashMap.newKeySet();
        volatile Thread closedOn;
        volatile CountDownLatch gate; // when set, the generator waits for it
        final CountDownLatch generating = new CountDownLatch(1);

        FakeEngine(ModelContract contract) {
            super(contract);
            threads.add(Thread.currentThread());
        }

        @Override
        protected void write(GraphSpec graph, TensorSpec input, float[] values) {
            threads.add(Thread.currentThread());
            assertEquals(graph.name + "." + input.name, input.size(), values.length);
        }

        @Override
        protected void invoke(GraphSpec graph) throws Exception {
            threads.add(Thread.currentThread());
            CountDownLatch g = gate;
            if (g != null && graph.name.equals(ModelContract.GENERATOR)) {
                generating.countDown();
                assertTrue(g.await(5, TimeUnit.SECONDS));
            }
        }

        @Override
        protected float[] read(GraphSpec graph, TensorSpec output) {
            float[] out = new float[output.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = output.name.equals("jacobian") ? (i % 4 == 0 || i % 4 == 3 ? 1f : 0f)
                        : 0.01f * (i % 7);
            }
            return out;
        }

        @Override
        public void close() {
            threads.add(Thread.currentThread());
            closedOn = Thread.currentThread();
        }
    }

    static final class Recorder implements LiveSession.Listener {
        final List<String> errors = Collections.synchronizedList(new ArrayList<>());
        final List<String> status = Collections.synchronizedList(new ArrayList<>());
        final AtomicInteger frames = new AtomicInteger();
        volatile int width;

        @Override
        public void onFrame(int[] argb, int w, int h, String stats) {
            assertEquals(w * h, argb.length);
            width = w;
            frames.incrementAndGet();
        }

        @Override
        public void onStatus(String text) {
            status.add(text);
        }

        @Override
        public void onError(String message) {
            errors.add(message);
        }
    }

    static final class Factory implements LiveSession.EngineFactory {
        final List<FakeEngine> made = Collections.synchronizedList(new ArrayList<>());
        final ModelContract contract;

        Factory() throws Exception {
            contract = ModelContract.parse(Golden.text("contract.json"));
        }

        @Override
        public ModelContract contract() {
            return contract;
        }

        @Override
        public Engine create(ModelContract c, boolean gpu) {
            FakeEngine e = new FakeEngine(c);
            made.add(e);
            return e;
        }
    }

    static Frame photo(int seed) {
        int[] px = new int[40 * 30];
        for (int i = 0; i < px.length; i++) {
            px[i] = 0xff000000 | ((i * 37 + seed * 101) & 0xffffff);
        }
        return Frame.argb(px, 40, 30);
    }

    static Frame rgbaFrame(byte[] bytes, int w, int h) {
        return Frame.rgba(bytes, 0, w, h, 4 * w, 90, true);
    }

    @Test
    public void theEngineIsCreatedRunAndClosedOnTheInferenceThreadOnly() throws Exception {
        Factory factory = new Factory();
        Recorder rec = new Recorder();
        LiveSession s = new LiveSession(factory, rec, null);
        s.load(false);
        s.setSource(photo(1));
        for (int i = 0; i < 3; i++) {
            assertTrue(s.submit(photo(10 + i)));
            assertTrue(s.scheduler().awaitIdle(5000));
        }
        assertTrue(s.closeAndWait(5000));
        assertEquals(rec.errors.toString(), 0, rec.errors.size());
        assertEquals(3, rec.frames.get());
        FakeEngine e = factory.made.get(0);
        assertEquals("one thread for load, run and close: " + e.threads, 1, e.threads.size());
        Thread t = e.threads.iterator().next();
        assertNotEquals(Thread.currentThread(), t);
        assertEquals("fomm-inference", t.getName());
        assertSame(t, e.closedOn);
        assertTrue(rec.status.get(rec.status.size() - 1).contains("model"));
    }

    @Test
    public void theSourceFeaturesAreWrittenOncePerSourceAndAgainOnANewEngine() throws Exception {
        Factory factory = new Factory();
        LiveSession s = new LiveSession(factory, new Recorder(), null);
        s.load(false);
        s.setSource(photo(1));
        for (int i = 0; i < 5; i++) {
            s.submit(photo(20 + i));
            assertTrue(s.scheduler().awaitIdle(5000));
        }
        FakeEngine e = factory.made.get(0);
        GraphSpec gen = factory.contract.graph(ModelContract.GENERATOR);
        List<String> perSource = new ArrayList<>();
        for (TensorSpec t : gen.inputs) {
            if (!t.name.startsWith("kp_driving_")) {
                perSource.add(t.name);
            }
        }
        assertTrue("the generator takes source features: " + perSource, perSource.size() >= 2);
        for (String name : perSource) {
            assertEquals(name + " written once for one source", 1, e.writes("generator", name));
        }
        assertEquals(5, e.writes("generator", "kp_driving_value"));
        assertEquals(6, e.writes("kp_detector", "image")); // the source + 5 frames
        s.setSource(photo(2)); // a new photo: written once more
        s.submit(photo(30));
        assertTrue(s.scheduler().awaitIdle(5000));
        s.submit(photo(31));
        assertTrue(s.scheduler().awaitIdle(5000));
        for (String name : perSource) {
            assertEquals(name + " after a new source", 2, e.writes("generator", name));
        }
        s.load(false); // e.g. the GPU box: a new engine gets the source written once
        s.submit(photo(32));
        assertTrue(s.scheduler().awaitIdle(5000));
        FakeEngine e2 = factory.made.get(1);
        assertSame(e2.threads.iterator().next(), e.closedOn);
        for (String name : perSource) {
            assertEquals(1, e2.writes("generator", name));
        }
        assertTrue(s.closeAndWait(5000));
    }

    @Test
    public void cameraFramesAreDroppedBeforeTheyAreCopiedAndBuffersAreReused() throws Exception {
        Factory factory = new Factory();
        Recorder rec = new Recorder();
        BufferPool pool = new BufferPool(2);
        LiveSession s = new LiveSession(factory, rec, pool);
        s.load(false);
        s.setSource(photo(1));
        assertTrue(s.scheduler().awaitIdle(5000));
        FakeEngine e = factory.made.get(0);
        CountDownLatch gate = new CountDownLatch(1);
        e.gate = gate;
        AtomicInteger copies = new AtomicInteger();
        int w = 32;
        int h = 24;
        assertTrue(s.offer(() -> {
            copies.incrementAndGet();
            return rgbaFrame(pool.acquire(4 * w * h), w, h);
        }));
        assertTrue(e.generating.await(5, TimeUnit.SECONDS)); // frame 1 is in the generator
        for (int i = 0; i < 20; i++) { // the camera goes on while inference is busy
            assertFalse(s.offer(() -> {
                copies.incrementAndGet();
                return rgbaFrame(pool.acquire(4 * w * h), w, h);
            }));
        }
        assertEquals("no copy of a dropped frame", 1, copies.get());
        e.gate = null;
        gate.countDown();
        assertTrue(s.scheduler().awaitIdle(5000));
        for (int i = 0; i < 10; i++) {
            assertTrue(s.offer(() -> {
                copies.incrementAndGet();
                return rgbaFrame(pool.acquire(4 * w * h), w, h);
            }));
            assertTrue(s.scheduler().awaitIdle(5000));
        }
        assertEquals(11, copies.get());
        assertEquals(11, rec.frames.get());
        assertEquals("one buffer serves the whole stream", 1, pool.allocated());
        assertEquals(20, s.scheduler().dropped());
        assertTrue(s.closeAndWait(5000));
    }

    @Test
    public void aPausedSessionRefusesFramesUntilResumed() throws Exception {
        Factory factory = new Factory();
        Recorder rec = new Recorder();
        LiveSession s = new LiveSession(factory, rec, null);
        s.load(false);
        s.setSource(photo(1));
        s.pause();
        assertTrue(s.isPaused());
        assertFalse(s.submit(photo(2)));
        assertFalse(s.offer(() -> {
            throw new AssertionError("nothing is copied while paused");
        }));
        assertTrue(s.scheduler().awaitIdle(5000)); // load and source still ran
        assertEquals(0, rec.frames.get());
        assertNotNull(factory.made.get(0));
        s.resume();
        assertTrue(s.submit(photo(3)));
        assertTrue(s.scheduler().awaitIdle(5000));
        assertEquals(1, rec.frames.get());
        assertTrue(s.closeAndWait(5000));
    }

    @Test
    public void aFailedLoadIsReportedAndKeepsNothingHalfMade() throws Exception {
        Recorder rec = new Recorder();
        LiveSession s = new LiveSession(new LiveSession.EngineFactory() {
            @Override
            public ModelContract contract() {
                throw new ContractException("model_contract.json", "no model in the assets");
            }

            @Override
            public Engine create(ModelContract c, boolean gpu) {
                throw new AssertionError("not reached");
            }
        }, rec, null);
        s.load(false);
        s.setSource(photo(1));
        s.submit(photo(2));
        assertTrue(s.scheduler().awaitIdle(5000));
        assertEquals(1, rec.errors.size());
        assertTrue(rec.errors.get(0), rec.errors.get(0).startsWith("Model contract: "));
        assertEquals(0, rec.frames.get());
        assertTrue(s.closeAndWait(5000));
    }
}
