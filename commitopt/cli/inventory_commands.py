"""``commitopt inventory``: commitments the user already owns."""

from __future__ import annotations

import click


@click.group()
def inventory() -> None:
    """Owned Reserved Instances and Savings Plans, with their expirations."""
