"""Scenario files: the same :class:`~scenarios.transforms.Scenario` in YAML or JSON.

A file is a mapping with ``name`` (default: the file's stem), ``description`` and ``transforms``,
a list whose items each have one key, the transform's kind, holding its fields::

    name: graviton
    description: half of m4 moves to m6g over the first quarter
    transforms:
      - migration:
          from: {family: m4, region: us-east-1}
          to: {family: m6g}
          share: 0.5
          start: 2025-01-01
          end: 2025-04-01
      - growth: {percent_per_month: 2, start: 2025-01-01}

Kinds and fields (see docs/scenario-file.md): ``growth`` / ``decline`` (percent_per_month, start,
where), ``migration`` (from, to, share, start, end), ``exit`` (where, at), ``new_workload``
(instance_type, region, platform, tenancy, account, count_per_hour, daily_amplitude,
peak_hour_utc, start, end; or csv), ``price_change`` (factor, rates, where), ``to_fargate``
(from, share, start, end, vcpu_per_instance, memory_gb_per_vcpu, utilization) and ``to_ec2``
(from, instance_type, share, start, end, vcpu_per_instance, utilization). A selection
(``where``, ``from``) has account, region, family, platform, instance_type, each a name or a list.

Every mistake is one :class:`~scenarios.transforms.ScenarioError` line naming the file, the
transform (1-based) and the field, with a close-match suggestion for misspelt names.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final

import yaml

from pricing.atomic import atomic_output_path
from scenarios.containers import ToEc2, ToFargate
from scenarios.transforms import (
    BASELINE,
    SELECTION_FIELDS,
    Exit,
    Growth,
    Migration,
    NewWorkload,
    PriceChange,
    Scenario,
    ScenarioError,
    Selection,
    Transform,
    suggestion,
)

SCENARIO_FIELDS: Final = ("name", "description", "transforms")
"""Top-level fields of a scenario file."""
TRANSFORM_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "growth": ("percent_per_month", "start", "where"),
    "decline": ("percent_per_month", "start", "where"),
    "migration": ("from", "to", "share", "start", "end"),
    "exit": ("where", "at"),
    "new_workload": (
        "instance_type",
        "region",
        "platform",
        "tenancy",
        "account",
        "count_per_hour",
        "daily_amplitude",
        "peak_hour_utc",
        "start",
        "end",
        "csv",
    ),
    "price_change": ("factor", "rates", "where"),
    "to_fargate": (
        "from", "share", "start", "end", "vcpu_per_instance", "memory_gb_per_vcpu", "utilization",
    ),
    "to_ec2": (
        "from", "instance_type", "share", "start", "end", "vcpu_per_instance", "utilization",
    ),
}  # fmt: skip
"""Fields of each transform kind in a scenario file."""
REQUIRED_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "growth": ("percent_per_month",),
    "decline": ("percent_per_month",),
    "migration": ("from", "to", "share", "start", "end"),
    "exit": ("where", "at"),
    "new_workload": (),
    "price_change": ("factor",),
    "to_fargate": ("from", "share", "start", "end"),
    "to_ec2": ("from", "instance_type", "share", "start", "end"),
}
DESTINATION_FIELDS: Final = ("family", "platform", "sizes")
"""Fields of a migration's ``to``."""
SUFFIXES: Final = {".yaml": "yaml", ".yml": "yaml", ".json": "json"}


class _Loader(yaml.SafeLoader):
    """YAML's safe loader that leaves dates as text, so that a bad one is reported by field."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _check_fields(
    mapping: Mapping[str, object], allowed: Sequence[str], location: str, field: str = ""
) -> None:
    """Raise on the first key of ``mapping`` not in ``allowed``, suggesting the closest."""
    for key in mapping:
        if str(key) not in allowed:
            raise ScenarioError(
                f"unknown field {str(key)!r}",
                field=field,
                fix=suggestion(str(key), allowed),
                location=location,
            )


def _mapping(value: object, location: str, field: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise ScenarioError(
            f"{field} must be a mapping of fields, not {value!r}",
            field=field,
            fix="write it as `key: value` lines or {key: value}",
            location=location,
        )
    return {str(key): item for key, item in value.items()}


def _account(value: object) -> object:
    """Account ids written as numbers (YAML reads 012345678901 as an int) as 12-digit text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:012d}"
    if isinstance(value, list):
        return [_account(item) for item in value]
    return value


def _selection(value: object, location: str, field: str) -> Selection:
    fields = _mapping(value, location, field)
    _check_fields(fields, SELECTION_FIELDS, location, field)
    try:
        return Selection(
            accounts=_account(fields.get("account", ())),  # type: ignore[arg-type]
            regions=fields.get("region", ()),  # type: ignore[arg-type]
            families=fields.get("family", ()),  # type: ignore[arg-type]
            platforms=fields.get("platform", ()),  # type: ignore[arg-type]
            instance_types=fields.get("instance_type", ()),  # type: ignore[arg-type]
        )
    except ScenarioError as error:
        raise error.located(location, field) from None


def _growth(fields: Mapping[str, object], location: str, kind: str, _base: Path) -> Transform:
    where = _selection(fields.get("where", {}), location, f"{kind}.where")
    start = fields.get("start")
    if kind == "decline":
        return Growth.decline(fields["percent_per_month"], start, where)  # type: ignore[arg-type]
    return Growth(fields["percent_per_month"], start, where)  # type: ignore[arg-type]


def _migration(fields: Mapping[str, object], location: str, kind: str, _base: Path) -> Transform:
    source = _selection(fields["from"], location, f"{kind}.from")
    destination = _mapping(fields["to"], location, f"{kind}.to")
    _check_fields(destination, DESTINATION_FIELDS, location, f"{kind}.to")
    return Migration(
        source=source,
        share=fields["share"],  # type: ignore[arg-type]
        start=fields["start"],  # type: ignore[arg-type]
        end=fields["end"],  # type: ignore[arg-type]
        to_family=destination.get("family"),  # type: ignore[arg-type]
        to_platform=destination.get("platform"),  # type: ignore[arg-type]
        target_sizes=destination.get("sizes", ()),  # type: ignore[arg-type]
    )


def _exit(fields: Mapping[str, object], location: str, kind: str, _base: Path) -> Transform:
    where = _selection(fields["where"], location, f"{kind}.where")
    return Exit(where=where, at=fields["at"])  # type: ignore[arg-type]


def _new_workload(fields: Mapping[str, object], location: str, kind: str, base: Path) -> Transform:
    arguments = {name: value for name, value in fields.items() if name not in ("account", "csv")}
    if "account" in fields:
        arguments["account_id"] = _account(fields["account"])
    if "csv" in fields:
        if not isinstance(fields["csv"], str) or not fields["csv"].strip():
            raise ScenarioError(
                f"csv {fields['csv']!r} is not a file name",
                field=f"{kind}.csv",
                fix="give the path of a canonical usage CSV",
                location=location,
            )
        arguments["csv"] = base / fields["csv"]
    for text in ("instance_type", "region", "platform", "tenancy", "account_id"):
        if text in arguments and not isinstance(arguments[text], str):
            raise ScenarioError(
                f"{text} {arguments[text]!r} is not text",
                field=f"{kind}.{text}",
                fix="quote it",
                location=location,
            )
    return NewWorkload(**arguments)  # type: ignore[arg-type]


def _price_change(fields: Mapping[str, object], location: str, kind: str, _base: Path) -> Transform:
    where = _selection(fields.get("where", {}), location, f"{kind}.where")
    return PriceChange(
        factor=fields["factor"],  # type: ignore[arg-type]
        rates=fields.get("rates", ("on_demand",)),  # type: ignore[arg-type]
        where=where,
    )


def _to_fargate(fields: Mapping[str, object], location: str, kind: str, _base: Path) -> Transform:
    return ToFargate(
        source=_selection(fields["from"], location, f"{kind}.from"),
        share=fields["share"],  # type: ignore[arg-type]
        start=fields["start"],  # type: ignore[arg-type]
        end=fields["end"],  # type: ignore[arg-type]
        vcpu_per_instance=fields.get("vcpu_per_instance"),  # type: ignore[arg-type]
        memory_gb_per_vcpu=fields.get("memory_gb_per_vcpu"),  # type: ignore[arg-type]
        utilization=fields.get("utilization", 1.0),  # type: ignore[arg-type]
    )


def _to_ec2(fields: Mapping[str, object], location: str, kind: str, _base: Path) -> Transform:
    return ToEc2(
        source=_selection(fields["from"], location, f"{kind}.from"),
        instance_type=str(fields["instance_type"]),
        share=fields["share"],  # type: ignore[arg-type]
        start=fields["start"],  # type: ignore[arg-type]
        end=fields["end"],  # type: ignore[arg-type]
        vcpu_per_instance=fields.get("vcpu_per_instance"),  # type: ignore[arg-type]
        utilization=fields.get("utilization", 1.0),  # type: ignore[arg-type]
    )


_BUILDERS: Final[dict[str, Callable[[Mapping[str, object], str, str, Path], Transform]]] = {
    "growth": _growth,
    "decline": _growth,
    "migration": _migration,
    "exit": _exit,
    "new_workload": _new_workload,
    "price_change": _price_change,
    "to_fargate": _to_fargate,
    "to_ec2": _to_ec2,
}


def transform_from_mapping(item: object, location: str, base: Path = Path(".")) -> Transform:
    """Build one transform from its file form ``{kind: {field: value, ...}}``.

    Parameters
    ----------
    item
        One entry of a scenario's ``transforms`` list.
    location
        ``"x.yaml transform 2"``, for messages.
    base
        Folder that relative ``csv`` paths are relative to.

    Raises
    ------
    ScenarioError
        Unknown kind or field (with a suggestion), missing field, or any value the transform
        rejects, naming ``location`` and the field.
    """
    if not isinstance(item, Mapping) or len(item) != 1:
        raise ScenarioError(
            "a transform is a mapping with one key, its kind",
            fix=f"write e.g. `- growth: {{percent_per_month: 2}}` (kinds: {', '.join(_BUILDERS)})",
            location=location,
        )
    ((kind_key, body),) = item.items()
    kind = str(kind_key)
    if kind not in _BUILDERS:
        raise ScenarioError(
            f"unknown field {kind!r}", fix=suggestion(kind, _BUILDERS), location=location
        )
    fields = _mapping(body if body is not None else {}, location, kind)
    _check_fields(fields, TRANSFORM_FIELDS[kind], location, kind)
    for required in REQUIRED_FIELDS[kind]:
        if required not in fields or fields[required] is None:
            raise ScenarioError(
                f"missing field {required!r}",
                field=kind,
                fix=f"give {kind}.{required}",
                location=location,
            )
    try:
        return _BUILDERS[kind](fields, location, kind, base)
    except ScenarioError as error:
        raise error.located(location, kind) from None


def scenario_from_mapping(
    data: object, source: str = "", *, default_name: str = "", base: Path = Path(".")
) -> Scenario:
    """Build a scenario from the parsed contents of a scenario file.

    Parameters
    ----------
    data
        The parsed YAML or JSON.
    source
        The file's name, for messages (and :attr:`Scenario.source`).
    default_name
        Name when the file gives none (the file's stem).
    base
        Folder that relative ``csv`` paths are relative to.
    """
    where = source or "scenario"
    if data is None or data == {}:
        raise ScenarioError(
            f"{where} is empty",
            fix="a scenario file has name, description and a list of transforms",
        )
    top = _mapping(data, where, "scenario")
    _check_fields(top, SCENARIO_FIELDS, where)
    name = top.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError(
            f"name {name!r} is not text", field="name", fix="give name: TEXT", location=where
        )
    if name.strip() == BASELINE.name:
        raise ScenarioError(
            f"the name {BASELINE.name!r} is taken by the scenario without transforms",
            field="name",
            fix="give another name",
            location=where,
        )
    description = top.get("description", "")
    if not isinstance(description, str):
        raise ScenarioError(
            "description is not text", field="description", fix="quote it", location=where
        )
    items = top.get("transforms", [])
    if items is None:
        items = []
    if not isinstance(items, list):
        raise ScenarioError(
            "transforms must be a list",
            field="transforms",
            fix="write each transform as a `- kind: {...}` item",
            location=where,
        )
    transforms = tuple(
        transform_from_mapping(item, f"{where} transform {index}", base)
        for index, item in enumerate(items, start=1)
    )
    return Scenario(name, description, transforms, source=source)


def _parse(text: str, path: Path, kind: str) -> object:
    if kind == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise ScenarioError(
                f"{path} is not valid JSON (line {error.lineno}: {error.msg})",
                fix="fix the syntax",
            ) from None
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader without timestamps
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ScenarioError(
            f"{path} is not valid YAML ({line}{problem})", fix="fix the syntax"
        ) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario from a YAML (``.yaml``, ``.yml``) or JSON (``.json``) file.

    Raises
    ------
    ScenarioError
        A missing, empty or unparseable file, an unknown suffix, or any error of
        :func:`scenario_from_mapping`.
    """
    file = Path(path)
    kind = SUFFIXES.get(file.suffix.lower())
    if kind is None:
        raise ScenarioError(
            f"{file} is not a scenario file", fix="give a .yaml, .yml or .json file"
        )
    if not file.is_file():
        raise ScenarioError(f"scenario file {file} not found", fix="check the path")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(f"cannot read {file} ({error})", fix="give a UTF-8 text file") from None
    if not text.strip():
        raise ScenarioError(
            f"{file} is empty", fix="a scenario file has name, description and a list of transforms"
        )
    data = _parse(text, file, kind)
    return scenario_from_mapping(data, str(file), default_name=file.stem, base=file.parent)


def load_scenarios(paths: Sequence[str | Path]) -> tuple[Scenario, ...]:
    """Read several scenario files; their names must differ.

    Raises
    ------
    ScenarioError
        As :func:`load_scenario`, or when two files give the same name.
    """
    scenarios = tuple(load_scenario(path) for path in paths)
    seen: dict[str, str] = {}
    for scenario in scenarios:
        if scenario.name in seen:
            raise ScenarioError(
                f"two scenarios are named {scenario.name!r} ({seen[scenario.name]} and "
                f"{scenario.source})",
                fix="give each its own name",
            )
        seen[scenario.name] = scenario.source
    return scenarios


def write_scenario(scenario: Scenario, path: str | Path) -> None:
    """Write a scenario as YAML or JSON (by the suffix), atomically."""
    file = Path(path)
    kind = SUFFIXES.get(file.suffix.lower())
    if kind is None:
        raise ScenarioError(f"{file} is not a scenario file", fix="use .yaml, .yml or .json")
    payload = scenario.to_mapping()
    text = (
        json.dumps(payload, indent=2) + "\n"
        if kind == "json"
        else yaml.safe_dump(payload, sort_keys=False, allow_unicode=True)
    )
    with atomic_output_path(file) as temporary:
        temporary.write_text(text, encoding="utf-8")


__all__ = [
    "DESTINATION_FIELDS",
    "REQUIRED_FIELDS",
    "SCENARIO_FIELDS",
    "TRANSFORM_FIELDS",
    "load_scenario",
    "load_scenarios",
    "scenario_from_mapping",
    "transform_from_mapping",
    "write_scenario",
]
