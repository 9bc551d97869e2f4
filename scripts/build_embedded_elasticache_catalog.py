"""Build the embedded ElastiCache price catalog from the 2025-04-24 ec2instances.info data.

Usage (from the repository root)::

    python scripts/build_embedded_elasticache_catalog.py
    python scripts/build_embedded_elasticache_catalog.py --source FILE --output FILE

Reads ``scripts/data/leanercloud_elasticache_instances_2025-04-24.json.gz`` (ec2instances.info's
``elasticache-instances.json`` as LeanerCloud/ec2-instances-info kept it at commit f9eafba8; data
MIT, repository Unlicense, see ``scripts/data/``) and writes
``pricing/embedded/elasticache_ec2instancesinfo_2025-04-24.parquet``. The build is deterministic:
the same source and library versions give a byte-identical Parquet file.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Final

from pricing.catalog import PriceCatalog
from pricing.embedded import (
    ELASTICACHE_AS_OF,
    ELASTICACHE_FILE_NAME,
    ELASTICACHE_SOURCE,
    EMBEDDED_REFRESH_HINT,
)
from pricing.readers.elasticache_instances_info import read_elasticache_instances_info

REPOSITORY: Final = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE: Final = (
    REPOSITORY / "scripts" / "data" / "leanercloud_elasticache_instances_2025-04-24.json.gz"
)
DEFAULT_OUTPUT: Final = REPOSITORY / "pricing" / "embedded" / ELASTICACHE_FILE_NAME

ELASTICACHE_NOTES: Final = (
    "ElastiCache snapshot of 2025-04-24: 91 node types (m5-m7g, r5-r7g, t3/t4g, c7gn), "
    "on-demand and standard reserved rates per region and engine (redis, valkey, memcached); "
    "the source has no 1-year All Upfront rates",
    "the source gives effective hourly reserved rates only: the upfront / recurring split of "
    "Partial and All Upfront is derived",
    EMBEDDED_REFRESH_HINT,
)
"""Caveats stored in the catalog's metadata (shown by ``pricing info``)."""


def build_embedded_elasticache_catalog(
    source: Path = DEFAULT_SOURCE, output: Path = DEFAULT_OUTPUT
) -> PriceCatalog:
    """Read the snapshot, add the catalog's provenance and notes, write the Parquet.

    Parameters
    ----------
    source
        ``elasticache-instances.json(.gz)`` of 2025-04-24.
    output
        The Parquet file to write (atomically, zstd); its folder must exist.

    Returns
    -------
    PriceCatalog
        The catalog written.
    """
    catalog = read_elasticache_instances_info(
        source, as_of=ELASTICACHE_AS_OF, source=ELASTICACHE_SOURCE
    )
    metadata = replace(catalog.metadata, notes=(*catalog.metadata.notes, *ELASTICACHE_NOTES))
    catalog = replace(catalog, metadata=metadata)
    catalog.to_parquet(output)
    return catalog


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="JSON(.gz) to read")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="Parquet to write")
    arguments = parser.parse_args(argv)
    try:
        catalog = build_embedded_elasticache_catalog(arguments.source, arguments.output)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    counts = catalog.counts()
    size = arguments.output.stat().st_size
    print(
        f"wrote {arguments.output} ({size:,} bytes): "
        f"{counts['instance_type_count']} node types, {counts['region_count']} regions, "
        f"{counts['platform_count']} engines, {counts['on_demand_rate_count']} on-demand and "
        f"{counts['reserved_offering_count']} reserved rates"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
