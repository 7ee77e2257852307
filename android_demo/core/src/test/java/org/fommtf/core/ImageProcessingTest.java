package org.fommtf.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import org.junit.Test;

public class ImageProcessingTest {
    @Test
    public void fitMatchesPythonFitFrameOnEveryGoldenCase() {
        JsonObject images = Golden.load("images.json");
        JsonArray cases = Golden.load("preprocess.json").getAsJsonArray("cases");
        assertEquals(8, cases.size());
        for (int i = 0; i < cases.size(); i++) {
            JsonObject c = cases.get(i).getAsJsonObject();
            int[] size = Golden.ints(c.getAsJsonArray("size"));
            Frame f = Golden.image(images.getAsJsonObject(c.get("image").getAsString()),
                    c.get("rotation").getAsInt(), c.get("mirror").getAsBoolean());
            float[] got = ImageProcessing.fit(f, size[0], size[1]);
            Golden.assertClose("preprocess case " + i + " (" + c.get("image").getAsString()
                    + ", rotation " + c.get("rotation") + ")", Golden.floats(c.get("expected")),
                    got);
        }
    }

    @Test
    public void rotationAndMirrorFollowTheCameraConvention() {
        // 3 wide, 2 high; values 0..5 in the red channel
        int[] px = new int[6];
        for (int i = 0; i < 6; i++) {
            px[i] = 0xff000000 | (i << 16);
        }
        int[][] expected = {
            {0, 1, 2, 3, 4, 5}, // 0: as stored
            {3, 0, 4, 1, 5, 2}, // 90 clockwise: 2 wide, 3 high
            {5, 4, 3, 2, 1, 0}, // 180
            {2, 5, 1, 4, 0, 3}, // 270
        };
        for (int r = 0; r < 4; r++) {
            Frame f = Frame.argb(px, 3, 2, 90 * r, false);
            int[] got = new int[6];
            for (int y = 0, i = 0; y < f.uprightHeight(); y++) {
                for (int x = 0; x < f.uprightWidth(); x++) {
                    got[i++] = (f.pixelUpright(x, y) >> 16) & 0xff;
                }
            }
            assertArrayEquals("rotation " + 90 * r, expected[r], got);
        }
        Frame m = Frame.argb(px, 3, 2, 0, true);
        assertEquals(2, (m.pixelUpright(0, 0) >> 16) & 0xff);
    }

    @Test
    public void rgbaAndArgbFramesAgree() {
        byte[] rgba = {10, 20, 30, (byte) 255, 40, 50, 60, (byte) 128};
        Frame a = Frame.rgba(rgba, 2, 1);
        Frame b = Frame.argb(new int[] {0xff0a141e, 0x8028323c}, 2, 1);
        assertEquals(a.pixel(0, 0), b.pixel(0, 0));
        assertEquals(b.pixel(1, 0), a.pixel(1, 0));
    }

    @Test
    public void paddedCameraRowsGiveTheSameFrame() {
        int w = 37;
        int h = 23;
        int stride = 4 * w + 12; // camera buffers pad their rows
        java.util.Random rnd = new java.util.Random(1);
        int[] argb = new int[w * h];
        byte[] rgba = new byte[stride * (h - 1) + 4 * w + 5];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int p = 0xff000000 | rnd.nextInt(0x1000000);
                argb[y * w + x] = p;
                int o = 5 + y * stride + 4 * x;
                rgba[o] = (byte) (p >> 16);
                rgba[o + 1] = (byte) (p >> 8);
                rgba[o + 2] = (byte) p;
                rgba[o + 3] = (byte) 0xff;
            }
        }
        for (int rot = 0; rot < 360; rot += 90) {
            float[] a = ImageProcessing.fit(Frame.argb(argb, w, h, rot, true), 16, 16);
            float[] b = ImageProcessing.fit(Frame.rgba(rgba, 5, w, h, stride, rot, true), 16, 16);
            assertArrayEquals("rotation " + rot, a, b, 0f);
        }
    }

    @Test
    public void toUint8MatchesPython() {
        JsonObject p = Golden.load("postprocess.json");
        float[] in = Golden.floats(p.get("input"));
        int[] expected = Golden.ints(p.getAsJsonArray("expected"));
        int[] argb = ImageProcessing.toArgb(in, 1, in.length / 3);
        for (int i = 0; i < in.length; i++) {
            assertEquals("value " + in[i], expected[i], ImageProcessing.toUint8(in[i]));
        }
        assertEquals(expected[0], (argb[0] >> 16) & 0xff);
        assertEquals(0xff, (argb[0] >>> 24));
    }

    @Test
    public void quantizationMatchesPython() {
        JsonArray cases = Golden.load("quantization.json").getAsJsonArray("cases");
        for (int i = 0; i < cases.size(); i++) {
            JsonObject c = cases.get(i).getAsJsonObject();
            String dtype = c.get("dtype").getAsString();
            Quantization q = new Quantization(new float[] {c.get("scale").getAsFloat()},
                    new int[] {c.get("zero_point").getAsInt()});
            int[] qs = Golden.ints(c.getAsJsonArray("q"));
            Golden.assertClose(dtype + " dequantize", Golden.floats(c.get("dequantized")),
                    q.dequantize(qs));
            byte[] raw = new byte[qs.length];
            for (int k = 0; k < qs.length; k++) {
                raw[k] = (byte) qs[k];
            }
            Golden.assertClose(dtype + " dequantize bytes", Golden.floats(c.get("dequantized")),
                    q.dequantize(raw, dtype));
            assertArrayEquals(dtype + " quantize", Golden.ints(c.getAsJsonArray("quantized")),
                    q.quantize(Golden.floats(c.get("x")), dtype));
        }
    }
}
