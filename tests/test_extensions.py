"""Extension points (issue 13): papers as data, discovery of extension modules, one-line errors.

Fake extension packages are written to a temporary directory on ``sys.path``; the registries
(papers, derivations, claims, run-time modules) are restored after every test.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

import theory
from reports import cli
from theory import derivation, papers
from verify import registry

EXT = textwrap.dedent('''
    import numpy as np
    from theory import Derivation, declare_paper, register
    from verify import criteria as C, stats
    from verify.registry import Mutation, claim, nearby

    PAPER = declare_paper("{key}", "{ref}", derivations=("{mod}",), claims=("{mod}",))

    def mean_one() -> float:
        return 1.0

    @register("{key}1", title="toy mean", paper=PAPER, provenance="derived")
    def _d() -> Derivation:
        return Derivation(statement="the mean is 1", evaluate=mean_one)

    @claim("{key}1", title="toy mean", paper=PAPER, theory={{"mu": mean_one}},
           sizes={{f: {{"n": 400}} for f in ("quick", "standard", "paper")}},
           mutations=[Mutation("mu 2", {{"mu": lambda: 2.0}}),
                      nearby("mu 1.5", {{"mu": lambda: 1.5}}, "quick")])
    def _c(ctx, th, size):
        x = ctx.rng("x").standard_normal(size["n"]) * 0.01 + 1.0
        est = stats.mean_estimate(x, ctx.rng("b"), n_resamples=ctx.n_resamples)
        ctx.panel("toy", "i", "x").simulation(np.arange(4), x.reshape(-1, 4)).theory(
            np.arange(4), th.mu())
        return [C.equivalence("{key}1.1", "mean", est, th.mu(), 0.01, "400 draws, se 5e-4")]
''')


@pytest.fixture()
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A directory on sys.path for fake modules; every registry restored afterwards."""
    saved = (dict(papers._PAPERS), list(papers._RUNTIME_MODULES), set(papers._LOADED),
             dict(derivation._BUILDERS), dict(derivation._ORIGINS), dict(registry._REGISTRY))
    before = set(sys.modules)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(papers.ENV_VAR, raising=False)
    yield tmp_path
    papers._PAPERS.clear()
    papers._PAPERS.update(saved[0])
    papers._RUNTIME_MODULES[:] = saved[1]
    papers._LOADED.clear()
    papers._LOADED.update(saved[2])
    for store, old in ((derivation._BUILDERS, saved[3]), (derivation._ORIGINS, saved[4]),
                       (registry._REGISTRY, saved[5])):
        store.clear()
        store.update(old)
    for m in set(sys.modules) - before:
        del sys.modules[m]
    importlib.invalidate_caches()


def _write(root: Path, mod: str, key: str = "QX", ref: str = "Toy 2030: a toy paper",
           body: str | None = None) -> None:
    (root / f"{mod}.py").write_text(body if body is not None else EXT.format(key=key, ref=ref,
                                                                              mod=mod))


def test_our_papers_are_declared_data() -> None:
    keys = [p.key for p in papers.declared_papers()][:3]
    assert keys == ["L", "S", "Y"]
    assert papers.get_paper("L").reference == theory.LABATIE
    assert papers.get_paper("Y").claims == ("verify.claims_yang_schoenholz",)
    assert dict(derivation.PAPERS)["S"] == theory.LUTHER_SEUNG


def test_claim_ids_any_capital_prefix_ordered_by_paper() -> None:
    key = papers.claim_sort_key
    assert sorted(["Y1", "L10", "S3", "L2", "S10"], key=key) == ["L2", "L10", "S3", "S10", "Y1"]
    assert key("ZZ9") > key("Y7")  # undeclared papers after the declared ones
    assert papers.split_claim_id("AB12") == ("AB", 12)
    for bad in ("p1", "P", "P01", "1P", "P1a"):
        with pytest.raises(papers.ExtensionError, match="is not allowed"):
            papers.split_claim_id(bad)
    with pytest.raises(papers.ExtensionError):
        registry.claim("P1x", title="t", paper="p", theory={},
                       sizes={f: {} for f in registry.FIDELITIES})


def test_runtime_module_registers_derivation_and_claim_and_selection(sandbox: Path) -> None:
    _write(sandbox, "toy_ext")
    papers.add_extension_modules(["toy_ext"])
    assert "QX1" in theory.claim_ids() and theory.get("QX1").paper == "Toy 2030: a toy paper"
    ids = registry.claim_ids()
    assert ids[-1] == "QX1" and ids.index("QX1") > ids.index("Y7")
    assert [c.id for c in registry.select("QX")] == ["QX1"]
    assert [c.id for c in registry.select("QX1,L6")] == ["QX1", "L6"]
    assert "QX" in registry.paper_keys()
    from reports import report
    assert [c.id for c in report.select("QX").claims] == ["QX1"]
    assert report._papers("QX,L6") == "QX"


def test_environment_variable_names_modules(sandbox: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _write(sandbox, "toy_env", key="QE", ref="Env 2031: another toy")
    monkeypatch.setenv(papers.ENV_VAR, "toy_env")
    assert [c.id for c in registry.select("QE")] == ["QE1"]


def test_entry_point_modules_are_found(monkeypatch: pytest.MonkeyPatch, sandbox: Path) -> None:
    _write(sandbox, "toy_ep", key="QP", ref="EP 2032: installed toy")

    class EP:
        name, value, dist = "toy", "toy_ep", None

    import importlib.metadata as md
    monkeypatch.setattr(md, "entry_points", lambda group: [EP] if group ==
                        papers.ENTRY_POINT_GROUP else [])
    assert ("toy_ep", "entry point 'toy' of (dnn_moments.claims)") in papers.extension_modules()
    assert "QP1" in registry.claim_ids()


def test_a_module_that_fails_to_import_is_one_line_naming_it(sandbox: Path, capsys) -> None:
    _write(sandbox, "toy_broken", body="import numpy\nraise RuntimeError('boom\\nsecond')\n")
    rc = cli.main(["verify", "--claims-module", "toy_broken", "--list"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1
    assert "toy_broken" in err and "RuntimeError: boom" in err
    papers._RUNTIME_MODULES.clear()
    rc = cli.main(["theory", "--claims-module", "no_such_pkg.claims"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "'no_such_pkg.claims'" in err


def test_two_registrations_of_one_id_name_both_modules(sandbox: Path) -> None:
    _write(sandbox, "toy_a", key="QD", ref="Dup 2033: a")
    second = EXT.format(key="QD", ref="Dup 2033: a", mod="toy_a").replace(
        'PAPER = declare_paper("QD", "Dup 2033: a", derivations=("toy_a",), claims=("toy_a",))',
        'PAPER = "Dup 2033: a"')
    _write(sandbox, "toy_b", body=second)
    papers.add_extension_modules(["toy_a", "toy_b"])
    with pytest.raises(papers.ExtensionError) as e:
        papers.load_extensions()
    msg = str(e.value)
    assert "\n" not in msg and "toy_a" in msg and "toy_b" in msg and "QD1" in msg
    with pytest.raises(papers.ExtensionError, match="declared twice: in toy_a .* and in x"):
        papers.declare_paper("QD", "Dup 2033: other", module="x")


def test_claims_module_option_on_every_subcommand() -> None:
    parser = cli.build_parser()
    for sub in (["theory"], ["verify"], ["report"]):
        args = parser.parse_args(sub + ["--claims-module", "a.b", "--claims-module", "c"])
        assert args.claims_module == ["a.b", "c"]
