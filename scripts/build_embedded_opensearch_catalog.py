"""Build the embedded OpenSearch price catalog from the 2025-04-24 ec2instances.info data.

Usage (from the repository root)::

    python scripts/build_embedded_opensearch_catalog.py
    python scripts/build_embedded_opensearch_catalog.py --source FILE --output FILE

Reads ``scripts/data/leanercloud_opensearch_instances_2025-04-24.json.gz`` (ec2instances.info's
``opensearch-instances.json`` as LeanerCloud/ec2-instances-info kept it at commit f9eafba8; data
MIT, repository Unlicense, see ``scripts/data/``) and writes
``pricing/embedded/opensearch_ec2instancesinfo_2025-04-24.parquet``. The build is deterministic:
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
    EMBEDDED_REFRESH_HINT,
    OPENSEARCH_AS_OF,
    OPENSEARCH_FILE_NAME,
    OPENSEARCH_SOURCE,
)
from pricing.readers.opensearch_instances_info import read_opensearch_instances_info

REPOSITORY: Final = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE: Final = (
    REPOSITORY / "scripts" / "data" / "leanercloud_opensearch_instances_2025-04-24.json.gz"
)
DEFAULT_OUTPUT: Final = REPOSITORY / "pricing" / "embedded" / OPENSEARCH_FILE_NAME

OPENSEARCH_NOTES: Final = (
    "OpenSearch snapshot of 2025-04-24: 177 instance types (c4-c7i, m3-m7i, r3-r7i, i2-i4i, "
    "im4gn, or1/or2, om2, t2/t3, ultrawarm1), on-demand and standard reserved rates per region "
    "(platform opensearch, tenancy Node); OpenSearch reservations apply to the exact instance type",
    "the source gives effective hourly reserved rates only: the upfront / recurring split of "
    "Partial and All Upfront is derived",
    EMBEDDED_REFRESH_HINT,
)
"""Caveats stored in the catalog's metadata (shown by ``pricing info``)."""


def build_embedded_opensearch_catalog(
    source: Path = DEFAULT_SOURCE, output: Path = DEFAULT_OUTPUT
) -> PriceCatalog:
    """Read the snapshot, add the catalog's provenance and notes, write the Parquet.

    Parameters
    ----------
    source
        ``opensearch-instances.json(.gz)`` of 2025-04-24.
    output
        The Parquet file to write (atomically, zstd); its folder must exist.

    Returns
    -------
    PriceCatalog
        The catalog written.
    """
    catalog = read_opensearch_instances_info(
        source, as_of=OPENSEARCH_AS_OF, source=OPENSEARCH_SOURCE
    )
    metadata = replace(catalog.metadata, notes=(*catalog.metadata.notes, *OPENSEARCH_NOTES))
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
        catalog = build_embedded_opensearch_catalog(arguments.source, arguments.output)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    counts = catalog.counts()
    size = arguments.output.stat().st_size
    print(
        f"wrote {arguments.output} ({size:,} bytes): "
        f"{counts['instance_type_count']} instance types, {counts['region_count']} regions, "
        f"{counts['on_demand_rate_count']} on-demand and "
        f"{counts['reserved_offering_count']} reserved rates"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
