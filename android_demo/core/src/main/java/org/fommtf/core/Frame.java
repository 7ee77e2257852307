package org.fommtf.core;

/**
 * An 8-bit colour image as a camera or a bitmap delivers it: RGBA bytes (CameraX
 * {@code OUTPUT_IMAGE_FORMAT_RGBA_8888}, with a row stride) or ARGB ints
 * ({@code Bitmap.getPixels}), plus the clockwise rotation that makes it upright (CameraX's
 * {@code rotationDegrees}) and whether to mirror it left-right afterwards (a front camera
 * preview). No copy is made.
 */
public final class Frame {
    public final int width;
    public final int height;
    /** Clockwise degrees to make the image upright: 0, 90, 180 or 270. */
    public final int rotation;
    public final boolean mirror;
    private final byte[] rgba;
    private final int rowStride;
    private final int offset;
    private final int[] argb;

    private Frame(int width, int height, byte[] rgba, int offset, int rowStride, int[] argb,
            int rotation, boolean mirror) {
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("frame " + width + "x" + height + ": empty");
        }
        if (rotation % 90 != 0 || rotation < 0 || rotation >= 360) {
            throw new IllegalArgumentException("rotation " + rotation + ": 0, 90, 180 or 270");
        }
        this.width = width;
        this.height = height;
        this.rgba = rgba;
        this.offset = offset;
        this.rowStride = rowStride;
        this.argb = argb;
        this.rotation = rotation;
        this.mirror = mirror;
    }

    /** RGBA bytes, 4 per pixel, rows {@code rowStride} bytes apart starting at {@code offset}. */
    public static Frame rgba(byte[] data, int offset, int width, int height, int rowStride,
            int rotation, boolean mirror) {
        if (rowStride < 4 * width || offset < 0
                || (long) offset + (long) rowStride * (height - 1) + 4L * width > data.length) {
            throw new IllegalArgumentException("RGBA buffer of " + data.length + " bytes too small"
                    + " for " + width + "x" + height + " (row stride " + rowStride + ")");
        }
        return new Frame(width, height, data, offset, rowStride, null, rotation, mirror);
    }

    public static Frame rgba(byte[] data, int width, int height) {
        return rgba(data, 0, width, height, 4 * width, 0, false);
    }

    /** ARGB ints ({@code 0xAARRGGBB}), row-major without padding. */
    public static Frame argb(int[] pixels, int width, int height, int rotation, boolean mirror) {
        if (pixels.length < width * height) {
            throw new IllegalArgumentException("ARGB buffer of " + pixels.length
                    + " pixels too small for " + width + "x" + height);
        }
        return new Frame(width, height, null, 0, 0, pixels, rotation, mirror);
    }

    public static Frame argb(int[] pixels, int width, int height) {
        return argb(pixels, width, height, 0, false);
    }

    /** The RGBA bytes this frame reads (its buffer, to recycle), or null for an ARGB frame. */
    public byte[] rgbaBuffer() {
        return rgba;
    }

    /** Width after rotation. */
    public int uprightWidth() {
        return rotation % 180 == 0 ? width : height;
    }

    /** Height after rotation. */
    public int uprightHeight() {
        return rotation % 180 == 0 ? height : width;
    }

    /** The pixel at upright coordinates (x, y) as {@code 0xAARRGGBB}. */
    public int pixelUpright(int x, int y) {
        int uw = uprightWidth();
        int uh = uprightHeight();
        if (mirror) {
            x = uw - 1 - x;
        }
        int sx;
        int sy;
        switch (rotation) {
            case 90: // out[y][x] = in[H-1-x][y]
                sx = y;
                sy = height - 1 - x;
                break;
            case 180:
                sx = width - 1 - x;
                sy = height - 1 - y;
                break;
            case 270: // out[y][x] = in[x][W-1-y]
                sx = width - 1 - y;
                sy = x;
                break;
            default:
                sx = x;
                sy = y;
        }
        return pixel(sx, sy);
    }

    /** The stored pixel (x, y), no rotation, as {@code 0xAARRGGBB}. */
    public int pixel(int x, int y) {
        if (argb != null) {
            return argb[y * width + x];
        }
        int i = offset + y * rowStride + 4 * x;
        return ((rgba[i + 3] & 0xff) << 24) | ((rgba[i] & 0xff) << 16)
                | ((rgba[i + 1] & 0xff) << 8) | (rgba[i + 2] & 0xff);
    }
}
