"""The benchmark runner keeps working. Timings are never asserted here (machines are noisy):
this checks that every row runs and that its implementations did the same work."""

from __future__ import annotations

import re
import subprocess
import sys

from notebooks import ROOT


def test_every_benchmark_row_runs_and_its_implementations_agree():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--repeats", "1"],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode in (0, 1), result.stderr  # 1 only says a target was missed
    out = result.stdout
    for name in ("MLP epoch", "DataLoader epoch", "Conv2d fwd+bwd"):
        assert name in out, out
    assert re.search(r"samples delivered: tinytorch 1797(, torch 1797)?\n", out), out
    sums = re.search(r"sum of the weight gradient: tinytorch (\S+)(?:, torch (\S+))?", out)
    if sums.group(2):
        assert abs(float(sums.group(1)) - float(sums.group(2))) <= 1e-3 * abs(float(sums.group(2)))
