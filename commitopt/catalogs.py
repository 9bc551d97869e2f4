"""Which price catalog a command uses: explicit files, the local catalog, then the embedded one.

The local catalog is the Parquet file that ``commitopt pricing import`` and ``pricing fetch`` write:
``$COMMITOPT_CATALOG`` when set, else ``./commitopt-catalog.parquet``. Rates in earlier catalogs
take precedence, key by key; every rate keeps its source.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.errors import CommitoptInputError, param
from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.embedded import (
    embedded_notice,
    load_embedded_catalog,
    load_embedded_elasticache_catalog,
    load_embedded_opensearch_catalog,
)

LOCAL_CATALOG_ENV = "COMMITOPT_CATALOG"
LOCAL_CATALOG_DEFAULT = Path("commitopt-catalog.parquet")


def local_catalog_path() -> Path:
    """The local catalog file: ``$COMMITOPT_CATALOG`` or ``./commitopt-catalog.parquet``."""
    return Path(os.environ.get(LOCAL_CATALOG_ENV) or LOCAL_CATALOG_DEFAULT)


@dataclass(frozen=True, slots=True)
class ResolvedCatalog:
    """A merged catalog and the layers it came from, highest precedence first.

    Attributes
    ----------
    catalog
        The merged catalog.
    layers, layer_metadata
        Each layer's name and metadata, highest precedence first.
    uses_embedded
        Whether the embedded 2017 snapshot is one of the layers.
    notices
        What the user should be told (the embedded snapshot's age and how to refresh); the
        caller prints them.
    """

    catalog: PriceCatalog
    layers: tuple[str, ...]
    layer_metadata: tuple[CatalogMetadata, ...]
    uses_embedded: bool
    notices: tuple[str, ...] = ()


def resolve_catalog(
    catalog_paths: Sequence[Path] = (),
    *,
    first: Sequence[PriceCatalog] = (),
    use_local: bool = True,
    use_embedded: bool = True,
) -> ResolvedCatalog:
    """Load and merge the catalogs a command should price with.

    Parameters
    ----------
    catalog_paths
        Catalog Parquet files given with ``--catalog``, highest precedence first.
    first
        Catalogs that take precedence over all files (e.g. the rates of the CUR being billed).
    use_local
        Include the local catalog when its file exists.
    use_embedded
        Fall back to the embedded snapshots for keys the others lack: EC2 (2017-11-12), then
        ElastiCache and OpenSearch (2025-04-24), three layers. When they are used,
        :attr:`ResolvedCatalog.notices` holds a line with the EC2 snapshot's as-of date
        and how to refresh.
    """
    catalogs: list[PriceCatalog] = list(first)
    layers: list[str] = [catalog.metadata.source for catalog in first]
    for path in catalog_paths:
        catalogs.append(PriceCatalog.read_parquet(path))
        layers.append(str(path))
    local = local_catalog_path()
    if use_local and local.is_file() and local not in catalog_paths:
        catalogs.append(PriceCatalog.read_parquet(local))
        layers.append(f"{local} (local catalog)")
    if use_embedded:
        catalogs.append(load_embedded_catalog())
        layers.append("embedded snapshot")
        catalogs.append(load_embedded_elasticache_catalog())
        layers.append("embedded ElastiCache snapshot")
        catalogs.append(load_embedded_opensearch_catalog())
        layers.append("embedded OpenSearch snapshot")
    if not catalogs:
        raise CommitoptInputError(
            f"no price catalog: pass {param('catalog_paths')} FILE, import one with "
            f"`commitopt pricing import`, or allow the embedded catalog"
        )
    return ResolvedCatalog(
        PriceCatalog.merge(catalogs),
        tuple(layers),
        tuple(c.metadata for c in catalogs),
        use_embedded,
        (embedded_notice(),) if use_embedded else (),
    )


def write_into_catalog(
    new_catalogs: Sequence[PriceCatalog], target: Path, *, replace: bool = False
) -> PriceCatalog:
    """Merge new rates over the catalog at ``target`` (unless ``replace``) and write it atomically.

    Parameters
    ----------
    new_catalogs
        Highest precedence first; all take precedence over what ``target`` held.
    target
        The catalog file; created when absent.
    replace
        Drop what ``target`` held instead of merging into it.
    """
    existing = [] if replace or not target.is_file() else [PriceCatalog.read_parquet(target)]
    merged = PriceCatalog.merge([*new_catalogs, *existing])
    merged.to_parquet(target)
    return merged
