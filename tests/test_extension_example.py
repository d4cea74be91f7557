"""The worked extension example (examples/schoenholz_propagation), as a new user runs it.

* docs/extending.md cannot drift from the example: each of its code blocks preceded by
  ``<!-- include: PATH#REGION -->`` must equal the lines between ``[docs:REGION]`` and
  ``[/docs:REGION]`` of PATH (`included_blocks`; ``python tests/test_extension_example.py``
  rewrites the blocks from the files).
* The example's own tests pass (``pytest`` in its directory).
* From a fresh directory outside the repository, with the project and the example installed
  (``make`` installs both: ``pip install -e examples/schoenholz_propagation``):
  ``pytest -p dnn_moments --fidelity quick --claims P`` runs the example's claims and they
  PASS; ``dnn-moments verify --claims-module schoenholz_propagation.claims --claims P`` and
  ``dnn-moments report --claims-module schoenholz_propagation.claims --claims P`` include them.
  They use the suite's simulation cache (``tests/test_claims.py`` has filled it with the same
  runs when it ran first), so CI adds seconds, not a second evaluation; nothing else is
  written outside the temporary directory.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "schoenholz_propagation"
DOC = ROOT / "docs" / "extending.md"
MODULE = "schoenholz_propagation.claims"
BIN = Path(sys.executable).parent
INCLUDE = re.compile(r"<!-- include: (?P<path>[^#\s]+)#(?P<region>[\w-]+) -->\n"
                     r"```(?P<lang>\w*)\n(?P<body>.*?)```\n", re.S)


def region(path: Path, name: str) -> str:
    """The lines between ``[docs:name]`` and ``[/docs:name]`` of ``path`` (markers excluded)."""
    lines = path.read_text().splitlines(keepends=True)
    start = [i for i, s in enumerate(lines) if s.strip().endswith(f"[docs:{name}]")]
    end = [i for i, s in enumerate(lines) if s.strip().endswith(f"[/docs:{name}]")]
    assert len(start) == 1 and len(end) == 1 and start[0] < end[0], (
        f"{path}: region {name!r} must be marked exactly once")
    return "".join(lines[start[0] + 1:end[0]])


def included_blocks(text: str) -> str:
    """``text`` with every included code block replaced by its region's current lines."""
    def fill(m: re.Match) -> str:
        body = region(ROOT / m["path"], m["region"])
        return (f"<!-- include: {m['path']}#{m['region']} -->\n```{m['lang']}\n{body}```\n")
    return INCLUDE.sub(fill, text)


def test_the_tutorial_code_is_the_example_code() -> None:
    text = DOC.read_text()
    blocks = INCLUDE.findall(text)
    assert len(blocks) >= 8, "docs/extending.md should include the example's regions"
    assert text == included_blocks(text), (
        "docs/extending.md differs from the example's marked regions; run "
        "`python tests/test_extension_example.py` to refresh it")


def test_region_extraction_sees_a_change(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("a = 1\n# [docs:x]\nb = 2\n# [/docs:x]\n")
    assert region(f, "x") == "b = 2\n"
    doc = "<!-- include: m.py#x -->\n```python\nb = 3\n```\n"
    global ROOT
    old, ROOT = ROOT, tmp_path
    try:
        assert included_blocks(doc) != doc
    finally:
        ROOT = old


def _installed() -> None:
    if importlib.util.find_spec("schoenholz_propagation") is None:
        pytest.fail("the worked example is not installed: run `make` (or "
                    "`.venv/bin/pip install -e examples/schoenholz_propagation`)")


def _env(tmp_path: Path) -> dict[str, str]:
    from verify.cache import SimulationCache

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(DNN_MOMENTS_CACHE_DIR=str(Path(SimulationCache().directory).resolve()),
               DNN_MOMENTS_FIDELITY="quick")
    env.pop(  # the fresh directory names nothing but what the user types
        "DNN_MOMENTS_CLAIMS_MODULES", None)
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"{' '.join(args)} exited {out.returncode}:\n{out.stdout}\n" \
                                f"{out.stderr}"
    return out


def test_the_example_tests_pass() -> None:
    _installed()
    _run([str(BIN / "pytest"), "-q", "-p", "no:cacheprovider"], EXAMPLE, dict(os.environ))


def test_from_a_fresh_directory(tmp_path: Path) -> None:
    _installed()
    work = tmp_path / "project"
    work.mkdir()
    env = _env(tmp_path)
    out = _run([str(BIN / "pytest"), "-p", "dnn_moments", "--fidelity", "quick", "--claims", "P",
                "-v", "-p", "no:cacheprovider"], work, env)
    for cid in ("P1", "P2", "P3", "P4"):
        assert f"dnn_moments::{cid} PASSED" in out.stdout, out.stdout
    # Without -p the plugin collects nothing.
    plain = subprocess.run([str(BIN / "pytest"), "-q", "-p", "no:cacheprovider"], cwd=work,
                           env=env, capture_output=True, text=True, timeout=120)
    assert plain.returncode == 5 and "no tests ran" in plain.stdout
    res = work / "v.json"
    _run([str(BIN / "dnn-moments"), "verify", "--claims-module", MODULE, "--claims", "P",
          "--json", str(res)], work, env)
    records = json.loads(res.read_text())
    assert [(r["id"], r["verdict"]) for r in records] == [
        (f"P{i}", "PASS") for i in range(1, 5)]
    assert all("Deep information propagation" in r["paper"] for r in records)
    rep = work / "rep"
    _run([str(BIN / "dnn-moments"), "report", "--claims-module", MODULE, "--claims", "P",
          "--fidelity", "quick", "--out", str(rep)], work, env)
    html = (rep / "index.html").read_text()
    md = (rep / "report.md").read_text()
    for cid in ("P1", "P2", "P3", "P4"):
        assert cid in html and cid in md
    assert "Schoenholz, Gilmer, Ganguli &amp; Sohl-Dickstein 2017 (ICLR)" in html
    assert "Deep information propagation" in md
    assert len(list((rep / "figures").glob("*P*.png"))) >= 4


if __name__ == "__main__":  # refresh the tutorial's included blocks from the example
    DOC.write_text(included_blocks(DOC.read_text()))
    print(f"refreshed {DOC}")
