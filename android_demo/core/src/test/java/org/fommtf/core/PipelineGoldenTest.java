package org.fommtf.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.Test;

/**
 * One full frame through the three graphs: the engine replays the graph outputs Python
 * recorded and checks that the core feeds each graph what Python fed it (so the JVM needs no
 * native runtime).
 */
public class PipelineGoldenTest {
    /** Replays recorded calls in order, comparing the feeds. */
    static final class RecordingEngine implements Engine {
        private final JsonArray calls;
        int next;

        RecordingEngine(JsonArray calls) {
            this.calls = calls;
        }

        @Override
        public Map<String, float[]> run(String graph, Map<String, float[]> inputs) {
            assertTrue("more graph calls than Python made", next < calls.size());
            JsonObject call = calls.get(next).getAsJsonObject();
            String where = "call " + next + " (" + graph + ")";
            assertEquals(where + ": graph", call.get("graph").getAsString(), graph);
            JsonObject expected = call.getAsJsonObject("inputs");
            assertEquals(where + ": inputs", expected.keySet(), inputs.keySet());
            for (String name : expected.keySet()) {
                Golden.assertClose(where + " input " + name, Golden.floats(expected.get(name)),
                        inputs.get(name));
            }
            Map<String, float[]> out = new LinkedHashMap<>();
            JsonObject outputs = call.getAsJsonObject("outputs");
            for (String name : outputs.keySet()) {
                out.put(name, Golden.floats(outputs.get(name)));
            }
            next++;
            return out;
        }
    }

    @Test
    public void fullFrameMatchesPythonThroughTheThreeGraphs() throws Exception {
        JsonObject g = Golden.load("full_frame.json");
        ModelContract contract = ModelContract.parse(Golden.text("contract.json"));
        RecordingEngine engine = new RecordingEngine(g.getAsJsonArray("calls"));
        AnimationPipeline pipeline = new AnimationPipeline(contract, engine);
        pipeline.setSource(Golden.image(g.getAsJsonObject("source"), 0, false));
        JsonArray driving = g.getAsJsonArray("driving");
        JsonArray frames = g.getAsJsonArray("frames");
        for (int i = 0; i < driving.size(); i++) {
            AnimationPipeline.Result r = pipeline.animate(
                    Golden.image(driving.get(i).getAsJsonObject(), 0, false));
            JsonObject f = frames.get(i).getAsJsonObject();
            Golden.assertClose("frame " + i + " normalized value",
                    Golden.floats(f.getAsJsonObject("kp_norm").get("value")), r.normalized.value);
            Golden.assertClose("frame " + i + " normalized jacobian",
                    Golden.floats(f.getAsJsonObject("kp_norm").get("jacobian")),
                    r.normalized.jacobian);
            Golden.assertClose("frame " + i + " prediction", Golden.floats(f.get("prediction")),
                    r.prediction);
            int[] u8 = Golden.ints(f.getAsJsonArray("prediction_uint8"));
            for (int p = 0; p < r.argb.length; p++) {
                int px = r.argb[p];
                assertEquals(u8[3 * p], (px >> 16) & 0xff);
                assertEquals(u8[3 * p + 1], (px >> 8) & 0xff);
                assertEquals(u8[3 * p + 2], px & 0xff);
            }
        }
        assertEquals("every recorded call replayed", g.getAsJsonArray("calls").size(),
                engine.next);
        assertEquals(g.get("scale").getAsDouble(), pipeline.scale().value, 1e-5);
        for (String stage : new String[] {"source", "preprocess", "kp_detector", "motion",
                "generator", "postprocess"}) {
            assertTrue(stage, pipeline.timer().lastMs(stage) >= 0);
        }
    }

    @Test
    public void anEngineReturningOtherShapesIsAClearError() throws Exception {
        ModelContract contract = ModelContract.parse(Golden.text("contract.json"));
        Engine broken = (graph, inputs) -> {
            Map<String, float[]> out = new LinkedHashMap<>();
            for (TensorSpec t : contract.graph(graph).outputs) {
                out.put(t.name, new float[t.size() + (t.name.equals("value") ? 2 : 0)]);
            }
            return out;
        };
        AnimationPipeline p = new AnimationPipeline(contract, broken);
        try {
            p.setSource(Frame.argb(new int[64 * 64], 64, 64));
            org.junit.Assert.fail("accepted keypoints of the wrong size");
        } catch (ContractException e) {
            assertEquals("graphs.kp_detector.outputs[value]", e.field());
        }
    }
}
