package org.fommtf.core;

import java.util.Collections;
import java.util.List;

/** One exported graph: its file and its tensors in the contract's order. */
public final class GraphSpec {
    public final String name;
    public final String file;
    public final long bytes;
    public final String sha256;
    public final List<TensorSpec> inputs;
    public final List<TensorSpec> outputs;

    public GraphSpec(String name, String file, long bytes, String sha256, List<TensorSpec> inputs,
            List<TensorSpec> outputs) {
        this.name = name;
        this.file = file;
        this.bytes = bytes;
        this.sha256 = sha256;
        this.inputs = Collections.unmodifiableList(inputs);
        this.outputs = Collections.unmodifiableList(outputs);
    }

    public TensorSpec input(String tensor) {
        for (TensorSpec t : inputs) {
            if (t.name.equals(tensor)) {
                return t;
            }
        }
        throw new ContractException("graphs." + name + ".inputs", "no input named " + tensor);
    }

    public TensorSpec output(String tensor) {
        for (TensorSpec t : outputs) {
            if (t.name.equals(tensor)) {
                return t;
            }
        }
        throw new ContractException("graphs." + name + ".outputs", "no output named " + tensor);
    }

    public boolean hasInput(String tensor) {
        for (TensorSpec t : inputs) {
            if (t.name.equals(tensor)) {
                return true;
            }
        }
        return false;
    }
}
