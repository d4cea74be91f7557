"""One source for every prediction: the registry takes its predictions from `theory/` only.

A prediction written inside `verify/` would not move when `theory/` is wrong, and a mutation of
the registered theory would not reach it. So, for every claims module:

* every ``theory={...}`` entry of a ``@claim`` is a function defined in a `theory` module or in
  a derivations module of a declared paper (`theory.papers`: an extension's) (or a
  `functools.partial` of one), a call of such a function, or a constant stated by THEORY.md's
  pass criteria (a threshold, an ordering sign): a literal, never a formula;
* no function of the module reads a `theory` module directly (its checks must use the
  predictions they are given, ``th``), and none types in a Gaussian constant (``pi``).

The walker is tested on small fabricated modules, so it cannot pass by missing everything.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import textwrap
from pathlib import Path

import pytest

from theory import papers
from verify import registry

PI_NAMES = {("np", "pi"), ("math", "pi"), ("numpy", "pi")}


def _is_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _is_literal(node.operand)
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_is_literal(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _is_literal(k) and _is_literal(v)
                   for k, v in zip(node.keys, node.values, strict=True))
    return False


def _root(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _derivation_modules() -> set[str]:
    """Derivations modules of every declared paper (ours are under `theory` anyway)."""
    return set(papers.modules_of("derivations"))


def _is_theory_module(name: str) -> bool:
    return name.split(".")[0] == "theory" or name in _derivation_modules()


def _theory_module_names(tree: ast.Module) -> set[str]:
    """Local names bound to theory modules (or their contents) by the module's imports."""
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            for a in node.names:
                if _is_theory_module(a.name):
                    names.add((a.asname or a.name).split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            for a in node.names:
                if _is_theory_module(mod) or _is_theory_module(f"{mod}.{a.name}"):
                    names.add(a.asname or a.name)
    return names


def _entry_problem(node: ast.AST, theory_names: set[str], assignments: dict[str, ast.AST],
                   resolved: object) -> str | None:
    """Why a ``theory=`` entry is not from `theory/` (None when it is)."""
    if _is_literal(node):
        return None
    if isinstance(node, ast.Lambda):
        return "a lambda written in verify/"
    if isinstance(node, ast.Call):
        fn = node.func
        if isinstance(fn, ast.Attribute) and _root(fn) in theory_names:
            return None
        if (isinstance(fn, ast.Attribute) and fn.attr == "partial") or (
                isinstance(fn, ast.Name) and fn.id == "partial"):
            return _entry_problem(node.args[0], theory_names, assignments, None) if node.args \
                else "an empty partial"
        return f"a call of {ast.unparse(fn)} (not a theory function)"
    if isinstance(node, ast.Attribute):
        return None if _root(node) in theory_names else f"{ast.unparse(node)} is not from theory/"
    if isinstance(node, ast.Name):
        if callable(resolved):
            return _callable_problem(resolved)
        if node.id in assignments:
            return _entry_problem(assignments[node.id], theory_names, assignments, None)
        return f"{node.id} is neither a theory function nor a stated constant"
    return f"a formula ({ast.unparse(node)[:60]})"


def _callable_problem(obj: object) -> str | None:
    f = obj.func if isinstance(obj, functools.partial) else obj
    f = inspect.unwrap(f)  # type: ignore[arg-type]
    mod = getattr(f, "__module__", "") or ""
    if mod == "theory" or mod.startswith("theory.") or mod in _derivation_modules():
        return None
    return (f"{getattr(f, '__qualname__', f)!s} is defined in {mod}, not in theory/ or a "
            "declared paper's derivations module")


def _claim_decorators(tree: ast.Module) -> list[tuple[str, ast.Call]]:
    out = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for d in node.decorator_list:
                if isinstance(d, ast.Call) and getattr(d.func, "id", "") == "claim" and d.args:
                    out.append((ast.literal_eval(d.args[0]), d))
    return out


def source_problems(source: str, namespace: dict[str, object] | None = None) -> list[str]:
    """Every breach of the one-source rule in a claims module's source (module docstring)."""
    tree = ast.parse(source)
    namespace = namespace or {}
    theory_names = _theory_module_names(tree)
    assignments = {t.id: n.value for n in tree.body if isinstance(n, ast.Assign)
                   for t in n.targets if isinstance(t, ast.Name)}
    problems = []
    for cid, deco in _claim_decorators(tree):
        for kw in deco.keywords:
            if kw.arg != "theory":
                continue
            value = kw.value
            if isinstance(value, ast.Name) and value.id in assignments:
                value = assignments[value.id]
            if not isinstance(value, ast.Dict):
                problems.append(f"{cid}: theory= is not a dict literal")
                continue
            for k, v in zip(value.keys, value.values, strict=True):
                name = ast.literal_eval(k) if k is not None else "**"
                resolved = namespace.get(v.id) if isinstance(v, ast.Name) else None
                why = _entry_problem(v, theory_names, assignments, resolved)
                if why:
                    problems.append(f"{cid}: prediction {name!r} is {why}")
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for sub in (n for stmt in node.body for n in ast.walk(stmt)):
            if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name):
                if sub.value.id in theory_names:
                    problems.append(f"{node.name} (line {sub.lineno}) reads "
                                    f"{ast.unparse(sub)} directly instead of a prediction in th")
                elif (sub.value.id, sub.attr) in PI_NAMES:
                    problems.append(f"{node.name} (line {sub.lineno}) types in a Gaussian "
                                    f"constant ({ast.unparse(sub)}): take it from theory/")
    return problems


def _claims_modules() -> list[str]:
    return registry.claim_modules()  # ours and every extension's (e.g. the worked example)


@pytest.mark.parametrize("module", _claims_modules())
def test_claims_module_takes_every_prediction_from_theory(module: str) -> None:
    mod = importlib.import_module(module)
    problems = source_problems(Path(mod.__file__).read_text(), vars(mod))
    assert not problems, f"{module}:\n  " + "\n  ".join(problems)


def test_every_registered_prediction_is_a_theory_function_or_a_constant() -> None:
    bad = []
    for c in registry.all_claims():
        for name, value in c.theory.items():
            if callable(value):
                why = _callable_problem(value)
                if why:
                    bad.append(f"{c.id}.{name}: {why}")
            elif not isinstance(value, (int, float, tuple, dict, str)):
                bad.append(f"{c.id}.{name}: {type(value).__name__} is not a stated constant")
    assert not bad, "\n".join(bad)


FAKE = textwrap.dedent('''
    import numpy as np
    from theory import labatie
    from verify.registry import claim

    TAU = 2 * 0.5759

    @claim("L99", theory={"good": labatie.tau_gaussian, "band": (0.1, 0.2), "sign": -1,
                          "bad_lambda": lambda h: 2 * h, "bad_formula": np.sqrt(2 / np.pi),
                          "bad_name": TAU})
    def _check(ctx, th, size):
        x = labatie.tau_gaussian(2)
        return [np.pi * x]
''')


def test_walker_finds_every_kind_of_breach() -> None:
    problems = source_problems(FAKE)
    joined = "\n".join(problems)
    for name in ("bad_lambda", "bad_formula", "bad_name"):
        assert name in joined
    assert "'good'" not in joined and "'band'" not in joined and "'sign'" not in joined
    assert "reads labatie.tau_gaussian directly" in joined
    assert "Gaussian constant (np.pi)" in joined
    assert len(problems) == 5, problems


def test_walker_accepts_a_clean_module() -> None:
    clean = FAKE.split("@claim")[0].replace("TAU = 2 * 0.5759", "") + textwrap.dedent('''
        @claim("L98", theory={"tau": labatie.tau_gaussian, "rate": labatie.rate(3)})
        def _check(ctx, th, size):
            return [th.tau(2)]
    ''')
    assert source_problems(clean) == []
