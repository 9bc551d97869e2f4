"""Readers of AWS's price formats and APIs; each returns a :class:`pricing.catalog.PriceCatalog`."""
