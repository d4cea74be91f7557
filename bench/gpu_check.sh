#!/usr/bin/env bash
# The one prepared device check of the GPU backend (issue 12): <= 8 minutes on one H100/H200.
#
#   bash bench/gpu_check.sh            # on a machine with a CUDA GPU and CuPy
#
# 1. the GPU tests (tests/test_stacked.py: every hook against the CPU engine's kernels and
#    direct oracles, stack-size independence and determinism on the device, the device engine
#    against the CPU engine in distribution at FC and conv);
# 2. the benchmarks of bench/bench_gpu.py (layer step, FC throughput against the CPU engine on
#    2 cores, Labatie Fig. 3-5 per-simulation times at paper size, float32 vs TF32);
# 3. the figures into docs/benchmarks.md between the gpu_check markers.
# Everything it writes also goes to $OUT when that is set (the device tool brings $OUT back).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
DEST=${OUT:-bench/results/gpu_check}
mkdir -p "$DEST"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$DEST/nvidia_smi.txt" 2>&1
$PY - > "$DEST/versions.txt" 2>&1 <<'PYEOF'
import platform, numpy, scipy, numba
try:
    import cupy; cv = cupy.__version__
except Exception as e:  # noqa: BLE001
    cv = f"cupy did not import: {e}"
print("python", platform.python_version(), "numpy", numpy.__version__, "scipy",
      scipy.__version__, "numba", numba.__version__, "cupy", cv)
PYEOF
timeout 240 $PY -m pytest -q -p no:cacheprovider tests/test_stacked.py 2>&1 | tee "$DEST/tests.txt"
tests_rc=${PIPESTATUS[0]}
timeout 330 $PY bench/bench_gpu.py --device cuda --json "$DEST/gpu_check.json" \
    --markdown "$DEST/gpu_check.md" 2>&1 | tee "$DEST/bench.txt"
bench_rc=${PIPESTATUS[0]}
if [ "$bench_rc" -eq 0 ]; then
  $PY - "$DEST/gpu_check.md" "$tests_rc" <<'PYEOF'
import sys
from pathlib import Path
md, rc = Path(sys.argv[1]).read_text(), sys.argv[2]
tests = Path(sys.argv[1]).with_name("tests.txt").read_text().strip().splitlines()
md += f"\nGPU tests (`pytest tests/test_stacked.py`, exit status {rc}): {tests[-1] if tests else '?'}\n"
doc = Path("docs/benchmarks.md")
text = doc.read_text()
a, b = "<!-- gpu_check:begin -->", "<!-- gpu_check:end -->"
head, rest = text.split(a, 1)
_, tail = rest.split(b, 1)
doc.write_text(f"{head}{a}\n{md}{b}{tail}")
PYEOF
  cp docs/benchmarks.md "$DEST/benchmarks.md"
fi
echo "tests exit $tests_rc, benchmarks exit $bench_rc; results in $DEST"
[ "$tests_rc" -eq 0 ] && [ "$bench_rc" -eq 0 ]
