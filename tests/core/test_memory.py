"""core.memory: freed arrays are reused without the kernel faulting their pages in again."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

from core import memory

# A fresh interpreter allocates, touches and frees a 256 MiB array, then counts the page faults
# (minor: the kernel zeroing a page) that allocating and touching it a second time costs.
SECOND_ALLOCATION_FAULTS = """
import json, resource, sys
import numpy as np
from core.memory import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "keep" else None
size = 256 * 1024 * 1024 // 8
first = np.ones(size)
del first
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
second = np.ones(size)
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(json.dumps({"applied": applied, "faults": faults, "sum": float(second.sum())}))
"""

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


def _second_allocation(mode: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", SECOND_ALLOCATION_FAULTS, mode],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result: dict[str, object] = json.loads(done.stdout)
    assert result["sum"] == 256 * 1024 * 1024 // 8
    return result


@pytest.mark.skipif(not GLIBC, reason="the setting is glibc's")
def test_a_freed_array_is_reused_without_page_faults() -> None:
    kept = _second_allocation("keep")
    assert kept["applied"] is True
    # the control: without the setting, the array is mapped afresh and every page (or huge
    # page) is faulted in again; with it, the freed heap is reused as it is
    control = _second_allocation("default")
    assert isinstance(kept["faults"], int) and isinstance(control["faults"], int)
    assert control["faults"] >= 100
    assert kept["faults"] < 20


def test_nothing_changes_off_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory.sys, "platform", "darwin")
    assert memory.keep_freed_memory() is False


@pytest.mark.skipif(not GLIBC, reason="the setting is glibc's")
def test_the_environment_can_switch_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(memory.OFF_SWITCH, "0")
    switched_off = _second_allocation("keep")
    assert switched_off["applied"] is False
    assert isinstance(switched_off["faults"], int) and switched_off["faults"] >= 100


def test_the_command_line_sets_it_before_any_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import commitopt.cli as cli

    calls: list[str] = []
    monkeypatch.setattr(cli, "keep_freed_memory", lambda: calls.append("kept") is None)
    monkeypatch.setattr(sys, "argv", ["commitopt", "--version"])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 0
    assert calls == ["kept"]
