package org.fommtf.core;

import java.util.Collections;
import java.util.Map;

/**
 * What depends on the source picture alone, computed once per photo: its keypoints and the
 * {@code source_encoder} outputs the generator takes, plus the fitted source frame itself.
 */
public final class SourceCache {
    public final long id;
    public final float[] image;
    public final Keypoints keypoints;
    private final Map<String, float[]> encoded;

    public SourceCache(long id, float[] image, Keypoints keypoints, Map<String, float[]> encoded) {
        this.id = id;
        this.image = image;
        this.keypoints = keypoints;
        this.encoded = Collections.unmodifiableMap(encoded);
    }

    /** {@code source_encoder} outputs by name. */
    public Map<String, float[]> encoded() {
        return encoded;
    }
}
