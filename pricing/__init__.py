"""AWS product vocabulary, price catalogs, readers of AWS price formats, and owned commitments.

The base layer of commitopt: nothing here imports from ``usage``, ``optimizer``, ``scenarios`` or
``commitopt``.
"""

from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.errors import CommitoptInputError, MissingPriceError, PriceFileError

__all__ = [
    "CatalogMetadata",
    "CommitoptInputError",
    "MissingPriceError",
    "PriceCatalog",
    "PriceFileError",
]
