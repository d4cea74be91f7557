"""Tests of simulate.inputs: file formats, standardisation, sampling, errors, synthetic sets."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import re
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest

from simulate import inputs as I
from simulate.inputs import (
    DATASETS,
    InputDataError,
    make_input_source,
)

N_PER = 20  # records per small CIFAR batch file


# ------------------------------------------------------------------------------ file writers


def chw_pattern(n0: int, n: int) -> np.ndarray:
    """uint8 images (n, 3, 32, 32) in CHW order with a value that identifies (img, c, h, w)."""
    img = np.arange(n0, n0 + n)[:, None, None, None]
    c = np.arange(3)[None, :, None, None]
    h = np.arange(32)[None, None, :, None]
    w = np.arange(32)[None, None, None, :]
    return ((img * 37 + c * 85 + h * 7 + w * 3) % 256).astype(np.uint8)


def expected_hwc(n0: int, n: int) -> np.ndarray:
    return chw_pattern(n0, n).transpose(0, 2, 3, 1)


def cifar_bin_bytes(n0: int, n: int) -> bytes:
    labels = (np.arange(n0, n0 + n) % 10).astype(np.uint8)[:, None]
    rec = np.concatenate([labels, chw_pattern(n0, n).reshape(n, 3072)], axis=1)
    return rec.tobytes()


def cifar_py_bytes(n0: int, n: int, protocol: int = 2) -> bytes:
    d = {
        b"batch_label": b"training batch",
        b"labels": list(np.arange(n0, n0 + n) % 10),  # numpy scalars: multiarray.scalar
        b"data": chw_pattern(n0, n).reshape(n, 3072),
        b"filenames": [f"img_{i}.png".encode() for i in range(n0, n0 + n)],
    }
    return pickle.dumps(d, protocol=protocol)


def write_cifar(folder: Path, kind: str, nfiles: int = 5) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(1, nfiles + 1):
        n0 = (k - 1) * N_PER
        if kind == "bin":
            (folder / f"data_batch_{k}.bin").write_bytes(cifar_bin_bytes(n0, N_PER))
        else:
            (folder / f"data_batch_{k}").write_bytes(cifar_py_bytes(n0, N_PER))
    # test batch and meta files exist in the real distribution; must be ignored
    if kind == "bin":
        (folder / "test_batch.bin").write_bytes(cifar_bin_bytes(1000, 3))
        (folder / "batches.meta.txt").write_text("airplane\nautomobile\n")
    else:
        (folder / "test_batch").write_bytes(cifar_py_bytes(1000, 3))


def write_archive(archive: Path, sub: str, members: dict[str, bytes]) -> None:
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"{sub}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def mnist_images(n: int) -> np.ndarray:
    i = np.arange(n)[:, None, None]
    h = np.arange(28)[None, :, None]
    w = np.arange(28)[None, None, :]
    img = ((i * 11 + h * 5 + w * 9) % 256).astype(np.uint8)
    img[:, 0, :] = 0  # constant border row, like real MNIST
    img[:, :, 0] = 0
    return img


def idx_bytes(images: np.ndarray, magic: int = 0x00000803) -> bytes:
    n, r, c = images.shape
    return struct.pack(">IIII", magic, n, r, c) + images.tobytes()


# ------------------------------------------------------------------------------ CIFAR-10


@pytest.mark.parametrize("kind", ["bin", "py"])
def test_cifar_folder_decodes_exact_pixels_hwc(tmp_path, kind):
    write_cifar(tmp_path, kind)
    imgs = I.load_cifar10(tmp_path)
    assert imgs.dtype == np.uint8 and imgs.shape == (5 * N_PER, 32, 32, 3)
    np.testing.assert_array_equal(imgs, expected_hwc(0, 5 * N_PER))
    # spot check the CHW -> HWC mapping by hand: image 3, channel 2 (B), row 5, col 7
    assert imgs[3, 5, 7, 2] == (3 * 37 + 2 * 85 + 5 * 7 + 7 * 3) % 256


@pytest.mark.parametrize(
    "kind,sub", [("bin", "cifar-10-batches-bin"), ("py", "cifar-10-batches-py")]
)
def test_cifar_extracted_subfolder(tmp_path, kind, sub):
    write_cifar(tmp_path / sub, kind)
    np.testing.assert_array_equal(I.load_cifar10(tmp_path), expected_hwc(0, 5 * N_PER))


@pytest.mark.parametrize("kind", ["bin", "py"])
def test_cifar_tar_gz_archives(tmp_path, kind):
    if kind == "bin":
        name, sub = "cifar-10-binary.tar.gz", "cifar-10-batches-bin"
        members = {
            f"data_batch_{k}.bin": cifar_bin_bytes((k - 1) * N_PER, N_PER) for k in range(1, 6)
        }
        members["test_batch.bin"] = cifar_bin_bytes(999, 2)
    else:
        name, sub = "cifar-10-python.tar.gz", "cifar-10-batches-py"
        members = {f"data_batch_{k}": cifar_py_bytes((k - 1) * N_PER, N_PER) for k in range(1, 6)}
        members["batches.meta"] = pickle.dumps({b"label_names": [b"airplane"]}, protocol=2)
    write_archive(tmp_path / name, sub, members)
    np.testing.assert_array_equal(I.load_cifar10(tmp_path), expected_hwc(0, 5 * N_PER))
    np.testing.assert_array_equal(I.load_cifar10(tmp_path / name), expected_hwc(0, 5 * N_PER))
    assert list(tmp_path.iterdir()) == [tmp_path / name]  # nothing extracted to disk


def test_cifar_fewer_batches_warns(tmp_path):
    write_cifar(tmp_path, "bin", nfiles=3)
    with pytest.warns(UserWarning, match="only 3 of 5"):
        imgs = I.load_cifar10(tmp_path)
    np.testing.assert_array_equal(imgs, expected_hwc(0, 3 * N_PER))


def test_cifar_source_fc_and_conv(tmp_path):
    write_cifar(tmp_path, "bin")
    fc = make_input_source("cifar10", kernel_size=1, data_dir=tmp_path)
    assert fc.shape == (3072,) and fc.num_examples == 5 * N_PER
    x = fc.sample(16, np.random.default_rng(0))
    assert x.dtype == np.float64 and x.shape == (16, 3072)
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(x.std(axis=0), 1, atol=1e-12)

    conv = make_input_source("cifar10", kernel_size=3, data_dir=str(tmp_path))
    assert conv.shape == (32, 32, 3)
    y = conv.sample(16, np.random.default_rng(0))
    assert y.shape == (16, 32, 32, 3)
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=(0, 1, 2)), 1, atol=1e-12)
    # the same rng state selects the same images in both layouts: FC = flattened HWC
    idx = np.random.default_rng(0).choice(5 * N_PER, size=16, replace=False)
    raw = expected_hwc(0, 5 * N_PER)[idx].astype(float)
    ref_fc = raw.reshape(16, -1)
    ref_fc = (ref_fc - ref_fc.mean(0)) / ref_fc.std(0)
    np.testing.assert_allclose(x, ref_fc, atol=1e-12)
    ref_conv = (raw - raw.mean((0, 1, 2))) / raw.std((0, 1, 2))
    np.testing.assert_allclose(y, ref_conv, atol=1e-12)


def test_sampling_determinism_and_without_replacement(tmp_path):
    write_cifar(tmp_path, "bin")
    src = make_input_source("cifar10", data_dir=tmp_path)
    a = src.sample(50, np.random.default_rng(123))
    b = src.sample(50, np.random.default_rng(123))
    c = src.sample(50, np.random.default_rng(124))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    idx = src.sample_indices(src.num_examples, np.random.default_rng(5))
    assert sorted(idx.tolist()) == list(range(src.num_examples))  # full batch = permutation
    for seed in range(20):
        idx = src.sample_indices(60, np.random.default_rng(seed))
        assert len(np.unique(idx)) == 60
    # all images are distinct, so distinct rows <=> no repeated image in a batch
    full = src.sample(src.num_examples, np.random.default_rng(0))
    assert len(np.unique(full, axis=0)) == src.num_examples


def test_env_var_fallback(tmp_path, monkeypatch):
    write_cifar(tmp_path, "py")
    monkeypatch.setenv(I.DATA_DIR_ENV, str(tmp_path))
    src = make_input_source("cifar10")
    assert src.num_examples == 5 * N_PER
    monkeypatch.delenv(I.DATA_DIR_ENV)
    with pytest.raises(InputDataError, match=r"^data_dir: .*DNN_MOMENTS_DATA_DIR"):
        make_input_source("cifar10")
    with pytest.raises(InputDataError, match=r"^data_dir: .*DNN_MOMENTS_DATA_DIR"):
        make_input_source("mnist")


# ------------------------------------------------------------------------------ CIFAR errors


def one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_cifar_no_files(tmp_path):
    (tmp_path / "unrelated.txt").write_text("x")
    with pytest.raises(InputDataError) as e:
        I.load_cifar10(tmp_path)
    msg = one_line(e)
    assert msg.startswith(f"data_dir: no CIFAR-10 training files found in {tmp_path}")
    assert "data_batch_1.bin..data_batch_5.bin" in msg and "cifar-10-python.tar.gz" in msg
    with pytest.raises(InputDataError, match=r"^data_dir: .* does not exist"):
        I.load_cifar10(tmp_path / "missing")


def test_cifar_truncated_binary(tmp_path):
    write_cifar(tmp_path, "bin")
    p = tmp_path / "data_batch_2.bin"
    p.write_bytes(p.read_bytes()[:-100])
    with pytest.raises(InputDataError) as e:
        I.load_cifar10(tmp_path)
    assert one_line(e).startswith("data_dir: ") and "data_batch_2.bin" in str(e.value)
    assert "3073-byte" in str(e.value)
    p.write_bytes(b"")
    with pytest.raises(InputDataError, match="^data_dir: .*data_batch_2.bin"):
        I.load_cifar10(tmp_path)


def test_cifar_bad_label_byte(tmp_path):
    write_cifar(tmp_path, "bin", nfiles=1)
    raw = bytearray((tmp_path / "data_batch_1.bin").read_bytes())
    raw[0] = 200
    (tmp_path / "data_batch_1.bin").write_bytes(bytes(raw))
    with pytest.raises(InputDataError, match=r"^data_dir: .*label byte 200"):
        I.load_cifar10(tmp_path)


@pytest.mark.parametrize(
    "payload,needle",
    [
        ({b"data": np.zeros((4, 100), np.uint8), b"labels": [0] * 4}, "shape"),
        ({b"data": np.zeros((4, 3072), np.float32), b"labels": [0] * 4}, "uint8"),
        ({b"data": np.zeros((4, 3072), np.uint8), b"labels": [0] * 3}, "3 labels for 4"),
        ([1, 2, 3], "dict"),
    ],
)
def test_cifar_python_wrong_content(tmp_path, payload, needle):
    (tmp_path / "data_batch_1").write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(InputDataError) as e:
        I.load_cifar10(tmp_path)
    assert one_line(e).startswith("data_dir: ") and needle in str(e.value)


def test_cifar_python_truncated_pickle(tmp_path):
    write_cifar(tmp_path, "py")
    p = tmp_path / "data_batch_4"
    p.write_bytes(p.read_bytes()[:500])
    with pytest.raises(InputDataError) as e:
        I.load_cifar10(tmp_path)
    assert one_line(e).startswith("data_dir: ") and "data_batch_4" in str(e.value)


class _Evil:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_restricted_unpickler_refuses_os_system(tmp_path, protocol):
    marker = tmp_path / "pwned"
    evil = {b"data": _Evil(str(marker)), b"labels": []}
    blob = pickle.dumps(evil, protocol=protocol)
    assert b"system" in blob  # the pickle really references os.system / posix.system
    (tmp_path / "data_batch_1").write_bytes(blob)
    with pytest.raises(InputDataError) as e:
        I.load_cifar10(tmp_path)
    assert "not allowed" in one_line(e)
    assert not marker.exists()
    # also inside an archive
    marker2 = tmp_path / "pwned2"
    write_archive(
        tmp_path / "cifar-10-python.tar.gz",
        "cifar-10-batches-py",
        {"data_batch_1": pickle.dumps({b"data": _Evil(str(marker2))}, protocol=2)},
    )
    (tmp_path / "data_batch_1").unlink()
    with pytest.raises(InputDataError, match="not allowed"):
        I.load_cifar10(tmp_path)
    assert not marker2.exists()


def test_restricted_unpickler_refuses_other_codecs(tmp_path):
    # _codecs.encode is allowed only as the latin1 shim used by protocol-2 bytes
    blob = b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x05\x00\x00\x00rot13\x86R."
    (tmp_path / "data_batch_1").write_bytes(blob)
    with pytest.raises(InputDataError, match="refused"):
        I.load_cifar10(tmp_path)


def test_cifar_corrupt_archive(tmp_path):
    members = {f"data_batch_{k}.bin": cifar_bin_bytes(0, N_PER) for k in range(1, 6)}
    write_archive(tmp_path / "cifar-10-binary.tar.gz", "cifar-10-batches-bin", members)
    p = tmp_path / "cifar-10-binary.tar.gz"
    p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])
    with pytest.raises(InputDataError) as e:
        I.load_cifar10(tmp_path)
    assert one_line(e).startswith("data_dir: ") and "cifar-10-binary.tar.gz" in str(e.value)
    write_archive(p, "cifar-10-batches-bin", {"readme.html": b"<html/>"})
    with pytest.raises(InputDataError, match=r"^data_dir: archive .* contains none of"):
        I.load_cifar10(tmp_path)


# ------------------------------------------------------------------------------ MNIST


@pytest.mark.parametrize("name", ["train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"])
def test_mnist_idx_plain_and_gz(tmp_path, name):
    imgs = mnist_images(30)
    raw = idx_bytes(imgs)
    (tmp_path / name).write_bytes(gzip.compress(raw) if name.endswith(".gz") else raw)
    out = I.load_mnist(tmp_path)
    assert out.shape == (30, 28, 28, 1) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., 0], imgs)
    src = make_input_source("mnist", kernel_size=1, data_dir=tmp_path)
    assert src.shape == (784,)
    x = src.sample(10, np.random.default_rng(0))
    assert np.all(np.isfinite(x))
    border = x.reshape(10, 28, 28)[:, 0, :]
    np.testing.assert_array_equal(border, 0.0)  # constant features stay 0, not NaN
    inner = x.reshape(10, 28, 28)[:, 1:, 1:].reshape(10, -1)
    varying = inner.std(axis=0) > 0
    np.testing.assert_allclose(inner[:, varying].std(axis=0), 1, atol=1e-12)
    conv = make_input_source("mnist", kernel_size=5, data_dir=tmp_path)
    assert conv.shape == (28, 28, 1)
    y = conv.sample(30, np.random.default_rng(1))
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=(0, 1, 2)), 1, atol=1e-12)


def test_mnist_subfolder_and_file_path(tmp_path):
    (tmp_path / "MNIST" / "raw").mkdir(parents=True)
    f = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    f.write_bytes(idx_bytes(mnist_images(4)))
    assert I.load_mnist(tmp_path).shape == (4, 28, 28, 1)
    assert I.load_mnist(f).shape == (4, 28, 28, 1)


def test_mnist_errors(tmp_path):
    f = tmp_path / "train-images-idx3-ubyte"
    with pytest.raises(InputDataError) as e:
        I.load_mnist(tmp_path)
    assert one_line(e).startswith(f"data_dir: no MNIST training images found in {tmp_path}")
    f.write_bytes(idx_bytes(mnist_images(3), magic=0x00000801))
    with pytest.raises(InputDataError) as e:
        I.load_mnist(tmp_path)
    assert one_line(e) == (f"data_dir: {f} has bad magic number 0x00000801 (expected 0x00000803)")
    f.write_bytes(idx_bytes(mnist_images(3))[:-1])
    with pytest.raises(InputDataError, match=r"^data_dir: .*\(truncated\)"):
        I.load_mnist(tmp_path)
    f.write_bytes(idx_bytes(mnist_images(3)) + b"\0")
    with pytest.raises(InputDataError, match=r"^data_dir: .*trailing bytes"):
        I.load_mnist(tmp_path)
    f.write_bytes(b"\0\0\x08")
    with pytest.raises(InputDataError, match=r"^data_dir: .*16-byte IDX header"):
        I.load_mnist(tmp_path)
    f.write_bytes(struct.pack(">IIII", 0x803, 2, 32, 32) + bytes(2 * 32 * 32))
    with pytest.raises(InputDataError, match=r"^data_dir: .*expected Nx28x28"):
        I.load_mnist(tmp_path)
    f.unlink()
    g = tmp_path / "train-images-idx3-ubyte.gz"
    g.write_bytes(gzip.compress(idx_bytes(mnist_images(3)))[:-20])
    with pytest.raises(InputDataError, match=r"^data_dir: .*gzip"):
        I.load_mnist(tmp_path)


# ------------------------------------------------------------------------------ parameters


def test_parameter_errors(tmp_path):
    cases = [
        (
            dict(dataset="foo"),
            "dataset='foo' is not one of gaussian, correlated, natural, cifar10, mnist",
        ),
        (dict(dataset="gaussian", kernel_size=0), "kernel_size=0 must be >= 1"),
        (dict(dataset="gaussian", kernel_size=1.5), "kernel_size=1.5 must be an integer >= 1"),
        (dict(dataset="gaussian", input_dim=0), "input_dim=0 must be >= 1"),
        (dict(dataset="gaussian", kernel_size=3, input_dim=100), "input_dim=100 is only"),
        (dict(dataset="natural", input_dim=100), "input_dim=100 is only"),
        (dict(dataset="gaussian", effective_rank=3.0), "effective_rank=3.0 applies only"),
        (
            dict(dataset="correlated", input_dim=20, effective_rank=0.5),
            "effective_rank=0.5 must be in [1, D=20]",
        ),
        (
            dict(dataset="correlated", input_dim=20, effective_rank=21),
            "effective_rank=21 must be in [1, D=20]",
        ),
        (
            dict(dataset="correlated", input_dim=20, effective_rank=float("nan")),
            "effective_rank=nan must be in [1, D=20]",
        ),
        (dict(dataset="correlated", input_dim=20, effective_rank="x"), "effective_rank='x'"),
        (dict(dataset="correlated", basis="qr"), "basis='qr' is not one of structured, haar"),
        (dict(dataset="cifar10", data_dir=tmp_path / "nope"), "data_dir: "),
    ]
    for kwargs, start in cases:
        dataset = kwargs.pop("dataset")
        with pytest.raises(InputDataError) as e:
            make_input_source(dataset, **kwargs)
        assert isinstance(e.value, ValueError)
        assert one_line(e).startswith(start), (dataset, kwargs, str(e.value))


def test_batch_size_errors(tmp_path):
    write_cifar(tmp_path, "bin")
    src = make_input_source("cifar10", data_dir=tmp_path)
    rng = np.random.default_rng(0)
    with pytest.raises(InputDataError) as e:
        src.sample(5 * N_PER + 1, rng)
    assert one_line(e).startswith(f"batch_size={5 * N_PER + 1} is larger than the {5 * N_PER}")
    for bad in (0, -3):
        with pytest.raises(InputDataError, match=rf"^batch_size={bad} must be >= 1"):
            src.sample(bad, rng)
    with pytest.raises(InputDataError, match=r"^batch_size=2.0 must be an integer"):
        src.sample(2.0, rng)
    with pytest.raises(InputDataError, match=r"^rng: expected a numpy.random.Generator"):
        src.sample(2, np.random.RandomState(0))
    g = make_input_source("gaussian")
    with pytest.raises(InputDataError, match=r"^batch_size=0 must be >= 1"):
        g.sample(0, rng)


# ------------------------------------------------------------------------------ synthetic sets


def test_datasets_tuple():
    assert DATASETS == ("gaussian", "correlated", "natural", "cifar10", "mnist")


def test_gaussian_shapes_and_standardisation():
    g = make_input_source("gaussian")
    assert g.name == "gaussian" and g.shape == (3072,)
    x = g.sample(8, np.random.default_rng(0))
    assert x.shape == (8, 3072)
    np.testing.assert_allclose(x.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(x.std(0), 1, atol=1e-12)
    np.testing.assert_array_equal(x, g.sample(8, np.random.default_rng(0)))
    assert make_input_source("gaussian", input_dim=10).sample(
        4, np.random.default_rng(1)
    ).shape == (4, 10)
    c = make_input_source("gaussian", kernel_size=3)
    y = c.sample(4, np.random.default_rng(0))
    assert c.shape == (32, 32, 3) and y.shape == (4, 32, 32, 3)
    np.testing.assert_allclose(y.mean((0, 1, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(y.std((0, 1, 2)), 1, atol=1e-12)


def test_standardize_constant_feature_and_single_example():
    x = np.array([[1.0, 5.0, 2.0], [3.0, 5.0, 2.0], [5.0, 5.0, 2.0]])
    y = I.standardize(x.copy())
    np.testing.assert_allclose(y[:, 0], [-np.sqrt(1.5), 0, np.sqrt(1.5)])
    np.testing.assert_array_equal(y[:, 1:], 0.0)
    # batch of one: every feature constant -> all zeros, no NaN
    z = I.standardize(np.array([[0.1, 0.2, 0.3]]))
    np.testing.assert_array_equal(z, 0.0)


@pytest.mark.parametrize("basis", ["structured", "haar"])
@pytest.mark.parametrize("dim,r", [(40, 1.0), (40, 1.3), (40, 7.5), (40, 40.0), (200, 10.0)])
def test_correlated_population_effective_rank(dim, r, basis):
    src = make_input_source("correlated", input_dim=dim, effective_rank=r, basis=basis)
    assert src.shape == (dim,)
    assert src.population_effective_rank == pytest.approx(r, rel=1e-12)
    cov = src.covariance()
    np.testing.assert_allclose(np.diag(cov), 1.0, atol=1e-10)  # unit diagonal
    ev = np.linalg.eigvalsh(cov)
    assert ev.sum() / ev[-1] == pytest.approx(r, rel=1e-9)
    np.testing.assert_allclose(np.sort(ev), np.sort(src.eigenvalues), atol=1e-9)
    # eigenvalues are a power law in the index (or the limits)
    lam = src.eigenvalues
    assert np.all(np.diff(lam) <= 1e-15)


def test_correlated_sample_effective_rank_and_basis_fixed():
    src = make_input_source("correlated", input_dim=60, effective_rank=6.0)
    x = src.sample(20000, np.random.default_rng(0))
    np.testing.assert_allclose(x.std(0), 1, atol=1e-12)
    assert I.sample_effective_rank(x) == pytest.approx(6.0, rel=0.03)
    again = make_input_source("correlated", input_dim=60, effective_rank=6.0)
    np.testing.assert_array_equal(again.covariance(), src.covariance())  # fixed basis seed
    other = make_input_source("correlated", input_dim=60, effective_rank=6.0, basis_seed=1)
    assert not np.allclose(other.covariance(), src.covariance())
    np.testing.assert_array_equal(
        src.sample(7, np.random.default_rng(9)), src.sample(7, np.random.default_rng(9))
    )


def test_correlated_conv_shape_default_rank():
    src = make_input_source("correlated", kernel_size=3)
    assert src.shape == (32, 32, 3)
    assert src.population_effective_rank == pytest.approx(10.0, rel=1e-12)
    y = src.sample(4, np.random.default_rng(0))
    assert y.shape == (4, 32, 32, 3)
    np.testing.assert_allclose(y.std((0, 1, 2)), 1, atol=1e-12)


# ------------------------------------------------------------------------------ natural


def test_natural_files_are_real_photographs():
    paths = I._natural_image_paths()
    assert [p.name for p in paths] == list(I.NATURAL_IMAGE_FILES)
    for p in paths:
        assert p.is_file() and p.stat().st_size > 10_000
    src = I.NaturalImageSource(kernel_size=3)
    assert src.files == [str(p) for p in paths]
    assert len(paths) == 8 and sorted(set(src.level_image)) == list(range(8))
    assert src.levels[0].shape == (512, 512, 3)  # astronaut at full scale
    for lv in src.levels:  # colour photographs: the channels differ
        assert np.abs(lv[..., 0] - lv[..., 1]).mean() > 1.0


def test_natural_crops_statistics():
    src = make_input_source("natural", kernel_size=3)
    assert src.name == "natural" and src.shape == (32, 32, 3)
    crops = src.crops(200, np.random.default_rng(0))
    assert crops.shape == (200, 32, 32, 3)
    assert crops.min() >= 0 and crops.max() <= 255 and crops.max() > 150
    # strong correlation between horizontally and vertically neighbouring pixels
    h = np.corrcoef(crops[:, :, :-1].ravel(), crops[:, :, 1:].ravel())[0, 1]
    v = np.corrcoef(crops[:, :-1].ravel(), crops[:, 1:].ravel())[0, 1]
    far = np.corrcoef(crops[:, :, :16].ravel(), crops[:, :, 16:].ravel())[0, 1]
    assert h > 0.8 and v > 0.8 and far < h
    assert len(np.unique(crops.reshape(200, -1), axis=0)) > 190  # crops differ
    x = src.sample(64, np.random.default_rng(1))
    np.testing.assert_allclose(x.mean((0, 1, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(x.std((0, 1, 2)), 1, atol=1e-12)
    assert np.corrcoef(x[:, :, :-1].ravel(), x[:, :, 1:].ravel())[0, 1] > 0.8
    np.testing.assert_array_equal(x, src.sample(64, np.random.default_rng(1)))
    fc = make_input_source("natural")
    z = fc.sample(64, np.random.default_rng(1))
    assert z.shape == (64, 3072)
    np.testing.assert_allclose(z.std(0), 1, atol=1e-12)


def test_natural_crop_matches_image_region():
    img = np.random.default_rng(0).integers(0, 256, size=(40, 50, 3)).astype(float)
    src = I.NaturalImageSource(images=[img], scales=(1,), flip=False, kernel_size=3)
    crops = src.crops(20, np.random.default_rng(3))
    for c in crops:  # every crop is an exact 32x32 window of the image
        hits = [
            (r, q)
            for r in range(9)
            for q in range(19)
            if np.array_equal(img[r : r + 32, q : q + 32], c)
        ]
        assert len(hits) == 1
    flipped = I.NaturalImageSource(images=[img], scales=(1,), flip=True, kernel_size=3)
    fc = flipped.crops(40, np.random.default_rng(4))
    n_flipped = sum(
        any(
            np.array_equal(img[r : r + 32, q : q + 32][:, ::-1], c)
            for r in range(9)
            for q in range(19)
        )
        for c in fc
    )
    assert 5 < n_flipped < 35


def test_error_messages_are_single_line_and_name_parameter():
    with pytest.raises(InputDataError) as e:
        make_input_source("CIFAR10")
    assert re.fullmatch(r"dataset='CIFAR10' is not one of [a-z0-9, ]+", one_line(e))


class _Py2StylePickler(pickle._Pickler):
    """Writes bytes as Python-2 ``str`` opcodes, like the original cPickle'd CIFAR batches."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_bytes(self, obj):
        n = len(obj)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes


def test_cifar_python_py2_style_pickle(tmp_path):
    for k in range(1, 6):
        n0 = (k - 1) * N_PER
        d = {
            b"batch_label": b"training batch",
            b"labels": [int(v) for v in np.arange(n0, n0 + N_PER) % 10],
            b"data": chw_pattern(n0, N_PER).reshape(N_PER, 3072),
        }
        buf = io.BytesIO()
        _Py2StylePickler(buf, protocol=2).dump(d)
        blob = buf.getvalue().replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
        assert b"_codecs" not in blob and b"cnumpy.core.multiarray\n_reconstruct" in blob
        (tmp_path / f"data_batch_{k}").write_bytes(blob)
    np.testing.assert_array_equal(I.load_cifar10(tmp_path), expected_hwc(0, 5 * N_PER))


def test_standardize_matches_reference_and_nearly_constant():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, size=(16, 8, 8, 3)).astype(float)
    ref = (a - a.mean((0, 1, 2))) / a.std((0, 1, 2))
    np.testing.assert_allclose(I.standardize(a.copy()), ref, atol=1e-12)
    b = a.reshape(16, -1)
    np.testing.assert_allclose(I.standardize(b.copy()), (b - b.mean(0)) / b.std(0), atol=1e-12)
    # tiny but non-zero spread is NOT treated as constant; a constant 0.1 column is
    c = np.array([[0.1, 1e6], [0.1, 1e6 + 1e-6], [0.1, 1e6]] * 3)
    out = I.standardize(c)
    np.testing.assert_array_equal(out[:, 0], 0.0)
    np.testing.assert_allclose(out[:, 1].std(), 1.0, rtol=1e-6)
    assert I.standardize(np.arange(6).reshape(3, 2)).dtype == np.float64  # ints accepted


def test_natural_source_pickles_as_a_recipe():
    # worker processes receive the source: the photographs' source pickles as its recipe (a
    # few bytes, re-read once per process), never as its materialised crop windows
    src = I.make_input_source("natural", kernel_size=3, image_size=16)
    blob = pickle.dumps(src)
    assert len(blob) < 1000
    back = pickle.loads(blob)
    assert back.shape == src.shape
    a = src.sample(5, np.random.default_rng(4))
    b = back.sample(5, np.random.default_rng(4))
    np.testing.assert_array_equal(a, b)
    # a source built from given images pickles its pyramid (no file to re-read)
    img = np.random.default_rng(1).integers(0, 255, (40, 50, 3))
    own = I.NaturalImageSource(images=[img], crop=16, scales=(1, 2))
    copy = pickle.loads(pickle.dumps(own))
    np.testing.assert_array_equal(own.sample(3, np.random.default_rng(2)),
                                  copy.sample(3, np.random.default_rng(2)))


def test_correlated_source_pickles_as_its_arguments():
    src = I.make_input_source("correlated", input_dim=300, effective_rank=20.0)
    blob = pickle.dumps(src)
    assert len(blob) < 1000
    back = pickle.loads(blob)
    np.testing.assert_array_equal(src.sample(6, np.random.default_rng(1)),
                                  back.sample(6, np.random.default_rng(1)))
