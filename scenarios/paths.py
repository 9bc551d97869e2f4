"""Sampled usage paths: many possible futures over the same hours and keys, stored compactly.

A path copies, hour by hour, one row of a *source* matrix (e.g. a week of the lookback chosen by a
block bootstrap) and multiplies it by a *trend* factor per hour and key shared by every path::

    quantity[p, t, k] = source[source_row[p, t], k] * trend[t, k]

so 500 one-year paths of 1,000 keys take the source rows, one ``int32`` index per path-hour and
one trend matrix, instead of 35 GB of materialised usage. :meth:`UsagePaths.block` materialises a
few paths at a time for the simulator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from usage.table import KEY_COLUMNS, UsageMatrix

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.int32]


@dataclass(frozen=True)
class UsagePaths:
    """``n_paths`` sampled usage paths over ``hours`` × ``keys``.

    Attributes
    ----------
    hours
        The paths' contiguous hourly ``DatetimeIndex`` in UTC.
    keys
        One row per key, columns :data:`usage.table.KEY_COLUMNS`, ``RangeIndex``.
    source
        ``float64`` array ``(n_source_rows, n_keys)`` of usage rows the paths copy
        [instance-hours].
    source_row
        ``int32`` array ``(n_paths, n_hours)``: the source row each path copies in each hour.
    trend
        ``float64`` array ``(n_hours, n_keys)`` of multiplicative factors shared by every path
        [1], or ``None`` for none (all ones).
    """

    hours: pd.DatetimeIndex
    keys: pd.DataFrame
    source: FloatArray
    source_row: IndexArray
    trend: FloatArray | None = None

    def __post_init__(self) -> None:
        n_hours, n_keys = len(self.hours), len(self.keys)
        if list(self.keys.columns) != list(KEY_COLUMNS):
            raise ValueError(f"keys must have the columns {', '.join(KEY_COLUMNS)}")
        if self.source.ndim != 2 or self.source.shape[1] != n_keys:
            raise ValueError(f"source has shape {self.source.shape}, expected (rows, {n_keys})")
        if self.source_row.ndim != 2 or self.source_row.shape[1] != n_hours:
            raise ValueError(
                f"source_row has shape {self.source_row.shape}, expected (paths, {n_hours})"
            )
        if self.source_row.size and (
            self.source_row.min() < 0 or self.source_row.max() >= self.source.shape[0]
        ):
            raise ValueError("source_row indexes rows outside source")
        if self.trend is not None and self.trend.shape != (n_hours, n_keys):
            raise ValueError(
                f"trend has shape {self.trend.shape}, expected ({n_hours}, {n_keys}) (hours × keys)"
            )

    @property
    def n_paths(self) -> int:
        """Number of paths."""
        return int(self.source_row.shape[0])

    @property
    def n_hours(self) -> int:
        """Hours per path."""
        return len(self.hours)

    def block(self, paths: slice) -> FloatArray:
        """Materialise the paths ``paths`` as ``(n, n_hours, n_keys)`` usage [instance-hours]."""
        quantity = self.source[self.source_row[paths]]
        if self.trend is not None:
            quantity *= self.trend[np.newaxis]
        return np.ascontiguousarray(quantity, dtype=np.float64)

    def path(self, index: int) -> UsageMatrix:
        """Path ``index`` as a :class:`~usage.table.UsageMatrix`."""
        if not -self.n_paths <= index < self.n_paths:
            raise IndexError(f"path {index} out of range for {self.n_paths} paths")
        position = index % self.n_paths
        quantity = self.block(slice(position, position + 1))[0]
        return UsageMatrix(hours=self.hours, keys=self.keys, quantity=quantity)

    @classmethod
    def from_matrices(cls, matrices: Sequence[UsageMatrix]) -> UsagePaths:
        """Paths that are exactly ``matrices`` (same hours and keys; no trend).

        Raises
        ------
        ValueError
            When there is no matrix or their hours or keys differ.
        """
        if not matrices:
            raise ValueError("give at least one usage matrix")
        first = matrices[0]
        for number, matrix in enumerate(matrices[1:], start=2):
            if not matrix.hours.equals(first.hours) or not matrix.keys.equals(first.keys):
                raise ValueError(f"matrix {number} has other hours or keys than matrix 1")
        n_hours = len(first.hours)
        source = np.concatenate([matrix.quantity for matrix in matrices], axis=0)
        rows = np.arange(len(matrices) * n_hours, dtype=np.int32).reshape(len(matrices), n_hours)
        return cls(hours=first.hours, keys=first.keys, source=source, source_row=rows)
