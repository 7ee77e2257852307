package org.fommtf.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import org.junit.Test;

public class MotionTransferTest {
    private static MotionRules rules() {
        JsonObject r = Golden.load("motion.json").getAsJsonObject("rules");
        return new MotionRules(r.get("degenerate_area").getAsDouble(),
                r.get("degenerate_spread").getAsDouble(), r.get("singular_det").getAsDouble(),
                r.get("kp_limit").getAsDouble(), r.get("jacobian_limit").getAsDouble());
    }

    /**
     * The random cases Python generated in this run (fresh seed each run): five keypoint
     * sets, one collinear (zero hull area) and one coincident with a singular initial
     * Jacobian, each over several driving frames and four option sets.
     */
    @Test
    public void relativeMotionMatchesPythonOnTheRandomCases() {
        JsonArray cases = Golden.load("motion.json").getAsJsonArray("cases");
        assertEquals(5, cases.size());
        MotionRules rules = rules();
        int checked = 0;
        for (int i = 0; i < cases.size(); i++) {
            JsonObject c = cases.get(i).getAsJsonObject();
            String name = "case " + i + " (" + c.get("name").getAsString() + ")";
            Keypoints src = Golden.keypoints(c.getAsJsonObject("kp_source"));
            Keypoints d0 = Golden.keypoints(c.getAsJsonObject("kp_driving_initial"));
            Keypoints all = Golden.keypoints(c.getAsJsonObject("kp_driving"));
            int k = src.count;
            int frames = all.count / k;
            MotionTransfer.Scale s = new MotionTransfer(new MotionOptions(true, true, true), rules)
                    .movementScale(src, d0);
            assertEquals(name + " rule", c.get("rule").getAsString(), s.rule);
            assertEquals(name + " scale", c.get("scale").getAsDouble(), s.value,
                    1e-5 * Math.max(1, s.value));
            JsonArray rs = c.getAsJsonArray("results");
            assertEquals(4, rs.size());
            for (int r = 0; r < rs.size(); r++) {
                JsonObject res = rs.get(r).getAsJsonObject();
                MotionOptions o = new MotionOptions(res.get("relative").getAsBoolean(),
                        res.get("adapt_movement_scale").getAsBoolean(),
                        res.get("relative_jacobian").getAsBoolean());
                MotionTransfer mt = new MotionTransfer(o, rules);
                double scale = mt.scaleFor(src, d0).value;
                float[] ev = Golden.floats(res.get("value"));
                float[] ej = Golden.floats(res.get("jacobian"));
                for (int t = 0; t < frames; t++) {
                    Keypoints out = mt.normalize(src, Golden.frame(all, t, k), d0, scale);
                    String what = name + " " + o + " frame " + t;
                    Golden.assertClose(what + " value",
                            java.util.Arrays.copyOfRange(ev, t * k * 2, (t + 1) * k * 2),
                            out.value);
                    Golden.assertClose(what + " jacobian",
                            java.util.Arrays.copyOfRange(ej, t * k * 4, (t + 1) * k * 4),
                            out.jacobian);
                    checked++;
                }
            }
        }
        assertTrue(checked >= 5 * 4 * 2);
    }

    @Test
    public void degenerateHullsFallBackLikePython() {
        MotionRules rules = rules();
        MotionTransfer mt = new MotionTransfer(new MotionOptions(true, true, true), rules);
        float[] square = {0, 0, 1, 0, 1, 1, 0, 1};
        float[] line = {0, 0, 0.25f, 0.125f, 0.5f, 0.25f, 1, 0.5f};
        float[] point = {0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f};
        assertEquals(1.0, MotionTransfer.hullArea(square), 1e-12);
        assertEquals(0.0, MotionTransfer.hullArea(line), 1e-9);
        assertEquals(0.0, MotionTransfer.hullArea(new float[] {Float.NaN, 0, 1, 0, 0, 1}), 0);
        MotionTransfer.Scale s = mt.movementScale(new Keypoints(line, null),
                new Keypoints(square, null));
        assertEquals("spread", s.rule);
        assertEquals(MotionTransfer.spread(line) / MotionTransfer.spread(square), s.value, 1e-12);
        s = mt.movementScale(new Keypoints(point, null), new Keypoints(square, null));
        assertEquals("one", s.rule);
        assertEquals(1.0, s.value, 0);
        float[] half = {0, 0, 0.5f, 0, 0.5f, 0.5f, 0, 0.5f};
        s = mt.movementScale(new Keypoints(half, null), new Keypoints(square, null));
        assertEquals("area", s.rule);
        assertEquals(0.5, s.value, 1e-12);
    }

    @Test
    public void singularInitialJacobianKeepsTheSourceJacobian() {
        float[] js = {2, 0, 0, 2, 1, 1, 0, 1};
        float[] jd = {1, 0, 0, 1, 3, 0, 0, 3};
        float[] jd0 = {0, 0, 0, 0, 1, 0, 0, 1}; // keypoint 0 singular, 1 identity
        float[] out = MotionTransfer.relativeJacobian(js, jd, jd0, 1e-6f);
        assertEquals(2, out[0], 0);
        assertEquals(2, out[3], 0);
        assertEquals(3, out[4], 1e-6); // J_d * I * J_s = [[3, 3], [0, 3]]
        assertEquals(3, out[5], 1e-6);
        assertEquals(3, out[7], 1e-6);
    }
}
