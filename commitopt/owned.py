"""The commitments a workspace owns: read from imported bills, merged with files and AWS.

Importing a CUR (legacy or 2.0) records the Reserved Instances and Savings Plans its fee lines
show (:func:`pricing.inventory.inventory_from_cur`) as an inventory snapshot tied to the usage
import (``inventory_snapshots.import_id``). The workspace's *bill inventory* is the union of the
snapshots of every import still in the workspace; a commitment seen in several bills is taken from
the latest one (its count and end as last billed).

Commands merge the sources by commitment, highest precedence first:

1. portfolio files (``--inventory``): what the user states, including planned purchases;
2. ``--from-aws``: the live account;
3. the bill inventory (or, with ``--usage`` CUR files, those files' fee lines).

A commitment is the same in two sources when their ids match after dropping an ARN's prefix
(``arn:aws:ec2:us-east-1:123456789012:reserved-instances/abc`` and ``abc`` are one RI).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from commitopt.workspace import Workspace
from pricing.inventory.commitments import Commitment, Inventory
from pricing.inventory.portfolio_json import parse_portfolio_json


def record_bill_inventory(workspace: Workspace, import_id: int, inventory: Inventory) -> int:
    """Store the commitments a usage import's bill shows; return the snapshot id.

    Parameters
    ----------
    workspace
        An open, writable workspace (inside the import's transaction).
    import_id
        The usage import whose files billed them.
    inventory
        What :func:`pricing.inventory.inventory_from_cur` read from those files.
    """
    return workspace.record_inventory_snapshot(
        inventory.to_portfolio_json(),
        source=f"bill: usage import {import_id}",
        as_of=inventory.as_of,
        import_id=import_id,
    )


def bill_inventory(workspace: Workspace) -> Inventory:
    """The commitments the workspace's imported bills show (see the module docstring).

    Returns
    -------
    Inventory
        Empty (``as_of`` now) when no bill showed any; else ``as_of`` is the latest snapshot's.
    """
    if not workspace.has_table("usage_import_footprints"):  # before version 3: none recorded
        return Inventory((), datetime.now(UTC))
    rows = workspace.fetch_all(
        """SELECT s.import_id, s.portfolio_json FROM inventory_snapshots s
        JOIN usage_imports i ON i.import_id = s.import_id
        WHERE i.removed_at IS NULL ORDER BY s.as_of DESC, s.snapshot_id DESC"""
    )
    parts = [
        parse_portfolio_json(
            text, where=f"{workspace.path}: inventory of usage import {import_id}",
            source=f"bill (usage import {import_id})",
        )
        for import_id, text in rows
    ]  # fmt: skip
    if not parts:
        return Inventory((), datetime.now(UTC))
    return Inventory(merge_commitments(p.commitments for p in parts), as_of=parts[0].as_of)


def commitment_key(commitment: Commitment) -> str:
    """What identifies a commitment across sources: its id without an ARN's prefix."""
    return commitment.id.rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def merge_commitments(
    sources: Iterable[Sequence[Commitment]],
) -> tuple[Commitment, ...]:
    """One commitment per :func:`commitment_key`, from the first source (highest precedence)
    that holds it; sources in precedence order, commitments in the order met."""
    merged: dict[str, Commitment] = {}
    for commitments in sources:
        for commitment in commitments:
            merged.setdefault(commitment_key(commitment), commitment)
    return tuple(merged.values())


__all__ = ["bill_inventory", "commitment_key", "merge_commitments", "record_bill_inventory"]
