"""Build the embedded price catalog from the 2017-11-12 ec2instances.info snapshot.

Usage (from the repository root)::

    python scripts/build_embedded_catalog.py
    python scripts/build_embedded_catalog.py --source FILE --output FILE

Reads ``scripts/data/ec2instancesinfo_instances_2017-11-12.json.gz`` (ec2instances.info's
``www/instances.json`` at commit 94e1f006, gzipped; MIT, see ``scripts/data/``) and writes
``pricing/embedded/ec2instancesinfo_2017-11-12.parquet``. The build is deterministic: the same
source and library versions give a byte-identical Parquet file.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Final

from pricing.catalog import PriceCatalog
from pricing.embedded import (
    EMBEDDED_AS_OF,
    EMBEDDED_FILE_NAME,
    EMBEDDED_REFRESH_HINT,
    EMBEDDED_SOURCE,
)
from pricing.readers.ec2instances_info import read_ec2instances_info

REPOSITORY: Final = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE: Final = (
    REPOSITORY / "scripts" / "data" / "ec2instancesinfo_instances_2017-11-12.json.gz"
)
DEFAULT_OUTPUT: Final = REPOSITORY / "pricing" / "embedded" / EMBEDDED_FILE_NAME

EMBEDDED_NOTES: Final = (
    "ec2instances.info snapshot of 2017-11-12: it predates m5, t3 and every later family "
    "(c5 is in it), so newer instance types have no price here",
    "the source has no Savings Plans (they started in November 2019): every Savings Plans rate "
    "is derived from RI rates",
    "the source rounds effective hourly RI rates to 3 decimals (±0.0005 USD/h), so a derived "
    "upfront fee may be off by up to 4.38 USD (1 year) or 13.14 USD (3 years) per RI",
    EMBEDDED_REFRESH_HINT,
)
"""Caveats stored in the embedded catalog's metadata (shown by ``pricing info``)."""


def build_embedded_catalog(
    source: Path = DEFAULT_SOURCE, output: Path = DEFAULT_OUTPUT
) -> PriceCatalog:
    """Read the snapshot, add the embedded catalog's provenance and notes, write the Parquet.

    Parameters
    ----------
    source
        The ec2instances.info ``instances.json(.gz)`` of 2017-11-12.
    output
        The Parquet file to write (atomically, zstd); its folder must exist.

    Returns
    -------
    PriceCatalog
        The catalog written.
    """
    catalog = read_ec2instances_info(source, as_of=EMBEDDED_AS_OF, source=EMBEDDED_SOURCE)
    metadata = replace(catalog.metadata, notes=(*catalog.metadata.notes, *EMBEDDED_NOTES))
    catalog = replace(catalog, metadata=metadata)
    catalog.to_parquet(output)
    return catalog


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="instances.json(.gz)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="Parquet to write")
    arguments = parser.parse_args(argv)
    try:
        catalog = build_embedded_catalog(arguments.source, arguments.output)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    counts = catalog.counts()
    size = arguments.output.stat().st_size
    print(
        f"wrote {arguments.output} ({size:,} bytes): "
        f"{counts['instance_type_count']} instance types, "
        f"{counts['region_count']} regions, {counts['platform_count']} platforms, "
        f"{counts['on_demand_rate_count']} on-demand, {counts['reserved_offering_count']} RI and "
        f"{counts['savings_plans_rate_count']} Savings Plans rates"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
