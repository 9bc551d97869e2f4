"""Units of time the whole engine shares, defined once.

AWS bills by the hour; a month in run-rates and break-even figures is the average month of
730 h (8,760 h ÷ 12), as in AWS's Pricing Calculator and Cost Explorer.
"""

from __future__ import annotations

from typing import Final

HOURS_PER_DAY: Final = 24
"""Hours in a day [h]."""
HOURS_PER_WEEK: Final = 168
"""Hours in a week [h]."""
HOURS_PER_MONTH: Final = 730
"""Hours in an average month, for run-rates and break-even months [h]."""
HOURS_PER_YEAR: Final = 8_760
"""Hours in a year, and in a one-year term [h]."""
