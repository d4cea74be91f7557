"""Unit tests of the helpers of verify.claims_labatie for the batch-norm claims (L7-L13)."""

from __future__ import annotations

import numpy as np
import pytest

from simulate import spec
from simulate.spec import Measure, Residual
from theory import labatie
from verify import claims_labatie as bn


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


def test_overlay_rms_z() -> None:
    rng = np.random.default_rng(6)
    depth = np.arange(1, 11, dtype=float)
    ff = 5.0 + depth[None, :] + rng.standard_normal((20000, 10))  # band half-width ~1
    centre = 5.0 + depth
    assert bn.overlay_rms_z(centre + 0.5, depth, ff, depth) == pytest.approx(0.5, abs=0.03)
    # interpolation between depths and clamping below the first depth
    assert bn.overlay_rms_z(np.array([6.0, 6.5]), depth, ff, np.array([0.2, 1.5])) \
        == pytest.approx(0.0, abs=0.03)


def test_window_slope() -> None:
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
