"""``commitopt config``: the configuration in effect and where it came from."""

from __future__ import annotations

import click
import pandas as pd

from commitopt.cli.output import emit_frame, format_option
from commitopt.cli.progress import quiet_option
from commitopt.cli.streams import echo_payload
from commitopt.config import Config, config_keys

CONFIG_EPILOG = """
\b
Examples:
  commitopt config
  commitopt --config team.toml config --format json
\b
Keys (all optional) in commitopt.toml, or under [tool.commitopt] in pyproject.toml:
  lookback = "60d"               instruments = ["ri", "ec2-sp", "compute-sp"]
  terms = [1, 3]                 payment = ["no", "partial", "all"]
  classes = ["standard"]         max_upfront_usd = 50000
  max_hourly_commitment_usd = 20 min_utilization_pct = 80
  discount_rate = 0.08           approval_max_age_days = 14
  price_tolerance_pct = 1        workspace = "commitopt.duckdb"
  approvers = ["arn:aws:iam::123456789012:role/Finance", "alice"]
  self_approval = ["alice"]
Flags given to a command override these defaults. approvers and self_approval are matched
against the identity running approve/reject (AWS caller ARN, a role's sessions, IAM user or
session name, else the OS user); the creator of a plan may approve it only if in self_approval.
"""


@click.command("config", epilog=CONFIG_EPILOG)
@format_option
@quiet_option
@click.pass_obj
def config_command(config: Config | None, output_format: str) -> None:
    """Show the configuration in effect and its file.

    Show the configuration in effect (validated when it was loaded) and its file."""
    config = config or Config()
    rows = [
        {"key": key, "value": _shown(getattr(config, key))}
        for key in config_keys()
        if getattr(config, key) is not None
    ]
    source = str(config.source) if config.source else "none (built-in defaults)"
    frame = pd.DataFrame(rows, columns=["key", "value"])
    if output_format == "table":
        echo_payload(f"configuration from {source}")
    emit_frame(frame, output_format)


def _shown(value: object) -> str:
    if isinstance(value, tuple):
        return ", ".join(map(str, value))
    return str(value)
