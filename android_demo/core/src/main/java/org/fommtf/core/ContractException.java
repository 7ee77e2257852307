package org.fommtf.core;

/**
 * A model contract that cannot be used: unreadable, the wrong version, or tensors that do not
 * match the graphs. {@link #field()} names the offending field as a JSON path, for example
 * {@code graphs.generator.inputs[kp_driving_value].shape}.
 */
public final class ContractException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String field;

    public ContractException(String field, String message) {
        super(field + ": " + message);
        this.field = field;
    }

    /** The JSON path of the field at fault. */
    public String field() {
        return field;
    }
}
