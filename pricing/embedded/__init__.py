"""The embedded price catalogs: ec2instances.info snapshots, shipped as Parquet.

* EC2: the ec2instances.info snapshot of 2017-11-12 (:func:`load_embedded_catalog`).
* ElastiCache: ec2instances.info's ElastiCache data as LeanerCloud/ec2-instances-info kept it on
  2025-04-24 (:func:`load_embedded_elasticache_catalog`): on-demand and standard reserved rates
  per region, node type and engine (``redis``, ``valkey``, ``memcached``), tenancy ``Node``.
* OpenSearch: ec2instances.info's OpenSearch Service data from the same copy of 2025-04-24
  (:func:`load_embedded_opensearch_catalog`): on-demand and standard reserved rates per region and
  instance type (``r6g.large.search``), platform ``opensearch``, tenancy ``Node``.

commitopt works offline out of the box with these prices; they are old (the EC2 one has no m5, t3
or any later family, no Savings Plans of their own), so every command that uses them says so on
stderr (:func:`embedded_notice`). ``scripts/build_embedded_catalog.py`` and
``scripts/build_embedded_elasticache_catalog.py`` and
``scripts/build_embedded_opensearch_catalog.py`` rebuild the files reproducibly; ``NOTICE``
beside them carries the licences (MIT of ec2instances.info; Unlicense of LeanerCloud's
repository).
"""

from __future__ import annotations

import functools
from datetime import date
from importlib import resources
from typing import Final

from pricing.catalog import PriceCatalog

EMBEDDED_FILE_NAME: Final = "ec2instancesinfo_2017-11-12.parquet"
"""File name of the embedded catalog inside this package."""

EMBEDDED_AS_OF: Final = date(2017, 11, 12)
"""Date of the ec2instances.info snapshot the embedded catalog was built from."""

EMBEDDED_SOURCE: Final = (
    "ec2instances.info snapshot 2017-11-12 "
    "(vantage-sh/ec2instances.info www/instances.json at 94e1f006)"
)
"""Provenance of the embedded catalog, as its metadata states it."""

EMBEDDED_REFRESH_HINT: Final = (
    "Refresh prices with `commitopt pricing fetch` (AWS Price List API), "
    "`commitopt pricing import FILE` (AWS Price List, Savings Plans offer or ec2instances.info "
    "file), or let a CUR supply the rates it bills."
)
"""One sentence telling the user how to replace the embedded prices."""


ELASTICACHE_FILE_NAME: Final = "elasticache_ec2instancesinfo_2025-04-24.parquet"
"""File name of the embedded ElastiCache catalog inside this package."""

ELASTICACHE_AS_OF: Final = date(2025, 4, 24)
"""Date of the ElastiCache snapshot (the commit date of LeanerCloud's copy)."""

ELASTICACHE_SOURCE: Final = (
    "ec2instances.info ElastiCache snapshot 2025-04-24 "
    "(LeanerCloud/ec2-instances-info data/elasticache-instances.json at f9eafba8)"
)
"""Provenance of the embedded ElastiCache catalog, as its metadata states it."""

OPENSEARCH_FILE_NAME: Final = "opensearch_ec2instancesinfo_2025-04-24.parquet"
"""File name of the embedded OpenSearch catalog inside this package."""

OPENSEARCH_AS_OF: Final = date(2025, 4, 24)
"""Date of the OpenSearch snapshot (the commit date of LeanerCloud's copy)."""

OPENSEARCH_SOURCE: Final = (
    "ec2instances.info OpenSearch snapshot 2025-04-24 "
    "(LeanerCloud/ec2-instances-info data/opensearch-instances.json at f9eafba8)"
)
"""Provenance of the embedded OpenSearch catalog, as its metadata states it."""


@functools.lru_cache(maxsize=1)
def load_embedded_catalog() -> PriceCatalog:
    """Load the embedded catalog (read once per process, then cached).

    Returns
    -------
    PriceCatalog
        On-demand and RI rates of 88 instance types in 15 regions for 7 platforms, with derived
        Savings Plans rates. The cached object is shared: do not modify its tables in place.
    """
    resource = resources.files(__name__).joinpath(EMBEDDED_FILE_NAME)
    with resources.as_file(resource) as path:
        return PriceCatalog.read_parquet(path)


@functools.lru_cache(maxsize=1)
def load_embedded_elasticache_catalog() -> PriceCatalog:
    """Load the embedded ElastiCache catalog (read once per process, then cached).

    Returns
    -------
    PriceCatalog
        On-demand and standard reserved rates of 91 node types in 35 regions for the engines
        ``redis``, ``valkey`` and ``memcached`` (tenancy ``Node``); no Savings Plans rates. The
        cached object is shared: do not modify its tables in place.
    """
    resource = resources.files(__name__).joinpath(ELASTICACHE_FILE_NAME)
    with resources.as_file(resource) as path:
        return PriceCatalog.read_parquet(path)


@functools.lru_cache(maxsize=1)
def load_embedded_opensearch_catalog() -> PriceCatalog:
    """Load the embedded OpenSearch catalog (read once per process, then cached).

    Returns
    -------
    PriceCatalog
        On-demand and standard reserved rates of 177 instance types in 34 regions (platform
        ``opensearch``, tenancy ``Node``); no Savings Plans rates. The cached object is shared: do
        not modify its tables in place.
    """
    resource = resources.files(__name__).joinpath(OPENSEARCH_FILE_NAME)
    with resources.as_file(resource) as path:
        return PriceCatalog.read_parquet(path)


def embedded_notice() -> str:
    """The one-line notice printed to stderr whenever the embedded catalog supplies prices."""
    return (
        "using the embedded price catalog (ec2instances.info snapshot of "
        f"{EMBEDDED_AS_OF.isoformat()}); refresh with `commitopt pricing fetch` or "
        "`commitopt pricing import FILE`"
    )
