"""Usage histories into the canonical hourly usage table (CUR, CUR 2.0, FOCUS, Cost Explorer, CSV).

Depends only on :mod:`pricing`. :mod:`usage.table` defines the canonical table and its dense
matrix form; :mod:`usage.synthetic` generates seeded histories for demos and tests.
"""

from usage.errors import UsageInputError
from usage.table import (
    KEY_COLUMNS,
    USAGE_COLUMNS,
    UsageMatrix,
    fill_missing_hours,
    filter_usage,
    spread_daily,
    to_matrix,
    validate_usage_table,
)

__all__ = [
    "KEY_COLUMNS",
    "USAGE_COLUMNS",
    "UsageInputError",
    "UsageMatrix",
    "fill_missing_hours",
    "filter_usage",
    "spread_daily",
    "to_matrix",
    "validate_usage_table",
]
