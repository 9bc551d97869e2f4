"""``commitopt pricing``: show, import, fetch and describe price catalogs."""

from __future__ import annotations

import click


@click.group()
def pricing() -> None:
    """Price catalogs: on-demand, Reserved Instance and Savings Plans rates."""
