"""Unit tests of the helpers of verify.claims_labatie for the batch-norm claims (L7-L13)."""

from __future__ import annotations

import numpy as np
import pytest

from simulate import spec
from simulate.spec import Measure, Residual
from theory import labatie
from verify import claims_labatie as bn


def _spectra(x: np.ndarray, dx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                      np.ndarray]:
    """C, D and the engine's spectra normalisation (eigenvalues of C, u_i' D u_i / tr D)."""
    b = x.shape[0]
    xc = x - x.mean(axis=0)
    c = xc.T @ xc / b
    d = dx.T @ dx / b
    g = xc @ xc.T
    w, v = np.linalg.eigh(g)
    w, v = w[::-1], v[:, ::-1]
    keep = w > w[0] * 1e-12
    u = (xc.T @ v[:, keep]) / np.sqrt(w[keep])  # unit eigenvectors of C
    proj = np.zeros(b)
    proj[keep] = np.einsum("ki,kl,li->i", u, d, u) / np.trace(d)
    return c, d, np.clip(w, 0, None) / b, proj


def test_delta_bn_sq_from_spectra_matches_full_integral() -> None:
    rng = np.random.default_rng(1)
    b, n = 12, 40
    x = rng.standard_normal((b, n)) @ rng.standard_normal((n, n))  # anisotropic signal
    dx = rng.standard_normal((b, n)) * np.linspace(0.2, 2.0, n)  # anisotropic noise
    c, d, lam, proj = _spectra(x, dx)
    full = labatie.delta_bn_sq_integral(c, d)[0]
    assert bn.delta_bn_sq_from_spectra(lam, proj) == pytest.approx(full, rel=1e-7)


def test_delta_bn_sq_from_spectra_rank_r_closed_form() -> None:
    r, k = 8, 30
    lam = np.r_[np.ones(r), np.zeros(4)]  # isotropic rank r, B = r + 4 < K
    proj = np.r_[np.full(r, 1.0 / k), np.zeros(4)]  # isotropic noise: 1/K per direction
    got = bn.delta_bn_sq_from_spectra(lam, proj)
    assert got == pytest.approx(float(labatie.delta_bn_sq_rank_r(r, k)), rel=1e-7)


def test_apply_records_shape_and_values() -> None:
    lam = np.ones((2, 3, 4))
    proj = np.full((2, 3, 4), 0.1)
    out = bn.apply_records(lambda a, p: float(a.sum() + p.sum()), lam, proj)
    assert out.shape == (2, 3)
    assert np.allclose(out, 4.4)


def test_normal_estimate() -> None:
    x = np.random.default_rng(0).normal(2.0, 3.0, 10_000)
    est = bn.normal_estimate(x)
    assert est.value == pytest.approx(x.mean())
    assert est.se == pytest.approx(x.std(ddof=1) / 100)
    assert est.ci[0] < est.value < est.ci[1]


def test_group_bootstrap_difference_of_means() -> None:
    rng = np.random.default_rng(2)
    a = rng.normal(0.0, 1.0, 400)
    b = rng.normal(1.0, 2.0, 100)
    est = bn.group_bootstrap([a, b], lambda u, v: float(v.mean() - u.mean()),
                             np.random.default_rng(3), n_resamples=500)
    assert est.value == pytest.approx(b.mean() - a.mean())
    assert est.se == pytest.approx(np.sqrt(1 / 400 + 4 / 100), rel=0.15)
    assert est.n == 500
    # tuples are resampled jointly
    pair = bn.group_bootstrap([(a, a)], lambda t: float(np.mean(t[0] - t[1])),
                              np.random.default_rng(4), n_resamples=50)
    assert pair.value == 0.0 and pair.se == 0.0


def test_block_band_sq_random_walk() -> None:
    rng = np.random.default_rng(5)
    steps = rng.normal(0.0, 0.5, (4000, 20))
    walk = np.cumsum(steps, axis=1)
    band = bn.block_band_sq(walk)
    assert band.shape == (20,)
    assert np.allclose(band, 0.25 * np.arange(1, 21), rtol=0.08)


def test_binned_mare() -> None:
    x = np.arange(10, 40)
    lhs = np.ones(30)
    rhs = np.r_[np.full(10, 1.1), np.full(10, 0.9), np.ones(10)]
    want = np.mean([abs(1 / 1.1 - 1), abs(1 / 0.9 - 1), 0.0])
    assert bn.binned_mare(x, lhs, rhs, 10) == pytest.approx(want)


def test_overlay_rms_z() -> None:
    rng = np.random.default_rng(6)
    depth = np.arange(1, 11, dtype=float)
    ff = 5.0 + depth[None, :] + rng.standard_normal((20000, 10))  # band half-width ~1
    centre = 5.0 + depth
    assert bn.overlay_rms_z(centre + 0.5, depth, ff, depth) == pytest.approx(0.5, abs=0.03)
    # interpolation between depths and clamping below the first depth
    assert bn.overlay_rms_z(np.array([6.0, 6.5]), depth, ff, np.array([0.2, 1.5])) \
        == pytest.approx(0.0, abs=0.03)


def test_tau_rank_corrected() -> None:
    for h in (1, 2, 3):
        assert bn.tau_rank_corrected(h, 257, 256) == pytest.approx(float(labatie.tau_gaussian(h)))
        assert bn.tau_rank_corrected(h, 64, 512) > float(labatie.tau_gaussian(h))
    f = float(labatie.delta_bn_sq_rank_r(63, 512))
    q = np.pi / (np.pi - 1)
    assert bn.tau_rank_corrected(2, 64, 512) == pytest.approx(((q * f) ** 2 - 1) / 2)


def test_tau_code_and_window_slope() -> None:
    assert bn.tau_code(np.sqrt(np.pi / (np.pi - 1)), 2) == pytest.approx(
        float(labatie.tau_gaussian(2)))
    x = np.log(np.arange(50, 301, 5.0))
    s = bn.window_slope(labatie.resnet_chi_product, 0.5, x)
    assert 0.97 * 0.5 < s < 0.5
    far = np.log(np.arange(10_000, 20_001, 100.0))
    assert bn.window_slope(labatie.resnet_chi_product, 0.5, far) == pytest.approx(0.5, rel=1e-3)


def test_bn_res_net_adds_branch_end() -> None:
    net = bn.bn_res_net(16, 3, 2)
    base = spec.bn_res(16, 3, 2)
    unit = net.block[0]
    assert isinstance(unit, Residual)
    assert unit.branch[:-1] == base.block[0].branch
    assert unit.branch[-1] == Measure("loc6")
    assert net.name == "bn_res" and net.res_depth == 2
    assert bn.bn_res_net(16, 3, 1) == spec.bn_res(16, 3, 1)
    assert bn.branch_loc(1) == "loc4" and bn.branch_loc(3) == "loc6"
