"""Sampled usage paths: compact storage materialises exactly what it describes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scenarios.paths import UsagePaths
from usage.table import KEY_COLUMNS, UsageMatrix

HOURS = pd.date_range("2024-01-01", periods=3, freq="h", tz="UTC", unit="ns")
KEYS = pd.DataFrame({column: ["a", "b"] for column in KEY_COLUMNS})


def matrix(offset: float) -> UsageMatrix:
    return UsageMatrix(hours=HOURS, keys=KEYS, quantity=np.arange(6.0).reshape(3, 2) + offset)


def test_from_matrices_round_trips_every_path() -> None:
    paths = UsagePaths.from_matrices([matrix(0), matrix(10)])
    assert paths.n_paths == 2 and paths.n_hours == 3
    np.testing.assert_array_equal(paths.path(1).quantity, matrix(10).quantity)
    np.testing.assert_array_equal(paths.path(-2).quantity, matrix(0).quantity)
    assert paths.block(slice(0, 2)).shape == (2, 3, 2)


def test_trend_multiplies_the_copied_rows() -> None:
    source = np.array([[1.0, 2.0], [3.0, 4.0]])
    rows = np.array([[1, 0, 1]], dtype=np.int32)
    trend = np.array([[1.0, 1.0], [2.0, 2.0], [1.0, 0.5]])
    paths = UsagePaths(hours=HOURS, keys=KEYS, source=source, source_row=rows, trend=trend)
    np.testing.assert_array_equal(paths.path(0).quantity, [[3.0, 4.0], [2.0, 4.0], [3.0, 2.0]])
    assert paths.source[1, 0] == 3.0  # the source is not modified in place


def test_shapes_and_ranges_are_checked() -> None:
    with pytest.raises(ValueError, match="outside source"):
        UsagePaths(hours=HOURS, keys=KEYS, source=np.ones((2, 2)),
                   source_row=np.array([[0, 1, 2]], dtype=np.int32))  # fmt: skip
    with pytest.raises(ValueError, match="trend has shape"):
        UsagePaths(hours=HOURS, keys=KEYS, source=np.ones((2, 2)),
                   source_row=np.zeros((1, 3), dtype=np.int32), trend=np.ones((2, 2)))  # fmt: skip
    with pytest.raises(ValueError, match="other hours or keys"):
        shifted = UsageMatrix(hours=HOURS + pd.Timedelta(hours=1), keys=KEYS,
                              quantity=np.zeros((3, 2)))  # fmt: skip
        UsagePaths.from_matrices([matrix(0), shifted])
    with pytest.raises(IndexError):
        UsagePaths.from_matrices([matrix(0)]).path(1)
