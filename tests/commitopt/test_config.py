"""Configuration: found where documented, validated with one clear line, overridden by flags."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from commitopt.cli import cli
from commitopt.cli.errors import run_with_exit_codes
from commitopt.config import Config, ConfigError, default_map, load_config


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_nothing_configured_gives_empty_config(tmp_path: Path) -> None:
    assert load_config(start=tmp_path) == Config()


def test_commitopt_toml_in_a_parent_folder_is_found(tmp_path: Path) -> None:
    write(tmp_path / "commitopt.toml", 'lookback = "30d"\nterms = [1, 3]\npayment = ["No"]\n')
    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    config = load_config(start=inner)
    assert config.lookback == "30d" and config.terms == (1, 3) and config.payment == ("no",)
    assert config.source == tmp_path / "commitopt.toml"


def test_pyproject_tool_table_and_relative_workspace(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml",
          '[project]\nname = "x"\n[tool.commitopt]\nworkspace = "ws.duckdb"\n'
          "max_upfront_usd = 5000\n")  # fmt: skip
    config = load_config(start=tmp_path)
    assert config.max_upfront_usd == 5000.0
    assert config.workspace == str((tmp_path / "ws.duckdb").resolve())


def test_pyproject_without_table_is_skipped_for_a_parent_commitopt_toml(tmp_path: Path) -> None:
    write(tmp_path / "commitopt.toml", "discount_rate = 0.08\n")
    (tmp_path / "pkg").mkdir()
    write(tmp_path / "pkg" / "pyproject.toml", '[project]\nname = "x"\n')
    assert load_config(start=tmp_path / "pkg").discount_rate == 0.08


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('lookbak = "30d"\n', "unknown key 'lookbak'; did you mean 'lookback'?"),
        ("terms = [2]\n", "terms must be a list of 1 and/or 3"),
        ('payment = ["monthly"]\n', "payment has 'monthly'; use one or more of no, partial, all"),
        ("max_upfront_usd = -5\n", "max_upfront_usd must be at least 0"),
        ('max_upfront_usd = "lots"\n', "max_upfront_usd must be a number"),
        ("approval_max_age_days = 0\n", "approval_max_age_days must be above 0"),
        ('lookback = "soon"\n', "lookback: 'soon' is not a duration"),
        ('approvers = "alice"\n', "approvers must be a list of strings"),
        (
            'approvers = ["arn:aws:iam:123456789012:role/Finance"]\n',
            "approvers has 'arn:aws:iam:123456789012:role/Finance', not an IAM or STS ARN",
        ),
        ('self_approval = [""]\n', "self_approval must be a list of strings"),
        ('self_aproval = ["ann"]\n', "did you mean 'self_approval'?"),
        ("lookback = \n", "not valid TOML"),
    ],
)
def test_bad_configuration_is_one_line_naming_file_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path / "commitopt.toml", text)
    with pytest.raises(ConfigError) as caught:
        load_config(start=tmp_path)
    assert message in str(caught.value) and str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_cli_bad_config_exits_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "commitopt.toml", 'instrument = ["ri"]\n')
    monkeypatch.chdir(tmp_path)
    assert run_with_exit_codes(cli, ["config"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "did you mean 'instruments'?" in err


def test_explicit_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "absent.toml")


def test_default_map_sets_only_options_a_command_has() -> None:
    config = Config(lookback="30d", terms=(1, 3), approvers=("alice",), max_upfront_usd=10.0)
    context = click.Context(cli, info_name="commitopt", **cli.context_settings)
    commands = {name: cli.get_command(context, name) for name in ("recommend", "plans")}
    mapping = default_map(config, commands)
    assert mapping["recommend"]["lookback"] == "30d"
    assert mapping["recommend"]["term"] == ("1", "3")
    assert mapping["recommend"]["max_upfront"] == 10.0
    assert "approvers" not in mapping["recommend"]


def test_config_sets_recommend_defaults_and_flags_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "commitopt.toml", 'instruments = ["compute-sp"]\nlookback = "14d"\n')
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    configured = runner.invoke(cli, ["recommend", "--demo", "--format", "json"])
    assert configured.exit_code == 0, configured.output
    kinds = {p["kind"] for p in json.loads(configured.stdout)["purchases"]}
    assert kinds == {"compute_savings_plan"}
    overridden = runner.invoke(
        cli, ["recommend", "--demo", "--instruments", "ri", "--format", "json"]
    )
    assert overridden.exit_code == 0, overridden.output
    assert {p["kind"] for p in json.loads(overridden.stdout)["purchases"]} == {"reserved_instance"}


def test_config_command_shows_values_and_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "team.toml", "terms = [3]\nprice_tolerance_pct = 2\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["--config", "team.toml", "config", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {"key": "terms", "value": "3"},
        {"key": "price_tolerance_pct", "value": "2.0"},
    ]


def test_approvers_and_self_approval_take_arns_and_names(tmp_path: Path) -> None:
    write(
        tmp_path / "commitopt.toml",
        'approvers = ["arn:aws:iam::123456789012:role/Finance", "ann"]\n'
        'self_approval = ["arn:aws:sts::123456789012:assumed-role/Finance/ann"]\n',
    )
    config = load_config(start=tmp_path)
    assert config.approvers == ("arn:aws:iam::123456789012:role/Finance", "ann")
    assert config.self_approval == ("arn:aws:sts::123456789012:assumed-role/Finance/ann",)
