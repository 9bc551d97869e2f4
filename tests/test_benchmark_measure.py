"""benchmarks/measure.py: the load beside each figure, met / MISSED and the exit code, peak RSS."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _measure() -> ModuleType:
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    return importlib.import_module("measure")


def test_idle_only_when_both_loads_are_below_half() -> None:
    load = _measure().Load
    assert load(0.2, 0.49).idle
    assert not load(0.2, 0.5).idle
    assert not load(1.3, 0.1).idle
    assert str(load(0.2, 0.3)) == "load 0.20 -> 0.30 (idle)"
    assert str(load(3.0, 4.25)) == "load 3.00 -> 4.25 (under load)"


def test_a_missed_target_prints_missed_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    measure = _measure()
    verdicts = measure.Verdicts()
    verdicts.add("fast", "0.1 s", True, measure.Load(0.1, 0.2))
    assert verdicts.report() == 0
    verdicts.add("small", "3 GiB", False)
    assert verdicts.report() == 1
    out = capsys.readouterr().out
    assert "met    fast: 0.1 s; load 0.10 -> 0.20 (idle)" in out
    assert "MISSED small: 3 GiB" in out
    assert "1 of 2 MISSED" in out


def test_measured_times_the_block_and_reads_the_load() -> None:
    measure = _measure()
    with measure.measured() as span:
        sum(range(10_000))
    assert 0 <= span.seconds < 5
    assert span.load.before >= 0 and span.load.after >= 0


def test_peak_rss_is_at_least_the_resident_memory_now() -> None:
    measure = _measure()
    block = bytearray(64 * 2**20)  # touch 64 MiB
    block[::4096] = b"x" * len(block[::4096])
    assert measure.peak_rss_mib() >= measure.rss_mib() > 64


def test_run_child_returns_the_childs_last_json_line() -> None:
    measure = _measure()
    run = measure.run_child(["-c", "print('noise'); print('{\"answer\": 42}')"])
    assert run.figures == {"answer": 42}
    assert run.seconds > 0


@pytest.mark.parametrize(
    "script", sorted(p.name for p in BENCHMARKS.glob("bench_*.py")), ids=lambda name: name
)
def test_every_benchmark_script_prints_its_help(script: str) -> None:
    """``--help`` is how a reader finds a benchmark's options (a stray ``%`` in a help text
    crashed one)."""
    import subprocess

    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout
