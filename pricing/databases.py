"""Database usage types, engines, deployments and the reservation size-flexibility rules.

The vocabulary for reserved database instances and nodes, as AWS documents it (each rule below
names its source). What it covers:

* **Usage types** (CUR ``lineItem/UsageType``, Price List ``usagetype``), with an optional region
  prefix such as ``USE2-`` (us-east-1 has none, as for EC2; :mod:`pricing.regions`):

  - RDS and Aurora ``InstanceUsage:db.r4.large`` (Single-AZ), ``Multi-AZUsage:db.m4.large``
    (Multi-AZ DB instance: a primary and a standby) and ``Multi-AZClusterUsage:db.m6gd.large``
    (Multi-AZ DB cluster: a writer and two readable standbys);
  - ElastiCache ``NodeUsage:cache.r6g.large``.

  The spellings are those of AWS's own bills and Price List: the first two appear in the October
  2018 workshop CUR (``tests/data/cur/wal_Oct2018-WorkshopCUR-rds-trimmed.zstd.parquet``);
  ``Multi-AZClusterUsage`` and ``NodeUsage`` are the Price List's (no AWS documentation page lists
  usage types). Aurora I/O-Optimized instance usage (``InstanceUsageIOOptimized:db.…``) is
  recognised but not mapped: how reservations cover its higher rate was not found in AWS's
  documentation, so those rows come back with a reason. Serverless (``Aurora:ServerlessV2Usage``),
  storage, I/O, backup and transfer usage types are not instance usage. MemoryDB's
  ``NodeUsage:db.r6g.large``, OpenSearch's ``ESInstance:r6g.large`` (key type
  ``r6g.large.search``) and Redshift's ``Node:ra3.xlplus`` are the Price List's spellings too.
  DocumentDB and Neptune are left for later; they spell their usage like RDS
  (``InstanceUsage:db.r5.large``), so the service is the line item's product code, not the usage
  type: :mod:`usage.demand_sql` counts those rows as another service's.

* **Engines and licence models**: from the CUR's ``product/databaseEngine`` (underscore spelling
  ``product_database_engine``) and ``product/licenseModel`` for RDS, ``product/cacheEngine`` for
  ElastiCache. AWS documents no table of the ``CreateDBInstance:00NN`` operation codes, so there is
  no fallback on them: a row without an engine is reported, not guessed.

* **Size flexibility** of reservations and **normalized units**:

  - RDS: "Size-flexible reserved DB instances are available for the following Amazon RDS database
    engines: MariaDB, MySQL, Oracle, Bring Your Own License, PostgreSQL"; the DB instance size must
    match for "RDS for Db2, RDS for SQL Server, and RDS for Oracle License Included". Source: Amazon
    RDS User Guide, "Reserved DB instances for Amazon RDS",
    https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithReservedDBInstances.html
    (the engine list and the units table quoted from the guide's archived source,
    awsdocs/amazon-rds-user-guide; the exact-size list, with Db2, from the current page).
  - Aurora: size-flexible for Aurora MySQL and Aurora PostgreSQL. Source: Amazon Aurora User Guide,
    "Reserved DB instances for Aurora",
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_WorkingWithReservedDBInstances.html
  - Normalized units per size: the same table as EC2's (micro 0.5, small 1, medium 2, large 4,
    xlarge 8, …, 32xlarge 256), reused from :data:`pricing.instance_types.NORMALIZATION_FACTORS`;
    the RDS page's table gives a **Multi-AZ** DB instance **twice** the Single-AZ units (large: 4
    Single-AZ, 8 Multi-AZ). Same two pages.
  - A **Multi-AZ DB cluster** counts **three** times: "To purchase equivalent reserved DB instances
    for a Multi-AZ DB cluster deployment, purchase three Single-AZ reserved DB instances, or one
    Multi-AZ and one Single-AZ reserved DB instance." Source: "Purchasing reserved DB instances for
    Amazon RDS",
    https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithReservedDBInstances.WorkingWith.html
  - ElastiCache: "now supports size flexibility for all its reserved node offerings, enabling your
    reserved node discount to apply to all node types in the node family specified in your
    reservation". Source: AWS Database Blog, "New – Size flexibility for Amazon ElastiCache
    reserved nodes" (2024),
    https://aws.amazon.com/blogs/database/new-size-flexibility-for-amazon-elasticache-reserved-nodes/
    (an older AWS re:Post article says the opposite; the blog is the later word). Nodes are
    counted one by one, with the size table's units; ElastiCache Valkey keeps its own platform
    (``valkey``), covered by ``valkey`` reservations only: an ElastiCache page stating how Redis
    OSS reservations cover Valkey nodes (as MemoryDB's below does) was not found.
  - MemoryDB: "your reserved nodes are automatically applied to usage of any size in the same
    node family", with the same units per size for Redis OSS, and **0.7** of them for Valkey
    (small 0.7, large 2.8, 4xlarge 22.4). Source: MemoryDB Developer Guide, "Size flexible
    reserved nodes",
    https://docs.aws.amazon.com/memorydb/latest/devguide/reserved-nodes-size.html
    "All current MemoryDB reserved nodes are based on the pricing for and provide coverage for
    nodes running the Redis OSS engine. These reserved nodes can be applied to the Valkey engine
    [...], but Valkey-specific reserved nodes are not available" (MemoryDB Developer Guide,
    "MemoryDB reserved nodes",
    https://docs.aws.amazon.com/memorydb/latest/devguide/nodes.reservednodes.html), and
    "Redis OSS reserved nodes can additionally be applied across engines to cover running Valkey
    nodes": a db.r7g.4xlarge Redis OSS reservation (32 units) on a node upgraded to Valkey
    (22.4 units) leaves 9.6 units "to use towards any other running Valkey or Redis OSS node in
    the db.r7g family in the region" (MemoryDB Developer Guide, "Upgrading nodes from Redis OSS
    to Valkey", https://docs.aws.amazon.com/memorydb/latest/devguide/reserved-nodes.html).
    So a Valkey node's key has its own platform, ``memorydb-valkey``
    (:data:`PLATFORM_UNIT_SHARES`), and is covered by ``memorydb`` reservations
    (:data:`RESERVATION_PLATFORMS`).
  - OpenSearch: "RIs are not flexible; they only apply to the exact instance type that you
    reserve". Source: OpenSearch Service Developer Guide, "Reserved Instances in Amazon OpenSearch
    Service", https://docs.aws.amazon.com/opensearch-service/latest/developerguide/ri.html
  - Redshift: a reserved node is bought for one node type ("you specify the AWS Region, node
    type, term, number of nodes, and offering type"): the exact type. Source: Redshift Management
    Guide, "Reserved nodes",
    https://docs.aws.amazon.com/redshift/latest/mgmt/purchase-reserved-node-instance.html
    OpenSearch instances and Redshift nodes count one unit each
    (:func:`pricing.instance_types.normalization_factor`).

:func:`pricing.services.is_size_flexible` applies these rules to a key's platform
(:data:`EXACT_SIZE_PLATFORMS`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import pandas as pd

from core.errors import CommitoptInputError
from pricing.instance_types import normalization_factor, parse_instance_type
from pricing.regions import PREFIX_TO_REGION

RDS: Final = "AmazonRDS"
"""The CUR product code of RDS and Aurora."""
ELASTICACHE: Final = "AmazonElastiCache"
"""The CUR product code of ElastiCache."""
OPENSEARCH: Final = "AmazonES"
"""The CUR product code of Amazon OpenSearch Service (formerly Elasticsearch Service)."""
REDSHIFT: Final = "AmazonRedshift"
"""The CUR product code of Amazon Redshift (provisioned clusters)."""
MEMORYDB: Final = "AmazonMemoryDB"
"""The CUR product code of Amazon MemoryDB."""
DATABASE_SERVICES: Final = (RDS, ELASTICACHE)
"""Services with engines (and, for RDS, deployments): their keys' platform is an engine."""
NODE_SERVICES: Final = (OPENSEARCH, REDSHIFT, MEMORYDB)
"""Services reserved node by node with one product description each (module docstring)."""
RESERVED_SERVICES: Final = (*DATABASE_SERVICES, *NODE_SERVICES)
"""Every service besides EC2 whose instance or node usage this module maps."""
EXACT_SIZE_SERVICES: Final = (OPENSEARCH, REDSHIFT)
"""Services whose reservations apply to the exact node type only (module docstring); their
instances and nodes count one normalized unit each, whatever the size."""
SERVICE_NAMES: Final[dict[str, str]] = {
    RDS: "RDS",
    ELASTICACHE: "ElastiCache",
    OPENSEARCH: "OpenSearch",
    REDSHIFT: "Redshift",
    MEMORYDB: "MemoryDB",
}
"""Short names of the services for people (``RDS``, ``OpenSearch``, ...)."""

SINGLE_AZ: Final = "Single-AZ"
MULTI_AZ: Final = "Multi-AZ"
MULTI_AZ_CLUSTER: Final = "Multi-AZ DB cluster"
CACHE_NODE: Final = "Node"
"""Deployment of an ElastiCache node: each node is billed and reserved one by one."""


@dataclass(frozen=True, slots=True)
class UsageKind:
    """What a usage-type kind (the text before the colon) stands for.

    Attributes
    ----------
    service
        CUR product code, e.g. ``"AmazonRDS"``.
    deployment
        ``"Single-AZ"``, ``"Multi-AZ"``, ``"Multi-AZ DB cluster"`` or ``"Node"``.
    units_per_instance_hour
        Multiplier of the size's normalized units [Single-AZ instances]: 1, 2 (Multi-AZ) or 3
        (Multi-AZ DB cluster); see the module docstring for the sources.
    class_prefix
        The prefix every instance class of the service carries in the usage type (``"db."``,
        ``"cache."``; ``""`` for OpenSearch and Redshift).
    class_suffix
        What the key's instance type adds to the usage type's class: ``".search"`` for
        OpenSearch (usage type ``ESInstance:r6g.large``, instance type ``r6g.large.search``, as
        the OpenSearch API and Price List spell it), else ``""``.
    """

    service: str
    deployment: str
    units_per_instance_hour: float
    class_prefix: str
    class_suffix: str = ""


USAGE_KINDS: Final[dict[tuple[str, str], UsageKind]] = {
    ("InstanceUsage", "db."): UsageKind(RDS, SINGLE_AZ, 1.0, "db."),
    ("Multi-AZUsage", "db."): UsageKind(RDS, MULTI_AZ, 2.0, "db."),
    ("Multi-AZClusterUsage", "db."): UsageKind(RDS, MULTI_AZ_CLUSTER, 3.0, "db."),
    ("NodeUsage", "cache."): UsageKind(ELASTICACHE, CACHE_NODE, 1.0, "cache."),
    ("NodeUsage", "db."): UsageKind(MEMORYDB, CACHE_NODE, 1.0, "db."),
    ("ESInstance", ""): UsageKind(OPENSEARCH, CACHE_NODE, 1.0, "", ".search"),
    ("Node", ""): UsageKind(REDSHIFT, CACHE_NODE, 1.0, ""),
}
"""(usage kind, class prefix) -> what the instance- or node-hours are. The class prefix tells
ElastiCache's ``NodeUsage:cache.r6g.large`` from MemoryDB's ``NodeUsage:db.r6g.large``; the CUR's
product code must agree (:mod:`usage.demand_sql` checks it)."""

USAGE_KIND_NAMES: Final = tuple(dict.fromkeys(kind for kind, _ in USAGE_KINDS))
"""The usage kinds of :data:`USAGE_KINDS`, once each."""


def usage_kind(kind: str, instance_class: str) -> UsageKind | None:
    """The :data:`USAGE_KINDS` entry of a usage kind and the class after its colon, if any."""
    for (name, prefix), entry in USAGE_KINDS.items():
        if (
            name == kind
            and instance_class.startswith(prefix)
            and (prefix or not instance_class.startswith(("db.", "cache.")))
        ):
            return entry
    return None


KINDS_NOT_COVERED_YET: Final[dict[str, str]] = {
    "InstanceUsageIOOptimized": (
        "Aurora I/O-Optimized instance usage: how reservations cover it is not yet checked "
        "against AWS documentation"
    ),
    "Multi-AZUsageIOOptimized": (
        "Aurora I/O-Optimized instance usage: how reservations cover it is not yet checked "
        "against AWS documentation"
    ),
}
"""Instance-like usage kinds that are recognised but deliberately not mapped, with the reason."""

NOT_INSTANCE_USAGE: Final = "not database instance usage (storage, I/O, backup, transfer, ...)"
"""Reason for a usage type of no ``Kind:db.class`` / ``Kind:cache.class`` form."""

_DATABASE_USAGE_TYPE: Final = re.compile(
    r"^(?:(?P<prefix>[A-Z]{2,4}\d?)-)?(?P<kind>[A-Za-z][A-Za-z\-]*):"
    r"(?P<instance_class>(?:(?:db|cache)\.)?[a-z0-9\-]+\.[a-z0-9\-]+)$"
)
"""``[PREFIX-]Kind:[db.|cache.]family.size``."""


@dataclass(frozen=True, slots=True)
class DatabaseUsageType:
    """A parsed database instance or node usage type.

    Attributes
    ----------
    usage_type
        The text parsed, e.g. ``"USE2-Multi-AZUsage:db.m4.large"``.
    region
        Region code, e.g. ``"us-east-2"``.
    service
        ``"AmazonRDS"`` or ``"AmazonElastiCache"``.
    usage_kind
        ``"InstanceUsage"``, ``"Multi-AZUsage"``, ``"Multi-AZClusterUsage"`` or ``"NodeUsage"``.
    instance_class
        E.g. ``"db.m4.large"`` or ``"cache.r6g.large"``.
    deployment
        ``"Single-AZ"``, ``"Multi-AZ"``, ``"Multi-AZ DB cluster"`` or ``"Node"``.
    normalized_units
        Normalized units of one instance-hour of this usage [units/h]: the size's units times the
        deployment's multiplier (db.m4.large Multi-AZ: 4 × 2 = 8).
    """

    usage_type: str
    region: str
    service: str
    usage_kind: str
    instance_class: str
    deployment: str
    normalized_units: float

    @property
    def instance_family(self) -> str:
        """The class without its size: ``"db.m4"`` (OpenSearch ``"r6g.search"``); reservations
        flex only inside it."""
        return parse_instance_type(self.instance_class).family


@dataclass(frozen=True, slots=True)
class UnparsedUsageType:
    """A usage type this vocabulary does not map, and why (for counting, never raised)."""

    usage_type: str
    reason: str


def parse_database_usage_type(usage_type: str) -> DatabaseUsageType | UnparsedUsageType:
    """Parse a database usage type such as ``"USE2-Multi-AZUsage:db.m4.large"``.

    Parameters
    ----------
    usage_type
        A CUR ``lineItem/UsageType`` or Price List ``usagetype``.

    Returns
    -------
    DatabaseUsageType or UnparsedUsageType
        The parsed usage type, or the reason it is not mapped (not instance usage, a kind or
        service not covered yet, an unknown region prefix or instance size). Never raises.

    Examples
    --------
    >>> parse_database_usage_type("Multi-AZUsage:db.m4.large").normalized_units
    8.0
    """
    text = str(usage_type).strip()
    match = _DATABASE_USAGE_TYPE.match(text)
    if match is None:
        return UnparsedUsageType(text, NOT_INSTANCE_USAGE)
    kind_name = match.group("kind")
    instance_class = match.group("instance_class")
    kind = usage_kind(kind_name, instance_class)
    if kind is None:
        if kind_name in USAGE_KIND_NAMES:
            return UnparsedUsageType(
                text, f"{kind_name} with a {instance_class.split('.')[0]}. class is not covered yet"
            )
        reason = KINDS_NOT_COVERED_YET.get(
            kind_name, f"usage kind {kind_name!r} of {instance_class} is not covered yet"
        )
        return UnparsedUsageType(text, reason)
    prefix = match.group("prefix") or ""
    region = "us-east-1" if prefix == "" else PREFIX_TO_REGION.get(prefix)
    if region is None:
        return UnparsedUsageType(text, f"unknown usage-type region prefix {prefix!r}")
    try:  # OpenSearch and Redshift: one unit per node-hour, whatever the size
        size_units = normalization_factor(
            instance_class.removeprefix(kind.class_prefix) + kind.class_suffix
        )
    except CommitoptInputError:
        return UnparsedUsageType(text, f"unknown instance size in {instance_class!r}")
    return DatabaseUsageType(
        usage_type=text,
        region=region,
        service=kind.service,
        usage_kind=kind_name,
        instance_class=instance_class + kind.class_suffix,
        deployment=kind.deployment,
        normalized_units=size_units * kind.units_per_instance_hour,
    )


# ------------------------------------------------------------------------------------------
# engines, licence models, size flexibility


BRING_YOUR_OWN_LICENSE: Final = "Bring your own license"
LICENSE_INCLUDED: Final = "License included"
NO_LICENSE_REQUIRED: Final = "No license required"
LICENSE_MODELS: Final = (BRING_YOUR_OWN_LICENSE, LICENSE_INCLUDED, NO_LICENSE_REQUIRED)
"""Licence models as the CUR's ``product/licenseModel`` and the Price List spell them."""

RDS_ENGINES: Final[dict[str, str]] = {
    "aurora mysql": "Aurora MySQL",
    "aurora postgresql": "Aurora PostgreSQL",
    "mysql": "MySQL",
    "mariadb": "MariaDB",
    "postgresql": "PostgreSQL",
    "oracle": "Oracle",
    "sql server": "SQL Server",
    "db2": "Db2",
}
"""``product/databaseEngine`` values (lower case) -> the engine name used here."""

ELASTICACHE_ENGINES: Final[dict[str, str]] = {
    "redis": "Redis OSS",
    "redis oss": "Redis OSS",
    "valkey": "Valkey",
    "memcached": "Memcached",
}
"""``product/cacheEngine`` values (lower case) -> the engine name used here."""


def database_engine(service: str, engine: str | None) -> str | None:
    """The engine name used here for a CUR engine value, or ``None`` when it is not known.

    Parameters
    ----------
    service
        ``"AmazonRDS"`` or ``"AmazonElastiCache"``.
    engine
        ``product/databaseEngine`` (RDS) or ``product/cacheEngine`` (ElastiCache).
    """
    if engine is None or pd.isna(engine):
        return None
    table = RDS_ENGINES if service == RDS else ELASTICACHE_ENGINES if service == ELASTICACHE else {}
    return table.get(str(engine).strip().lower())


# ------------------------------------------------------------------------------------------
# database keys in the canonical usage table and the catalog

DATABASE_PLATFORMS: Final[dict[tuple[str, str], str]] = {
    (RDS, "Aurora MySQL"): "aurora-mysql",
    (RDS, "Aurora PostgreSQL"): "aurora-postgresql",
    (RDS, "MySQL"): "mysql",
    (RDS, "MariaDB"): "mariadb",
    (RDS, "PostgreSQL"): "postgresql",
    (ELASTICACHE, "Redis OSS"): "redis",
    (ELASTICACHE, "Valkey"): "valkey",
    (ELASTICACHE, "Memcached"): "memcached",
    (OPENSEARCH, "OpenSearch"): "opensearch",
    (REDSHIFT, "Redshift"): "redshift",
    (MEMORYDB, "Redis OSS"): "memorydb",
    (MEMORYDB, "Valkey"): "memorydb-valkey",
}
"""(service, engine) -> the key's ``platform``: the reservation's product description, as
``rds.describe_reserved_db_instances_offerings`` and
``elasticache.describe_reserved_cache_nodes_offerings`` spell it (``ProductDescription``), the
way an EC2 key's platform is its RI product description. OpenSearch, Redshift and MemoryDB
reservations carry no product description: their one platform is the service's name
(``opensearch``, ``redshift``, ``memorydb``: MemoryDB's reserved nodes are priced for Redis OSS).
A MemoryDB Valkey node's key is ``memorydb-valkey``: no reservation is sold under that name, the
``memorydb`` ones cover it at 0.7 of the units (:data:`RESERVATION_PLATFORMS`,
:data:`PLATFORM_UNIT_SHARES`). Oracle and SQL Server need their edition and licence model too:
:data:`EDITION_PLATFORMS`."""

MEMORYDB_ENGINES: Final[dict[str, str]] = {
    "": "Redis OSS",
    "redis": "Redis OSS",
    "redis oss": "Redis OSS",
    "valkey": "Valkey",
}
"""MemoryDB engine values (lower case; the Price List's ``engine``, a CUR's engine column) -> the
engine name used here. A row without an engine is a Redis OSS node, as before Valkey was
offered; AWS documents no list of these values."""

MEMORYDB_VALKEY: Final = DATABASE_PLATFORMS[(MEMORYDB, "Valkey")]
"""The key platform of a MemoryDB Valkey node."""

VALKEY_UNIT_SHARE: Final = 0.7
"""A MemoryDB Valkey node's normalized units as a share of a Redis OSS node's of its size (MemoryDB
Developer Guide, "Size flexible reserved nodes",
https://docs.aws.amazon.com/memorydb/latest/devguide/reserved-nodes-size.html: small 0.7, large
2.8, 4xlarge 22.4; Valkey is priced 30 % below Redis OSS)."""

PLATFORM_UNIT_SHARES: Final[dict[str, float]] = {MEMORYDB_VALKEY: VALKEY_UNIT_SHARE}
"""Key platform -> the share of its size's normalized units one node-hour counts (1 when absent):
MemoryDB Valkey 0.7."""

RESERVATION_PLATFORMS: Final[dict[str, str]] = {
    MEMORYDB_VALKEY: DATABASE_PLATFORMS[(MEMORYDB, "Redis OSS")]
}
"""Key platforms no reservation is sold for -> the platform of the reservations that cover them
(in normalized units, across sizes of the family): MemoryDB Valkey nodes are covered by MemoryDB
(Redis OSS) reserved nodes, "Valkey-specific reserved nodes are not available" (MemoryDB Developer
Guide, "MemoryDB reserved nodes",
https://docs.aws.amazon.com/memorydb/latest/devguide/nodes.reservednodes.html; "Upgrading nodes
from Redis OSS to Valkey",
https://docs.aws.amazon.com/memorydb/latest/devguide/reserved-nodes.html). Every other platform's
reservations are its own."""

EDITION_PLATFORMS: Final[dict[tuple[str, str, str], str]] = {
    ("Oracle", "Standard Two", LICENSE_INCLUDED): "oracle-se2(li)",
    ("Oracle", "Standard Two", BRING_YOUR_OWN_LICENSE): "oracle-se2(byol)",
    ("Oracle", "Standard One", LICENSE_INCLUDED): "oracle-se1(li)",
    ("Oracle", "Standard One", BRING_YOUR_OWN_LICENSE): "oracle-se1(byol)",
    ("Oracle", "Standard", BRING_YOUR_OWN_LICENSE): "oracle-se(byol)",
    ("Oracle", "Enterprise", BRING_YOUR_OWN_LICENSE): "oracle-ee(byol)",
    ("SQL Server", "Enterprise", LICENSE_INCLUDED): "sqlserver-ee(li)",
    ("SQL Server", "Standard", LICENSE_INCLUDED): "sqlserver-se(li)",
    ("SQL Server", "Express", LICENSE_INCLUDED): "sqlserver-ex(li)",
    ("SQL Server", "Web", LICENSE_INCLUDED): "sqlserver-web(li)",
}
"""(RDS engine, ``product/databaseEdition``, ``product/licenseModel``) -> the reservation's
product description, as ``describe_reserved_db_instances_offerings`` spells it. Oracle Bring
Your Own License is size-flexible; Oracle License Included and SQL Server match the exact class
and deployment (module docstring). Db2 is not mapped: AWS sells Db2 reserved DB instances
(https://aws.amazon.com/rds/reserved-instances/), but their product descriptions were not found in
AWS's documentation, and their size rule is stated both ways (that page lists Db2 as size-flexible;
the RDS User Guide's reserved DB instances page says the size must match for RDS for Db2)."""

EXACT_SIZE_PLATFORMS: Final = frozenset(
    {
        *(p for (engine, _, licence), p in EDITION_PLATFORMS.items()
          if engine == "SQL Server" or licence == LICENSE_INCLUDED),
        "opensearch",
        "redshift",
    }
)  # fmt: skip
"""Platforms whose reservations apply to the exact instance class (and, for RDS, deployment):
Oracle License Included and SQL Server (RDS User Guide), OpenSearch ("RIs are not flexible; they
only apply to the exact instance type that you reserve", OpenSearch Service Developer Guide,
"Reserved Instances in Amazon OpenSearch Service") and Redshift (a reserved node is bought for
one node type: Redshift Management Guide, "Reserved nodes")."""

DATABASE_PLATFORM_NAMES: Final = (
    *DATABASE_PLATFORMS.values(),
    *dict.fromkeys(EDITION_PLATFORMS.values()),
)
"""Every database platform a usage key or catalog row may carry."""

PLATFORM_SERVICE: Final[dict[str, str]] = {
    **{platform: service for (service, _), platform in DATABASE_PLATFORMS.items()},
    **{platform: RDS for platform in EDITION_PLATFORMS.values()},
}
"""Database platform -> its service (CUR product code)."""

RESERVABLE_PLATFORM_SERVICE: Final[dict[str, str]] = {
    platform: service
    for platform, service in PLATFORM_SERVICE.items()
    if platform not in RESERVATION_PLATFORMS
}
"""Database platforms reservations are sold for (a reservation's ``platform``) -> their service:
every one but ``memorydb-valkey`` (:data:`RESERVATION_PLATFORMS`)."""

DEPLOYMENT_UNITS: Final[dict[str, float]] = {
    SINGLE_AZ: 1.0,
    MULTI_AZ: 2.0,
    MULTI_AZ_CLUSTER: 3.0,
    CACHE_NODE: 1.0,
}
"""A database key's ``tenancy`` is its deployment; one instance-hour of it counts this many times
the size's normalized units (module docstring: a Multi-AZ DB instance twice, a Multi-AZ DB
cluster three times)."""

DEPLOYMENTS: Final = tuple(DEPLOYMENT_UNITS)
"""Every deployment a database key's ``tenancy`` may carry."""

CLASS_PREFIX_SERVICE: Final[dict[str, str]] = {"db.": RDS, "cache.": ELASTICACHE}
"""Instance-class prefix -> the service whose classes carry it (MemoryDB's ``db.`` node types
share RDS's prefix: a MemoryDB key is told by its platform, ``memorydb``)."""
