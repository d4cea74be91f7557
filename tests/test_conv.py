"""Convolutions: every boundary and stride against a plain numpy oracle, through the engine.

Oracles are written independently of `simulate.conv`: boundaries come from ``numpy.pad``
(``wrap`` for periodic with ``k - 1`` rows before, ``symmetric`` for the mirror with the edge
repeated, constant zeros for TensorFlow's ``SAME`` split ``floor(total / 2)`` before), and the
product is a loop over output positions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulate import conv, spec
from simulate.engine import EngineOptions, Propagator
from simulate.errors import ConfigError
from simulate.experiments import run_experiment, run_network
from simulate.rng import GaussianStream


def conv_oracle(x: np.ndarray, kernel: np.ndarray, stride: int, boundary: str) -> np.ndarray:
    """Direct NHWC convolution in float64 (numpy.pad + loop over output positions)."""
    M, H, W, C = x.shape
    k = kernel.shape[0]
    if boundary == "periodic":
        pads = ((k - 1, 0), (k - 1, 0))
        xp = np.pad(x, ((0, 0), *pads, (0, 0)), mode="wrap")
    elif boundary == "symmetric":
        p = (k - 1) // 2
        xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), mode="symmetric")
    else:
        tot_h = max((H // stride - 1) * stride + k - H, 0)
        tot_w = max((W // stride - 1) * stride + k - W, 0)
        xp = np.pad(x, ((0, 0), (tot_h // 2, tot_h - tot_h // 2),
                        (tot_w // 2, tot_w - tot_w // 2), (0, 0)))
    Ho, Wo = H // stride, W // stride
    y = np.zeros((M, Ho, Wo, kernel.shape[3]))
    for i in range(Ho):
        for j in range(Wo):
            patch = xp[:, i * stride: i * stride + k, j * stride: j * stride + k, :]
            y[:, i, j, :] = np.einsum("mabc,abco->mo", patch, kernel)
    return y


CASES = [(b, s, k) for b in spec.BOUNDARIES for s in (1, 2) for k in (1, 2, 3, 5)
         if not (b == "symmetric" and k % 2 == 0)]


@pytest.mark.parametrize("boundary,stride,k", CASES)
def test_conv2d_matches_direct_oracle(boundary, stride, k):
    rng = np.random.default_rng(k * 10 + stride)
    x = rng.standard_normal((3, 8, 8, 4))
    kernel = rng.standard_normal((k, k, 4, 5))
    np.testing.assert_allclose(conv.conv2d(x, kernel, stride, boundary),
                               conv_oracle(x, kernel, stride, boundary), rtol=0, atol=1e-12)


@pytest.mark.parametrize("boundary", spec.BOUNDARIES)
def test_patches_times_kernel_is_the_convolution(boundary):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 6, 6, 3))
    kernel = rng.standard_normal((3, 3, 3, 4))
    p = conv.patches(x, 3, 2, boundary)
    assert p.shape == (2 * 9, 27)
    np.testing.assert_allclose(p @ kernel.reshape(27, 4),
                               conv_oracle(x, kernel, 2, boundary).reshape(-1, 4), atol=1e-12)


def test_conv2d_non_square_maps_and_chunking(monkeypatch):
    # several maps per chunk and a final partial chunk; results independent of the chunking
    rng = np.random.default_rng(3)
    x = rng.standard_normal((7, 6, 10, 3))
    kernel = rng.standard_normal((3, 3, 3, 2))
    ref = conv_oracle(x, kernel, 2, "zero_padding")
    for chunk_bytes in (1, 3 * 5 * 27 * 8 * 2, 1 << 22):
        monkeypatch.setattr(conv, "PATCH_CHUNK_BYTES", chunk_bytes)
        for threads in (1, 3):
            np.testing.assert_allclose(conv.conv2d(x, kernel, 2, "zero_padding", threads),
                                       ref, atol=1e-12)


@pytest.mark.parametrize("boundary", spec.BOUNDARIES)
@pytest.mark.parametrize("algorithm", ["im2col", "winograd"])
def test_both_algorithms_match_the_oracle_non_square_and_chunked(boundary, algorithm,
                                                                  monkeypatch):
    # 3x3 stride 1 on even (non-square) maps: both algorithms apply; several chunks, a partial
    # last one, and any thread count give the oracle (float64, to rounding)
    rng = np.random.default_rng(11)
    x = rng.standard_normal((5, 6, 4, 3))
    kernel = rng.standard_normal((3, 3, 3, 7))
    ref = conv_oracle(x, kernel, 1, boundary)
    for chunk_bytes in (1, 16 * 7 * 8 * 5, 1 << 22):
        monkeypatch.setattr(conv, "PATCH_CHUNK_BYTES", chunk_bytes)
        outs = [conv.conv2d(x, kernel, 1, boundary, threads, algorithm) for threads in (1, 3)]
        np.testing.assert_allclose(outs[0], ref, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(outs[0], outs[1])  # bitwise, for any thread count


@given(side=st.sampled_from([4, 6, 8]), c_in=st.integers(1, 9), c_out=st.integers(1, 9),
       boundary=st.sampled_from(spec.BOUNDARIES), seed=st.integers(0, 2**31 - 1))
@settings(max_examples=40, deadline=None)
def test_winograd_float32_agrees_with_im2col_to_rounding(side, c_in, c_out, boundary, seed):
    # the same linear map in another order: float32 results differ by rounding only
    # (|error| <= a few ulps of the sum of |terms|, bounded here by 64 * eps * sum |x||k|)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, side, side, c_in)).astype(np.float32)
    kernel = rng.standard_normal((3, 3, c_in, c_out)).astype(np.float32)
    a = conv.conv2d(x, kernel, 1, boundary, algorithm="winograd").astype(np.float64)
    b = conv.conv2d(x, kernel, 1, boundary, algorithm="im2col").astype(np.float64)
    scale = conv_oracle(np.abs(x).astype(np.float64), np.abs(kernel).astype(np.float64), 1,
                        boundary)
    assert np.all(np.abs(a - b) <= 64 * np.finfo(np.float32).eps * scale + 1e-30)


def test_algorithm_choice_and_refusals():
    x = np.ones((1, 5, 5, 2))
    k = np.ones((3, 3, 2, 2))
    assert conv.winograd_applies(3, 1, (8, 6))
    assert not conv.winograd_applies(3, 2, (8, 8))
    assert not conv.winograd_applies(5, 1, (8, 8))
    assert not conv.winograd_applies(3, 1, (5, 5))
    np.testing.assert_allclose(conv.conv2d(x, k, 1, "periodic"),  # auto: im2col on odd maps
                               conv_oracle(x, k, 1, "periodic"), atol=1e-12)
    with pytest.raises(ConfigError, match="algorithm='winograd' needs kernel_size=3, stride=1"):
        conv.conv2d(x, k, 1, "periodic", algorithm="winograd")
    with pytest.raises(ConfigError, match="algorithm='fft' is not allowed; choose one of auto"):
        conv.conv2d(x, k, 1, "periodic", algorithm="fft")


def test_auto_picks_winograd_from_the_tile_count(monkeypatch):
    # auto: im2col below WINOGRAD_MIN_TILES 4x4 tiles per layer, Winograd from there on
    calls = []
    real = conv._conv2d_winograd
    monkeypatch.setattr(conv, "_conv2d_winograd", lambda *a: calls.append(1) or real(*a))
    k = np.ones((3, 3, 2, 2))
    small = np.ones((conv.WINOGRAD_MIN_TILES // 16 - 1, 8, 8, 2))  # 16 tiles per 8x8 map
    big = np.ones((conv.WINOGRAD_MIN_TILES // 16, 8, 8, 2))
    conv.conv2d(small, k, 1, "periodic")
    assert calls == []
    conv.conv2d(small, k, 1, "periodic", algorithm="winograd")  # explicit: any size
    conv.conv2d(big, k, 1, "periodic")
    assert calls == [1, 1]


def test_winograd_kernel_transform_by_hand():
    # U = G g G^T for one channel pair; g = delta at the centre -> U = outer(G[:, 1], G[:, 1])
    g = np.zeros((9, 1))
    g[4, 0] = 1.0
    u = conv.winograd_kernel(g, 1).reshape(4, 4)
    col = np.array([0.0, 0.5, -0.5, 0.0])
    np.testing.assert_array_equal(u, np.outer(col, col))


def test_source_index_boundaries_by_hand():
    # n = 4, k = 3: periodic reads (o - 2 .. o) mod 4; symmetric mirrors with the edge kept
    np.testing.assert_array_equal(conv.source_index(4, 3, 1, "periodic")[0], [2, 3, 0])
    np.testing.assert_array_equal(conv.source_index(4, 3, 1, "symmetric")[0], [0, 0, 1])
    np.testing.assert_array_equal(conv.source_index(4, 3, 1, "symmetric")[3], [2, 3, 3])
    np.testing.assert_array_equal(conv.source_index(4, 3, 1, "zero_padding")[0], [-1, 0, 1])
    # stride 2 SAME on 32: total pad 1, all of it after the map (TensorFlow)
    np.testing.assert_array_equal(conv.source_index(32, 3, 2, "zero_padding")[-1], [30, 31, -1])


def test_conv_layer_validation_messages():
    with pytest.raises(ConfigError, match="kernel_size=2 is not allowed with boundary='symmetric'"):
        spec.Conv(kernel_size=2, boundary="symmetric")
    with pytest.raises(ConfigError, match="boundary='wrap' is not allowed; choose one of periodic"):
        spec.Conv(boundary="wrap")
    with pytest.raises(ConfigError, match="stride=3 is not allowed for a 16x16"):
        spec.Conv(stride=3).out_size(16)
    with pytest.raises(ConfigError, match="kernel_size=5 is not allowed for a 4x4"):
        spec.Conv(kernel_size=5).out_size(4)
    with pytest.raises(ConfigError, match="kernel_size=0"):
        spec.vanilla(8, 2, kernel_size=0)


# ------------------------------------------------------------------ through the engine
def _draw_kernel(stream: GaussianStream, k: int, c_in: int, c_out: int, var: float,
                 dtype=np.float64) -> np.ndarray:
    scale = math.sqrt(var / (k * k * c_in))
    return stream.standard_normal((k * k * c_in, c_out), dtype=dtype, scale=scale).reshape(
        k, k, c_in, c_out).astype(np.float64)


@pytest.mark.parametrize("boundary", spec.BOUNDARIES)
def test_engine_stem_conv_bn_relu_matches_numpy_pipeline(boundary):
    # stem (LeCun, stride 2) -> He conv -> per-channel BN over (batch, H, W) -> ReLU, signal
    # and tangent (frozen BN statistics, ReLU mask), against the oracle with the same draws
    B, C0, C = 3, 2, 5
    net = spec.Network((spec.Conv(kernel_size=3, boundary=boundary), spec.BatchNorm(1e-3),
                        spec.Activation("relu"), spec.Measure("o")), 1,
                       stem=spec.conv_stem(C, 3, boundary))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, 8, 8, C0))
    dx = rng.standard_normal(x.shape)
    out, tan = Propagator(net, EngineOptions(dtype="float64")).forward(x, dx, GaussianStream(4))
    stream = GaussianStream(4)
    k0 = _draw_kernel(stream, 3, C0, C, 1.0)
    k1 = _draw_kernel(stream, 3, C, C, 2.0)
    h = conv_oracle(conv_oracle(x, k0, 2, boundary), k1, 1, boundary)
    dh = conv_oracle(conv_oracle(dx, k0, 2, boundary), k1, 1, boundary)
    mean = h.mean(axis=(0, 1, 2))
    sd = np.sqrt(h.var(axis=(0, 1, 2)) + 1e-3)
    z = (h - mean) / sd
    np.testing.assert_allclose(out, np.maximum(z, 0.0), atol=1e-10)
    np.testing.assert_allclose(tan, (dh / sd) * (z > 0), atol=1e-10)


def test_engine_moments_pool_inputs_and_positions():
    # recorded moments = per-channel moments over (batch, H, W), averaged over channels
    net = spec.Network((spec.Conv(kernel_size=3), spec.Activation("relu"),
                        spec.Measure("o", reff=True)), 2, stem=spec.conv_stem(6))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 8, 8, 3))
    prop = Propagator(net, EngineOptions(dtype="float64"))
    rec, _ = prop.run(x, rng.standard_normal(x.shape), GaussianStream(9))
    st = prop.last_state
    y = st.Z[: st.B].reshape(4, 4, 4, 6)
    c = y - y.mean(axis=(0, 1, 2))
    assert rec["mu2_signal_o"][-1] == pytest.approx(np.mean(c**2), rel=1e-12)
    assert rec["mu4_signal_o"][-1] == pytest.approx(np.mean(c**4), rel=1e-12)
    assert rec["nu1_abs_signal_o"][-1] == pytest.approx(np.mean(np.abs(y)), rel=1e-12)
    s = np.linalg.svd(c.reshape(-1, 6), compute_uv=False) ** 2
    assert rec["reff_signal_o"][-1] == pytest.approx(s.sum() / s[0], rel=1e-10)


@settings(max_examples=30, deadline=None)
@given(rows=st.integers(2, 9000), C=st.integers(1, 12), seed=st.integers(0, 2**31),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_channel_effective_rank_matches_svd(rows, C, seed, dtype):
    rng = np.random.default_rng(seed)
    Z = (rng.standard_normal((rows, C)) * rng.uniform(0.1, 3, C) + rng.normal(0, 5, C)
         ).astype(dtype)
    a = rows // 3
    r = conv.channel_effective_rank(Z, a, rows, threads=2) if rows - a >= 2 else None
    if r is None:
        return
    T = Z[a:].astype(np.float64)
    s = np.linalg.svd(T - T.mean(axis=0), compute_uv=False) ** 2
    expect = max(s.sum() / s[0], 1.0) if s[0] > 0 else float("nan")
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    assert 1.0 <= r <= C * (1 + rtol)
    assert r == pytest.approx(expect, rel=rtol)


def test_kernel_size_one_conv_equals_dense_network():
    # a 1x1 convolution on 1x1 maps is the dense layer, draw for draw
    d = 16
    x = np.random.default_rng(2).standard_normal((5, d))
    dx = np.random.default_rng(3).standard_normal((5, d))
    for layer in (spec.Dense(), spec.Conv(kernel_size=1)):
        net = spec.Network((layer, spec.Activation("relu"), spec.Measure("o", reff=True)), 4)
        shape = (5, d) if isinstance(layer, spec.Dense) else (5, 1, 1, d)
        opts = EngineOptions(dtype="float64", path="dense")
        rec, _ = Propagator(net, opts).run(x.reshape(shape), dx.reshape(shape),
                                           GaussianStream(5))
        if isinstance(layer, spec.Dense):
            dense_rec = rec
    for key, v in dense_rec.items():
        np.testing.assert_allclose(rec[key], v, rtol=1e-12, err_msg=key)


@pytest.mark.parametrize("boundary", spec.BOUNDARIES)
def test_conv_tangent_equals_finite_difference(boundary):
    net = spec.vanilla(6, 3, kernel_size=3, boundary=boundary)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 8, 8, 3))
    dx = rng.standard_normal(x.shape)
    prop = Propagator(net, EngineOptions(dtype="float64"))
    _, tangent = prop.forward(x, dx, GaussianStream(11))
    h = 1e-6
    plus, _ = prop.forward(x + h * dx, None, GaussianStream(11))
    minus, _ = prop.forward(x - h * dx, None, GaussianStream(11))
    fd = (plus - minus) / (2 * h)
    np.testing.assert_allclose(tangent, fd, rtol=1e-6, atol=1e-7 * np.abs(fd).max())


def test_he_relu_periodic_conv_preserves_expected_squared_norm():
    # periodic: every input position enters k^2 outputs, so E ||relu(K * x)||^2 = ||x||^2
    # exactly (He, C_out = C_in). Per draw the ratio's relative sd is <= sqrt(5 / C) (the
    # collinear worst case of the dense layer, positions only average it down): with n = 1500
    # draws of C = 32 the standard error is <= 0.0102; tolerance 5 SE (p < 1e-6).
    net = spec.Network((spec.Conv(kernel_size=3), spec.Activation("relu"), spec.Measure("o")), 1)
    x = np.random.default_rng(1).standard_normal((2, 6, 6, 32)) + 0.5
    prop = Propagator(net, EngineOptions(tangent=False, dtype="float64", threads=1))
    n = 1500
    ratios = np.empty(n)
    for i in range(n):
        out, _ = prop.forward(x, None, GaussianStream(np.random.SeedSequence(99, spawn_key=(i,))))
        ratios[i] = np.sum(out**2) / np.sum(x**2)
    assert abs(ratios.mean() - 1.0) < 5 * math.sqrt(5 / 32 / n)


def test_conv_results_do_not_depend_on_thread_count(monkeypatch):
    monkeypatch.setattr(conv, "PATCH_CHUNK_BYTES", 4096)  # many chunks per layer
    monkeypatch.setattr(conv, "COV_CHUNK_ROWS", 64)
    outs = []
    for threads in (1, 2, 3):
        res = run_experiment("bn_res", 4, 3, 8, 4, 2, dataset="gaussian", num_computations=2,
                             quiet=True, threads=threads, seed=5, workers=1)  # patched here
        outs.append(res.arrays)
    for other in outs[1:]:
        for k, v in outs[0].items():
            np.testing.assert_array_equal(v, other[k], err_msg=k)


@pytest.mark.parametrize("arch", ["vanilla", "bn_ff", "bn_res"])
@pytest.mark.parametrize("boundary", spec.BOUNDARIES)
def test_run_experiment_conv_writes_moments_dnns_keys(arch, boundary, tmp_path):
    res = run_experiment(arch, 4, 3, 8, 4, 2, boundary=boundary, dataset="natural",
                         num_computations=2, quiet=True)
    fc = run_experiment(arch, 4, 1, 8, 4, 2, dataset="gaussian", num_computations=2,
                        quiet=True)
    assert sorted(res.arrays) == sorted(fc.arrays)
    for k, v in res.arrays.items():
        assert v.shape == fc.arrays[k].shape, k
    assert res.metadata["config"]["kernel_size"] == 3
    assert res.metadata["config"]["boundary"] == boundary
    path = tmp_path / "x.npz"
    res.save(path)
    with np.load(path, allow_pickle=False) as z:
        assert set(res.to_npz_dict()) <= set(z.files)


def test_mnist_sized_inputs_run_at_native_size():
    from simulate.inputs import GaussianSource

    net = spec.bn_ff(8, 2, kernel_size=3)
    res = run_network(net, GaussianSource((28, 28, 1)), batch_size=3, quiet=True)
    assert np.all(np.isfinite(res["mu2_signal_loc4"]))


def test_conv_refusals_name_the_parameter():
    conv_net = spec.vanilla(8, 2, kernel_size=3)
    fc_net = spec.vanilla(8, 2)
    with pytest.raises(ConfigError, match="fully-connected network"):
        Propagator(fc_net, EngineOptions()).run(np.ones((2, 4, 4, 3)), None, GaussianStream(0))
    with pytest.raises(ConfigError, match="convolutional network; it needs images"):
        Propagator(conv_net, EngineOptions()).run(np.ones((2, 12)), None, GaussianStream(0))
    with pytest.raises(ConfigError, match="families="):
        Propagator(conv_net, EngineOptions(families=("sample_stats",)))
    with pytest.raises(ConfigError, match="backward=True"):
        Propagator(conv_net, EngineOptions(backward=True, path="dense"))
    with pytest.raises(ConfigError, match="inputs has shape"):
        run_network(conv_net, np.ones((2, 12)), quiet=True)
    with pytest.raises(ConfigError, match="threads=0"):
        EngineOptions(threads=0)
    with pytest.raises(ConfigError, match="stride=2 is not allowed for a 5x5"):
        Propagator(conv_net, EngineOptions()).run(np.ones((2, 5, 5, 3)), None,
                                                 GaussianStream(0))
    with pytest.raises(ConfigError, match="boundary='mirror'"):
        run_experiment("vanilla", 2, 3, 8, 2, 1, boundary="mirror", num_computations=1)


def test_cli_conv_simulate_and_bad_boundary(tmp_path, capsys):
    from reports.cli import main

    out = tmp_path / "c.npz"
    rc = main(["simulate", "--architecture", "bn_ff", "--kernel-size", "3", "--boundary",
               "symmetric", "--num-channels", "8", "--total-depth", "4", "--batch-size", "4",
               "--num-sims", "2", "--dataset", "natural", "--quiet", "--out", str(out)])
    assert rc == 0 and out.exists()
    with np.load(out, allow_pickle=False) as z:
        assert z["reff_signal_loc4"].shape == (2, 4)
    for bad, word in ((["--kernel-size", "2", "--boundary", "symmetric"], "kernel_size=2"),
                      (["--kernel-size", "0"], "kernel_size=0")):
        rc = main(["simulate", "--architecture", "vanilla", "--num-channels", "8",
                   "--total-depth", "2", "--batch-size", "2", "--num-sims", "1",
                   "--out", str(tmp_path / "bad.npz"), *bad])
        assert rc == 2
        err = capsys.readouterr().err
        assert word in err and "Traceback" not in err
        assert not (tmp_path / "bad.npz").exists()


def test_same_seed_same_conv_arrays():
    a = run_experiment("vanilla", 2, 3, 8, 3, 2, dataset="gaussian", num_computations=1,
                       quiet=True, seed=1)
    b = run_experiment("vanilla", 2, 3, 8, 3, 2, dataset="gaussian", num_computations=1,
                       quiet=True, seed=1)
    c = run_experiment("vanilla", 2, 3, 8, 3, 2, dataset="gaussian", num_computations=1,
                       quiet=True, seed=2)
    np.testing.assert_array_equal(a["mu2_signal_loc3"], b["mu2_signal_loc3"])
    assert not np.array_equal(a["mu2_signal_loc3"], c["mu2_signal_loc3"])


@pytest.mark.parametrize("boundary", spec.BOUNDARIES)
def test_conv_spectra_are_the_patch_covariance_of_the_next_conv(boundary):
    # L7's C, D at conv: the K x K (K = k^2 N) covariance and noise second moment of the
    # M = B n^2 patches the following conv sees; the record (from the 2M x 2M patch Gram
    # matrix) against eigh of the K x K matrices built from the stem output
    B, C0, C = 3, 2, 5
    stem = spec.conv_stem(C, 3, boundary)
    net = spec.Network((spec.Measure("loc1"), spec.Conv(kernel_size=3, boundary=boundary),
                        spec.Measure("o")), 1, stem=stem)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((B, 8, 8, C0))
    dx = rng.standard_normal(x.shape)
    opts = EngineOptions(dtype="float64", families=("moments", "spectra"))
    rec, _ = Propagator(net, opts).run(x, dx, GaussianStream(7))
    assert "cov_eigvals_o" not in rec  # no conv follows: no patch spectra there
    k0 = _draw_kernel(GaussianStream(7), 3, C0, C, 1.0)
    h = conv_oracle(x, k0, 2, boundary)
    dh = conv_oracle(dx, k0, 2, boundary)
    p = conv.patches(h, 3, 1, boundary)
    dp = conv.patches(dh, 3, 1, boundary)
    m = p.shape[0]
    pc = p - p.mean(axis=0)
    cov = pc.T @ pc / m
    dmom = dp.T @ dp / m
    w, u = np.linalg.eigh(cov)
    w, u = w[::-1], u[:, ::-1]
    r = int(np.sum(w > w[0] * 1e-10))
    lam = rec["cov_eigvals_loc1"][0]
    proj = rec["noise_proj_loc1"][0]
    assert lam.shape == (m,) and proj.shape == (m,)
    np.testing.assert_allclose(lam[:r], w[:r], rtol=1e-9, atol=1e-12 * w[0])
    np.testing.assert_allclose(lam[r:], 0.0, atol=1e-9 * w[0])
    expected = np.einsum("ki,kl,li->i", u[:, :r], dmom, u[:, :r]) / np.trace(dmom)
    np.testing.assert_allclose(proj[:r], expected, rtol=1e-7, atol=1e-12)


def test_conv_spectra_refuse_too_many_patches():
    net = spec.bn_ff(4, 1, kernel_size=3)
    opts = EngineOptions(families=("moments", "spectra"))
    with pytest.raises(ConfigError, match="batch_size x H x W <= 4096"):
        Propagator(net, opts).run(np.ones((17, 32, 32, 3)), np.ones((17, 32, 32, 3)),
                                  GaussianStream(0))
