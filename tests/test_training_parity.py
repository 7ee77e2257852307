"""The trainer's step reproduces one official training step (official-train-small fixture).

Everything is read from the fixture: its config, checkpoint, batch, transform and the VGG19
seed of its README, and compared at the README's tolerances: losses 1e-4 relative;
gradients per tensor ``max|g − g_ref| ≤ 1e-2·max|g_ref|`` and
``‖g − g_ref‖ ≤ 5e-3·‖g_ref‖``; the structurally zero gradients (listed in the README)
``max|g| ≤ 1e-5 ×`` their module's largest reference gradient; intermediate tensors
``max|y − y_ref| ≤ 2e-4·max|y_ref|`` (1e-4 for the better-conditioned ones).

The step runs in float64 (only the official side's float32 error left) and in float32, as
training runs it. In float32 the generator and the discriminator still meet the fixture's
tolerances; the keypoint detector needs more (see ``FLOAT32_KP_DETECTOR``).
"""

import functools
import re

import numpy as np
import pytest
from helpers import TRAIN_PARITY_DATA as DATA
from helpers import compare_gradients, vgg19_seed

LOSS_RTOL = 1e-4
GRAD_MAX_RTOL = 1e-2
GRAD_NORM_RTOL = 5e-3
ZERO_RTOL = 1e-5
# Float32 against the fixture, worst tensor (measured): generator max 6.7e-3, Frobenius 4.6e-3
# (the fixture's own tolerances, 8 % below the Frobenius one: float32 noise on both sides, up
# to 2e-3 of a tensor's max on the official side alone); discriminator 9.4e-5 and 7.9e-5.
# The keypoint detector measures max 1.26e-2 and Frobenius 1.05e-2: half of that is the
# routing of VGG19 max-pool windows whose two largest inputs are closer than float32's
# forward error (test_float32_max_pool_ties_make_half_the_keypoint_detector_error), the rest
# float32 noise through its three train-mode BatchNorm passes. Bounds ≈ 2× the measured.
FLOAT32_KP_DETECTOR = {"max": 2.5e-2, "norm": 2e-2}


@functools.cache
def official(dtype: str) -> tuple[dict, dict]:
    """:func:`official_step` on the fixture (once per dtype in this module)."""
    from fomm_tf.training import official_step

    inputs = dict(np.load(DATA / "inputs.npz"))
    return official_step(
        DATA / "config.yaml", DATA / "checkpoint.pth.tar", inputs, vgg19_seed(), dtype
    )


@pytest.fixture(scope="module", params=["float64", "float32"])
def step(request):
    return request.param, *official(request.param)


@functools.cache
def reference(name: str) -> dict:
    """The fixture's ``outputs`` or ``gradients`` arrays (read once)."""
    return dict(np.load(DATA / f"{name}.npz"))


def test_losses_match_the_official_step(step):
    outputs = reference("outputs")
    _, losses, _ = step
    want = {k[len("loss_") :]: float(v) for k, v in outputs.items() if k.startswith("loss_")}
    assert set(losses) == set(want)
    for key, value in want.items():
        assert losses[key] == pytest.approx(value, rel=LOSS_RTOL), key


def test_every_official_parameter_gets_a_gradient_in_torch_layout(step):
    reference_gradients = reference("gradients")
    _, _, grads = step
    assert set(grads) == set(reference_gradients)
    for key, value in reference_gradients.items():
        assert grads[key].shape == value.shape, key


def test_gradients_match_the_official_step(step):
    reference_gradients = reference("gradients")
    dtype, _, grads = step
    errors = compare_gradients(grads, reference_gradients)
    bad_zero = {k: v for k, v in errors["zero"].items() if v > ZERO_RTOL}
    assert not bad_zero, f"structurally zero gradients not zero: {bad_zero}"
    for kind, fixture_rtol in (("max", GRAD_MAX_RTOL), ("norm", GRAD_NORM_RTOL)):
        bad = {}
        for key, value in errors[kind].items():
            rtol = fixture_rtol
            if dtype == "float32" and key.startswith("kp_detector."):
                rtol = FLOAT32_KP_DETECTOR[kind]
            if value > rtol:
                bad[key] = (value, rtol)
        assert not bad, f"{kind} relative error above tolerance: {bad}"


def test_spectral_norm_state_advances_on_each_of_the_four_discriminator_calls():
    """The four calls of one step leave the ``u`` the official code left after call 4."""
    import tensorflow as tf

    from fomm_tf.config import load_config
    from fomm_tf.losses import MultiScaleDiscriminator
    from fomm_tf.nets.checkpoint import read_torch_checkpoint
    from fomm_tf.nets.weights import load_state_dict, torch_layers

    cfg = load_config(DATA / "config.yaml")
    dp = cfg.raw["model_params"]["discriminator_params"]
    disc = MultiScaleDiscriminator(num_channels=3, num_kp=cfg.num_kp, **dp)
    h, w = cfg.image_size
    disc(tf.zeros((1, h, w, 3)))
    load_state_dict(disc, read_torch_checkpoint(DATA / "checkpoint.pth.tar")["discriminator"], "d")
    outputs = np.load(DATA / "outputs.npz")
    image = np.load(DATA / "inputs.npz")["driving"]
    calls = sorted(
        {m.group(1) for k in outputs.files if (m := re.match(r"sn_u_after_(\d+_\w+?)\.", k))}
    )
    assert len(calls) == 4
    for call in calls:
        disc(image, training=True)  # the input does not affect the power iteration
        checked = 0
        for name, layer in torch_layers(disc):
            if not getattr(layer, "spectral_norm", False):
                continue
            key = f"sn_u_after_{call}.discriminator.{name}.weight_u"
            assert key in outputs.files, f"{key} missing from the fixture"
            u = layer.u.numpy().reshape(-1)
            np.testing.assert_allclose(u, outputs[key], atol=1e-5, err_msg=key)
            checked += 1
        # every spectral-normed conv of the fixture, after this call
        assert checked == len([k for k in outputs.files if k.startswith(f"sn_u_after_{call}.")])


# The fixture's intermediate tensors (outputs.npz), at its README's tolerances: max|y − y_ref|
# ≤ 2e-4·max|y_ref|, and 1e-4 for the better-conditioned keypoints, transformed frame, TPS
# terms, perceptual and feature-matching terms. Measured, float64 / float32 step: worst
# 5.6e-5 / 5.9e-5 (sparse_deformed) of the former, 6.6e-6 / 1.1e-5 (transformed_kp_value) of
# the latter.
OUTPUT_RTOL = 2e-4
WELL_CONDITIONED = {
    "kp_source_value",
    "kp_source_jacobian",
    "kp_driving_value",
    "kp_driving_jacobian",
    "transformed_kp_value",
    "transformed_kp_jacobian",
    "transformed_frame",
    "perceptual_terms",
    "tps_jacobian_at_transformed_kp",
    "tps_warp_of_transformed_kp",
    "feature_matching_terms",
}
WELL_CONDITIONED_RTOL = 1e-4
DISC_CALLS = ("gen_pass_generated", "gen_pass_real", "disc_pass_generated", "disc_pass_real")


class RecordingDiscriminator:
    """The trainer's discriminator, its outputs kept in call order."""

    def __init__(self, disc):
        self.disc, self.calls = disc, []

    def __call__(self, *args, **kwargs):
        out = self.disc(*args, **kwargs)
        self.calls.append(out)
        return out

    def __getattr__(self, name):
        return getattr(self.disc, name)


class RecordingVGG:
    """The perceptual loss's VGG19: the input of every max-pool kept, per call."""

    def __init__(self, vgg):
        self.vgg, self.calls = vgg, []
        for layers in vgg.layers:
            for i, layer in enumerate(layers):
                if "pool" in layer.name:
                    layers[i] = self._recording(layer)

    def _recording(self, pool):
        def call(x):
            self.calls[-1]["pools"].append((pool.name, np.asarray(x)))
            return pool(x)

        return call

    def __call__(self, image, num_slices=None):
        self.calls.append({"image": np.asarray(image), "pools": []})
        return self.vgg(image, num_slices)

    def __getattr__(self, name):
        return getattr(self.vgg, name)


def official_trainer(dtype: str):
    from fomm_tf.training.parity import official_trainer

    inputs = dict(np.load(DATA / "inputs.npz"))
    return official_trainer(
        DATA / "config.yaml", DATA / "checkpoint.pth.tar", inputs, vgg19_seed(), dtype
    )


@functools.cache
def step_outputs(dtype: str) -> tuple[dict, dict, list]:
    """The fixture's intermediate tensors, under their fixture names, from one step of the
    trainer's own code (:meth:`Trainer.replica_work`, run eagerly) and its networks and loss
    modules; the step's losses; and the inputs of the VGG19 max-pools that the prediction's
    pyramid levels went through, ``[(layer name, input)]`` in call order."""
    import keras
    import tensorflow as tf

    from fomm_tf.losses import RandomTPS
    from fomm_tf.training.parity import precision

    with precision(dtype):
        trainer, feed, transform = official_trainer(dtype)
        disc = trainer.discriminator = RecordingDiscriminator(trainer.discriminator)
        vgg = trainer.perceptual.vgg = RecordingVGG(trainer.perceptual.vgg)
        losses, out, _ = trainer.replica_work(
            feed, tf.constant(0, tf.int64), transform, apply=False
        )
        vgg_calls = list(vgg.calls)
        got = {k: out[k] for k in ("prediction", "occlusion_map", "mask", "deformed")}
        got["sparse_deformed"] = out["sparse_deformed"]
        for who in ("source", "driving"):
            for key in ("value", "jacobian"):
                got[f"kp_{who}_{key}"] = out[f"kp_{who}"][key]
        # The equivariance transform of the step, applied as the step applies it.
        tps = RandomTPS.from_params(**transform)
        frame = tps.transform_frame(feed["driving"], trainer.cfg.align_corners)
        kp_t = trainer.models.kp_detector(frame, training=True)
        got["transformed_frame"] = frame
        got["transformed_kp_value"] = kp_t["value"]
        got["transformed_kp_jacobian"] = kp_t["jacobian"]
        got["tps_jacobian_at_transformed_kp"] = tps.jacobian(kp_t["value"])
        got["tps_warp_of_transformed_kp"] = tps.warp_coordinates(kp_t["value"])
        # Perceptual pyramid and its unweighted terms.
        perceptual = trainer.perceptual
        levels = zip(perceptual.pyramid(out["prediction"]), perceptual.pyramid(feed["driving"]))
        terms = []
        for i, ((pred, drv), n) in enumerate(zip(levels, perceptual.slices)):
            if i:
                got[f"pyramid_prediction_{i}"], got[f"pyramid_driving_{i}"] = pred, drv
            terms.append(
                [
                    tf.reduce_mean(tf.abs(a - b))
                    for a, b in zip(perceptual.vgg(pred, n), perceptual.vgg(drv, n))
                ]
            )
        got["perceptual_terms"] = tf.stack([tf.stack(t) for t in terms])
        got["perceptual_scales"] = np.asarray(perceptual.pyramid.scales)
        got["perceptual_recomputed"] = tf.reduce_sum(
            got["perceptual_terms"] * np.asarray(perceptual.weights)
        )
        # The four discriminator calls of the step: feature maps and prediction maps.
        assert len(disc.calls) == 4
        (fake_feats, _), (real_feats, _) = disc.calls[0][0], disc.calls[1][0]
        got["feature_matching_terms"] = tf.stack(
            [tf.reduce_mean(tf.abs(a - b)) for a, b in zip(real_feats, fake_feats)]
        )
        for name, call in zip(DISC_CALLS, disc.calls):
            got[f"disc_prediction_map_{name}"] = call[0][1]
        # The perceptual loss's VGG19 (its random weights regenerated from the README's seed).
        convs = [
            la for s in perceptual.vgg.layers for la in s if isinstance(la, keras.layers.Conv2D)
        ]
        got["vgg_weight_sum"] = np.array(
            [np.sum(c.kernel.numpy(), dtype=np.float64) for c in convs]
        )
        got["vgg_bias_sum"] = np.array([np.sum(c.bias.numpy(), dtype=np.float64) for c in convs])
        got["vgg_weight_first8"] = np.stack(
            [np.transpose(c.kernel.numpy(), (3, 2, 0, 1)).reshape(-1)[:8] for c in convs]
        )
        # The step's VGG19 calls on the prediction's pyramid levels (the others are the
        # target's, which carries no gradient).
        levels = [np.asarray(x) for x in perceptual.pyramid(out["prediction"])]
    pools = [
        pool
        for call in vgg_calls
        if any(np.array_equal(call["image"], level) for level in levels)
        for pool in call["pools"]
    ]
    got = {k: np.asarray(v, np.float64) for k, v in got.items()}
    return got, {k: float(v) for k, v in losses.items()}, pools


@pytest.fixture(scope="module", params=["float64", "float32"])
def intermediates(request):
    got, losses, _ = step_outputs(request.param)
    return request.param, got, losses


def test_intermediate_tensors_match_the_official_step(intermediates):
    outputs = reference("outputs")
    dtype, got, losses = intermediates
    names = {k for k in outputs if not k.startswith(("loss_", "sn_"))}
    assert set(got) == names, (sorted(names - set(got)), sorted(set(got) - names))
    # The fixture sums all 16 convolutions of torchvision's VGG19; the perceptual loss uses
    # the 13 up to relu5_1, and the random recipe draws them first, in the same order.
    for key in ("vgg_weight_sum", "vgg_bias_sum", "vgg_weight_first8"):
        assert len(got[key]) == 13
        np.testing.assert_allclose(got[key], outputs[key][:13], rtol=1e-6, atol=1e-6, err_msg=key)
    np.testing.assert_array_equal(got["perceptual_scales"], outputs["perceptual_scales"])
    assert float(got["perceptual_recomputed"]) == pytest.approx(losses["perceptual"], rel=1e-6)
    errors = {}
    for key in sorted(names - {"perceptual_scales"} - {k for k in names if k.startswith("vgg_")}):
        want = np.asarray(outputs[key], np.float64)
        assert got[key].shape == want.shape, (key, got[key].shape, want.shape)
        rtol = WELL_CONDITIONED_RTOL if key in WELL_CONDITIONED else OUTPUT_RTOL
        errors[key] = float(np.abs(got[key] - want).max() / np.abs(want).max())
        assert errors[key] <= rtol, (dtype, key, errors[key], rtol)


def pool_windows(x: np.ndarray) -> np.ndarray:
    """(B, H, W, C) → (B, H/2, W/2, C, 4): the 2×2 windows of a stride-2 max-pool."""
    b, h, w, c = x.shape
    x = x[:, : h // 2 * 2, : w // 2 * 2].reshape(b, h // 2, 2, w // 2, 2, c)
    return x.transpose(0, 1, 3, 5, 2, 4).reshape(b, h // 2, w // 2, c, 4)


def test_float32_max_pool_ties_make_half_the_keypoint_detector_error():
    """Why the float32 keypoint detector needs ``FLOAT32_KP_DETECTOR``: where two inputs of a
    VGG19 max-pool window on the prediction are closer than float32's forward error, float32
    and float64 pick different maxima and route the perceptual gradient differently. Forcing
    float64's choice (≈ the official's: the float64 step meets the fixture) in the float32
    step halves the keypoint detector's error (measured: 8 windows, max 1.26e-2 → 6.1e-3,
    Frobenius 1.05e-2 → 5.3e-3)."""
    import tensorflow as tf

    from fomm_tf.nets.weights import torch_gradients
    from fomm_tf.training.parity import precision

    reference_gradients = reference("gradients")

    _, _, pools32 = step_outputs("float32")
    _, _, pools64 = step_outputs("float64")
    assert [(n, x.shape) for n, x in pools32] == [(n, x.shape) for n, x in pools64]
    deltas, ties = {}, 0
    for (name, x32), (_, x64) in zip(pools32, pools64):
        w32, w64 = pool_windows(x32), pool_windows(x64)
        pick32, pick64 = w32.argmax(-1), w64.argmax(-1)
        delta = np.zeros_like(x32)
        for b, i, j, c in np.argwhere(pick32 != pick64):
            # a near-tie in float64 too: its two largest inputs within 1e-5 of the layer's
            # largest value (measured: at most 6.8e-6)
            top2 = np.sort(w64[b, i, j, c])[-2:]
            assert top2[1] - top2[0] <= 1e-5 * np.abs(x64).max(), (name, top2)
            # lift float64's pick above the float32 maximum, by 1e-5 of it
            k = pick64[b, i, j, c]
            window = w32[b, i, j, c]
            lift = window.max() - window[k] + 1e-5 * max(1.0, abs(window.max()))
            delta[b, 2 * i + k // 2, 2 * j + k % 2, c] = lift
            ties += 1
        if delta.any():
            deltas[(name, x32.shape)] = delta
    assert 1 <= ties <= 20, ties  # measured: 8

    with precision("float32"):
        trainer, feed, transform = official_trainer("float32")
        for layers in trainer.perceptual.vgg.layers:
            for n, layer in enumerate(layers):
                if "pool" in layer.name:

                    def forced(x, pool=layer):
                        # the same (name, shape) for the target's level: a lift there moves
                        # only a value that carries no gradient
                        d = deltas.get((pool.name, tuple(x.shape)))
                        return pool(x if d is None else x + tf.constant(d, x.dtype))

                    layers[n] = forced
        _, grads = trainer.gradients(feed, transform)
        forced_grads = {
            f"kp_detector.{k}": v
            for k, v in torch_gradients(trainer.models.kp_detector, grads["kp_detector"]).items()
        }
    kp_ref = {k: v for k, v in reference_gradients.items() if k.startswith("kp_detector.")}
    plain = compare_gradients(official("float32")[1], kp_ref)
    forced = compare_gradients(forced_grads, kp_ref)
    worst = {
        run: {kind: max(errors[kind].values()) for kind in ("max", "norm")}
        for run, errors in (("plain", plain), ("forced", forced))
    }
    # forced: within the fixture's own max tolerance (measured 6.1e-3 ≤ 1e-2), and both
    # figures at most 0.6× the plain float32 step's (measured 0.49 and 0.50)
    assert worst["forced"]["max"] <= GRAD_MAX_RTOL, worst
    for kind in ("max", "norm"):
        assert worst["forced"][kind] <= 0.6 * worst["plain"][kind], worst
