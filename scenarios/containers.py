"""What-if steps that move usage between EC2 instances and AWS Fargate (issue 18 item 4).

``to_fargate`` moves a share of some EC2 instance usage onto Fargate over a linear ramp: ``x``
instance-hours of a type become ``x × vCPUs × utilization`` vCPU-hours and that many vCPU-hours
× GB per vCPU of memory GB-hours, on the Fargate keys of the same account and region
(``fargate-linux`` for Linux/UNIX, ``fargate-windows`` for Windows; ``arm64`` for Graviton
families). ``to_ec2`` moves a share of Fargate usage back onto one instance type: the vCPU-hours
become instance-hours of the type (÷ its vCPUs ÷ utilization) and the same share of the matching
memory leaves with them (an instance brings its memory).

A Compute Savings Plan covers both sides, an EC2 Instance Savings Plan or an RI only the EC2
side, so these scenarios show what a move does to each instrument's value.

vCPUs of an instance type: ``vcpu_per_instance`` when given, else its normalized units ÷ 2 (2
vCPUs for a ``large``, 4 for an ``xlarge``, ..., as for most current families; burstable and
sub-``large`` sizes differ: give the figure for them). Memory per vCPU: ``memory_gb_per_vcpu``
when given, else by series (``c`` 2 GB, ``m`` and ``t`` 4, ``r`` 8, ``x`` 16, others 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from pricing.catalog import PriceCatalog
from pricing.compute_keys import FARGATE_PLATFORMS, sagemaker_architecture
from pricing.instance_types import normalization_factors, parse_instance_type
from pricing.services import EC2, key_services
from scenarios.transforms import (
    Applied,
    ScenarioError,
    Selection,
    Transform,
    _frozen_set,
    _iso,
    _number,
    _with_quantity,
    as_utc_time,
    check_instance_type,
    merge_keys,
)
from usage.table import KEY_COLUMNS, UsageMatrix

FloatArray = npt.NDArray[np.float64]

MEMORY_GB_PER_VCPU: Final[dict[str, float]] = {"c": 2.0, "m": 4.0, "t": 4.0, "r": 8.0, "x": 16.0}
"""GB of memory per vCPU by instance series (others: :data:`DEFAULT_MEMORY_GB_PER_VCPU`)."""
DEFAULT_MEMORY_GB_PER_VCPU: Final = 4.0
VCPUS_PER_UNIT: Final = 0.5
"""vCPUs per normalized unit when ``vcpu_per_instance`` is not given (a ``large``: 4 units, 2
vCPUs)."""
EC2_TO_FARGATE_PLATFORM: Final[dict[str, str]] = {
    "Linux/UNIX": FARGATE_PLATFORMS["Linux"],
    "Windows": FARGATE_PLATFORMS["Windows"],
}
FARGATE_TO_EC2_PLATFORM: Final = {value: key for key, value in EC2_TO_FARGATE_PLATFORM.items()}


def _ramp(
    hours: pd.DatetimeIndex, share: float, start: pd.Timestamp, end: pd.Timestamp
) -> FloatArray:
    """Share moved in each hour: 0 before ``start``, ``share`` from ``end``, linear between."""
    hour_ns = hours.asi8.astype(np.float64)
    span = float(end.value - start.value)
    if span <= 0:
        return share * (hour_ns >= start.value).astype(np.float64)
    return share * np.clip((hour_ns - start.value) / span, 0.0, 1.0)


def _check_ramp(transform: object, share: object, start: object, end: object) -> None:
    value = _number(share, "share", "a fraction between 0 and 1")
    if not 0.0 <= value <= 1.0:
        raise ScenarioError(
            f"share {value:g} is outside [0, 1]",
            field="share",
            fix="give the fraction of the usage that moves, e.g. 0.5",
        )
    first, last = as_utc_time(start, "start"), as_utc_time(end, "end")
    if last < first:
        raise ScenarioError(
            f"the ramp ends ({_iso(last)}) before it starts ({_iso(first)})",
            field="end",
            fix="give an end on or after the start",
        )
    _frozen_set(transform, "share", value)
    _frozen_set(transform, "start", first)
    _frozen_set(transform, "end", last)


def _positive(transform: object, name: str, value: object, what: str) -> None:
    if value is None:
        return
    number = _number(value, name, what)
    if not number > 0:
        raise ScenarioError(f"{name} {number:g} is not positive", field=name, fix=f"give {what}")
    _frozen_set(transform, name, number)


def _vcpus(instance_types: pd.Series, given: float | None) -> FloatArray:
    if given is not None:
        return np.full(len(instance_types), given, dtype=np.float64)
    return np.asarray(normalization_factors(instance_types) * VCPUS_PER_UNIT, dtype=np.float64)


def _memory_per_vcpu(instance_types: pd.Series, given: float | None) -> FloatArray:
    if given is not None:
        return np.full(len(instance_types), given, dtype=np.float64)
    series = [parse_instance_type(str(t)).series for t in instance_types]
    return np.array(
        [MEMORY_GB_PER_VCPU.get(s, DEFAULT_MEMORY_GB_PER_VCPU) for s in series], dtype=np.float64
    )


def _architecture(instance_type: str) -> str:
    """``arm64`` for Graviton families (``m6g``, ``c7gn``), else ``x86_64``."""
    return sagemaker_architecture(f"ml.{instance_type}")


@dataclass(frozen=True)
class ToFargate(Transform):
    """Move a share of some EC2 instance usage onto Fargate over a linear ramp.

    Attributes
    ----------
    source
        The EC2 usage that moves (Linux/UNIX or Windows, shared tenancy).
    share, start, end
        As a migration: nothing before ``start``, ``share`` from ``end`` on [0–1, UTC].
    vcpu_per_instance
        vCPUs of one instance of the source types; ``None``: normalized units ÷ 2.
    memory_gb_per_vcpu
        Memory the tasks get per vCPU [GB]; ``None``: by series (:data:`MEMORY_GB_PER_VCPU`).
    utilization
        Share of an instance's vCPUs the tasks request (bin packing left on the instances) [0–1].
    """

    kind: ClassVar[str] = "to_fargate"
    source: Selection
    share: float
    start: pd.Timestamp
    end: pd.Timestamp
    vcpu_per_instance: float | None = None
    memory_gb_per_vcpu: float | None = None
    utilization: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.source, Selection) or self.source.is_everything:
            raise ScenarioError(
                "to_fargate moves a selection of EC2 usage",
                field="from",
                fix="name from.family, from.instance_type, from.region, ...",
            )
        _check_ramp(self, self.share, self.start, self.end)
        _positive(self, "vcpu_per_instance", self.vcpu_per_instance, "vCPUs per instance")
        _positive(self, "memory_gb_per_vcpu", self.memory_gb_per_vcpu, "GB per vCPU")
        _positive(self, "utilization", self.utilization, "a share of vCPUs, e.g. 0.7")
        if self.utilization > 1.0:
            raise ScenarioError(
                f"utilization {self.utilization:g} is above 1",
                field="utilization",
                fix="give the share of the instances' vCPUs the tasks request, at most 1",
            )

    def apply(self, usage: UsageMatrix, catalog: PriceCatalog) -> Applied:
        """Move ``ramp × usage`` of the selected EC2 keys to Fargate vCPU and memory keys."""
        chosen = np.flatnonzero(self.source.check_present(usage.keys, prefix="from"))
        keys = usage.keys.iloc[chosen].reset_index(drop=True)
        services = key_services(keys["instance_type"], keys["platform"]).to_numpy()
        platforms = keys["platform"].astype(str).map(EC2_TO_FARGATE_PLATFORM)
        movable = (services == EC2) & platforms.notna().to_numpy() & (keys["tenancy"] == "Shared")
        if not movable.all():
            bad = keys.loc[~movable].iloc[0]
            raise ScenarioError(
                f"{bad['instance_type']} {bad['platform']} {bad['tenancy']} cannot move to Fargate",
                field="from",
                fix="select shared-tenancy Linux/UNIX or Windows EC2 usage",
            )
        types = keys["instance_type"].astype(str)
        vcpus = _vcpus(types, self.vcpu_per_instance) * self.utilization
        memory = vcpus * _memory_per_vcpu(types, self.memory_gb_per_vcpu)
        architecture = types.map(_architecture)
        windows_arm = (platforms == FARGATE_PLATFORMS["Windows"]) & (architecture == "arm64")
        if windows_arm.any():
            raise ScenarioError(
                f"{types[windows_arm].iloc[0]} is a Graviton type on Windows; Fargate runs "
                "Windows on x86 only",
                field="from",
                fix="leave that usage out of the selection",
            )
        base = keys[["account_id", "region"]].assign(platform=platforms, tenancy=architecture)
        targets = pd.concat(
            [
                base.assign(instance_type="fargate.vcpu"),
                base.assign(instance_type="fargate.memory"),
            ],
            ignore_index=True,
        )[list(KEY_COLUMNS)].astype("string")
        quantity = usage.quantity.copy()
        moved = quantity[:, chosen] * _ramp(usage.hours, self.share, self.start, self.end)[:, None]
        quantity[:, chosen] -= moved
        added = np.hstack([moved * vcpus[None, :], moved * memory[None, :]])
        return merge_keys(_with_quantity(usage, quantity), targets, added), catalog

    def to_mapping(self) -> dict[str, object]:
        """Fields as a scenario file writes them."""
        mapping: dict[str, object] = {
            "from": self.source.to_mapping(),
            "share": self.share,
            "start": _iso(self.start),
            "end": _iso(self.end),
        }
        for name in ("vcpu_per_instance", "memory_gb_per_vcpu"):
            if getattr(self, name) is not None:
                mapping[name] = getattr(self, name)
        if self.utilization != 1.0:
            mapping["utilization"] = self.utilization
        return mapping


@dataclass(frozen=True)
class ToEc2(Transform):
    """Move a share of Fargate usage onto instances of one EC2 type over a linear ramp.

    Attributes
    ----------
    source
        The Fargate usage that moves (account, region, platform ``fargate-linux`` /
        ``fargate-windows`` narrow it); its vCPU keys size the instances, its memory keys of the
        same account, region, platform and architecture leave with them.
    instance_type
        The type the tasks run on (Linux/UNIX for ``fargate-linux``, Windows for
        ``fargate-windows``; shared tenancy).
    share, start, end
        As a migration.
    vcpu_per_instance
        vCPUs of one instance of ``instance_type``; ``None``: normalized units ÷ 2.
    utilization
        Share of an instance's vCPUs the tasks fill (bin packing) [0–1].
    """

    kind: ClassVar[str] = "to_ec2"
    source: Selection
    instance_type: str
    share: float
    start: pd.Timestamp
    end: pd.Timestamp
    vcpu_per_instance: float | None = None
    utilization: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.source, Selection):
            raise ScenarioError("to_ec2 needs a selection", field="from", fix="give from: {...}")
        check_instance_type(str(self.instance_type), "instance_type")
        if key_services([str(self.instance_type)]).iloc[0] != EC2:
            raise ScenarioError(
                f"{self.instance_type!r} is not an EC2 instance type",
                field="instance_type",
                fix="give the EC2 type the tasks move to, e.g. m6g.xlarge",
            )
        _check_ramp(self, self.share, self.start, self.end)
        _positive(self, "vcpu_per_instance", self.vcpu_per_instance, "vCPUs per instance")
        _positive(self, "utilization", self.utilization, "a share of vCPUs, e.g. 0.8")
        if self.utilization > 1.0:
            raise ScenarioError(
                f"utilization {self.utilization:g} is above 1",
                field="utilization",
                fix="give the share of the instances' vCPUs the tasks fill, at most 1",
            )

    def apply(self, usage: UsageMatrix, catalog: PriceCatalog) -> Applied:
        """Move ``ramp × usage`` of the selected Fargate keys to ``instance_type``."""
        keys = usage.keys
        fargate = keys["platform"].astype(str).isin(list(FARGATE_TO_EC2_PLATFORM)).to_numpy()
        selected = self.source.mask(keys) & fargate
        vcpu = selected & (keys["instance_type"] == "fargate.vcpu").to_numpy()
        if not vcpu.any():
            raise ScenarioError(
                f"the selection ({self.source.describe()}) has no Fargate vCPU usage",
                field="from",
                fix="select Fargate usage (platform fargate-linux or fargate-windows)",
            )
        architecture = _architecture(str(self.instance_type))
        if (keys.loc[vcpu, "tenancy"] != architecture).any():
            other = keys.loc[vcpu & (keys["tenancy"] != architecture).to_numpy()]
            raise ScenarioError(
                f"{self.instance_type} is {architecture}; the selection has "
                f"{other['tenancy'].iloc[0]} Fargate tasks",
                field="instance_type",
                fix="give a type of the tasks' architecture, or narrow the selection",
            )
        place = ["account_id", "region", "platform", "tenancy"]
        memory = selected & (keys["instance_type"] == "fargate.memory").to_numpy()
        vcpus = float(_vcpus(pd.Series([self.instance_type]), self.vcpu_per_instance)[0])
        ramp = _ramp(usage.hours, self.share, self.start, self.end)[:, None]
        quantity = usage.quantity.copy()
        chosen = np.flatnonzero(vcpu)
        moved = quantity[:, chosen] * ramp
        quantity[:, chosen] -= moved
        # the memory of the moved tasks' own places (account, region, platform, architecture)
        places = keys.loc[vcpu, place].astype(str).drop_duplicates()
        memory_keys = keys[place].astype(str).assign(column=np.arange(len(keys)))[memory]
        memory_columns = memory_keys.merge(places, on=place)["column"].to_numpy(dtype=np.intp)
        if len(memory_columns):
            quantity[:, memory_columns] -= quantity[:, memory_columns] * ramp
        targets = keys.loc[vcpu, ["account_id", "region"]].reset_index(drop=True)
        platforms = keys.loc[vcpu, "platform"].astype(str).map(FARGATE_TO_EC2_PLATFORM)
        targets = targets.assign(
            instance_type=str(self.instance_type),
            platform=platforms.to_numpy(),
            tenancy="Shared",
        )[list(KEY_COLUMNS)].astype("string")
        instances = moved / (vcpus * self.utilization)
        return merge_keys(_with_quantity(usage, quantity), targets, instances), catalog

    def to_mapping(self) -> dict[str, object]:
        """Fields as a scenario file writes them."""
        mapping: dict[str, object] = {
            "from": self.source.to_mapping(),
            "instance_type": self.instance_type,
            "share": self.share,
            "start": _iso(self.start),
            "end": _iso(self.end),
        }
        if self.vcpu_per_instance is not None:
            mapping["vcpu_per_instance"] = self.vcpu_per_instance
        if self.utilization != 1.0:
            mapping["utilization"] = self.utilization
        return mapping


__all__ = ["ToEc2", "ToFargate"]
