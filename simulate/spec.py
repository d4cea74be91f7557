"""Explicit, serialisable description of the networks the engine runs.

A `Network` is an optional *stem* (a linear map, `Dense` or `Conv`, from the input to the
width) followed by a *block* repeated ``depth`` times; inside the block, layers are:

* `Conv`: 2-D convolution of NHWC feature maps (kernel ``k x k``, stride, boundary) with
  ``omega ~ N(0, sigma_w^2 / (k^2 C_in))`` (moments-dnns' ``ConvLayer``);
* `Dense`: fan-in-scaled Gaussian weights ``W_ij ~ N(0, sigma_w^2(l) / fan_in)`` and optional
  Gaussian biases ``b_i ~ N(0, sigma_b^2(l))`` with variance schedules
  ``sigma^2(l) = sigma^2 * l^(-beta)`` over the block index ``l = 1..depth`` (variance variation)
  and an optional per-block output width (width variation);
* `BatchNorm`: per-unit batch normalisation without affine parameters (tangent divided by the
  frozen batch statistics, Labatie's convention);
* `Activation`: an activation from `simulate.activations`;
* `Residual`: ``x <- x + F(x)`` with the branch ``F`` given as a tuple of layers;
* `Measure`: a named measurement point (``loc1``...), recorded at blocks ``l`` with
  ``l % measure_every == 0``; ``reff=True`` asks for effective ranks there.

Builders give the networks of THEORY.md: `vanilla`, `bn_ff`, `bn_res` (moments-dnns, FC with
``kernel_size=1``, convolutional otherwise),
`kaiming_ff` (Luther & Seung), `full_resnet` and `reduced_resnet` (Yang & Schoenholz).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from simulate.activations import get_activation
from simulate.errors import ConfigError, check_choice, check_nonnegative, check_positive_int

BOUNDARIES = ("periodic", "symmetric", "zero_padding")


@dataclasses.dataclass(frozen=True)
class Dense:
    """Dense layer ``y = W x + b`` with fan-in-scaled Gaussian weights.

    width: output width; ``None`` keeps the input width; a tuple gives the width of block ``l``
        at index ``l - 1`` (width variation).
    weight_var, bias_var: ``sigma_w^2``, ``sigma_b^2`` (He = 2, LeCun = 1).
    weight_beta, bias_beta: schedule exponents, ``sigma^2(l) = sigma^2 l^(-beta)``.
    name: optional name; named layers report per-parameter gradient norms in backward mode.
    """

    width: int | tuple[int, ...] | None = None
    weight_var: float = 2.0
    bias_var: float = 0.0
    weight_beta: float = 0.0
    bias_beta: float = 0.0
    name: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.width, list):
            object.__setattr__(self, "width", tuple(self.width))
        if isinstance(self.width, tuple):
            if not self.width:
                raise ConfigError("width=() is not allowed; give one width per block")
            for w in self.width:
                check_positive_int("width", w)
        elif self.width is not None:
            check_positive_int("width", self.width)
        check_nonnegative("weight_var", self.weight_var)
        check_nonnegative("bias_var", self.bias_var)
        for nm in ("weight_beta", "bias_beta"):
            v = getattr(self, nm)
            if not isinstance(v, (int, float)) or v != v:
                raise ConfigError(f"{nm}={v!r} is not allowed; it must be a real number")

    def out_width(self, l: int, in_width: int) -> int:
        """Output width at block ``l`` (1-based) given the input width."""
        if self.width is None:
            return in_width
        if isinstance(self.width, tuple):
            if l > len(self.width):
                raise ConfigError(
                    f"width has {len(self.width)} entries but block l={l} was requested; "
                    "give one width per block"
                )
            return self.width[l - 1]
        return self.width

    def weight_var_at(self, l: int) -> float:
        """``sigma_w^2(l) = sigma_w^2 * l^(-beta_w)``."""
        return self.weight_var * float(l) ** (-self.weight_beta)

    def bias_var_at(self, l: int) -> float:
        """``sigma_b^2(l) = sigma_b^2 * l^(-beta_b)``."""
        return self.bias_var * float(l) ** (-self.bias_beta)


@dataclasses.dataclass(frozen=True)
class Conv:
    """2-D convolution ``y[i, j, o] = sum_{di,dj,c} x~[i s + di, j s + dj, c] w[di, dj, c, o]``.

    Feature maps are NHWC; ``x~`` is the input extended by the boundary condition (moments-dnns'
    ``ConvLayer``): ``periodic`` pads ``k - 1`` wrapped rows/columns before the map, then a
    valid convolution (``x~[p] = x[(p - k + 1) mod n]``); ``symmetric`` mirrors ``(k - 1) / 2``
    rows/columns on each side, edge included (odd ``k`` only), then valid; ``zero_padding`` is
    TensorFlow's ``SAME`` (zeros, ``pad_before = floor(pad_total / 2)``). Every boundary maps
    ``n x n`` to ``n/s x n/s`` (the stride must divide the size). Weights
    ``omega ~ N(0, weight_var / (k^2 C_in))`` (He: 2, LeCun: 1), no bias.

    channels: output channels (``None`` keeps the input channels).
    """

    channels: int | None = None
    kernel_size: int = 3
    stride: int = 1
    boundary: str = "periodic"
    weight_var: float = 2.0
    name: str | None = None

    def __post_init__(self) -> None:
        if self.channels is not None:
            check_positive_int("num_channels", self.channels)
        check_positive_int("kernel_size", self.kernel_size)
        check_positive_int("stride", self.stride)
        check_choice("boundary", self.boundary, BOUNDARIES)
        check_nonnegative("weight_var", self.weight_var)
        if self.boundary == "symmetric" and self.kernel_size % 2 == 0:
            raise ConfigError(
                f"kernel_size={self.kernel_size} is not allowed with boundary='symmetric'; "
                "the kernel size must be odd (periodic or zero_padding accept even sizes)"
            )

    def out_channels(self, in_channels: int) -> int:
        """Output channels given the input channels."""
        return in_channels if self.channels is None else self.channels

    def out_size(self, n: int, where: str = "input") -> int:
        """Spatial output size for an ``n x n`` input; raises `ConfigError` when they do not fit."""
        if n < self.kernel_size:
            raise ConfigError(
                f"kernel_size={self.kernel_size} is not allowed for a {n}x{n} {where}; "
                f"the image must be at least {self.kernel_size}x{self.kernel_size}"
            )
        if n % self.stride:
            raise ConfigError(
                f"stride={self.stride} is not allowed for a {n}x{n} {where}; the stride must "
                f"divide the spatial size {n}"
            )
        return n // self.stride

    def pad_before(self, n: int) -> int:
        """Rows (and columns) of the extended map ``x~`` that precede the input's first row."""
        k, s = self.kernel_size, self.stride
        if self.boundary == "periodic":
            return k - 1
        if self.boundary == "symmetric":
            return (k - 1) // 2
        return max((n // s - 1) * s + k - n, 0) // 2


@dataclasses.dataclass(frozen=True)
class BatchNorm:
    """Per-unit batch normalisation over the batch, ``z = (y - m) / sqrt(s^2 + epsilon)``."""

    epsilon: float = 1e-3

    def __post_init__(self) -> None:
        check_nonnegative("epsilon", self.epsilon)


@dataclasses.dataclass(frozen=True)
class Activation:
    """Elementwise activation ``x = phi(z)``, tangent ``dx = phi'(z) dz``."""

    name: str = "relu"

    def __post_init__(self) -> None:
        get_activation(self.name)  # raises ConfigError listing the registered names


@dataclasses.dataclass(frozen=True)
class Measure:
    """A measurement point; ``reff=True`` also records effective ranks there."""

    loc: str
    reff: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.loc, str) or not self.loc.isidentifier():
            raise ConfigError(f"loc={self.loc!r} is not allowed; use an identifier like 'loc1'")


@dataclasses.dataclass(frozen=True)
class Residual:
    """Residual unit ``x <- x + F(x)``; ``branch`` is the sequence of layers of ``F``."""

    branch: tuple[Layer, ...]

    def __post_init__(self) -> None:
        if isinstance(self.branch, list):
            object.__setattr__(self, "branch", tuple(self.branch))
        if not self.branch:
            raise ConfigError("branch=() is not allowed; a residual branch needs layers")
        _check_layers(self.branch, "branch")


Layer = Dense | Conv | BatchNorm | Activation | Measure | Residual
_LAYER_TYPES = {"dense": Dense, "conv": Conv, "batchnorm": BatchNorm, "activation": Activation,
                "measure": Measure, "residual": Residual}


def _check_layers(layers: Sequence[Any], where: str) -> None:
    for layer in layers:
        if not isinstance(layer, tuple(_LAYER_TYPES.values())):
            raise ConfigError(
                f"{where} contains {layer!r}; allowed layers: Dense, Conv, BatchNorm, Activation, "
                "Measure, Residual"
            )


def _measure_locs(layers: Sequence[Layer]) -> list[Measure]:
    out: list[Measure] = []
    for layer in layers:
        if isinstance(layer, Measure):
            out.append(layer)
        elif isinstance(layer, Residual):
            out.extend(_measure_locs(layer.branch))
    return out


@dataclasses.dataclass(frozen=True)
class Network:
    """A network: optional stem, then ``block`` repeated ``depth`` times.

    measure_every: measurements at blocks ``l`` with ``l % measure_every == 0`` (moments-dnns'
        ``total_depth // num_computations``).
    name: architecture name (``vanilla``, ``bn_ff``, ``bn_res`` or free text).
    res_depth: layers per residual branch (moments-dnns key; 0 when not a resnet).
    """

    block: tuple[Layer, ...]
    depth: int
    stem: Dense | Conv | None = None
    measure_every: int = 1
    name: str = "custom"
    res_depth: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.block, list):
            object.__setattr__(self, "block", tuple(self.block))
        if not self.block:
            raise ConfigError("block=() is not allowed; a network needs at least one layer")
        _check_layers(self.block, "block")
        check_positive_int("depth", self.depth)
        check_positive_int("measure_every", self.measure_every)
        if self.depth % self.measure_every:
            raise ConfigError(
                f"measure_every={self.measure_every} is not allowed; it must divide "
                f"depth={self.depth}"
            )
        if self.stem is not None and not isinstance(self.stem, Dense | Conv):
            raise ConfigError(
                f"stem={self.stem!r} is not allowed; it must be a Dense or Conv layer or None"
            )
        if isinstance(self.stem, Dense) and not isinstance(self.stem.width, int):
            raise ConfigError("stem.width must be an integer (the network width)")
        if isinstance(self.stem, Conv) and self.stem.channels is None:
            raise ConfigError("stem.channels must be an integer (the network width)")
        locs = [m.loc for m in _measure_locs(self.block)]
        if len(set(locs)) != len(locs):
            raise ConfigError(f"measurement locs {locs} are not allowed; loc names must be unique")
        for layer in walk(self.block):
            if isinstance(layer, Dense) and isinstance(layer.width, tuple):
                if len(layer.width) < self.depth:
                    raise ConfigError(
                        f"width has {len(layer.width)} entries; it needs depth={self.depth}"
                    )

    @property
    def measures(self) -> list[Measure]:
        """The measurement points of one block, in propagation order."""
        return _measure_locs(self.block)

    @property
    def measured_blocks(self) -> list[int]:
        """Block indices ``l`` at which measurements are recorded."""
        return list(range(self.measure_every, self.depth + 1, self.measure_every))

    @property
    def is_convolutional(self) -> bool:
        """Whether the stem or any layer is a convolution (inputs must then be images)."""
        return isinstance(self.stem, Conv) or any(isinstance(x, Conv) for x in walk(self.block))

    @property
    def uses_batchnorm(self) -> bool:
        """Whether any layer is a batch norm (requires batch size >= 2)."""
        return any(isinstance(layer, BatchNorm) for layer in walk(self.block))

    def replace(self, **changes: Any) -> Network:
        """Copy with some fields changed (immutable update)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description (inverse of `Network.from_dict`)."""
        return {
            "name": self.name,
            "depth": self.depth,
            "measure_every": self.measure_every,
            "res_depth": self.res_depth,
            "stem": None if self.stem is None else _layer_to_dict(self.stem),
            "block": [_layer_to_dict(x) for x in self.block],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Network:
        """Rebuild a network from `Network.to_dict` output (e.g. a configuration JSON file).

        Anything malformed is a ConfigError naming the field: a missing or unknown key, a
        layer of unknown type or with unknown parameters, a value of the wrong type or range.
        """
        if not isinstance(d, Mapping):
            raise ConfigError(f"network={d!r:.60} is not allowed; it must be a JSON object with "
                              "keys block, depth and optionally stem, measure_every, name, "
                              "res_depth")
        allowed = {"block", "depth", "stem", "measure_every", "name", "res_depth"}
        unknown = sorted(set(d) - allowed, key=str)
        if unknown:
            raise ConfigError(f"network key {unknown[0]!r} is not allowed; the keys are "
                              f"{', '.join(sorted(allowed))}")
        for key in ("block", "depth"):
            if key not in d:
                raise ConfigError(f"network.{key} is missing")
        if not isinstance(d["block"], list | tuple):
            raise ConfigError(f"network.block={d['block']!r:.60} is not allowed; it must be a "
                              "list of layers")
        try:
            return cls(
                block=tuple(_layer_from_dict(x, f"block[{i}]") for i, x in enumerate(d["block"])),
                depth=d["depth"],
                stem=None if d.get("stem") is None else _layer_from_dict(d["stem"], "stem"),
                measure_every=d.get("measure_every", 1),
                name=d.get("name", "custom"),
                res_depth=d.get("res_depth", 0),
            )
        except ConfigError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
            raise ConfigError(f"network is not a valid description ({type(exc).__name__}: "
                              f"{exc})") from None

    @classmethod
    def from_json(cls, text: str) -> Network:
        """`from_dict` of a JSON string (ConfigError if it is not JSON)."""
        try:
            d = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"network JSON is not readable ({exc})") from None
        return cls.from_dict(d)

    def to_json(self) -> str:
        """Compact JSON string of `to_dict`."""
        return json.dumps(self.to_dict(), sort_keys=True)


def walk(layers: Sequence[Layer]) -> list[Layer]:
    """All layers in propagation order, descending into residual branches."""
    out: list[Layer] = []
    for layer in layers:
        out.append(layer)
        if isinstance(layer, Residual):
            out.extend(walk(layer.branch))
    return out


def _layer_to_dict(layer: Layer) -> dict[str, Any]:
    kind = {v: k for k, v in _LAYER_TYPES.items()}[type(layer)]
    d: dict[str, Any] = {"type": kind}
    for f in dataclasses.fields(layer):
        v = getattr(layer, f.name)
        if isinstance(layer, Residual) and f.name == "branch":
            v = [_layer_to_dict(x) for x in v]
        elif isinstance(v, tuple):
            v = list(v)
        d[f.name] = v
    return d


def _layer_from_dict(d: dict[str, Any], where: str = "layer") -> Layer:
    if not isinstance(d, Mapping) or "type" not in d:
        raise ConfigError(f"{where}={d!r:.60} is not allowed; a layer is a JSON object with a "
                          f"'type' ({', '.join(_LAYER_TYPES)})")
    d = dict(d)
    kind = d.pop("type")
    if not isinstance(kind, str) or kind not in _LAYER_TYPES:
        raise ConfigError(f"{where}.type={kind!r} is not allowed; choose one of "
                          f"{', '.join(_LAYER_TYPES)}")
    fields = {f.name for f in dataclasses.fields(_LAYER_TYPES[kind])}
    unknown = sorted(set(d) - fields, key=str)
    if unknown:
        raise ConfigError(f"{where}: {kind} layer parameter {unknown[0]!r} is not allowed; its "
                          f"parameters are {', '.join(sorted(fields))}")
    if kind == "residual":
        if not isinstance(d.get("branch"), list | tuple):
            raise ConfigError(f"{where}.branch must be a list of layers")
        d["branch"] = tuple(_layer_from_dict(x, f"{where}.branch[{i}]")
                            for i, x in enumerate(d["branch"]))
    if kind == "dense" and isinstance(d.get("width"), list):
        d["width"] = tuple(d["width"])
    try:
        return _LAYER_TYPES[kind](**d)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    except (TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise ConfigError(f"{where}: {kind} layer is not valid ({type(exc).__name__}: {exc})") \
            from None


# --------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------
HE, LECUN = 2.0, 1.0


def lecun_stem(width: int) -> Dense:
    """moments-dnns "original model" for kernel_size 1: LeCun-normal linear map, no bias."""
    return Dense(width=check_positive_int("num_channels", width), weight_var=LECUN)


def conv_stem(width: int, kernel_size: int = 3, boundary: str = "periodic") -> Conv:
    """moments-dnns "original model" for kernel_size > 1: LeCun conv, stride 2 (32x32 -> 16x16)."""
    return Conv(channels=check_positive_int("num_channels", width), kernel_size=kernel_size,
                stride=2, boundary=boundary, weight_var=LECUN)


def _linear(kernel_size: int, boundary: str, weight_var: float = HE) -> Dense | Conv:
    """The network's linear layer: He dense (``kernel_size = 1``) or He convolution."""
    kernel_size = check_positive_int("kernel_size", kernel_size)
    check_choice("boundary", boundary, BOUNDARIES)
    if kernel_size == 1:
        return Dense(weight_var=weight_var)
    return Conv(kernel_size=kernel_size, boundary=boundary, weight_var=weight_var)


def _stem(width: int, kernel_size: int, boundary: str) -> Dense | Conv:
    return lecun_stem(width) if kernel_size == 1 else conv_stem(width, kernel_size, boundary)


def vanilla(width: int, depth: int, measure_every: int = 1, *, kernel_size: int = 1,
            boundary: str = "periodic") -> Network:
    """moments-dnns ``vanilla``: loc1 = x^{l-1} -> He dense/conv -> loc2 -> ReLU -> loc3.

    ``kernel_size = 1``: fully connected (flattened inputs, LeCun dense stem); otherwise
    ``k x k`` convolutions with ``boundary`` after a LeCun stride-2 conv stem.
    """
    lin = _linear(kernel_size, boundary)
    block = (Measure("loc1"), lin, Measure("loc2"), Activation("relu"),
             Measure("loc3", reff=True))
    return Network(block, depth, _stem(width, kernel_size, boundary), measure_every, "vanilla")


def bn_ff(width: int, depth: int, epsilon: float = 1e-3, measure_every: int = 1, *,
          kernel_size: int = 1, boundary: str = "periodic") -> Network:
    """moments-dnns ``bn_ff``: loc1 -> dense/conv -> loc2 -> BN -> loc3 -> ReLU -> loc4."""
    lin = _linear(kernel_size, boundary)
    block = (Measure("loc1"), lin, Measure("loc2"), BatchNorm(epsilon),
             Measure("loc3"), Activation("relu"), Measure("loc4", reff=True))
    return Network(block, depth, _stem(width, kernel_size, boundary), measure_every, "bn_ff")


def bn_res(
    width: int, depth: int, res_depth: int = 2, epsilon: float = 1e-3, measure_every: int = 1,
    *, kernel_size: int = 1, boundary: str = "periodic",
) -> Network:
    """moments-dnns ``bn_res``: pre-activation units ``x + (lin . ReLU . BN)^H (x)``.

    Measurements in the first layer of each unit: loc1 = x^{l-1} -> BN -> loc2 -> ReLU -> loc3
    (effective ranks) -> dense/conv -> loc4; loc5 = x^l after the addition. ``depth`` counts
    units; ``lin`` is a He dense layer (``kernel_size = 1``) or a He convolution.
    """
    res_depth = check_positive_int("res_depth", res_depth)
    lin = _linear(kernel_size, boundary)
    first = (Measure("loc1"), BatchNorm(epsilon), Measure("loc2"), Activation("relu"),
             Measure("loc3", reff=True), lin, Measure("loc4"))
    rest = (BatchNorm(epsilon), Activation("relu"), lin) * (res_depth - 1)
    block = (Residual(first + rest), Measure("loc5"))
    return Network(block, depth, _stem(width, kernel_size, boundary), measure_every, "bn_res",
                   res_depth)


def kaiming_ff(
    width: int, depth: int, batchnorm: bool = False, epsilon: float = 1e-3, measure_every: int = 1
) -> Network:
    """Luther & Seung FC net: ``z^l = W^l x^{l-1}`` (Kaiming, zero bias), ``x^l = ReLU(z^l)``.

    No stem: the first layer maps the input dimension to ``width`` with variance ``2 / N_0``.
    Locs: ``pre`` = z^l (BN input when ``batchnorm``), ``bn`` = BN output, ``post`` = x^l.
    """
    block: tuple[Layer, ...] = (Dense(width=check_positive_int("width", width), weight_var=HE),
                                Measure("pre"))
    if batchnorm:
        block += (BatchNorm(epsilon), Measure("bn"))
    block += (Activation("relu"), Measure("post", reff=True))
    name = "kaiming_bn_ff" if batchnorm else "kaiming_ff"
    return Network(block, depth, None, measure_every, name)


def full_resnet(
    width: int,
    depth: int,
    activation: str = "tanh",
    *,
    sigma_w2: float = 1.0,
    sigma_v2: float = 1.0,
    sigma_b2: float = 0.0,
    sigma_a2: float = 0.0,
    beta_w: float = 0.0,
    beta_v: float = 0.0,
    beta_b: float = 0.0,
    beta_a: float = 0.0,
    hidden_widths: Sequence[int] | None = None,
    measure_every: int = 1,
) -> Network:
    """Yang & Schoenholz full resnet ``x <- x + V phi(W x + b) + a`` (no BN, no stem).

    ``W: N -> M_l`` with variance ``sigma_w^2(l)/N``, ``V: M_l -> N`` with ``sigma_v^2(l)/M_l``;
    ``hidden_widths`` gives ``M_l`` per block (default ``M_l = N``). Locs: ``h`` (= W x + b),
    ``x`` (after the addition). Dense layers are named ``W`` and ``V`` for gradient records.
    """
    width = check_positive_int("width", width)
    hidden: int | tuple[int, ...] = width if hidden_widths is None else tuple(hidden_widths)
    branch = (
        Dense(width=hidden, weight_var=sigma_w2, bias_var=sigma_b2, weight_beta=beta_w,
              bias_beta=beta_b, name="W"),
        Measure("h"),
        Activation(activation),
        Dense(width=width, weight_var=sigma_v2, bias_var=sigma_a2, weight_beta=beta_v,
              bias_beta=beta_a, name="V"),
    )
    return Network((Residual(branch), Measure("x")), depth, None, measure_every, "full_resnet")


def reduced_resnet(
    width: int,
    depth: int,
    activation: str = "tanh",
    *,
    sigma_w2: float = 1.0,
    sigma_b2: float = 0.0,
    beta_w: float = 0.0,
    beta_b: float = 0.0,
    measure_every: int = 1,
) -> Network:
    """Yang & Schoenholz reduced resnet ``x <- x + phi(W x + b)`` (no BN, no stem)."""
    width = check_positive_int("width", width)
    branch = (
        Dense(width=width, weight_var=sigma_w2, bias_var=sigma_b2, weight_beta=beta_w,
              bias_beta=beta_b, name="W"),
        Measure("h"),
        Activation(activation),
    )
    return Network((Residual(branch), Measure("x")), depth, None, measure_every, "reduced_resnet")


ARCHITECTURES = ("vanilla", "bn_ff", "bn_res")
