"""Scenario files: YAML and JSON round trips, the examples, and one-line errors for bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from scenarios.scenario_file import load_scenario, load_scenarios, write_scenario
from scenarios.transforms import (
    Exit,
    Growth,
    Migration,
    NewWorkload,
    PriceChange,
    Scenario,
    ScenarioError,
    Selection,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scenarios"

EVERYTHING = Scenario(
    "everything",
    "one of each",
    (
        Growth(2.5, "2024-02-01", Selection(accounts="000123456789", regions="us-east-1")),
        Growth.decline(1.0),
        Migration(
            Selection(families="m4", platforms="linux"),
            0.6,
            "2024-02-01",
            "2024-03-01T12:00:00Z",
            to_family="c5",
            target_sizes=("large", "xlarge"),
        ),
        Migration(Selection(platforms=("windows",)), 1.0, "2024-01-01", "2024-01-01", None, "rhel"),
        Exit(Selection(regions=("eu-west-2", "eu-west-1")), "2024-04-01"),
        NewWorkload("c4.large", "us-east-1", count_per_hour=3, daily_amplitude=1, start="2024-02"),
        PriceChange(0.9, ("on_demand", "savings_plans"), Selection(families="c5")),
    ),
)  # fmt: skip


def _write(tmp_path: Path, text: str, name: str = "x.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _error(path: Path) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"everything{suffix}"
    write_scenario(EVERYTHING, path)
    loaded = load_scenario(path)
    assert loaded == EVERYTHING
    assert loaded.source == str(path)


def test_the_examples_load() -> None:
    files = sorted(EXAMPLES.glob("*.*"))
    assert {f.name for f in files} >= {
        "growth.yaml",
        "graviton_migration.yaml",
        "exit_eu_west_2.yaml",
        "price_cut_new_workload.json",
    }
    scenarios = load_scenarios(files)
    assert len({s.name for s in scenarios}) == len(files)
    graviton = next(s for s in scenarios if s.name == "graviton")
    (migration,) = graviton.transforms
    assert isinstance(migration, Migration)
    assert migration.to_family == "m6g" and migration.share == 0.6
    assert migration.start == pd.Timestamp("2024-02-01", tz="UTC")


def test_a_yaml_file_by_hand(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
description: growth in one account, a workload from a CSV
transforms:
  - growth: {percent_per_month: 4, start: 2024-03-01T06:00:00Z, where: {account: 12345678901}}
  - new_workload: {csv: extra.csv, start: 2024-03-02}
""",
        "by-hand.yml",
    )
    scenario = load_scenario(path)
    assert scenario.name == "by-hand"  # the file's stem
    growth, workload = scenario.transforms
    # an account id YAML read as a number comes back as 12 digits
    start = pd.Timestamp("2024-03-01T06:00:00Z")
    assert growth == Growth(4.0, start, Selection(accounts="012345678901"))
    assert isinstance(workload, NewWorkload) and workload.csv == tmp_path / "extra.csv"


def test_unknown_kind_suggests_the_closest(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "name: x\ntransforms:\n  - exit: {where: {region: us-east-1}, at: 2024-01-01}\n"
        "  - grwoth: {percent_per_month: 1}\n",
    )
    assert _error(path) == (f"unknown field 'grwoth' in {path} transform 2; did you mean 'growth'?")


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (
            "name: x\ntransfroms: []\n",
            ["unknown field 'transfroms' in", "did you mean 'transforms'?"],
        ),
        (
            "transforms:\n  - migration: {from: {family: m4}, to: {family: c5}, shares: 0.5,"
            " start: 2024-01-01, end: 2024-02-01}\n",
            ["unknown field 'shares'", "transform 1 (migration)", "did you mean 'share'?"],
        ),
        (
            "transforms:\n  - exit: {where: {regoin: us-east-1}, at: 2024-01-01}\n",
            ["unknown field 'regoin'", "(exit.where)", "did you mean 'region'?"],
        ),
        (
            "transforms:\n  - migration: {from: {family: m4}, to: {famliy: c5}, share: 0.5,"
            " start: 2024-01-01, end: 2024-02-01}\n",
            ["unknown field 'famliy'", "(migration.to)", "did you mean 'family'?"],
        ),
        (
            "transforms:\n  - migration: {from: {family: m4}, to: {family: c5}, share: 1.5,"
            " start: 2024-01-01, end: 2024-02-01}\n",
            ["share 1.5 is outside [0, 1]", "transform 1 (migration.share)"],
        ),
        (
            "transforms:\n  - migration: {from: {family: m4}, to: {family: c5}, share: 0.5,"
            " start: 2024-03-01, end: 2024-02-01}\n",
            ["ramp ends", "before it starts", "(migration.end)"],
        ),
        (
            "transforms:\n  - growth: {percent_per_month: 2, start: 2024-02-30}\n",
            ["malformed date '2024-02-30'", "(growth.start)"],
        ),
        (
            "transforms:\n  - exit: {where: {family: m4.large}, at: 2024-01-01}\n",
            ["'m4.large' is not an instance family", "(exit.where.family)"],
        ),
        (
            "transforms:\n  - exit: {where: {platform: beos}, at: 2024-01-01}\n",
            ["unknown platform 'beos'", "(exit.where.platform)"],
        ),
        (
            "transforms:\n  - exit: {where: {region: us-east-9}, at: 2024-01-01}\n",
            ["unknown region 'us-east-9'", "did you mean"],
        ),
        (
            "transforms:\n  - exit: {at: 2024-01-01}\n",
            ["missing field 'where'", "transform 1 (exit)"],
        ),
        ("transforms:\n  - growth: {percent_per_month: lots}\n", ["'lots' is not a number"]),
        ("transforms: {growth: {percent_per_month: 1}}\n", ["transforms must be a list"]),
        ("transforms:\n  - growth: {}\n    exit: {}\n", ["a mapping with one key"]),
        ("name: baseline\n", ["'baseline' is taken"]),
        ("- growth: 1\n", ["scenario must be a mapping"]),
        ("name: x\ntransforms:\n  - growth: {percent_per_month: [1\n", ["not valid YAML (line"]),
    ],
)
def test_bad_files_are_one_line_naming_file_and_field(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    path = _write(tmp_path, text)
    message = _error(path)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize("text", ["", "   \n\n", "# just a comment\n"])
def test_empty_files(tmp_path: Path, text: str) -> None:
    message = _error(_write(tmp_path, text))
    assert "x.yaml is empty" in message


def test_malformed_json_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, '{"name": "x",\n "transforms": [}\n', "x.json")
    assert f"{path} is not valid JSON (line 2" in _error(path)


def test_missing_file_and_unknown_suffix(tmp_path: Path) -> None:
    assert "not found" in _error(tmp_path / "nope.yaml")
    assert "give a .yaml, .yml or .json file" in _error(_write(tmp_path, "name: x", "x.toml"))


def test_two_files_with_one_name(tmp_path: Path) -> None:
    first = _write(tmp_path, "name: same\n", "a.yaml")
    second = _write(tmp_path, json.dumps({"name": "same"}), "b.json")
    with pytest.raises(ScenarioError, match="two scenarios are named 'same'"):
        load_scenarios([first, second])
