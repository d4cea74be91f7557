"""The pytest plugin ``dnn_moments``: every registered claim as a test, in any project.

Installed with dnn-moments as the ``pytest11`` entry point ``dnn_moments``. Loaded
automatically, it only adds its options; it collects claims when asked for:

* ``pytest -p dnn_moments`` on the command line, or
* ``pytest_plugins = ["verify.pytest_plugin"]`` in the project's top-level ``conftest.py``.

Then every registered claim (ours, those of installed ``dnn_moments.claims`` entry points,
``$DNN_MOMENTS_CLAIMS_MODULES`` and ``--claims-module``) is a test item ``dnn_moments::<id>``,
selectable with ``--claims P`` / ``--claims P1,L6`` or ``-k``. A project that parametrizes its
own tests over claims (as ``tests/test_claims.py`` does, with `claim_ids`, the
``dnn_moments_results`` fixture and `check_result`) gets no extra items.

All claim tests selected in a session are evaluated together in one run, so Holm's correction
covers exactly the claims being checked; each test then asserts its claim's verdict (PASS or
IDENTITY-ONLY; a FAIL or INCONCLUSIVE prints prediction, estimate, interval, tolerance,
simulations and seed), that every numeric stochastic criterion has a minimal detectable error,
and that the claim recorded a panel with a simulation and a theory curve.

Options: ``--fidelity quick|standard|paper`` (default quick, or ``$DNN_MOMENTS_FIDELITY``),
``--verify-seed N`` (default 0), ``--no-sim-cache`` (neither read nor write
``.dnn-moments-cache`` / ``$DNN_MOMENTS_CACHE_DIR``), ``--claims SPEC``, ``--claims-module
MODULE`` (repeatable).
"""

from __future__ import annotations

import os
import types
from typing import Any

import pytest

#: Names under which this plugin can be registered (entry point, module).
NAMES = ("dnn_moments", "verify.pytest_plugin")
_RESULTS = pytest.StashKey[dict]()
_REQUESTED = pytest.StashKey[bool]()
_CONFTEST_REQUESTS: list[str] = []
#: conftest files whose ``pytest_plugins`` line only loads the plugin (this repository's
#: tests/conftest.py, where entry points are not loaded): not a request to collect claims.
IGNORED_CONFTESTS: list[str] = []


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    """Block the other name of this module, so that ``-p dnn_moments`` together with a
    ``pytest_plugins = ["verify.pytest_plugin"]`` line (or the entry point's autoload) does not
    register it twice."""
    import sys

    me = sys.modules[__name__]
    mine = pluginmanager.get_name(me)
    for alias in NAMES:
        if alias != mine and pluginmanager.get_plugin(alias) is None \
                and not pluginmanager.is_blocked(alias):
            pluginmanager.set_blocked(alias)


def pytest_plugin_registered(plugin: object, plugin_name: str,
                             manager: pytest.PytestPluginManager) -> None:
    """Note a conftest that asks for the plugin (``pytest_plugins`` naming it)."""
    if isinstance(plugin, types.ModuleType) and (getattr(plugin, "__file__", "") or "").endswith(
            "conftest.py"):
        wanted = getattr(plugin, "pytest_plugins", ())
        wanted = [wanted] if isinstance(wanted, str) else list(wanted)
        if any(w in NAMES for w in wanted) and plugin.__file__ not in IGNORED_CONFTESTS:
            _CONFTEST_REQUESTS.append(plugin.__file__ or "")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dnn-moments")
    group.addoption("--fidelity", default=os.environ.get("DNN_MOMENTS_FIDELITY", "quick"),
                    choices=("quick", "standard", "paper"),
                    help="fidelity of the registered claims (default: quick)")
    group.addoption("--verify-seed", type=int, default=0,
                    help="run seed of the registered claims (default: 0)")
    group.addoption("--no-sim-cache", action="store_true",
                    help="do not read or write the simulation cache")
    group.addoption("--claims", default=None, metavar="SPEC",
                    help="claims to collect: ids or paper keys, comma-separated (e.g. P or "
                         "P1,L6); default: every registered claim")
    group.addoption("--claims-module", action="append", default=[], metavar="MODULE",
                    help="import MODULE, which registers claims (repeatable; also "
                         "$DNN_MOMENTS_CLAIMS_MODULES and the dnn_moments.claims entry points)")


def requested(config: pytest.Config) -> bool:
    """Whether this session asked for the claims (``-p dnn_moments`` or a conftest line)."""
    plugins = getattr(config.option, "plugins", None) or []
    return any(p in NAMES for p in plugins) or bool(_CONFTEST_REQUESTS)


def pytest_configure(config: pytest.Config) -> None:
    from theory import papers

    config.addinivalue_line("markers", "dnn_moments_claim: a registered claim of dnn-moments")
    try:
        papers.add_extension_modules(config.getoption("--claims-module") or [])
        if requested(config) or config.getoption("--claims-module"):
            papers.load_extensions()
    except papers.ExtensionError as exc:
        raise pytest.UsageError(f"dnn-moments: {exc}") from None
    config.stash[_REQUESTED] = requested(config)


def claim_ids() -> list[str]:
    """Every registered claim id (for ``pytest.mark.parametrize``); a failing extension module
    is a one-line usage error."""
    from theory.papers import ExtensionError
    from verify import registry

    try:
        return registry.claim_ids()
    except ExtensionError as exc:
        raise pytest.UsageError(f"dnn-moments: {exc}") from None


def _selected(config: pytest.Config) -> list[str] | None:
    spec = config.getoption("--claims")
    if not spec:
        return None
    from verify import registry

    try:
        return [c.id for c in registry.select(spec)]
    except ValueError as exc:
        raise pytest.UsageError(f"dnn-moments: --claims: {exc}") from None


def _claim_of(item: pytest.Item) -> str | None:
    """The claim id an item tests (a `ClaimItem`, or a test using ``dnn_moments_results``
    parametrized by ``claim_id``)."""
    if isinstance(item, ClaimItem):
        return item.claim_id
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "dnn_moments_results" in getattr(item, "fixturenames", ()):
        return callspec.params.get("claim_id")
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    wanted = _selected(config)
    explicit = [i for i in items if _claim_of(i) is not None]
    if wanted is not None and explicit:
        keep = [i for i in items if _claim_of(i) is None or _claim_of(i) in wanted]
        dropped = [i for i in items if i not in keep]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = keep
    if config.stash.get(_REQUESTED, False) and not explicit:
        ids = wanted if wanted is not None else claim_ids()
        items.extend(ClaimItem.from_parent(session, name=cid, nodeid=f"dnn_moments::{cid}",
                                           claim_id=cid) for cid in ids)


def session_results(session: pytest.Session) -> dict[str, Any]:
    """Results of every claim tested in this session, evaluated together (once)."""
    config = session.config
    if _RESULTS not in config.stash:
        from verify import registry, runner
        from verify.cache import SimulationCache

        ids = list(dict.fromkeys(c for c in (_claim_of(i) for i in session.items) if c))
        ids = ids or claim_ids()
        cache = None if config.getoption("--no-sim-cache") else SimulationCache()
        results = runner.run_claims([registry.get(c) for c in ids],
                                    config.getoption("--fidelity"),
                                    config.getoption("--verify-seed"), cache=cache)
        config.stash[_RESULTS] = {r.claim.id: r for r in results}
    return config.stash[_RESULTS]


@pytest.fixture(scope="session")
def dnn_moments_results(request: pytest.FixtureRequest) -> dict[str, Any]:
    """``{claim id: verify.runner.ClaimResult}`` for every claim test of the session."""
    return session_results(request.session)


def check_result(r: Any) -> None:
    """The assertions every claim test makes (see the module docstring)."""
    from verify import runner
    from verify.criteria import Verdict

    if r.verdict is Verdict.SKIPPED:
        pytest.skip("; ".join(f"{c.id}: {c.reason}" for c in r.criteria))
    # IDENTITY-ONLY: nothing failed, but the claim rests on identities or sanity bounds only; it
    # is reported as such (not as a verified PASS) and is not an error of the harness.
    assert r.verdict in (Verdict.PASS, Verdict.IDENTITY_ONLY), runner.failure_message(r)
    # Every criterion that predicts a number or a curve from simulations has a minimal
    # detectable error. Exempt: yes/no criteria, pure-theory computations without sampling
    # error (a series against its closed form, an iterate's exponent) and one-sided signs (a
    # trend above 0), which predict no magnitude to perturb.
    unmeasured = [c.id for c in r.criteria if c.evidence == "test" and c.kind != "holds"
                  and c.stochastic and c.verdict is not Verdict.SKIPPED and c.mde is None
                  and not (c.kind in ("above", "below") and c.prediction == 0)]
    assert not unmeasured, (f"{r.claim.id}: numeric test criteria without a perturbation (no "
                            f"minimal detectable error): {unmeasured}")
    assert r.panels, f"{r.claim.id}: the check recorded no figure panel (ctx.panel)"
    assert any({"simulation", "theory"} <= {c.kind for c in p.curves} for p in r.panels), (
        f"{r.claim.id}: no panel has both a simulation curve and a theory curve "
        f"(panels: {[p.title for p in r.panels]})")


class ClaimItem(pytest.Item):
    """One registered claim as a test item (``dnn_moments::<id>``)."""

    def __init__(self, *, claim_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.claim_id = claim_id
        self.add_marker("dnn_moments_claim")

    def runtest(self) -> None:
        check_result(session_results(self.session)[self.claim_id])

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        if isinstance(excinfo.value, AssertionError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)  # type: ignore[arg-type]

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"dnn-moments claim {self.claim_id}"
