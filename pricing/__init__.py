"""AWS product vocabulary, price catalogs, readers of AWS price formats, and owned commitments.

The base layer of commitopt: nothing here imports from ``usage``, ``optimizer``, ``scenarios`` or
``commitopt``. The names below are imported on first use, so that ``import pricing.errors`` (which
the command line needs at start-up) does not load pandas.
"""

from __future__ import annotations

import importlib
from typing import Any, Final

_EXPORTS: Final[dict[str, str]] = {
    "CatalogMetadata": "pricing.catalog",
    "PriceCatalog": "pricing.catalog",
    "CommitoptInputError": "pricing.errors",
    "MissingPriceError": "pricing.errors",
    "PriceFileError": "pricing.errors",
}


def __getattr__(name: str) -> Any:
    """Import an exported name from its module on first access (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pricing' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = sorted(_EXPORTS)
