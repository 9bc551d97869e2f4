"""The vocabulary check: every field a command prints is defined in ``docs/glossary.md``.

``test_every_command`` passes each parsed JSON and CSV payload through :func:`check_fields`, so
every command in every machine format is walked once. Besides the name, the unit suffix is held
to its promise: ``_usd`` fields are numbers, ``_pct`` percentages (not fractions), ``_rate`` and
``_count`` what they say, ``is_`` fields booleans.
"""

from __future__ import annotations

import math
import re
from functools import cache
from pathlib import Path
from typing import Final

GLOSSARY: Final = Path(__file__).resolve().parents[2] / "docs" / "glossary.md"

OPAQUE: Final = frozenset({"parameters", "inputs"})
"""Fields whose keys are data, not vocabulary: an AWS call's own parameters, input fingerprints."""

_ROW: Final = re.compile(r"^\|([^|]+)\|")
_NAME: Final = re.compile(r"`([A-Za-z][A-Za-z0-9_]*)`")


@cache
def defined_fields() -> frozenset[str]:
    """Every field name the glossary's tables define (backticked in a row's first cell)."""
    names: set[str] = set()
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line)
        if match:
            names.update(_NAME.findall(match.group(1)))
    return frozenset(names)


def _number(value: object) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _check_value(name: str, value: object, where: str) -> None:
    """The unit suffix's promise for one value, or for each of a list of values (JSON; CSV
    values are text and not checked)."""
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        for item in value:
            _check_value(name, item, where)
        return
    if name.endswith(("_usd", "_usd_per_hour", "_usd_per_month", "_pct", "_hours", "_days")):
        assert _number(value), f"{where}: {name} = {value!r} is not a number"
    if name.endswith("_pct") and isinstance(value, int | float) and math.isfinite(value):
        assert -10_000 <= value <= 10_000, f"{where}: {name} = {value} is no percentage"
    if name.endswith("_rate") and isinstance(value, int | float):
        assert 0.0 <= value <= 1.0, f"{where}: {name} = {value} is not a fraction"
    if name.endswith("_count") and value is not None:
        assert isinstance(value, int) and value >= 0, f"{where}: {name} = {value!r} is no count"
    if name.startswith("is_"):
        assert isinstance(value, bool), f"{where}: {name} = {value!r} is not true/false"


def check_fields(payload: object, where: str) -> set[str]:
    """Walk a JSON payload; fail on a field the glossary does not define or a broken unit.

    Returns
    -------
    set of str
        The fields seen.
    """
    seen: set[str] = set()
    defined = defined_fields()

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                name = str(key)
                seen.add(name)
                assert name in defined, (
                    f"{where}: field {name!r} is not defined in docs/glossary.md"
                )
                _check_value(name, item, where)
                if name not in OPAQUE:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(payload)
    return seen


def check_header(header: list[str], where: str) -> None:
    """Every CSV column is a glossary field."""
    defined = defined_fields()
    unknown = [name for name in header if name not in defined]
    assert not unknown, f"{where}: CSV columns {unknown} are not defined in docs/glossary.md"
