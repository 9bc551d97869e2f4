"""Project configuration: defaults for the commands from ``commitopt.toml`` or ``[tool.commitopt]``.

A configuration file sets the defaults a team agrees on once — lookback, terms, payment options,
budgets, approvers, discount rate — so that a scheduled ``commitopt review`` and a practitioner's
``commitopt recommend`` use the same policy. Flags given on the command line override it.

Where it is looked for, first found wins:

1. ``--config FILE`` (or ``$COMMITOPT_CONFIG``);
2. ``commitopt.toml`` in the current directory or the nearest parent;
3. the ``[tool.commitopt]`` table of the nearest ``pyproject.toml``.

Example ``commitopt.toml``::

    lookback = "60d"
    instruments = ["ri", "ec2-sp", "compute-sp"]
    terms = [1, 3]
    payment = ["no", "partial"]
    classes = ["standard"]
    max_upfront_usd = 50000
    max_hourly_commitment_usd = 20
    discount_rate = 0.08
    approvers = ["arn:aws:iam::123456789012:role/Finance", "alice"]
    self_approval = []
    approval_max_age_days = 14
    price_tolerance_pct = 1

``approvers`` and ``self_approval`` are checked against the identity of whoever runs ``approve``
or ``reject`` (:mod:`commitopt.identity`): an IAM or STS ARN matches that AWS caller (an IAM role
ARN also matches the role's sessions), a plain name matches the OS user or the IAM user /
role-session name. The creator of a plan may not approve it unless ``self_approval`` names them.

Every key is optional; an unknown key, a wrong type or an out-of-range value is an error that
names the file and the key (with a close match for a misspelt key).
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Final

from commitopt.identity import parse_arn
from core.durations import parse_days
from core.errors import CommitoptInputError
from pricing.offerings import POLICY_NAMES

CONFIG_FILE: Final = "commitopt.toml"
"""Name of the configuration file looked for in the current directory and its parents."""

CONFIG_ENV: Final = "COMMITOPT_CONFIG"
"""Environment variable naming a configuration file."""


class ConfigError(CommitoptInputError):
    """A configuration file that cannot be used as written."""


@dataclass(frozen=True)
class Config:
    """Validated configuration; ``None`` means "not set" (the command's own default applies).

    Attributes
    ----------
    lookback
        History that stands for the future (``"60d"``, ``"12w"``, ``"720h"``).
    instruments
        Subset of ``ri``, ``ec2-sp``, ``compute-sp``.
    terms
        Terms in years (1, 3).
    payment
        Subset of ``no``, ``partial``, ``all``.
    classes
        RI offering classes: ``standard``, ``convertible``.
    max_upfront_usd
        Cap on upfront cash per plan [USD].
    max_hourly_commitment_usd
        Cap on the new purchases' cost per hour [USD/h].
    min_utilization_pct
        Least expected utilization of each new purchase [%].
    discount_rate
        Yearly rate for the time value of money [1/year].
    approvers
        Who may approve or reject plans (ARNs or names, matched against the identity, see
        :meth:`commitopt.identity.Identity.matches`); empty or unset: anyone.
    self_approval
        Identities (ARNs or names) that may approve plans they created themselves; unset:
        nobody (separation of duties).
    approval_max_age_days
        Approvals older than this expire [days].
    price_tolerance_pct
        Largest accepted move of a live price from the plan's before a purchase is refused [%].
    workspace
        Workspace database file (relative paths are taken from the configuration file's folder).
    source
        The file the values came from, ``None`` when there was none.
    """

    lookback: str | None = None
    instruments: tuple[str, ...] | None = None
    terms: tuple[int, ...] | None = None
    payment: tuple[str, ...] | None = None
    classes: tuple[str, ...] | None = None
    max_upfront_usd: float | None = None
    max_hourly_commitment_usd: float | None = None
    min_utilization_pct: float | None = None
    discount_rate: float | None = None
    approvers: tuple[str, ...] | None = None
    self_approval: tuple[str, ...] | None = None
    approval_max_age_days: float | None = None
    price_tolerance_pct: float | None = None
    workspace: str | None = None
    source: Path | None = None


def _text(where: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key} must be a non-empty string, not {value!r}")
    return value.strip()


def _number(
    low: float, high: float | None = None, *, low_open: bool = False
) -> Callable[[str, str, Any], float]:
    def check(where: str, key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: {key} must be a number, not {value!r}")
        number = float(value)
        too_low = number <= low if low_open else number < low
        if too_low or (high is not None and number > high):
            bounds = f"{'above' if low_open else 'at least'} {low:g}" + (
                f" and at most {high:g}" if high is not None else ""
            )
            raise ConfigError(f"{where}: {key} must be {bounds}, not {value!r}")
        return number

    return check


def _choices(allowed: tuple[str, ...]) -> Callable[[str, str, Any], tuple[str, ...]]:
    def check(where: str, key: str, value: Any) -> tuple[str, ...]:
        items = _strings(where, key, value)
        for item in items:
            if item.lower() not in allowed:
                raise ConfigError(
                    f"{where}: {key} has {item!r}; use one or more of {', '.join(allowed)}"
                )
        return tuple(item.lower() for item in items)

    return check


def _strings(where: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f'{where}: {key} must be a list of strings, e.g. {key} = ["a", "b"]')
    return tuple(v.strip() for v in value)


def _principals(where: str, key: str, value: Any) -> tuple[str, ...]:
    items = _strings(where, key, value)
    for item in items:
        if item.startswith("arn:") and parse_arn(item) is None:
            raise ConfigError(
                f"{where}: {key} has {item!r}, not an IAM or STS ARN; write e.g. "
                '"arn:aws:iam::123456789012:role/Finance", or a plain user name'
            )
    return items


def _terms(where: str, key: str, value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not value or any(v not in (1, 3) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of 1 and/or 3 (years), not {value!r}")
    return tuple(int(v) for v in value)


def _lookback(where: str, key: str, value: Any) -> str:
    text = _text(where, key, value)
    try:
        days = parse_days(text)
    except CommitoptInputError as error:
        raise ConfigError(
            f'{where}: {key}: {text!r} is not a duration; write e.g. "720h", "30d", "8w", '
            '"6mo" or "1y"'
        ) from error
    if days <= 0:
        raise ConfigError(f"{where}: {key} must be a positive duration, not {value!r}")
    return text


VALIDATORS: Final[Mapping[str, Callable[[str, str, Any], Any]]] = {
    "lookback": _lookback,
    "instruments": _choices(POLICY_NAMES),
    "terms": _terms,
    "payment": _choices(("no", "partial", "all")),
    "classes": _choices(("standard", "convertible")),
    "max_upfront_usd": _number(0.0),
    "max_hourly_commitment_usd": _number(0.0),
    "min_utilization_pct": _number(0.0, 100.0),
    "discount_rate": _number(0.0, 1.0),
    "approvers": _principals,
    "self_approval": _principals,
    "approval_max_age_days": _number(0.0, low_open=True),
    "price_tolerance_pct": _number(0.0, 100.0),
    "workspace": _text,
}
"""Every key a configuration may set, with its check."""


def parse_config(table: Mapping[str, Any], where: str, source: Path | None = None) -> Config:
    """Validate a configuration table.

    Parameters
    ----------
    table
        The parsed TOML table.
    where
        How to name its place in messages (``"commitopt.toml"``,
        ``"pyproject.toml [tool.commitopt]"``).
    source
        The file it came from.

    Raises
    ------
    ConfigError
        For an unknown key (with a close match), a wrong type or a value out of range.
    """
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in VALIDATORS:
            close = difflib.get_close_matches(key, list(VALIDATORS), n=1)
            hint = (
                f"; did you mean {close[0]!r}?"
                if close
                else f"; known keys: {', '.join(VALIDATORS)}"
            )
            raise ConfigError(f"{where}: unknown key {key!r}{hint}")
        values[key] = VALIDATORS[key](where, key, value)
    if "workspace" in values and source is not None:
        values["workspace"] = str((source.parent / values["workspace"]).resolve())
    return Config(**values, source=source)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as error:
        raise ConfigError(f"{path}: no such configuration file") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error}); fix the file") from error
    except OSError as error:
        raise ConfigError(f"{path}: cannot read it ({error.strerror})") from error


def load_config(path: str | Path | None = None, *, start: Path | None = None) -> Config:
    """Find and read the configuration (see the module docstring for where it is looked for).

    Parameters
    ----------
    path
        An explicit file (``--config``); ``None`` to use ``$COMMITOPT_CONFIG`` or search.
    start
        Folder to search from [default: the current directory].

    Returns
    -------
    Config
        Empty (all ``None``) when no configuration exists.

    Raises
    ------
    ConfigError
        For a file that is missing (when named), unreadable, not TOML, or invalid.
    """
    explicit = path if path is not None else os.environ.get(CONFIG_ENV) or None
    if explicit is not None:
        file = Path(explicit)
        table = _read_toml(file)
        if file.name == "pyproject.toml":
            table = table.get("tool", {}).get("commitopt", {})
            return parse_config(table, f"{file} [tool.commitopt]", file)
        return parse_config(table, str(file), file)
    folder = (start or Path.cwd()).resolve()
    for candidate_folder in (folder, *folder.parents):
        candidate = candidate_folder / CONFIG_FILE
        if candidate.is_file():
            return parse_config(_read_toml(candidate), str(candidate), candidate)
        pyproject = candidate_folder / "pyproject.toml"
        if pyproject.is_file():
            tool = _read_toml(pyproject).get("tool", {})
            if isinstance(tool, dict) and "commitopt" in tool:
                return parse_config(tool["commitopt"], f"{pyproject} [tool.commitopt]", pyproject)
    return Config()


PARAMETERS: Final[Mapping[str, tuple[str, Callable[[Any], Any]]]] = {
    "lookback": ("lookback", str),
    "instruments": ("instruments", tuple),
    "terms": ("term", lambda terms: tuple(str(t) for t in terms)),
    "payment": ("payment", tuple),
    "classes": ("offering_classes", tuple),
    "max_upfront_usd": ("max_upfront", float),
    "max_hourly_commitment_usd": ("max_hourly_commitment", float),
    "min_utilization_pct": ("min_utilization", float),
    "discount_rate": ("discount_rate", float),
    "approvers": ("approvers", tuple),
    "approval_max_age_days": ("max_approval_age", float),
    "price_tolerance_pct": ("price_tolerance", float),
    "workspace": ("workspace", Path),
}
"""Configuration key -> (command parameter name it sets a default for, conversion)."""


def command_defaults(config: Config, command: Any) -> dict[str, Any]:
    """The configured defaults of the options a command has (click's ``default_map`` entry).

    Parameters
    ----------
    config
        The configuration.
    command
        A click command; a key is used only when the command has the option it sets.
    """
    names = {parameter.name for parameter in getattr(command, "params", ())}
    return {
        parameter: convert(getattr(config, key))
        for key, (parameter, convert) in PARAMETERS.items()
        if getattr(config, key) is not None and parameter in names
    }


def default_map(config: Config, commands: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Click ``default_map`` giving each command the configured defaults of the options it has.

    Parameters
    ----------
    config
        The configuration.
    commands
        Command name -> click command (a group's ``commands``); groups are followed.
    """
    result: dict[str, dict[str, Any]] = {}
    for name, command in commands.items():
        subcommands = getattr(command, "commands", None)
        if subcommands:
            nested = default_map(config, subcommands)
            if nested:
                result[name] = nested
            continue
        defaults = command_defaults(config, command)
        if defaults:
            result[name] = defaults
    return result


def config_keys() -> tuple[str, ...]:
    """Every key a configuration may set."""
    return tuple(field.name for field in fields(Config) if field.name != "source")
