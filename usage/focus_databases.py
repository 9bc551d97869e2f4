"""Database instance-hours in FOCUS exports: the service codes and charge descriptions.

A FOCUS export names a service by ``ServiceName`` (``Amazon Relational Database Service``) and
describes an RDS instance-hour in ``ChargeDescription`` as AWS's price list does: ``USD 0.023 per
db.t3.micro Single-AZ instance hour (or partial hour) running SQL Server Exp (LI)`` (a row of the
FOCUS 1.0 sample in ``tests/data/focus``). :mod:`usage.readers` rebuilds the CUR usage type
(``USE1-InstanceUsage:db.t3.micro``) and the engine, edition and licence columns from it, so the
one demand SQL (:mod:`usage.demand_sql`) keys the row as it keys a CUR's. Exports with AWS's own
columns (``x_ServiceCode``, ``x_UsageType``) need only the engine from the description; OpenSearch,
Redshift and MemoryDB rows need none.

Only the ``SQL Server Exp (LI)`` spelling is seen in real data here; the others follow the same
pattern (the engine names of AWS's RDS price descriptions, with ``(LI)`` / ``(BYOL)`` for the
licence) and a description that matches none is counted as *database engine not covered*.
"""

from __future__ import annotations

from typing import Final

FOCUS_SERVICE_CODES: Final[dict[str, str]] = {
    "Amazon Relational Database Service": "AmazonRDS",
    "Amazon ElastiCache": "AmazonElastiCache",
    "Amazon MemoryDB": "AmazonMemoryDB",
    "Amazon OpenSearch Service": "AmazonES",
    "Amazon Elasticsearch Service": "AmazonES",
    "Amazon Redshift": "AmazonRedshift",
}
"""FOCUS ``ServiceName`` -> the CUR product code, for the reserved database services."""

FOCUS_DATABASE_HOUR: Final = (
    r"per (?:RDS )?(db\.[a-z0-9-]+\.[a-z0-9-]+) (Single-AZ|Multi-AZ) instance hour"
    r"(?: \(or partial hour\))? running (.+)$"
)
"""An RDS instance-hour's charge description: class, deployment, engine text (RE2)."""

FOCUS_ENGINES: Final[dict[str, tuple[str, str, str]]] = {
    "mysql": ("mysql", "", ""),
    "postgresql": ("postgresql", "", ""),
    "mariadb": ("mariadb", "", ""),
    "aurora mysql": ("aurora mysql", "", ""),
    "aurora postgresql": ("aurora postgresql", "", ""),
    "sql server exp (li)": ("sql server", "express", "license included"),
    "sql server web (li)": ("sql server", "web", "license included"),
    "sql server se (li)": ("sql server", "standard", "license included"),
    "sql server ee (li)": ("sql server", "enterprise", "license included"),
    "oracle se2 (li)": ("oracle", "standard two", "license included"),
    "oracle se2 (byol)": ("oracle", "standard two", "bring your own license"),
    "oracle se1 (li)": ("oracle", "standard one", "license included"),
    "oracle se1 (byol)": ("oracle", "standard one", "bring your own license"),
    "oracle se (byol)": ("oracle", "standard", "bring your own license"),
    "oracle ee (byol)": ("oracle", "enterprise", "bring your own license"),
}
"""The engine text of an RDS charge description (lower case) -> the CUR's
``product/databaseEngine``, ``product/databaseEdition`` and ``product/licenseModel`` (lower case),
as :data:`usage.demand_sql.ENGINE_ROWS` reads them."""

__all__ = ["FOCUS_DATABASE_HOUR", "FOCUS_ENGINES", "FOCUS_SERVICE_CODES"]
