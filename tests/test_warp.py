"""Grid sampling, coordinate grids and anti-aliased downsampling against numpy references."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fomm_tf.nets.layers.antialias import AntiAliasDownsample, gaussian_kernel
from fomm_tf.nets.layers.warp import grid_sample, make_coordinate_grid


def reference_grid_sample(image, grid, align_corners):
    """Direct transcription of bilinear grid_sample with zero padding, one point at a time."""
    b, h, w, c = image.shape
    flat = grid.reshape(b, -1, 2)
    out = np.zeros((b, flat.shape[1], c), np.float64)
    for n in range(b):
        for i, (x, y) in enumerate(flat[n]):
            if align_corners:
                px, py = (x + 1) / 2 * (w - 1), (y + 1) / 2 * (h - 1)
            else:
                px, py = ((x + 1) * w - 1) / 2, ((y + 1) * h - 1) / 2
            x0, y0 = int(np.floor(px)), int(np.floor(py))
            for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
                xi, yi = x0 + dx, y0 + dy
                wgt = (1 - abs(px - xi)) * (1 - abs(py - yi))
                if 0 <= xi < w and 0 <= yi < h:
                    out[n, i] += wgt * image[n, yi, xi]
    return out.reshape(*grid.shape[:-1], c)


@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_matches_reference_inside_and_outside_the_image(align_corners):
    rng = np.random.default_rng(0)
    image = rng.random((2, 5, 7, 3)).astype(np.float32)
    grid = rng.uniform(-1.4, 1.4, (2, 4, 6, 2)).astype(np.float32)
    out = grid_sample(image, grid, align_corners).numpy()
    ref = reference_grid_sample(image, grid, align_corners)
    np.testing.assert_allclose(out, ref, atol=2e-6)


def test_grid_sample_far_outside_is_zero_and_never_indexes_out_of_range():
    image = np.ones((1, 4, 4, 2), np.float32)
    grid = np.array([[[1000.0, 0.0], [-1000.0, 5.0], [0.0, 1e6], [-3.0, -1000.0]]], np.float32)
    out = grid_sample(image, grid).numpy()
    assert out.shape == (1, 4, 2)
    np.testing.assert_array_equal(out, 0.0)


def test_identity_grid_with_align_corners_true_returns_the_image():
    rng = np.random.default_rng(1)
    image = rng.random((1, 6, 9, 3)).astype(np.float32)
    grid = make_coordinate_grid(6, 9).numpy()[None]
    np.testing.assert_allclose(grid_sample(image, grid, align_corners=True), image, atol=1e-6)


def test_one_image_is_shared_by_a_batch_of_flows():
    rng = np.random.default_rng(2)
    image = rng.random((1, 5, 5, 2)).astype(np.float32)
    grid = rng.uniform(-1, 1, (3, 2, 4, 4, 2)).astype(np.float32)
    out = grid_sample(image, grid).numpy()
    assert out.shape == (3, 2, 4, 4, 2)
    for i in range(3):
        ref = reference_grid_sample(image, grid[i : i + 1], False)
        np.testing.assert_allclose(out[i : i + 1], ref, atol=2e-6)


@settings(max_examples=25, deadline=None)
@given(st.floats(-1.2, 1.2), st.floats(-1.2, 1.2))
def test_grid_sample_matches_reference_at_any_point(x, y):
    image = np.arange(2 * 3 * 4, dtype=np.float32).reshape(1, 3, 4, 2) / 24
    grid = np.array([[[x, y]]], np.float32)
    np.testing.assert_allclose(
        grid_sample(image, grid).numpy(), reference_grid_sample(image, grid, False), atol=1e-5
    )


def test_coordinate_grid_spans_minus_one_to_one_in_x_then_y():
    grid = make_coordinate_grid(3, 5).numpy()
    assert grid.shape == (3, 5, 2)
    np.testing.assert_allclose(grid[0, :, 0], [-1, -0.5, 0, 0.5, 1])
    np.testing.assert_allclose(grid[:, 0, 1], [-1, 0, 1])
    np.testing.assert_allclose(grid[:, 2, 0], 0)


def test_gaussian_kernel_has_the_official_size_and_sums_to_one():
    kernel = gaussian_kernel(0.25)
    assert kernel.shape == (13, 13)
    assert abs(kernel.sum() - 1) < 1e-6
    assert np.argmax(kernel) == 6 * 13 + 6


def test_antialias_downsample_equals_filter_then_every_fourth_pixel():
    rng = np.random.default_rng(3)
    image = rng.random((1, 18, 22, 3)).astype(np.float32)
    kernel = gaussian_kernel(0.25).astype(np.float64)
    padded = np.pad(image, ((0, 0), (6, 6), (6, 6), (0, 0)))
    full = np.zeros_like(image, dtype=np.float64)
    for i in range(18):
        for j in range(22):
            window = padded[0, i : i + 13, j : j + 13, :]
            full[0, i, j] = np.tensordot(kernel, window, axes=([0, 1], [0, 1]))
    ref = full[:, ::4, ::4]
    out = AntiAliasDownsample(3, 0.25)(image).numpy()
    assert out.shape == ref.shape == (1, 5, 6, 3)
    np.testing.assert_allclose(out, ref, atol=1e-6)


def test_antialias_scale_one_is_identity():
    image = np.random.default_rng(4).random((1, 8, 8, 3)).astype(np.float32)
    np.testing.assert_array_equal(AntiAliasDownsample(3, 1.0)(image), image)
