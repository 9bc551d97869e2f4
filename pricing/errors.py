"""Errors of the pricing layer: price files, product vocabulary, catalogs.

All are :class:`core.errors.CommitoptInputError` (exit code 2).
"""

from __future__ import annotations

from pathlib import Path

from core.errors import CommitoptInputError


class PriceFileError(CommitoptInputError):
    """A price file that cannot be read: wrong format, missing columns, bad values.

    Parameters
    ----------
    path
        The file (or API name) that was being read.
    problem
        What is wrong, naming the row or column where known.
    fix
        What the user can do about it.
    """

    def __init__(self, path: str | Path, problem: str, fix: str = "") -> None:
        self.path = str(path)
        self.problem = problem
        self.fix = fix
        message = f"{self.path}: {problem}"
        if fix:
            message += f"; {fix}"
        super().__init__(message)


class UnknownInstanceTypeError(CommitoptInputError):
    """An instance type that cannot be parsed or has no known normalization factor."""


class UnknownPlatformError(CommitoptInputError):
    """A platform (operating system / licence) string that maps to no RI product description."""


class UnknownRegionError(CommitoptInputError):
    """A region code, usage-type prefix or location name that commitopt does not know."""


class CatalogValidationError(CommitoptInputError):
    """A price catalog that breaks an invariant (negative or missing price, duplicate key, ...)."""


class MissingPriceError(CommitoptInputError):
    """Keys for which the catalog holds no price.

    Parameters
    ----------
    what
        Which rate was asked for (e.g. ``"on-demand"``).
    keys
        Human-readable key descriptions, e.g. ``"us-east-1 m5.large Linux/UNIX Shared"``.
    """

    REMEDY = (
        "get prices with `commitopt pricing fetch` (AWS Price List API), "
        "`commitopt pricing import FILE` (AWS Price List / Savings Plans offer files, "
        "ec2instances.info JSON), or from a CUR that bills these keys"
    )

    def __init__(self, what: str, keys: list[str]) -> None:
        self.what = what
        self.keys = keys
        shown = ", ".join(keys[:5])
        more = f" and {len(keys) - 5} more" if len(keys) > 5 else ""
        super().__init__(f"no {what} price for {shown}{more}; {self.REMEDY}")
