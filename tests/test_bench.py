"""The benchmark runner keeps working. Timings are never asserted here (machines are noisy):
this checks that every row runs and that its implementations did the same work."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys

import pytest

from course.notebooks import ROOT


def test_every_benchmark_row_runs_and_its_implementations_agree():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--repeats", "1", "--rounds", "2"],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode in (0, 1), result.stderr  # 1 only says a target was missed
    out = result.stdout
    for name in ("MLP epoch", "DataLoader epoch", "Conv2d fwd+bwd", "MultiHeadAttention fwd+bwd",
                 "GPT training step", "CIFAR-10 CNN of Milestone 04"):
        assert name in out, out
    if "torch" in re.search(r"loss of the last batch: (.*)\n", out).group(1):  # torch installed
        assert "against PyTorch at its best thread count" in out, out
    assert re.search(r"samples delivered: tinytorch 1797(, torch 1797)?(, torch@1 1797)?\n", out), out
    sums = re.search(r"sum of the weight gradient: tinytorch (\S+)(?:, torch (\S+))?", out)
    if sums.group(2):
        assert abs(float(sums.group(1)) - float(sums.group(2))) <= 1e-3 * abs(float(sums.group(2)))
    # Attention: numpy, tinytorch and torch get the same input gradient (the sum of its absolute values).
    grads = re.search(r"sum of \|input gradient\|: (.+)\n", out).group(1)
    values = dict(part.split() for part in grads.split(", "))
    assert {"numpy", "tinytorch"} <= set(values), grads
    reference = float(values["numpy"])
    assert all(abs(float(v) - reference) <= 1e-3 * reference for v in values.values()), grads
    # The GPT step: both start from the same weights and batch, so the first loss agrees.
    losses = re.search(r"loss of the first step: tinytorch (\S+)(?:, torch (\S+))?(?:, torch@1 \S+)?\n", out)
    assert losses, out
    if losses.group(2):
        assert abs(float(losses.group(1)) - float(losses.group(2))) <= 1e-4 * float(losses.group(2))


def test_without_torch_the_torch_column_is_skipped_and_the_rest_runs(tmp_path):
    (tmp_path / "torch.py").write_text("raise ImportError('no torch here (test)')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "dataloader_epoch",
                             "--repeats", "1", "--rounds", "1"],
                            capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr
    assert "PyTorch is not installed" in result.stdout
    assert re.search(r"samples delivered: tinytorch 1797\n", result.stdout), result.stdout


def test_the_ratio_is_the_median_of_the_rounds_paired_measurements(capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import run
    import conv2d
    # Round 2 is slow for both: paired, its ratio is still 2; unpaired medians would mix rounds.
    found = {"tinytorch": [{"seconds": s, "result": 1.0} for s in (0.030, 0.090, 0.033)],
             "torch": [{"seconds": s, "result": 1.0} for s in (0.020, 0.045, 0.030)]}
    assert run.report(conv2d, found) is False  # ratios 1.5, 2.0, 1.1: median 1.5 meets <= 2
    out = capsys.readouterr().out
    line = out.splitlines()[0]
    assert "1.50x" in line and "met" in line and "(rounds 1.10-2.00x)" in line, line
    assert "some rounds met the target and some did not" not in out  # 1.1-2.0: all meet <= 2
    found["tinytorch"][0]["seconds"] = 0.060  # ratios 3.0, 2.0, 1.1: median 2.0 still meets
    assert run.report(conv2d, found) is False
    assert "some rounds met the target and some did not" in capsys.readouterr().out  # 3.0 misses
    found["tinytorch"][2]["seconds"] = 0.066  # ratios 3.0, 2.0, 2.2: median 2.2 misses
    assert run.report(conv2d, found) is True
    capsys.readouterr()
    found["tinytorch"] = [{"seconds": s, "result": 1.0} for s in (0.050, 0.100, 0.070)]
    assert run.report(conv2d, found) is True  # ratios 2.5, 2.2, 2.3: all miss, and say nothing more
    assert "some rounds" not in capsys.readouterr().out


def test_measuring_processes_get_openblas_short_spin_unless_asked_not_to(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import run
    monkeypatch.setenv("OPENBLAS_THREAD_TIMEOUT", "x")  # so that the test's changes are undone
    monkeypatch.delenv("OPENBLAS_THREAD_TIMEOUT")
    run.openblas_spin(openblas_defaults=True)
    assert "OPENBLAS_THREAD_TIMEOUT" not in os.environ
    run.openblas_spin(openblas_defaults=False)
    assert os.environ["OPENBLAS_THREAD_TIMEOUT"] == "20"
    assert run.thread_settings(None) is None  # the measuring processes inherit os.environ
    two = run.thread_settings(2)
    assert two["OPENBLAS_NUM_THREADS"] == two["OMP_NUM_THREADS"] == "2"
    assert two["OPENBLAS_THREAD_TIMEOUT"] == "20"
    monkeypatch.setenv("OPENBLAS_THREAD_TIMEOUT", "7")  # the user's own choice wins
    run.openblas_spin(openblas_defaults=False)
    assert run.thread_settings(1)["OPENBLAS_THREAD_TIMEOUT"] == "7"


def test_the_milestones_set_openblas_short_spin_before_numpy_loads():
    code = ("import os, sys; sys.path.insert(0, 'milestones'); import common; "
            "print(os.environ['OPENBLAS_THREAD_TIMEOUT'])")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    done = subprocess.run([sys.executable, "-B", "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "20"


def test_the_cifar_row_trains_milestone_04s_network_in_both_libraries(monkeypatch):
    """The row is only worth its name if it times the milestone's own network, and PyTorch the
    same layers with the same shapes."""
    monkeypatch.syspath_prepend(str(ROOT / "milestones"))
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import cifar_epoch
    milestone = importlib.import_module("04_cnn")
    ours = cifar_epoch.tinytorch_model()
    assert repr(ours) == repr(milestone.cifar10_cnn())
    torch = pytest.importorskip("torch")
    theirs = cifar_epoch.torch_model(torch)
    assert [type(layer).__name__ for layer in ours.layers] == [type(layer).__name__ for layer in theirs]
    # Linear's weight is (in, out) in tinytorch and (out, in) in PyTorch: compare the sizes.
    assert [p.size for p in ours.parameters()] == [p.numel() for p in theirs.parameters()]
