package org.fommtf.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;

/**
 * The golden vectors {@code fomm export --golden DIR} wrote in this run (fomm_tf/apps/golden.py).
 * DIR comes from the system property {@code fomm.golden} or the environment variable
 * {@code FOMM_GOLDEN}.
 */
final class Golden {
    /** Absolute tolerance; relative to the value for |values| above 1. */
    static final double TOL = 1e-5;
    private static final Map<String, JsonObject> CACHE = new HashMap<>();

    private Golden() {}

    static Path dir() {
        String d = System.getProperty("fomm.golden", System.getenv("FOMM_GOLDEN"));
        if (d == null || d.isEmpty()) {
            fail("no golden vectors: run `make android-test` (sets -Dfomm.golden=DIR)");
        }
        Path p = Paths.get(d);
        assertTrue("golden dir " + p + " missing: run `make android-test`", Files.isDirectory(p));
        return p;
    }

    static synchronized JsonObject load(String name) {
        return CACHE.computeIfAbsent(name, n -> {
            try {
                return JsonParser.parseString(text(n)).getAsJsonObject();
            } catch (IOException e) {
                throw new AssertionError("cannot read golden " + n + ": " + e);
            }
        });
    }

    static String text(String name) throws IOException {
        return new String(Files.readAllBytes(dir().resolve(name)), StandardCharsets.UTF_8);
    }

    /** {@code {"shape": [...], "data": [...]}} → flat floats. */
    static float[] floats(JsonElement arr) {
        JsonArray data = arr.getAsJsonObject().getAsJsonArray("data");
        float[] out = new float[data.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = data.get(i).getAsFloat();
        }
        return out;
    }

    static int[] ints(JsonArray arr) {
        int[] out = new int[arr.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = arr.get(i).getAsInt();
        }
        return out;
    }

    static Keypoints keypoints(JsonObject kp) {
        return new Keypoints(floats(kp.get("value")),
                kp.has("jacobian") ? floats(kp.get("jacobian")) : null);
    }

    /** One frame of a (T, K, ...) keypoint set. */
    static Keypoints frame(Keypoints all, int t, int numKp) {
        float[] v = java.util.Arrays.copyOfRange(all.value, t * numKp * 2, (t + 1) * numKp * 2);
        float[] j = all.jacobian == null ? null
                : java.util.Arrays.copyOfRange(all.jacobian, t * numKp * 4, (t + 1) * numKp * 4);
        return new Keypoints(v, j);
    }

    /** An image entry ({@code width, height, rgba_b64}) as a frame. */
    static Frame image(JsonObject entry, int rotation, boolean mirror) {
        int w = entry.get("width").getAsInt();
        int h = entry.get("height").getAsInt();
        byte[] rgba = Base64.getDecoder().decode(entry.get("rgba_b64").getAsString());
        assertEquals(w * h * 4, rgba.length);
        return Frame.rgba(rgba, 0, w, h, 4 * w, rotation, mirror);
    }

    static void assertClose(String what, float[] expected, float[] actual) {
        assertEquals(what + ": length", expected.length, actual.length);
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs((double) expected[i] - actual[i])
                    / Math.max(1.0, Math.abs(expected[i]));
            if (!(err <= worst)) { // NaN counts as worst
                worst = Double.isNaN(err) ? Double.POSITIVE_INFINITY : err;
                at = i;
            }
        }
        if (worst > TOL) {
            fail(String.format("%s: element %d is %s, expected %s (error %.3g > %.0e)", what, at,
                    actual[at], expected[at], worst, TOL));
        }
    }
}
