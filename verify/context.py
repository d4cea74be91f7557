"""What a claim's check receives: fidelity, seeds, and cached simulation.

`Context.simulate` runs `simulate.run_network` through the on-disk cache. The simulation seed
is derived from the run seed and the *configuration* (not the claim), so two claims that need
the same simulations (e.g. L6, L8 and L9 all read bn_ff runs) share one cached run. Bootstrap
generators come from `Context.rng`, seeded by (run seed, claim, tag): results are identical for
a given seed whatever the thread count or order in which claims run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from simulate import EngineOptions, run_network
from simulate.checkpoint import remove_checkpoint
from simulate.inputs import make_input_source
from simulate.results import SimulationResults
from simulate.spec import Network
from verify.cache import SimulationCache, config_key
from verify.panels import Panel
from verify.registry import check_fidelity

#: Bootstrap resamples per fidelity (the CI endpoints' Monte Carlo error is ~1/sqrt of this).
N_RESAMPLES = {"quick": 1000, "standard": 4000, "paper": 10000}


@dataclasses.dataclass
class SimulationRecord:
    """One simulation run used by a check (for reports and JSON)."""

    name: str
    network: str
    num_sims: int
    batch_size: int
    seed: int
    seconds: float
    cached: bool


_KEY_LOCKS: dict[str, threading.Lock] = {}
_KEY_LOCKS_GUARD = threading.Lock()


def _key_lock(key: str) -> threading.Lock:
    """The lock of one simulation configuration (claims evaluated in threads share memo,
    cache and checkpoint folders: a configuration is computed once)."""
    with _KEY_LOCKS_GUARD:
        return _KEY_LOCKS.setdefault(key, threading.Lock())


def _stable_int(*parts: Any) -> int:
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:4], "little")


class Context:
    """Per-claim access to simulations (cached), generators and the fidelity level.

    fidelity: ``quick``/``standard``/``paper``; seed: run seed (int >= 0); cache: a
    `SimulationCache` or None (no disk cache); memo: shared in-memory results across claims of
    one run; quiet: no progress bars.
    """

    def __init__(self, claim_id: str, fidelity: str, seed: int,
                 cache: SimulationCache | None = None,
                 memo: dict[str, SimulationResults] | None = None, quiet: bool = True) -> None:
        self.claim_id = claim_id
        self.fidelity = check_fidelity(fidelity)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed={seed!r} is not allowed; it must be an integer >= 0")
        self.seed = int(seed)
        self.cache = cache
        self.memo = {} if memo is None else memo
        self.quiet = quiet
        self.records: list[SimulationRecord] = []
        self.panels: list[Panel] = []
        self.n_resamples = N_RESAMPLES[fidelity]

    def rng(self, tag: str = "") -> np.random.Generator:
        """Generator for (run seed, claim, tag): bootstrap resampling, synthetic draws."""
        ss = np.random.SeedSequence(self.seed, spawn_key=(_stable_int(self.claim_id, tag),))
        return np.random.Generator(np.random.PCG64(ss))

    def panel(self, title: str, xlabel: str, ylabel: str, *, logx: bool = False,
              logy: bool = False, caption: str = "", overlay: str = "", network: str = ""
              ) -> Panel:
        """Start a figure panel of this claim (add curves with ``.simulation``/``.theory``).

        overlay/network: see `verify.panels.Panel` (which results files ``report --compare``
        draws on this panel).
        """
        p = Panel(title, xlabel, ylabel, logx, logy, caption, overlay=overlay, network=network)
        self.panels.append(p)
        return p

    def fixed_inputs(self, dataset: str, batch_size: int, tag: str = "", **kwargs: Any
                     ) -> np.ndarray:
        """One input batch ``(B, D)`` drawn for (run seed, dataset, tag): shared across claims.

        The batch is standardised per feature over the batch, as in moments-dnns (so its rows
        have pairwise correlation about -1/(B-1) for i.i.d. data); B = 1 would be all zeros and
        is refused.
        """
        if batch_size < 2:
            raise ValueError(f"batch_size={batch_size} is not allowed for a standardised batch; "
                             "it must be >= 2 (draw unstandardised inputs with ctx.rng instead)")
        src = make_input_source(dataset, **kwargs)
        ss = np.random.SeedSequence(self.seed, spawn_key=(_stable_int("inputs", dataset, tag,
                                                                        kwargs, batch_size),))
        return src.sample(batch_size, np.random.Generator(np.random.PCG64(ss)))

    def simulate(
        self,
        net: Network,
        inputs: Mapping[str, Any] | np.ndarray,
        *,
        num_sims: int,
        batch_size: int | None = None,
        options: EngineOptions | None = None,
        name: str = "",
    ) -> SimulationResults:
        """``num_sims`` simulations of ``net`` (cached).

        inputs: keyword arguments of `simulate.inputs.make_input_source` (e.g.
        ``{"dataset": "gaussian", "input_dim": 3072}``; a fresh batch per simulation) or a fixed
        array ``(B, D)`` used in every simulation.
        """
        options = options or EngineOptions()
        if isinstance(inputs, np.ndarray):
            in_desc: Any = {"fixed": hashlib.sha256(np.ascontiguousarray(inputs)).hexdigest(),
                            "shape": list(inputs.shape)}
            source: Any = inputs
        else:
            in_desc = dict(inputs)
            source = make_input_source(**inputs)
        config = {"network": net.to_dict(), "inputs": in_desc, "batch_size": batch_size,
                  "num_sims": num_sims, "options": options.identity()}
        seed = _stable_int(self.seed, config)
        key = config_key({**config, "seed": seed})
        t0 = time.perf_counter()
        with _key_lock(key):  # claims run in threads: one computation per configuration
            res, cached = self._load_or_run(key, net, source, batch_size, num_sims, seed,
                                            options, name)
        self.memo[key] = res
        self.records.append(SimulationRecord(name or net.name, net.name, num_sims,
                                             res.metadata.get("batch_size", batch_size or 0),
                                             seed, time.perf_counter() - t0, cached))
        return res

    def _load_or_run(self, key: str, net: Network, source: Any, batch_size: int | None,
                     num_sims: int, seed: int, options: EngineOptions, name: str
                     ) -> tuple[SimulationResults, bool]:
        res = self.memo.get(key)
        cached = res is not None
        if res is None and self.cache is not None:
            res = self.cache.load(key)
            cached = res is not None
        if res is None:
            # With a cache, finished chunks are checkpointed beside it: a killed verify or
            # report run resumes inside the simulation it was running.
            partial = None if self.cache is None else self.cache.partial_dir(key)
            res = run_network(net, source, batch_size=batch_size, num_sims=num_sims, seed=seed,
                              options=options, quiet=self.quiet,
                              config={"verify": {"claim": self.claim_id, "run_seed": self.seed,
                                                 "name": name}},
                              checkpoint=partial, resume=partial is not None,
                              keep_checkpoint=True)
            if self.cache is not None:
                self.cache.store(key, res)
                remove_checkpoint(partial)
        return res, cached
