"""Domain errors of the usage layer.

Every error subclasses :class:`core.errors.CommitoptInputError` (a :class:`ValueError`) and
carries one readable line naming the source (file, API, table), the bad column or rows, and the fix.
The CLI maps them to exit code 2 without a traceback.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import CommitoptInputError


class UsageInputError(CommitoptInputError):
    """Usage input that commitopt cannot use: bad file, missing columns, bad values.

    Parameters
    ----------
    source
        The file, API or table that was being read (``"usage.csv"``, ``"usage table"``). Called
        with this argument alone, it is the whole message.
    problem
        What is wrong, naming the column and a few bad rows.
    fix
        What the user can do about it.
    """

    def __init__(self, source: str | Path, problem: str = "", fix: str = "") -> None:
        self.source = str(source)
        self.problem = problem
        self.fix = fix
        message = f"{self.source}: {problem}" if problem else self.source
        if fix:
            message += f"; {fix}"
        super().__init__(message)
