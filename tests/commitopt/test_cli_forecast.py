"""``commitopt forecast``: usage quantiles per period; one-line errors for bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from commitopt.cli.forecast_command import parse_horizon_hours
from core.errors import CommitoptInputError
from tests.commitopt.conftest import RunCli
from usage.synthetic import growth, steady_daily_cycle


def write_usage(path: Path, frame: pd.DataFrame) -> str:
    frame.to_csv(path, index=False)
    return str(path)


@pytest.fixture
def flat_usage(tmp_path: Path) -> str:
    """Exactly 20 m4.large every hour for five weeks (no cycle, no noise)."""
    frame = steady_daily_cycle(
        hours=5 * 168, base_instances=20.0, daily_amplitude_instances=0.0, noise_instances=0.0
    )
    return write_usage(tmp_path / "flat.csv", frame)


def test_flat_usage_forecasts_its_own_level_and_on_demand_spend(
    run_cli: RunCli, flat_usage: str
) -> None:
    result = run_cli(
        "forecast", "--usage", flat_usage, "--lookback", "28d", "--horizon", "3w",
        "--by", "week", "--paths", "20", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["period_start"] for row in rows] == [
        "2024-02-05T00:00:00+00:00", "2024-02-12T00:00:00+00:00", "2024-02-19T00:00:00+00:00"
    ]  # fmt: skip
    for row in rows:
        assert row["period_hours"] == 168
        for quantile in ("p5", "p50", "p95"):
            assert row[f"{quantile}_instance_hours"] == pytest.approx(20 * 168)
            assert row[f"{quantile}_normalized_unit_hours"] == pytest.approx(4 * 20 * 168)
            assert row[f"{quantile}_on_demand_cost_usd"] == pytest.approx(
                0.1 * 20 * 168
            )  # 2017 rate


def test_growing_usage_table_and_csv(run_cli: RunCli, tmp_path: Path) -> None:
    frame = growth(hours=16 * 7 * 24, base_instances=20.0, growth_instances_per_day=0.2)
    path = write_usage(tmp_path / "growth.csv", frame)
    table = run_cli("forecast", "--usage", path, "--horizon", "6mo", "--paths", "50")
    assert table.exit_code == 0, table.stderr
    assert "Forecast per month" in table.stdout and "instance" in table.stdout
    assert "before any commitment" in table.stdout
    csv = run_cli(
        "forecast", "--usage", path, "--horizon", "6mo", "--paths", "50", "--format", "csv",
        "--level", "family", "--no-embedded",
    )  # fmt: skip
    assert csv.exit_code == 0, csv.stderr
    months = pd.read_csv(io.StringIO(csv.stdout))
    assert "p50_on_demand_cost_usd" not in months.columns  # no catalog at all
    assert months["period_hours"].sum() == 6 * 730
    assert (months["p5_instance_hours"] <= months["p50_instance_hours"]).all()
    assert (months["p50_instance_hours"] <= months["p95_instance_hours"]).all()
    full = months.iloc[1:-1]  # whole months, growing
    per_hour = full["p50_instance_hours"] / full["period_hours"]
    assert per_hour.is_monotonic_increasing
    assert per_hour.iloc[0] > 20 + 0.2 * 16 * 7  # above the level at the end of the history


def test_the_seed_makes_the_output_reproducible(run_cli: RunCli, tmp_path: Path) -> None:
    frame = growth(hours=4 * 7 * 24, noise_instances=3.0)
    path = write_usage(tmp_path / "noisy.csv", frame)
    args = ("forecast", "--usage", path, "--lookback", "28d", "--horizon", "4w", "--paths", "30",
            "--format", "csv", "--no-embedded")  # fmt: skip
    first, again = run_cli(*args, "--seed", "1"), run_cli(*args, "--seed", "1")
    other = run_cli(*args, "--seed", "2")
    assert first.stdout == again.stdout and first.stdout != other.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--lookback", "10d"), "needs at least 2 full weeks (14d = 336 hours)"),
        (("--horizon", "0w"), "--horizon must be at least one hour"),
        (("--horizon", "-3d"), "--horizon '-3d' is not a duration"),
        (("--horizon", "soon"), "is not a duration"),
        (("--paths", "0"), "--paths must be at least 1"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    run_cli: RunCli, flat_usage: str, args: tuple[str, ...], message: str
) -> None:
    result = run_cli("forecast", "--usage", flat_usage, "--no-embedded", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not result.stdout


def test_too_little_history_says_how_much_is_needed(run_cli: RunCli, tmp_path: Path) -> None:
    short = write_usage(tmp_path / "short.csv", steady_daily_cycle(hours=10 * 24))
    result = run_cli("forecast", "--usage", short, "--lookback", "7d")
    assert result.exit_code == 2
    assert "covers only 10.0 days" in result.stderr
    assert "at least 2 full weeks (336 hours)" in result.stderr


def test_horizon_units() -> None:
    assert parse_horizon_hours("1y") == 8760
    assert parse_horizon_hours("26w") == 26 * 168
    assert parse_horizon_hours("6mo") == 6 * 730
    assert parse_horizon_hours("90") == 90 * 24
    assert parse_horizon_hours("36h") == 36
    with pytest.raises(CommitoptInputError):
        parse_horizon_hours("1 decade")


def test_trend_error_widens_the_range(run_cli: RunCli, tmp_path: Path) -> None:
    frame = growth(hours=13 * 7 * 24, noise_instances=3.0, growth_instances_per_day=0.1)
    path = write_usage(tmp_path / "noisy.csv", frame)
    args = ("forecast", "--usage", path, "--horizon", "26w", "--by", "week", "--paths", "200",
            "--format", "csv", "--no-embedded")  # fmt: skip
    with_error = pd.read_csv(io.StringIO(run_cli(*args).stdout))
    without = pd.read_csv(io.StringIO(run_cli(*args, "--no-trend-error").stdout))

    def width(frame: pd.DataFrame) -> pd.Series:
        return frame["p95_instance_hours"] - frame["p5_instance_hours"]

    assert (width(with_error).iloc[-5:] > 1.5 * width(without).iloc[-5:]).all()
