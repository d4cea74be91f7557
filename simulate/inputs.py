"""Input data for the simulator: batches of B inputs ("signal") for each simulation.

Semantics follow the TensorFlow package moments-dnns (Labatie, ICML 2019):

* For each simulation a batch of ``B`` inputs is drawn. For the real data sets (``cifar10``,
  ``mnist``) the ``B`` images are sampled uniformly WITHOUT replacement from the training set
  (CIFAR-10: 50 000 images 32x32x3; MNIST: 60 000 images 28x28, reshaped to 28x28x1), with
  ``rng.choice(n, size=B, replace=False)`` (O(B) for B << n; ~7 us for B=64 of 50 000, versus
  ~0.5 ms for a full permutation). The same ``Generator`` state gives the same batch.
* If ``kernel_size == 1`` (fully connected networks) every input is flattened to a vector
  (CIFAR-10: D = 3072 features, MNIST: D = 784), flattening the HWC image in C order.
  Otherwise an input has shape (H, W, C).
* The batch is standardised "per channel over batch and positions":
  ``x <- (x - mean) / std`` with mean and population std (ddof=0) over every axis except the
  last one, i.e. over (batch, height, width) per channel for images and PER FEATURE over the
  batch for flattened vectors (see :func:`standardize`). A feature/channel that is exactly
  constant over the batch (e.g. MNIST border pixels) has std 0: it is left at 0 after centring
  instead of becoming NaN.

Data sets (:data:`DATASETS`):

``gaussian``
    i.i.d. N(0, 1) inputs of shape 32x32x3 (or ``(input_dim,)`` when ``kernel_size == 1``,
    default 3072), then standardised.
``correlated``
    Gaussian inputs N(0, Sigma) with a prescribed effective rank ``r_eff = tr Sigma /
    lambda_max`` (:class:`CorrelatedGaussianSource`). Spectrum: power law ``lambda_i ∝ i^-alpha``
    (i = 1..D) with ``alpha >= 0`` solved by ``scipy.optimize.brentq`` so that ``tr / max``
    equals the request (``alpha = 0`` gives ``r_eff = D``; ``r_eff = 1`` is the rank-one limit
    ``alpha = inf``). Eigenbasis: a random orthogonal basis drawn ONCE at construction from a
    fixed seed (keyword ``basis_seed``, default 0; the same seed gives the same Sigma), then
    rotated by Givens rotations (Bendel & Mickey 1978, the algorithm behind
    ``scipy.stats.random_correlation``) so that every diagonal entry of Sigma is exactly 1
    (eigenvalues scaled to sum to D): Sigma is a correlation matrix with the requested
    spectrum. Default ``basis="structured"``: a structured random rotation
    ``Q = P (C S3)(C S2)(C S1)`` (random sign flips S, orthonormal DCT-II C, random row
    permutation P), built in O(D^2 log D) (~0.2 s for D = 3072) instead of the O(D^3) Haar QR
    (~3 s for D = 3072, much more on a loaded machine); its eigenvectors are delocalised like
    Haar ones (max |Q_ik| sqrt(D) ~ 5.4 vs ~5.6). ``basis="haar"`` gives an exactly
    Haar-distributed basis (QR of a Gaussian matrix with sign fix). Since the networks'
    Gaussian weights are rotation invariant in the FC case, only the spectrum and the unit
    diagonal matter there. Why not axis-aligned: the per-feature standardisation of the FC
    case would turn a diagonal covariance back into the identity (r_eff = D), and with a
    non-constant diagonal it would change the spectrum; with unit diagonal the standardisation
    only removes sampling noise, so the requested r_eff is the population effective rank of
    the inputs actually fed to the network. The covariance is over the flattened input (over
    the whole 32x32x3 image when ``kernel_size > 1``).
``natural``
    Random 32x32x3 crops of the eight colour photographs that ship inside scikit-image's wheel
    (``skimage/data``, read with Pillow as float RGB in [0, 255]; nothing is downloaded):
    astronaut (512x512), chelsea (a cat, 451x300), coffee (600x400), hubble_deep_field
    (1000x872), ihc (immunohistochemistry micrograph, 512x512), motorcycle_left (741x500),
    retina (fundus photograph, 1411x1411) and rocket (640x427). Left out: the greyscale
    photographs (camera, coins, moon, ...: their three channels would be identical, unlike
    CIFAR-10's), the stereo twin motorcycle_right, and the charts, logos and textures. To make
    crops more CIFAR-like (whole objects, more texture at 32x32) every photograph is used at
    three scales (box-averaged by factors 1, 2 and 4); each crop picks a photograph uniformly,
    then a scale uniformly, then a position uniformly among all valid positions at that
    scale, then a horizontal flip with probability 1/2 (all with the given ``rng``). Crops are
    drawn independently (with replacement, from ~5.2e6 distinct crops per flip).
``cifar10``
    The local CIFAR-10 training set (:func:`load_cifar10`): binary version
    (``data_batch_1.bin`` ... ``data_batch_5.bin``, records of 1 label byte + 3072 pixel bytes
    in CHW order), python version (``data_batch_1`` ... ``data_batch_5``, pickled dicts read
    with a restricted unpickler that only allows numpy's array reconstruction globals), or the
    distributed archives ``cifar-10-binary.tar.gz`` / ``cifar-10-python.tar.gz`` (read in
    memory with :mod:`tarfile`, never extracted). Images are converted to HWC uint8.
``mnist``
    The IDX file ``train-images-idx3-ubyte`` (or ``.gz``; magic 0x00000803, big-endian dims),
    60 000x28x28 uint8 -> (28, 28, 1) (:func:`load_mnist`).

The data directory of ``cifar10``/``mnist`` is the ``data_dir`` argument, else the environment
variable ``DNN_MOMENTS_DATA_DIR``. Every problem raises :class:`InputDataError` (a
``ValueError``) with a one-line message naming the offending parameter.

Data sets are loaded once (uint8 kept in memory); only the sampled batch is converted to
float64. Notes on parameters: ``input_dim`` only applies to ``gaussian``/``correlated`` with
``kernel_size == 1`` (any other value than the default 3072 is an error elsewhere, since the
shape is then fixed); ``effective_rank`` only applies to ``correlated`` (error otherwise);
``data_dir`` is ignored by the synthetic and ``natural`` sets. CIFAR-10 files with fewer than
10 000 records are accepted (record size is checked), and fewer than 5 training batches are
accepted with a ``UserWarning``.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import tarfile
import warnings
import zlib
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from simulate.errors import ConfigError

__all__ = [
    "DATASETS",
    "DATA_DIR_ENV",
    "InputDataError",
    "InputSource",
    "ArraySource",
    "GaussianSource",
    "CorrelatedGaussianSource",
    "NaturalImageSource",
    "make_input_source",
    "standardize",
    "sample_effective_rank",
    "power_law_spectrum",
    "load_cifar10",
    "load_mnist",
    "resolve_data_dir",
    "NATURAL_IMAGE_FILES",
]

DATASETS = ("gaussian", "correlated", "natural", "cifar10", "mnist")
DATA_DIR_ENV = "DNN_MOMENTS_DATA_DIR"
#: scikit-image's bundled colour photographs (``skimage/data``) used by the ``natural`` data set.
NATURAL_IMAGE_FILES = ("astronaut.png", "chelsea.png", "coffee.png", "hubble_deep_field.jpg",
                       "ihc.png", "motorcycle_left.png", "retina.jpg", "rocket.jpg")

IMAGE_SHAPE = (32, 32, 3)  # shape of synthetic / natural / CIFAR-10 images
_DEFAULT_INPUT_DIM = 3072
_DEFAULT_EFFECTIVE_RANK = 10.0

_CIFAR_RECORD = 1 + 3072
_CIFAR_BIN_FILES = tuple(f"data_batch_{k}.bin" for k in range(1, 6))
_CIFAR_PY_FILES = tuple(f"data_batch_{k}" for k in range(1, 6))
_CIFAR_ARCHIVES = ("cifar-10-binary.tar.gz", "cifar-10-python.tar.gz")
_CIFAR_EXPECTED = (
    "expected data_batch_1.bin..data_batch_5.bin, data_batch_1..data_batch_5, "
    "or cifar-10-binary.tar.gz / cifar-10-python.tar.gz"
)
_MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-images-idx3-ubyte.gz",
    "train-images.idx3-ubyte",
    "train-images.idx3-ubyte.gz",
)
_MNIST_SUBDIRS = (".", "mnist", "MNIST", os.path.join("MNIST", "raw"))
_IDX_MAGIC = 0x00000803


class InputDataError(ConfigError):
    """Any problem with the input-data parameters or files (one-line message)."""


# --------------------------------------------------------------------------------------------
# standardisation and statistics
# --------------------------------------------------------------------------------------------


def standardize(x: np.ndarray) -> np.ndarray:
    """Standardise a batch per channel over batch and positions.

    ``x`` has shape (B, D) or (B, H, W, C); mean and population std (ddof=0) are taken over
    every axis but the last. A channel/feature that is exactly constant over those axes
    (std 0) is set to 0 (centred) instead of NaN. Works in place when ``x`` is already a
    C-contiguous float64 array (otherwise on a float64 copy); returns the result.
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.ndim < 2:
        raise InputDataError(f"x: expected a batch with ndim >= 2, got shape {x.shape}")
    flat = x.reshape(-1, x.shape[-1])  # a view: rows = (batch, positions), cols = channels
    w = np.full(flat.shape[0], 1.0 / flat.shape[0])
    mean = w @ flat  # BLAS reductions: fast for both few channels and many features
    flat -= mean
    var = w @ np.square(flat)
    # exactly constant columns stay exactly constant after centring; the cheap variance test
    # only preselects candidates (rounding can leave var ~ eps^2 mean^2), max == min decides
    cand = np.flatnonzero(var <= 1e-24 * np.square(mean))
    if cand.size:
        sub = flat[:, cand]
        const = cand[sub.max(axis=0) == sub.min(axis=0)]
        var[const] = 1.0
        flat[:, const] = 0.0
    flat /= np.sqrt(var)
    return x


def sample_effective_rank(x: np.ndarray) -> float:
    """Sample effective rank ``tr C / lambda_max(C)`` of the feature covariance of a batch.

    ``x`` is (B, ...); features are flattened; the covariance is centred over the batch.
    """
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    x = x - x.mean(axis=0)
    if x.shape[0] < x.shape[1]:
        gram = x @ x.T  # same non-zero spectrum, cheaper when B < D
    else:
        gram = x.T @ x
    eig = np.linalg.eigvalsh(gram)
    return float(np.trace(gram) / eig[-1])


def _check_batch_size(batch_size: int, limit: int | None = None, what: str = "") -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
        raise InputDataError(f"batch_size={batch_size!r} must be an integer >= 1")
    if batch_size < 1:
        raise InputDataError(f"batch_size={batch_size} must be >= 1")
    if limit is not None and batch_size > limit:
        raise InputDataError(
            f"batch_size={batch_size} is larger than the {limit} images of {what} "
            "(sampling is without replacement)"
        )
    return int(batch_size)


def _check_rng(rng: np.random.Generator) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise InputDataError(
            f"rng: expected a numpy.random.Generator (np.random.default_rng(seed)), "
            f"got {type(rng).__name__}"
        )
    return rng


# --------------------------------------------------------------------------------------------
# sources
# --------------------------------------------------------------------------------------------


class InputSource:
    """A loaded data set that samples standardised batches; built once, reused per simulation.

    Attributes: ``name`` (data set name), ``shape`` (shape of ONE input: ``(D,)`` when
    ``kernel_size == 1``, ``(H, W, C)`` otherwise), ``num_examples`` (size of the finite pool
    sampled without replacement, or ``None`` for generative sources).
    """

    name: str
    shape: tuple[int, ...]
    num_examples: int | None = None

    def __init__(self, name: str, shape: tuple[int, ...]) -> None:
        self.name = name
        self.shape = tuple(int(s) for s in shape)

    @property
    def input_dim(self) -> int:
        """Number of scalar features of one input (prod of ``shape``)."""
        return int(np.prod(self.shape))

    def sample(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        """Draw a standardised float64 batch of shape ``(batch_size, *shape)``."""
        batch_size = _check_batch_size(batch_size, self.num_examples, self.name)
        raw = self._raw(batch_size, _check_rng(rng))
        return standardize(raw.reshape((batch_size, *self.shape)))

    def _raw(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, shape={self.shape})"


def _check_kernel_size(kernel_size: int) -> int:
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, int | np.integer):
        raise InputDataError(f"kernel_size={kernel_size!r} must be an integer >= 1")
    if kernel_size < 1:
        raise InputDataError(f"kernel_size={kernel_size} must be >= 1")
    return int(kernel_size)


def _input_shape(image_shape: tuple[int, ...], kernel_size: int) -> tuple[int, ...]:
    return (int(np.prod(image_shape)),) if kernel_size == 1 else tuple(image_shape)


class ArraySource(InputSource):
    """A finite image set kept in memory as uint8 (N, H, W, C); batches sampled w/o replacement."""

    def __init__(self, name: str, images: np.ndarray, *, kernel_size: int = 1) -> None:
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[0] < 1:
            raise InputDataError(
                f"images: expected a non-empty (N, H, W, C) array, got shape {images.shape}"
            )
        kernel_size = _check_kernel_size(kernel_size)
        super().__init__(name, _input_shape(images.shape[1:], kernel_size))
        self.images = images
        self.image_shape = tuple(images.shape[1:])
        self.num_examples = int(images.shape[0])
        self.kernel_size = kernel_size

    def sample_indices(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        """Indices of one batch: ``rng.choice(n, size=B, replace=False)``."""
        batch_size = _check_batch_size(batch_size, self.num_examples, self.name)
        return _check_rng(rng).choice(self.num_examples, size=batch_size, replace=False)

    def _raw(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        idx = rng.choice(self.num_examples, size=batch_size, replace=False)
        return self.images[idx].astype(np.float64)


class GaussianSource(InputSource):
    """i.i.d. N(0, 1) inputs (then standardised like every batch)."""

    def __init__(self, shape: tuple[int, ...], name: str = "gaussian") -> None:
        super().__init__(name, shape)

    def _raw(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal((batch_size, *self.shape))


def _power_law_exponent(r_eff: float, dim: int) -> float:
    """alpha >= 0 with sum_{i=1..D} i^-alpha == r_eff (1 < r_eff < D), via brentq in log space."""
    from scipy.optimize import brentq
    from scipy.special import logsumexp

    logi = np.log(np.arange(2, dim + 1, dtype=np.float64))
    target = np.log(r_eff - 1.0)

    def f(alpha: float) -> float:
        return float(logsumexp(-alpha * logi)) - target

    hi = 1.0
    while f(hi) > 0:
        hi *= 2.0
    return float(brentq(f, 0.0, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=500))


def power_law_spectrum(r_eff: float, dim: int) -> np.ndarray:
    """Eigenvalues lambda_i ∝ i^-alpha (descending) summing to ``dim`` with sum/max == r_eff."""
    if r_eff >= dim:
        lam = np.ones(dim)
    elif r_eff <= 1.0:
        lam = np.zeros(dim)
        lam[0] = 1.0
    else:
        alpha = _power_law_exponent(r_eff, dim)
        lam = np.exp(-alpha * np.log(np.arange(1, dim + 1, dtype=np.float64)))
    return lam * (dim / lam.sum())


def _haar_columns(dim: int, k: int, seed: int) -> np.ndarray:
    """First k columns of a Haar-distributed orthogonal matrix (QR of a Gaussian, sign-fixed)."""
    g = np.random.default_rng(seed).standard_normal((dim, k))
    q, r = np.linalg.qr(g)
    signs = np.sign(np.diag(r))
    signs[signs == 0] = 1.0
    return q * signs


def _equalize_diagonal(q: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Rotate rows of q (D x k, orthonormal columns) so diag(q diag(lam) q^T) == 1 exactly.

    Bendel-Mickey: each Givens rotation in a plane (i, j) with d_i - 1 and d_j - 1 of opposite
    signs sets d_i to 1; at most D - 1 rotations, O(k) work each. ``sum(lam) == D`` required.
    """
    q = q.copy()
    d = np.einsum("ik,ik,k->i", q, q, lam)
    dim = q.shape[0]
    done = np.zeros(dim, dtype=bool)
    tol = 1e-13
    for i in range(dim):
        if done[i]:
            continue
        di = d[i]
        if abs(di - 1.0) <= tol:
            done[i] = True
            continue
        cand = np.flatnonzero(~done & ((d - 1.0) * (di - 1.0) < 0))
        cand = cand[cand != i]
        if cand.size == 0:  # only rounding error left
            done[i] = True
            continue
        j = int(cand[0])
        dj = d[j]
        aij = float(np.dot(q[i] * lam, q[j]))
        disc = aij * aij - (di - 1.0) * (dj - 1.0)  # > aij^2 since signs are opposite
        qq = -(aij + np.copysign(np.sqrt(disc), aij))
        t = (di - 1.0) / qq
        c = 1.0 / np.sqrt(1.0 + t * t)
        s = c * t
        ui, uj = q[i].copy(), q[j]
        q[i] = c * ui + s * uj
        q[j] = -s * ui + c * uj
        d[j] = di + dj - 1.0
        d[i] = 1.0
        done[i] = True
    return q


def _structured_rotation_columns(dim: int, k: int, seed: int, rounds: int = 3) -> np.ndarray:
    """First k columns of Q = P (C S_r) ... (C S_1): random signs S, orthonormal DCT-II C,
    random row permutation P. O(D k log D) instead of the O(D^3) of a Haar QR."""
    import scipy.fft

    rng = np.random.default_rng(seed)
    q = np.eye(dim, k)
    for _ in range(rounds):
        q *= rng.choice(np.array([-1.0, 1.0]), size=dim)[:, None]
        q = scipy.fft.dct(q, type=2, norm="ortho", axis=0, overwrite_x=True)
    return np.ascontiguousarray(q[rng.permutation(dim)])


_BASES = ("structured", "haar")


@lru_cache(maxsize=8)
def _correlated_factor(
    dim: int, r_eff: float, seed: int, basis: str
) -> tuple[np.ndarray, np.ndarray]:
    lam = power_law_spectrum(r_eff, dim)
    k = int(np.count_nonzero(lam > lam[0] * 1e-16))
    make = _haar_columns if basis == "haar" else _structured_rotation_columns
    q = _equalize_diagonal(make(dim, k, seed), lam[:k])
    q.setflags(write=False)
    lam.setflags(write=False)
    return lam, q


class CorrelatedGaussianSource(InputSource):
    """Gaussian inputs N(0, Sigma) with population effective rank ``tr Sigma / lambda_max``.

    Sigma = Q diag(lambda) Q^T with lambda_i ∝ i^-alpha summing to D (alpha solved with
    brentq), Q a random orthogonal basis (``basis`` "structured" or "haar") from ``basis_seed``
    (fixed, drawn once) rotated so that diag(Sigma) == 1 exactly (see the module docstring).
    ``shape`` is ``(D,)`` or (H, W, C) with D = H*W*C (the covariance is over the flattened
    image).
    """

    def __init__(
        self,
        shape: tuple[int, ...],
        effective_rank: float = _DEFAULT_EFFECTIVE_RANK,
        *,
        basis_seed: int = 0,
        basis: str = "structured",
        name: str = "correlated",
    ) -> None:
        super().__init__(name, shape)
        if basis not in _BASES:
            raise InputDataError(f"basis={basis!r} is not one of {', '.join(_BASES)}")
        self.basis = basis
        dim = self.input_dim
        try:
            r = float(effective_rank)
        except (TypeError, ValueError):
            raise InputDataError(
                f"effective_rank={effective_rank!r} must be a number in [1, {dim}]"
            ) from None
        if not (np.isfinite(r) and 1.0 <= r <= dim):
            raise InputDataError(
                f"effective_rank={effective_rank!r} must be in [1, D={dim}] (D = input dimension)"
            )
        self.requested_effective_rank = r
        self.basis_seed = int(basis_seed)
        self.eigenvalues, self._factor = _correlated_factor(dim, r, self.basis_seed, basis)
        k = self._factor.shape[1]
        self._scale = np.sqrt(self.eigenvalues[:k])

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as the constructor's arguments (the factor is rebuilt, and cached, on the
        other side), not as the D x k factor."""
        return (_correlated_source, (self.shape, self.requested_effective_rank,
                                     self.basis_seed, self.basis, self.name))

    @property
    def population_effective_rank(self) -> float:
        """tr Sigma / lambda_max of the population covariance (equals the request)."""
        return float(self.eigenvalues.sum() / self.eigenvalues.max())

    def covariance(self) -> np.ndarray:
        """The population covariance Sigma (D x D, unit diagonal)."""
        f = self._factor * self._scale
        return f @ f.T

    def _raw(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        z = rng.standard_normal((batch_size, self._factor.shape[1]))
        return (z * self._scale) @ self._factor.T


def _natural_image_paths() -> list[Path]:
    from importlib.resources import files

    try:
        base = Path(str(files("skimage") / "data"))
    except ModuleNotFoundError:
        raise InputDataError("natural: scikit-image is not installed; install the project "
                             "(pip install -e .) or choose another dataset") from None
    return [base / f for f in NATURAL_IMAGE_FILES]


def _read_rgb(path: Path) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("RGB"), dtype=np.float64)
    except (OSError, ValueError) as exc:
        raise InputDataError(f"natural: cannot read sample image {path}: {exc}") from None
    return arr


def _box_downsample(img: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return img
    h, w = (img.shape[0] // factor) * factor, (img.shape[1] // factor) * factor
    v = img[:h, :w].reshape(h // factor, factor, w // factor, factor, img.shape[2])
    return v.mean(axis=(1, 3))


class NaturalImageSource(InputSource):
    """Random 32x32x3 crops (float RGB in [0, 255]) of scikit-image's bundled photographs.

    ``images`` (optional) replaces the photographs by given ``(H, W, 3)`` arrays. Pyramid
    levels are kept in float32 (exact for box averages of uint8 pixels up to 2^-24 relative).
    """

    def __init__(
        self,
        *,
        kernel_size: int = 1,
        crop: int = 32,
        scales: Iterable[int] = (1, 2, 4),
        flip: bool = True,
        images: Iterable[np.ndarray] | None = None,
        name: str = "natural",
    ) -> None:
        kernel_size = _check_kernel_size(kernel_size)
        super().__init__(name, _input_shape((crop, crop, 3), kernel_size))
        if images is None:
            self.files = [str(p) for p in _natural_image_paths()]
            images = [_read_rgb(Path(p)) for p in self.files]
        else:
            self.files = []
        self.crop = int(crop)
        self.flip = bool(flip)
        self._recipe = (kernel_size, self.crop, tuple(int(v) for v in scales), self.flip, name)
        self.levels: list[np.ndarray] = []
        self.level_image: list[int] = []  # photograph index of each level
        for i, img in enumerate(images):
            img = np.asarray(img, dtype=np.float64)
            for s in scales:
                lv = _box_downsample(img, int(s))
                if lv.shape[0] >= crop and lv.shape[1] >= crop:
                    self.levels.append(np.ascontiguousarray(lv, dtype=np.float32))
                    self.level_image.append(i)
        if not self.levels:
            raise InputDataError(f"natural: no image of at least {crop}x{crop} pixels available")
        self._windows = [
            np.lib.stride_tricks.sliding_window_view(lv, (crop, crop), axis=(0, 1))
            for lv in self.levels
        ]

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as the recipe (the photographs are re-read on the other side, once per
        process), not as the image pyramid, whose crop windows are views that would be
        materialised; sources built from given ``images`` pickle their pyramid levels."""
        if self.files:
            return (_natural_source, self._recipe)
        state = {k: v for k, v in self.__dict__.items() if k != "_windows"}
        return (_natural_from_state, (state,))

    def crops(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        """Raw crops (B, crop, crop, 3), float RGB in [0, 255], before standardisation."""
        batch_size = _check_batch_size(batch_size)
        rng = _check_rng(rng)
        c = self.crop
        out = np.empty((batch_size, c, c, 3))
        # photograph uniformly, then one of its scales uniformly
        owners = np.asarray(self.level_image)
        photos = np.unique(owners)
        photo = photos[rng.integers(len(photos), size=batch_size)]
        level = np.empty(batch_size, dtype=np.int64)
        for p in photos:
            sel = np.flatnonzero(photo == p)
            mine = np.flatnonzero(owners == p)
            level[sel] = mine[rng.integers(len(mine), size=sel.size)]
        flips = rng.random(batch_size) < 0.5 if self.flip else np.zeros(batch_size, bool)
        for lv in range(len(self.levels)):
            sel = np.flatnonzero(level == lv)
            if sel.size == 0:
                continue
            win = self._windows[lv]  # (H-c+1, W-c+1, 3, c, c)
            rows = rng.integers(win.shape[0], size=sel.size)
            cols = rng.integers(win.shape[1], size=sel.size)
            out[sel] = win[rows, cols].transpose(0, 2, 3, 1)
        out[flips] = out[flips, :, ::-1]
        return out

    def _raw(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        return self.crops(batch_size, rng)


def _correlated_source(shape: tuple[int, ...], effective_rank: float, basis_seed: int,
                       basis: str, name: str) -> CorrelatedGaussianSource:
    """Unpickle a `CorrelatedGaussianSource` from its arguments."""
    return CorrelatedGaussianSource(shape, effective_rank, basis_seed=basis_seed, basis=basis,
                                    name=name)


@lru_cache(maxsize=4)
def _natural_source(kernel_size: int, crop: int, scales: tuple[int, ...], flip: bool,
                    name: str) -> NaturalImageSource:
    """The photographs' source for a recipe (unpickling; one per recipe and process)."""
    return NaturalImageSource(kernel_size=kernel_size, crop=crop, scales=scales, flip=flip,
                              name=name)


def _natural_from_state(state: dict[str, Any]) -> NaturalImageSource:
    """Unpickle a source built from given images: its levels, with fresh crop windows."""
    src = NaturalImageSource.__new__(NaturalImageSource)
    src.__dict__.update(state)
    src._windows = [np.lib.stride_tricks.sliding_window_view(lv, (src.crop, src.crop),
                                                             axis=(0, 1)) for lv in src.levels]
    return src


# --------------------------------------------------------------------------------------------
# data directory and file formats
# --------------------------------------------------------------------------------------------


def resolve_data_dir(data_dir: str | os.PathLike | None, dataset: str) -> Path:
    """``data_dir`` if given, else ``$DNN_MOMENTS_DATA_DIR``; must be an existing path."""
    if data_dir is None or str(data_dir) == "":
        env = os.environ.get(DATA_DIR_ENV, "")
        if not env:
            raise InputDataError(
                f"data_dir: dataset={dataset!r} needs a data directory; "
                f"pass data_dir (--data-dir) or set {DATA_DIR_ENV}"
            )
        data_dir = env
    path = Path(data_dir).expanduser()
    if not path.exists():
        raise InputDataError(f"data_dir: {path} does not exist")
    return path


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputDataError(f"data_dir: cannot read {path}: {exc.strerror or exc}") from None


def _decode_cifar_binary(raw: bytes, where: str) -> np.ndarray:
    if len(raw) == 0 or len(raw) % _CIFAR_RECORD != 0:
        raise InputDataError(
            f"data_dir: {where} has {len(raw)} bytes, not a positive multiple of the "
            f"{_CIFAR_RECORD}-byte CIFAR-10 record (truncated or not a CIFAR-10 binary batch)"
        )
    rec = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _CIFAR_RECORD)
    if rec[:, 0].max() > 9:
        raise InputDataError(
            f"data_dir: {where} has label byte {int(rec[:, 0].max())} (expected 0..9); "
            "not a CIFAR-10 binary batch"
        )
    return rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def _latin1_encode(obj: str, encoding: str = "latin1") -> bytes:
    # Python 3 pickles bytes at protocol < 3 as _codecs.encode(str, 'latin1')
    if encoding.lower().replace("-", "").replace("_", "") not in ("latin1", "iso88591"):
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r} refused")
    if not isinstance(obj, str):
        raise pickle.UnpicklingError("_codecs.encode on a non-string refused")
    return obj.encode("latin1")


_RECONSTRUCT = np.zeros(1).__reduce__()[0]  # numpy's multiarray._reconstruct, any version
_SCALAR = np.int64(1).__reduce__()[0]  # numpy's multiarray.scalar (numpy scalar labels)
_SAFE_GLOBALS: dict[tuple[str, str], Callable] = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.multiarray", "scalar"): _SCALAR,
    ("numpy._core.multiarray", "scalar"): _SCALAR,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_encode,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler allowing only numpy array reconstruction globals (CIFAR-10 python batches)."""

    def find_class(self, module: str, name: str) -> Callable:
        try:
            return _SAFE_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed") from None


def _decode_cifar_pickle(raw: bytes, where: str) -> np.ndarray:
    try:
        obj = _RestrictedUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as exc:  # any failure of untrusted data -> one clean error
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputDataError(
            f"data_dir: {where} is not a valid CIFAR-10 python batch ({msg})"
        ) from None
    if not isinstance(obj, dict):
        raise InputDataError(f"data_dir: {where} does not contain a dict (not a CIFAR-10 batch)")
    data = obj.get(b"data", obj.get("data"))
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
        raise InputDataError(f"data_dir: {where} has no uint8 array under key b'data'")
    if data.ndim != 2 or data.shape[1] != 3072 or data.shape[0] < 1:
        raise InputDataError(
            f"data_dir: {where} has data of shape {data.shape} (expected (N, 3072) with N >= 1)"
        )
    labels = obj.get(b"labels", obj.get("labels"))
    if labels is not None and len(labels) != data.shape[0]:
        raise InputDataError(
            f"data_dir: {where} has {len(labels)} labels for {data.shape[0]} images"
        )
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def _finish_cifar(parts: list[np.ndarray], found: list[str], location: str) -> np.ndarray:
    if len(found) < 5:
        warnings.warn(
            f"data_dir: only {len(found)} of 5 CIFAR-10 training batches found in {location} "
            f"({', '.join(found)}); using {sum(len(p) for p in parts)} images",
            stacklevel=3,
        )
    return np.ascontiguousarray(np.concatenate(parts, axis=0))


def _cifar_from_dir(folder: Path) -> np.ndarray | None:
    for names, decode in (
        (_CIFAR_BIN_FILES, _decode_cifar_binary),
        (_CIFAR_PY_FILES, _decode_cifar_pickle),
    ):
        present = [n for n in names if (folder / n).is_file()]
        if present:
            parts = [decode(_read_bytes(folder / n), str(folder / n)) for n in present]
            return _finish_cifar(parts, present, str(folder))
    return None


def _cifar_from_archive(archive: Path) -> np.ndarray:
    binary = archive.name.startswith("cifar-10-binary") or archive.name.endswith(".bin.tar.gz")
    names, decode = (
        (_CIFAR_BIN_FILES, _decode_cifar_binary)
        if binary
        else (_CIFAR_PY_FILES, _decode_cifar_pickle)
    )
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            for m in tar:
                base = m.name.rsplit("/", 1)[-1]
                if m.isfile() and base in names and base not in members:
                    f = tar.extractfile(m)
                    if f is not None:
                        members[base] = f.read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise InputDataError(
            f"data_dir: cannot read archive {archive} ({exc}); truncated or not a tar.gz"
        ) from None
    present = [n for n in names if n in members]
    if not present:
        raise InputDataError(
            f"data_dir: archive {archive} contains none of {names[0]}..{names[-1]}"
        )
    parts = [decode(members[n], f"{archive}:{n}") for n in present]
    return _finish_cifar(parts, present, str(archive))


def load_cifar10(data_dir: str | os.PathLike | None = None) -> np.ndarray:
    """CIFAR-10 training images as uint8 (N, 32, 32, 3) (HWC, RGB); N = 50 000 normally.

    ``data_dir`` (else ``$DNN_MOMENTS_DATA_DIR``) is a folder holding the binary batches, the
    python batches, their ``cifar-10-batches-bin`` / ``cifar-10-batches-py`` subfolder, or the
    ``.tar.gz`` archives; or an archive path. Fewer than 5 batches (or fewer than 10 000
    records each) are accepted with a warning for missing batches.
    """
    path = resolve_data_dir(data_dir, "cifar10")
    if path.is_file():
        if path.name.endswith((".tar.gz", ".tgz", ".tar")):
            return _cifar_from_archive(path)
        raise InputDataError(
            f"data_dir: {path} is a file; expected a folder or a CIFAR-10 .tar.gz archive"
        )
    for folder in (path, path / "cifar-10-batches-bin", path / "cifar-10-batches-py"):
        if folder.is_dir():
            images = _cifar_from_dir(folder)
            if images is not None:
                return images
    for name in _CIFAR_ARCHIVES:
        if (path / name).is_file():
            return _cifar_from_archive(path / name)
    raise InputDataError(
        f"data_dir: no CIFAR-10 training files found in {path} ({_CIFAR_EXPECTED}); "
        f"set --data-dir or {DATA_DIR_ENV}"
    )


def _decode_idx_images(raw: bytes, where: str) -> np.ndarray:
    if len(raw) < 16:
        raise InputDataError(
            f"data_dir: {where} has {len(raw)} bytes, shorter than the 16-byte IDX header "
            "(truncated)"
        )
    magic, n, rows, cols = (int(v) for v in np.frombuffer(raw[:16], dtype=">u4"))
    if magic != _IDX_MAGIC:
        raise InputDataError(
            f"data_dir: {where} has bad magic number 0x{magic:08x} (expected 0x{_IDX_MAGIC:08x})"
        )
    if n < 1 or (rows, cols) != (28, 28):
        raise InputDataError(
            f"data_dir: {where} has dims {n}x{rows}x{cols} (expected Nx28x28 with N >= 1)"
        )
    expected = 16 + n * rows * cols
    if len(raw) != expected:
        state = "truncated" if len(raw) < expected else "has trailing bytes"
        raise InputDataError(
            f"data_dir: {where} has {len(raw)} bytes, expected {expected} for "
            f"{n}x{rows}x{cols} images ({state})"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, rows, cols, 1)


def load_mnist(data_dir: str | os.PathLike | None = None) -> np.ndarray:
    """MNIST training images as uint8 (N, 28, 28, 1) from ``train-images-idx3-ubyte[.gz]``.

    Looked up in ``data_dir`` (else ``$DNN_MOMENTS_DATA_DIR``) and its ``mnist``,
    ``MNIST`` and ``MNIST/raw`` subfolders; ``data_dir`` may also be the file itself.
    """
    path = resolve_data_dir(data_dir, "mnist")
    if path.is_file():
        candidates = [path]
    else:
        candidates = [
            path / sub / name
            for sub in _MNIST_SUBDIRS
            for name in _MNIST_FILES
            if (path / sub / name).is_file()
        ]
    if not candidates:
        raise InputDataError(
            f"data_dir: no MNIST training images found in {path} (expected "
            f"train-images-idx3-ubyte or train-images-idx3-ubyte.gz); "
            f"set --data-dir or {DATA_DIR_ENV}"
        )
    f = candidates[0]
    raw = _read_bytes(f)
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputDataError(
                f"data_dir: {f} is a corrupt or truncated gzip file ({exc})"
            ) from None
    return np.array(_decode_idx_images(raw, str(f)))  # own, writable copy


# --------------------------------------------------------------------------------------------
# factory
# --------------------------------------------------------------------------------------------


def _check_input_dim(input_dim: int) -> int:
    if isinstance(input_dim, bool) or not isinstance(input_dim, int | np.integer):
        raise InputDataError(f"input_dim={input_dim!r} must be an integer >= 1")
    if input_dim < 1:
        raise InputDataError(f"input_dim={input_dim} must be >= 1")
    return int(input_dim)


def make_input_source(
    dataset: str,
    *,
    kernel_size: int = 1,
    data_dir: str | os.PathLike | None = None,
    input_dim: int = _DEFAULT_INPUT_DIM,
    effective_rank: float | None = None,
    basis_seed: int = 0,
    basis: str = "structured",
    image_size: int | None = None,
) -> InputSource:
    """Build the input source of an experiment (load data once; call ``.sample`` per simulation).

    ``kernel_size == 1`` flattens inputs to vectors (FC networks). ``input_dim`` sets D for
    ``gaussian``/``correlated`` with ``kernel_size == 1`` (other data sets have a fixed D and
    accept only the default). ``effective_rank`` (default min(10, D), in [1, D]) applies only to
    ``correlated``; ``basis_seed`` and ``basis`` ("structured" or "haar") fix its random
    eigenbasis (see :class:`CorrelatedGaussianSource`). ``image_size`` (default 32) sets the
    side of the square images of ``gaussian``, ``correlated`` and ``natural`` when
    ``kernel_size > 1`` (e.g. 16 for 8x8 feature maps after the stride-2 stem); CIFAR-10 and
    MNIST keep their native sizes.
    """
    if not isinstance(dataset, str) or dataset not in DATASETS:
        raise InputDataError(f"dataset={dataset!r} is not one of {', '.join(DATASETS)}")
    kernel_size = _check_kernel_size(kernel_size)
    input_dim = _check_input_dim(input_dim)
    synthetic = dataset in ("gaussian", "correlated")
    if input_dim != _DEFAULT_INPUT_DIM and not (synthetic and kernel_size == 1):
        where = "kernel_size > 1" if synthetic else f"dataset={dataset!r}"
        raise InputDataError(
            f"input_dim={input_dim} is only settable for gaussian/correlated with kernel_size=1 "
            f"(with {where} the input shape is fixed)"
        )
    if effective_rank is not None and dataset != "correlated":
        raise InputDataError(
            f"effective_rank={effective_rank!r} applies only to dataset='correlated'"
        )
    if image_size is not None:
        if isinstance(image_size, bool) or not isinstance(image_size, int | np.integer) \
                or image_size < 1:
            raise InputDataError(f"image_size={image_size!r} must be an integer >= 1")
        if kernel_size == 1 or dataset in ("cifar10", "mnist"):
            raise InputDataError(
                f"image_size={image_size} is only settable for gaussian/correlated/natural with "
                "kernel_size > 1 (flattened inputs and CIFAR-10/MNIST have fixed shapes)")
    side = IMAGE_SHAPE[0] if image_size is None else int(image_size)
    shape = (input_dim,) if kernel_size == 1 else (side, side, IMAGE_SHAPE[2])
    if dataset == "gaussian":
        return GaussianSource(shape)
    if dataset == "correlated":
        dim = int(np.prod(shape))
        r = min(_DEFAULT_EFFECTIVE_RANK, dim) if effective_rank is None else effective_rank
        return CorrelatedGaussianSource(shape, r, basis_seed=basis_seed, basis=basis)
    if dataset == "natural":
        return NaturalImageSource(kernel_size=kernel_size, crop=side)
    if dataset == "cifar10":
        return ArraySource("cifar10", load_cifar10(data_dir), kernel_size=kernel_size)
    return ArraySource("mnist", load_mnist(data_dir), kernel_size=kernel_size)
