"""Which platform a database price row keys to, and which service an instance type names.

One rule for every database price reader (Price List offers and ``GetProducts``, a CUR's own
rates), the same as the usage side's (:mod:`usage.demand_sql`):

* RDS: the engine through :data:`pricing.databases.DATABASE_PLATFORMS`; Oracle and SQL Server
  through :data:`pricing.databases.EDITION_PLATFORMS` with their edition
  (``databaseEdition``, ``product/databaseEdition``) and licence model (``licenseModel``), compared
  without regard to case.
* ElastiCache: the cache engine through :data:`pricing.databases.DATABASE_PLATFORMS`.
* OpenSearch and Redshift: one platform each (``opensearch``, ``redshift``), whatever the engine.
* MemoryDB: the engine through :data:`pricing.databases.MEMORYDB_ENGINES`: ``memorydb`` for
  Redis OSS nodes (engine ``Redis``, ``Redis OSS`` or none given), ``memorydb-valkey`` for Valkey
  nodes (covered by ``memorydb`` reserved nodes at 0.7 of the units: :mod:`pricing.databases`);
  another engine is not mapped, with its name in the reason.
"""

from __future__ import annotations

from typing import Final

from pricing.databases import (
    DATABASE_PLATFORMS,
    EDITION_PLATFORMS,
    ELASTICACHE,
    MEMORYDB,
    MEMORYDB_ENGINES,
    OPENSEARCH,
    RDS,
    REDSHIFT,
    SERVICE_NAMES,
    database_engine,
)
from pricing.services import service_of

FIXED_PLATFORMS: Final[dict[str, str]] = {
    OPENSEARCH: DATABASE_PLATFORMS[(OPENSEARCH, "OpenSearch")],
    REDSHIFT: DATABASE_PLATFORMS[(REDSHIFT, "Redshift")],
}
"""Services with one platform whatever the engine."""

MEMORYDB_PLATFORM: Final = DATABASE_PLATFORMS[(MEMORYDB, "Redis OSS")]
"""The platform of MemoryDB's reserved nodes (all priced for Redis OSS) and Redis OSS nodes."""

_EDITIONS: Final[dict[tuple[str, str, str], str]] = {
    (engine, edition.lower(), licence.lower()): platform
    for (engine, edition, licence), platform in EDITION_PLATFORMS.items()
}


def price_platform(
    service: str, engine: str, edition: str = "", license_model: str = ""
) -> tuple[str | None, str]:
    """The key platform of a price row, or ``None`` and why it is not mapped.

    Parameters
    ----------
    service
        The CUR product code (``AmazonRDS``, ``AmazonES``, ...).
    engine
        ``databaseEngine`` / ``cacheEngine`` / MemoryDB's ``engine`` (empty when absent).
    edition, license_model
        ``databaseEdition`` and ``licenseModel`` (RDS Oracle and SQL Server only).

    Returns
    -------
    tuple
        ``(platform, "")`` or ``(None, reason)``.

    Examples
    --------
    >>> price_platform("AmazonRDS", "Oracle", "Standard Two", "License included")
    ('oracle-se2(li)', '')
    >>> price_platform("AmazonRDS", "MySQL")
    ('mysql', '')
    >>> price_platform("AmazonES", "")
    ('opensearch', '')
    >>> price_platform("AmazonMemoryDB", "Valkey")
    ('memorydb-valkey', '')
    """
    if service in FIXED_PLATFORMS:
        return FIXED_PLATFORMS[service], ""
    text = str(engine or "").strip()
    if service == MEMORYDB:
        memorydb = DATABASE_PLATFORMS.get((MEMORYDB, MEMORYDB_ENGINES.get(text.lower(), "")))
        if memorydb is not None:
            return memorydb, ""
        return None, f"MemoryDB engine {text} not mapped yet"
    if service not in (RDS, ELASTICACHE):
        return None, f"service {service or '(none)'} not covered"
    named = database_engine(service, text) or ""
    platform = DATABASE_PLATFORMS.get((service, named))
    if platform is not None:
        return platform, ""
    if service == RDS:
        key = (named, str(edition or "").strip().lower(), str(license_model or "").strip().lower())
        platform = _EDITIONS.get(key)
        if platform is not None:
            return platform, ""
        if named in ("Oracle", "SQL Server"):
            return None, (
                f"RDS engine {text} not mapped yet (edition {edition or 'none'!r}, licence "
                f"{license_model or 'none'!r})"
            )
    return None, f"{SERVICE_NAMES[service]} engine {text or '(none)'} not mapped yet"


def names_a_class_of(service: str, instance_type: str) -> bool:
    """Whether ``instance_type`` is spelled like a class or node type of ``service``.

    ``db.`` classes may be RDS's or MemoryDB's; ``cache.`` ElastiCache's; ``….search``
    OpenSearch's; the Redshift node families
    (:data:`pricing.instance_types.REDSHIFT_NODE_FAMILIES`) Redshift's.

    Examples
    --------
    >>> names_a_class_of("AmazonMemoryDB", "db.r6g.large"), names_a_class_of("AmazonES", "m5.large")
    (True, False)
    """
    by_name = service_of(str(instance_type))  # MemoryDB's db. types read as RDS by name
    return by_name == (RDS if service == MEMORYDB else service)
