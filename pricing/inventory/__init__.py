"""Owned commitments: the Reserved Instances and Savings Plans a user already holds.

An owned commitment is a purchase item of the portfolio JSON (docs/portfolio-format.md) with an
``id``, a ``start`` and an ``end``: the same format ``recommend`` prints
and ``simulate --portfolio`` reads, so an inventory and a recommendation combine without conversion.
Expirations are first-class: :meth:`Inventory.expiring_within` lists what runs out, soonest first.

Modules:

* :mod:`~pricing.inventory.commitments`: :class:`Commitment`, :class:`Inventory` (their
  kinds are :class:`pricing.offerings.CommitmentKind`);
* :mod:`~pricing.inventory.values`: parsers and checks of single field values;
* :mod:`~pricing.inventory.portfolio_json`: :func:`read_portfolio_json`;
* :mod:`~pricing.inventory.aws`: EC2's ``DescribeReservedInstances``
  (:func:`fetch_reserved_instances`) and ``savingsplans:DescribeSavingsPlans``
  (:func:`fetch_savings_plans`);
* :mod:`~pricing.inventory.databases`: RDS reserved DB instances and ElastiCache reserved nodes
  (``fetch_reserved_db_instances``, ``fetch_reserved_cache_nodes``) as ``reserved_instance``
  items in the database key vocabulary (:mod:`pricing.services`).
"""

from pricing.inventory.aws import fetch_reserved_instances, fetch_savings_plans
from pricing.inventory.commitments import (
    FIELD_NAMES,
    SCOPES,
    Commitment,
    Inventory,
    InventoryError,
)
from pricing.inventory.cur import inventory_from_cur
from pricing.inventory.portfolio_json import read_portfolio_json

__all__ = [
    "FIELD_NAMES",
    "SCOPES",
    "Commitment",
    "Inventory",
    "InventoryError",
    "fetch_reserved_instances",
    "fetch_savings_plans",
    "inventory_from_cur",
    "read_portfolio_json",
]
