"""One key vocabulary across services: which service a key is, its units and its RI flexibility.

A usage key is ``(account_id, region, instance_type, platform, tenancy)`` for every service:

* **EC2**: an instance type, its RI product description (``Linux/UNIX``) and its tenancy
  (``Shared``, ``Dedicated``).
* **RDS and Aurora, ElastiCache, MemoryDB, OpenSearch, Redshift**: the DB instance class or
  node type (``db.r4.large``, ``cache.r6g.large``, ``db.r6g.large``, ``r6g.large.search``,
  ``ra3.xlplus``), the reservation's product description (``aurora-mysql``, ``mariadb``,
  ``sqlserver-se(li)``, ``redis``; ``memorydb``, ``opensearch``, ``redshift``:
  :data:`pricing.databases.DATABASE_PLATFORMS`) and the deployment (``Single-AZ``,
  ``Multi-AZ``, ``Multi-AZ DB cluster``, ``Node``) in the ``tenancy`` column.

So every engine (usage table, catalog, optimizer, billing kernel) keeps its five key columns, and
asks this module what differs by service: a key's service (from the class prefix), the normalized
units one instance-hour of it counts (a Multi-AZ DB instance counts twice its size's units), whether
a reservation of it is size-flexible, and whether Savings Plans may cover it (EC2 Instance and
Compute Savings Plans cover EC2 keys only, Database Savings Plans RDS and ElastiCache keys;
Fargate and Lambda are not modelled yet).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from pricing.compute_keys import ARCHITECTURES, COMPUTE_PLATFORM_NAMES, COMPUTE_SERVICES, SAGEMAKER
from pricing.compute_keys import PLATFORM_SERVICE as COMPUTE_PLATFORM_SERVICE
from pricing.compute_keys import key_fits as compute_key_fits
from pricing.compute_keys import service_of_type as compute_service_of_type
from pricing.databases import (
    CACHE_NODE,
    CLASS_PREFIX_SERVICE,
    DATABASE_PLATFORM_NAMES,
    DATABASE_SERVICES,
    DEPLOYMENT_UNITS,
    DEPLOYMENTS,
    EXACT_SIZE_PLATFORMS,
    MEMORYDB,
    OPENSEARCH,
    PLATFORM_SERVICE,
    PLATFORM_UNIT_SHARES,
    RDS,
    REDSHIFT,
    RESERVATION_PLATFORMS,
    SINGLE_AZ,
)
from pricing.errors import UnknownPlatformError
from pricing.instance_types import (
    OPENSEARCH_SUFFIX,
    REDSHIFT_NODE_FAMILIES,
    normalization_factors,
)
from pricing.instance_types import is_size_flexible as is_ec2_size_flexible
from pricing.offerings import TENANCIES
from pricing.platforms import PLATFORM_NAMES, parse_platform

EC2: Final = "AmazonEC2"
"""The CUR product code of EC2 instance usage."""

KEY_PLATFORMS: Final = (*PLATFORM_NAMES, *DATABASE_PLATFORM_NAMES, *COMPUTE_PLATFORM_NAMES)
"""Every value a key's ``platform`` may take: EC2 RI product descriptions, database ones, then
Fargate, Lambda and SageMaker ones (:mod:`pricing.compute_keys`)."""

KEY_TENANCIES: Final = (*TENANCIES, *DEPLOYMENTS, *ARCHITECTURES)
"""Every value a key's ``tenancy`` may take: EC2 tenancies, database deployments, then the
architectures of Fargate, Lambda and SageMaker keys."""

_DATABASE_SPELLINGS: Final = {
    name.lower(): name for name in (*DATABASE_PLATFORM_NAMES, *COMPUTE_PLATFORM_NAMES)
}


def parse_key_platform(text: str) -> str:
    """A key's platform from any accepted spelling: a database reservation's product description
    (``aurora-mysql``, ``redis``; any case) or an EC2 platform
    (:func:`pricing.platforms.parse_platform`).

    Raises
    ------
    pricing.errors.UnknownPlatformError
        For anything else, naming the accepted names.
    """
    database = _DATABASE_SPELLINGS.get(str(text).strip().lower())
    if database is not None:
        return database
    try:
        return parse_platform(text)
    except UnknownPlatformError as error:
        raise UnknownPlatformError(
            f"{error}; for databases, a reservation product description "
            f"({', '.join(DATABASE_PLATFORM_NAMES)})"
        ) from error


def service_of(instance_type: str, platform: str | None = None) -> str:
    """The service of a key: its platform's when that is a database platform, else its name's.

    By name: ``db.`` classes are RDS, ``cache.`` ElastiCache, ``….search`` OpenSearch, the
    Redshift node families (:data:`pricing.instance_types.REDSHIFT_NODE_FAMILIES`) Redshift,
    anything else EC2. MemoryDB's ``db.`` node types are told from RDS's by their platform
    (``memorydb``) only, so pass it wherever a key's platform is at hand.

    Examples
    --------
    >>> service_of("db.r4.large"), service_of("cache.r6g.large"), service_of("m5.large")
    ('AmazonRDS', 'AmazonElastiCache', 'AmazonEC2')
    >>> service_of("r6g.large.search"), service_of("ra3.xlplus")
    ('AmazonES', 'AmazonRedshift')
    >>> service_of("db.r6g.large", "memorydb")
    'AmazonMemoryDB'
    >>> service_of("fargate.vcpu"), service_of("ml.m5.xlarge")
    ('AWSFargate', 'AmazonSageMaker')
    """
    if platform is not None and platform in PLATFORM_SERVICE:
        return PLATFORM_SERVICE[platform]
    if platform is not None and platform in COMPUTE_PLATFORM_SERVICE:
        return COMPUTE_PLATFORM_SERVICE[platform]
    text = str(instance_type)
    compute = compute_service_of_type(text)
    if compute is not None:
        return compute
    if text.endswith(OPENSEARCH_SUFFIX):
        return OPENSEARCH
    if text.split(".", 1)[0] in REDSHIFT_NODE_FAMILIES:
        return REDSHIFT
    return next((s for p, s in CLASS_PREFIX_SERVICE.items() if text.startswith(p)), EC2)


def key_services(
    instance_types: pd.Series | Sequence[str],
    platforms: pd.Series | Sequence[str] | None = None,
) -> pd.Series:
    """Vectorised :func:`service_of` (each distinct combination decided once), string dtype."""
    if platforms is None:
        series = pd.Series(instance_types, dtype="string")
        codes, uniques = pd.factorize(series)
        table = np.array([*(service_of(str(u)) for u in uniques), EC2], dtype=object)
        return pd.Series(table[codes], index=series.index, dtype="string")
    index = instance_types.index if isinstance(instance_types, pd.Series) else None
    inverse, combos = _combinations(instance_types, platforms)
    decided = np.array([service_of(t, p) for t, p in combos], dtype=object)
    values = decided[inverse] if len(inverse) else np.zeros(0, dtype=object)
    return pd.Series(values, index=index, dtype="string")


def unit_multipliers(
    tenancies: pd.Series | Sequence[str], platforms: pd.Series | Sequence[str] | None = None
) -> npt.NDArray[np.float64]:
    """What one instance-hour of each key counts, in multiples of its size's normalized units.

    The database deployment's multiplier (:data:`pricing.databases.DEPLOYMENT_UNITS`: Multi-AZ 2,
    Multi-AZ DB cluster 3; EC2 tenancies 1) times the platform's share
    (:data:`pricing.databases.PLATFORM_UNIT_SHARES`: a MemoryDB Valkey node 0.7 of a Redis OSS
    node's units; 1 for every other platform, and for all keys when ``platforms`` is ``None``).

    Examples
    --------
    >>> unit_multipliers(["Multi-AZ", "Node", "Node", "Shared"],
    ...                  ["mysql", "memorydb", "memorydb-valkey", "Linux/UNIX"]).tolist()
    [2.0, 1.0, 0.7, 1.0]
    """
    deployment = pd.Series(tenancies, dtype="string").map(DEPLOYMENT_UNITS)
    multiplier = deployment.fillna(1.0).to_numpy(dtype=np.float64)
    if platforms is None:
        return np.asarray(multiplier, dtype=np.float64)
    share = pd.Series(platforms, dtype="string").map(PLATFORM_UNIT_SHARES)
    return np.asarray(multiplier * share.fillna(1.0).to_numpy(dtype=np.float64), np.float64)


def units_per_instance_hour(
    instance_types: pd.Series | Sequence[str],
    tenancies: pd.Series | Sequence[str],
    platforms: pd.Series | Sequence[str] | None = None,
) -> npt.NDArray[np.float64]:
    """Normalized units of one instance-hour of each key [units per instance-hour].

    The size's factor (:data:`pricing.instance_types.NORMALIZATION_FACTORS`), times
    :func:`unit_multipliers`: the database deployment's multiplier (Multi-AZ 2, Multi-AZ DB
    cluster 3; EC2 tenancies count once) and, given ``platforms``, the platform's share (a MemoryDB
    Valkey node 0.7). OpenSearch instances and Redshift nodes, reserved by exact type, count one
    unit per node-hour whatever their size.

    Examples
    --------
    >>> units_per_instance_hour(["db.m4.large", "db.r4.large", "m5.large", "ra3.xlplus"],
    ...                         ["Multi-AZ", "Single-AZ", "Shared", "Node"]).tolist()
    [8.0, 4.0, 4.0, 1.0]
    >>> units_per_instance_hour(["db.r7g.4xlarge"] * 2, ["Node"] * 2,
    ...                         ["memorydb", "memorydb-valkey"]).round(6).tolist()
    [32.0, 22.4]
    """
    factors = normalization_factors(pd.Series(instance_types, dtype="string"))
    return np.asarray(factors * unit_multipliers(tenancies, platforms), np.float64)


def reservation_platforms(platforms: pd.Series | Sequence[str]) -> npt.NDArray[np.object_]:
    """The platform of the reservations that cover each key's platform: its own, but for
    platforms no reservation is sold for (:data:`pricing.databases.RESERVATION_PLATFORMS`: a
    MemoryDB Valkey node, ``memorydb-valkey``, is covered by ``memorydb`` reserved nodes).

    Examples
    --------
    >>> reservation_platforms(["memorydb-valkey", "memorydb", "valkey", "Linux/UNIX"]).tolist()
    ['memorydb', 'memorydb', 'valkey', 'Linux/UNIX']
    """
    text = pd.Series(platforms, dtype="string").fillna("")
    covering = text.map(RESERVATION_PLATFORMS).fillna(text)
    return np.asarray(covering.to_numpy(dtype=object), dtype=object)


def is_size_flexible(platform: str, tenancy: str, scope: str = "Region") -> bool:
    """Whether a reservation of this kind applies across the sizes of its family.

    EC2: regional Linux/UNIX RIs on shared tenancy
    (:func:`pricing.instance_types.is_size_flexible`).
    Databases: every platform but :data:`pricing.databases.EXACT_SIZE_PLATFORMS` (Oracle
    License Included, SQL Server, OpenSearch, Redshift), across deployments too, in normalized
    units (a Single-AZ reservation covers half of a Multi-AZ instance of its size). Amazon RDS
    User Guide, "Size-flexible reserved DB instances": "Reserved DB instance benefits also apply
    for both Multi-AZ and Single-AZ configurations. Flexibility means that you can move freely
    between configurations within the same DB instance class type."
    """
    if platform in PLATFORM_SERVICE:
        return tenancy in DEPLOYMENT_UNITS and platform not in EXACT_SIZE_PLATFORMS
    if platform in COMPUTE_PLATFORM_SERVICE:
        return False  # Fargate, Lambda and SageMaker sell no reservations
    return is_ec2_size_flexible(platform, tenancy, scope)


def _combinations(
    *columns: pd.Series | Sequence[str],
) -> tuple[npt.NDArray[np.intp], list[tuple[str, ...]]]:
    """Each row's distinct combination of ``columns`` (as text) and those combinations.

    Each column is factorized on its own and the codes combined into one integer, so a catalog
    of 100,000 rows costs a few milliseconds (a MultiIndex of strings costs 30 times more).
    """
    codes: list[npt.NDArray[np.intp]] = []
    uniques: list[npt.NDArray[np.object_]] = []
    for column in columns:
        text = pd.Series(column, dtype="string").fillna("").to_numpy(dtype=object)
        code, unique = pd.factorize(text)
        codes.append(np.asarray(code, dtype=np.intp))
        uniques.append(np.asarray(unique, dtype=object))
    combined = np.zeros(len(codes[0]) if codes else 0, dtype=np.int64)
    for code, unique in zip(codes, uniques, strict=True):
        combined = combined * max(len(unique), 1) + code
    distinct, inverse = np.unique(combined, return_inverse=True)
    first = np.zeros(len(distinct), dtype=np.intp)
    first[inverse[::-1]] = np.arange(len(combined) - 1, -1, -1)  # a row of each combination
    combos = [tuple(str(u[c[row]]) for u, c in zip(uniques, codes, strict=True)) for row in first]
    return np.asarray(inverse, dtype=np.intp).ravel(), combos


def size_flexible_keys(
    platforms: pd.Series | Sequence[str], tenancies: pd.Series | Sequence[str]
) -> npt.NDArray[np.bool_]:
    """Vectorised :func:`is_size_flexible` for regional reservations."""
    inverse, combos = _combinations(platforms, tenancies)
    decided = np.array([is_size_flexible(p, t) for p, t in combos], dtype=np.bool_)
    return np.asarray(decided[inverse], dtype=np.bool_) if len(inverse) else np.zeros(0, np.bool_)


SERVICE_MISMATCH_FIX: Final = (
    "an EC2 instance type takes an EC2 platform (Linux/UNIX, Windows, ...) and Shared or "
    "Dedicated; a db. class an RDS engine (aurora-mysql, mariadb, oracle-se2(li), ...) and "
    "Single-AZ, Multi-AZ or Multi-AZ DB cluster, or memorydb or memorydb-valkey and Node; a "
    "cache. node type an "
    "ElastiCache engine (redis, valkey, memcached) and Node; an OpenSearch type (….search) "
    "opensearch and Node; a Redshift node type (dc2.large, ra3.xlplus) redshift and Node; "
    "fargate.vcpu or fargate.memory fargate-linux or fargate-windows, lambda.duration lambda, "
    "an ml. type a sagemaker-<component> platform, each with x86_64 or arm64"
)
"""How to fix a key whose platform or tenancy belongs to another service than its type."""


_NAME_SERVICE_OF_PLATFORM: Final[dict[str, str]] = {MEMORYDB: RDS}
"""Services whose types carry another service's name pattern (MemoryDB's ``db.`` node types)."""


def _key_fits(instance_type: str, platform: str, tenancy: str) -> bool:
    if compute_service_of_type(instance_type) is not None or platform in COMPUTE_PLATFORM_SERVICE:
        return compute_key_fits(instance_type, platform, tenancy)
    by_name = service_of(instance_type)
    if by_name == EC2:
        return platform in PLATFORM_NAMES and tenancy in TENANCIES
    service = PLATFORM_SERVICE.get(platform)
    if service is None or _NAME_SERVICE_OF_PLATFORM.get(service, service) != by_name:
        return False
    return (tenancy == CACHE_NODE) == (service != RDS) and tenancy in DEPLOYMENT_UNITS


def misfit_keys(
    instance_types: pd.Series | Sequence[str],
    platforms: pd.Series | Sequence[str],
    tenancies: pd.Series | Sequence[str],
) -> npt.NDArray[np.bool_]:
    """Keys whose platform or tenancy belongs to another service than their instance type's
    (an RDS engine on an EC2 type, ``Shared`` on a ``db.`` class, ``Node`` on RDS, …).

    Each distinct combination is decided once. Canonical spellings are expected.
    """
    inverse, combos = _combinations(instance_types, platforms, tenancies)
    fits = np.array([_key_fits(*combo) for combo in combos], dtype=np.bool_)
    return np.asarray(~fits[inverse], dtype=np.bool_) if len(inverse) else np.zeros(0, np.bool_)


PURCHASE_DEPLOYMENT: Final[dict[str, str]] = {RDS: SINGLE_AZ}
"""The deployment a size-flexible reservation of each service is bought in when not one node:
Single-AZ for RDS (it covers a Multi-AZ instance of its size by halves, a Multi-AZ DB cluster by
thirds); every other database service is bought one node at a time (``Node``)."""


def purchase_deployments(
    instance_types: pd.Series | Sequence[str],
    platforms: pd.Series | Sequence[str],
    tenancies: pd.Series | Sequence[str],
) -> npt.NDArray[np.object_]:
    """The deployment each database key's reservation is bought in (``""`` for EC2 keys).

    Size-flexible reservations: :data:`PURCHASE_DEPLOYMENT` (RDS Single-AZ), else ``Node``.
    Exact-size ones (SQL Server, Oracle License Included, OpenSearch, Redshift) match the
    deployment they cover, so they are bought in the key's own.
    """
    services = key_services(instance_types, platforms)
    flexible = size_flexible_keys(platforms, tenancies)
    own = pd.Series(tenancies, dtype="string").fillna("").to_numpy(dtype=object)
    chosen = np.where(
        services.to_numpy() == RDS,
        np.where(flexible, SINGLE_AZ, own),
        CACHE_NODE,
    ).astype(object)
    chosen[services.to_numpy() == EC2] = ""
    return np.asarray(chosen, dtype=object)


def savings_plan_eligible(instance_types: pd.Series | Sequence[str]) -> npt.NDArray[np.bool_]:
    """Which keys EC2 Instance and Compute Savings Plans may cover: the EC2 ones."""
    return np.asarray(key_services(instance_types).to_numpy() == EC2, dtype=np.bool_)


DATABASE_PLAN_TYPE: Final = "database"
"""The catalog's ``plan_type`` of Database Savings Plans."""

SAGEMAKER_PLAN_TYPE: Final = "sagemaker"
"""The catalog's ``plan_type`` of SageMaker Savings Plans."""

PLAN_SERVICES: Final[dict[str, tuple[str, ...]]] = {
    "compute": (EC2, *COMPUTE_SERVICES),
    "ec2_instance": (EC2,),
    DATABASE_PLAN_TYPE: DATABASE_SERVICES,
    SAGEMAKER_PLAN_TYPE: (SAGEMAKER,),
}
"""The services each Savings Plan type covers (AWS Savings Plans User Guide, "Savings Plans
types"): Compute Savings Plans EC2, Fargate and Lambda; EC2 Instance Savings Plans EC2; Database
Savings Plans RDS and ElastiCache (of the services modelled here); SageMaker Savings Plans
SageMaker ML instances."""


def plan_covers(
    plan_types: pd.Series | Sequence[str],
    instance_types: pd.Series | Sequence[str],
    platforms: pd.Series | Sequence[str] | None = None,
) -> npt.NDArray[np.bool_]:
    """Whether a Savings Plan of each row's type may cover each row's key.

    By :data:`PLAN_SERVICES`: Compute Savings Plans cover EC2, Fargate and Lambda keys, EC2
    Instance Savings Plans EC2 keys, Database Savings Plans RDS and ElastiCache keys (not
    OpenSearch, Redshift or MemoryDB), SageMaker Savings Plans SageMaker keys; within that, a key
    is covered where the catalog has a rate for it (AWS's eligible engines, instance generations
    and components are the keys its offer rates are for). Pass ``platforms`` to tell MemoryDB
    keys from RDS ones.

    Examples
    --------
    >>> plan_covers(["compute", "compute", "ec2_instance", "sagemaker"],
    ...             ["m5.large", "fargate.vcpu", "fargate.vcpu", "ml.m5.large"]).tolist()
    [True, True, False, True]
    """
    services = key_services(instance_types, platforms).to_numpy()
    plans = pd.Series(plan_types, dtype="string").fillna("").to_numpy(dtype=object)
    covered = np.zeros(len(services), dtype=np.bool_)
    for plan_type, plan_services in PLAN_SERVICES.items():
        mine = plans == plan_type
        if mine.any():
            covered[mine] = np.isin(services[mine], plan_services)
    return covered
