package org.fommtf.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.Test;

public class ContractTest {
    private static JsonObject exported() {
        return Golden.load("contract.json").deepCopy();
    }

    private static void expectField(String field, Consumer<JsonObject> edit) {
        JsonObject c = exported();
        edit.accept(c);
        try {
            ModelContract.parse(c.toString());
            fail("accepted a contract with a bad " + field);
        } catch (ContractException e) {
            assertEquals(e.getMessage(), field, e.field());
            assertTrue(e.getMessage(), e.getMessage().startsWith(field + ": "));
        }
    }

    private static JsonObject tensor(JsonObject c, String graph, String list, String name) {
        JsonArray arr = c.getAsJsonObject("graphs").getAsJsonObject(graph).getAsJsonArray(list);
        for (int i = 0; i < arr.size(); i++) {
            JsonObject t = arr.get(i).getAsJsonObject();
            if (t.get("name").getAsString().equals(name)) {
                return t;
            }
        }
        throw new AssertionError(graph + " has no " + name);
    }

    @Test
    public void readsTheExportedContract() {
        ModelContract c = ModelContract.parse(exported().toString());
        JsonObject motion = Golden.load("motion.json").getAsJsonObject("rules");
        assertEquals(64, c.height);
        assertEquals(64, c.width);
        assertTrue(c.withJacobian);
        assertEquals(motion.get("degenerate_area").getAsDouble(), c.rules.degenerateArea, 0);
        assertEquals(motion.get("degenerate_spread").getAsDouble(), c.rules.degenerateSpread, 0);
        assertEquals(motion.get("singular_det").getAsDouble(), c.rules.singularDet, 0);
        assertTrue(c.motion.relative && c.motion.adaptMovementScale && c.motion.relativeJacobian);
        assertEquals(c.numKp * 2, c.graph("kp_detector").output("value").size());
        assertFalse(c.graph("generator").input("kp_driving_value").isQuantized());
    }

    @Test
    public void theExportedGraphFilesMatchTheirDigests() throws Exception {
        ModelContract c = ModelContract.parse(Golden.text("contract.json"));
        for (GraphSpec g : c.graphs().values()) {
            byte[] bytes = java.nio.file.Files.readAllBytes(Golden.dir().resolve(g.file));
            c.verifyGraphFile(g.name, bytes);
            c.verifyGraphStream(g.name, new java.io.ByteArrayInputStream(bytes)); // an asset
            bytes[bytes.length / 2] ^= 1;
            try {
                c.verifyGraphFile(g.name, bytes);
                fail("accepted a modified " + g.file);
            } catch (ContractException e) {
                assertEquals("graphs." + g.name + ".sha256", e.field());
            }
            try {
                c.verifyGraphStream(g.name, new java.io.ByteArrayInputStream(bytes));
                fail("accepted a modified " + g.file + " (stream)");
            } catch (ContractException e) {
                assertEquals("graphs." + g.name + ".sha256", e.field());
            }
            try {
                c.verifyGraphStream(g.name, new java.io.ByteArrayInputStream(bytes, 0, 100));
                fail("accepted a truncated " + g.file);
            } catch (ContractException e) {
                assertEquals("graphs." + g.name + ".bytes", e.field());
            }
        }
    }

    @Test
    public void versionMismatchNamesTheVersion() {
        expectField("version", c -> c.addProperty("version", 1));
        expectField("format", c -> c.addProperty("format", "something/else"));
    }

    @Test
    public void shapeMismatchBetweenGraphsNamesTheTensor() {
        expectField("graphs.generator.inputs[kp_driving_value].shape", c -> {
            JsonArray shape = new JsonArray();
            shape.add(1);
            shape.add(5);
            shape.add(2);
            tensor(c, "generator", "inputs", "kp_driving_value").add("shape", shape);
        });
        expectField("graphs.kp_detector.inputs[image].shape", c -> {
            JsonArray size = new JsonArray();
            size.add(128);
            size.add(128);
            c.add("image_size", size);
        });
        expectField("graphs.generator.inputs[features]", c -> tensor(c, "generator", "inputs",
                "features").addProperty("name", "renamed"));
    }

    @Test
    public void missingOrBadFieldsAreNamed() {
        expectField("motion.rules.degenerate_area", c -> c.getAsJsonObject("motion")
                .getAsJsonObject("rules").remove("degenerate_area"));
        expectField("motion.relative", c -> c.getAsJsonObject("motion")
                .addProperty("relative", "yes"));
        expectField("graphs.source_encoder", c -> c.getAsJsonObject("graphs")
                .remove("source_encoder"));
        expectField("graphs.kp_detector.outputs[value].dtype", c -> tensor(c, "kp_detector",
                "outputs", "value").addProperty("dtype", "float64"));
        expectField("graphs.kp_detector.inputs[image].quantization", c -> tensor(c,
                "kp_detector", "inputs", "image").addProperty("dtype", "int8"));
        expectField("graphs.kp_detector.inputs[image].range", c -> {
            JsonArray range = new JsonArray();
            range.add(0);
            range.add(255);
            tensor(c, "kp_detector", "inputs", "image").add("range", range);
        });
        expectField("preprocessing.layout", c -> c.getAsJsonObject("preprocessing")
                .addProperty("layout", "NCHW"));
        try {
            ModelContract.parse("{not json");
            fail("accepted broken JSON");
        } catch (ContractException e) {
            assertEquals("model_contract.json", e.field());
        }
    }

    @Test
    public void graphsThatDoNotMatchTheContractAreNamed() {
        ModelContract c = ModelContract.parse(exported().toString());
        GraphSpec kp = c.graph("kp_detector");
        List<int[]> in = new ArrayList<>();
        in.add(new int[] {1, 64, 64, 3});
        List<int[]> out = new ArrayList<>();
        for (TensorSpec t : kp.outputs) {
            out.add(null);
        }
        for (TensorSpec t : kp.outputs) {
            out.set(t.position, t.shape());
        }
        c.checkGraphShapes("kp_detector", in, out); // as exported: fine
        out.set(kp.output("value").position, new int[] {1, 5, 2});
        try {
            c.checkGraphShapes("kp_detector", in, out);
            fail("accepted a graph with other shapes");
        } catch (ContractException e) {
            assertEquals("graphs.kp_detector.outputs[value].shape", e.field());
        }
        int[] sizes = new int[kp.outputs.size()];
        for (TensorSpec t : kp.outputs) {
            sizes[t.position] = t.size();
        }
        c.checkGraphSizes("kp_detector", 1, sizes);
        sizes[kp.output("jacobian").position] = 4;
        try {
            c.checkGraphSizes("kp_detector", 1, sizes);
            fail("accepted a graph with other output sizes");
        } catch (ContractException e) {
            assertEquals("graphs.kp_detector.outputs[jacobian].shape", e.field());
        }
        try {
            c.checkGraphSizes("generator", 2, new int[] {64 * 64 * 3});
            fail("accepted a generator with 2 inputs");
        } catch (ContractException e) {
            assertEquals("graphs.generator.inputs", e.field());
        }
        try {
            c.verifyGraphFile("generator", new byte[] {1, 2, 3});
            fail("accepted a wrong graph file");
        } catch (ContractException e) {
            assertEquals("graphs.generator.bytes", e.field());
        }
    }
}
