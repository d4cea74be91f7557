"""Luther–Seung and Yang–Schoenholz measurements of the engine."""

from __future__ import annotations

import numpy as np
import pytest

from simulate import EngineOptions, run_network, spec
from simulate.inputs import make_input_source


def test_sample_variance_decomposition_is_exact_float64():
    # S1: total = mean sample variance + mean squared sample mean, per network, float64
    net = spec.kaiming_ff(64, 10)
    src = make_input_source("gaussian", input_dim=32)
    r = run_network(net, src, batch_size=16, num_sims=3, seed=0, quiet=True,
                    options=EngineOptions(dtype="float64", families=("sample_stats",)))
    for loc in ("pre", "post"):
        total = r[f"nu2_signal_{loc}"]
        np.testing.assert_allclose(r[f"mu2_signal_{loc}"] + r[f"sq_mean_signal_{loc}"], total,
                                   rtol=1e-10)
    assert np.all((r["mean_cosine_signal_pre"] > -1) & (r["mean_cosine_signal_pre"] < 1))
    assert np.all(r["norm_dispersion_signal_post"] >= 0)


def test_batchnorm_output_sample_mean_vanishes():
    net = spec.kaiming_ff(32, 4, batchnorm=True)
    src = make_input_source("gaussian", input_dim=16)
    r = run_network(net, src, batch_size=8, num_sims=2, seed=1, quiet=True,
                    options=EngineOptions(dtype="float64"))
    np.testing.assert_allclose(r["sq_mean_signal_bn"], 0.0, atol=1e-20)


def test_resnet_backward_records_gradients_and_width_variation():
    N, L = 24, 6
    widths = [48, 40, 32, 24, 16, 12]
    x = np.random.default_rng(0).standard_normal((2, N))
    opts = EngineOptions(dtype="float64", backward=True, families=("sample_stats",))
    r = run_network(spec.full_resnet(N, L, "tanh", hidden_widths=widths, measure_every=2), x,
                    num_sims=2, seed=2, quiet=True, options=opts)
    for key in ("log_grad_sq_x", "log_grad_sq_h", "log_chi_w_W", "log_chi_b_W", "log_chi_w_V",
                "gamma_signal_x", "log_grad_sq_input"):
        assert key in r, key
        assert np.all(np.isfinite(r[key]))
    assert r["log_chi_w_W"].shape == (2, 3)


def test_width_tuple_must_cover_depth():
    from simulate.errors import ConfigError

    with pytest.raises(ConfigError, match="needs depth=6"):
        spec.full_resnet(8, 6, hidden_widths=[8, 8])
