"""Fargate, Lambda and SageMaker usage in the canonical hourly demand (the one demand SQL).

Oracles: :func:`usage.compute_usage.read_compute_usage` (a separate reader, tested against
independent DuckDB queries in ``test_compute_usage.py``) keyed by
:func:`pricing.compute_keys.key_of`; and the Python vocabulary
(:func:`pricing.compute_usage_types.parse_compute_usage_type`, :func:`pricing.compute_keys.key_of`)
against the SQL on every documented form and on generated usage types. Data: the real FOCUS 1.0
sample's Fargate and Lambda rows and the documented-forms CUR
(``tests/data/cur/compute_usage_documented_forms.csv``) in every spelling the readers take.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pricing.compute_keys import key_of, service_of_type
from pricing.compute_usage_types import (
    COMPUTE_USAGE_RULES,
    PRODUCT_CODE_SERVICE,
    SAGEMAKER_COMPONENTS,
    UNIT_SPELLINGS,
    ComputeUsageType,
    parse_compute_usage_type,
    unit_matches,
)
from usage.compute_sql import NOT_COVERED
from usage.compute_usage import read_compute_usage
from usage.demand_sql import REASONS, CurColumns, classified_sql
from usage.errors import UsageInputError
from usage.readers import read_usage

DATA: Final = Path(__file__).resolve().parents[1] / "data"
FOCUS: Final = DATA / "focus" / "focus1.0_sample_1000.csv"
CUR: Final = DATA / "cur" / "compute_usage_documented_forms.csv"
HOUR_KEY: Final = ["hour", "account_id", "region", "instance_type", "platform", "tenancy"]


def _query(sql: str) -> pd.DataFrame:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    return connection.execute(sql).df()


def _oracle(path: Path) -> pd.DataFrame:
    """read_compute_usage's covered rows (sp_eligible not none), keyed and in key units."""
    table, _report = read_compute_usage(path)
    rows = []
    for row in table[table["sp_eligible"] != "none"].itertuples(index=False):
        parsed = ComputeUsageType(
            "", row.service, row.usage_kind, row.unit, row.region, row.architecture,
            row.platform_or_component, row.instance_type, row.sp_eligible,
        )  # fmt: skip
        key = key_of(parsed)
        assert key is not None
        rows.append(
            {
                "hour": row.hour,
                "account_id": row.account_id,
                "region": key.region,
                "instance_type": key.instance_type,
                "platform": key.platform,
                "tenancy": key.tenancy,
                "quantity": row.quantity * key.per_bill_unit,
            }
        )
    frame = pd.DataFrame(rows).groupby(HOUR_KEY, as_index=False)["quantity"].sum()
    return frame.sort_values(HOUR_KEY).reset_index(drop=True)


def _compute_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The Fargate, Lambda and SageMaker rows of a canonical table, as plain columns."""
    mine = table[[service_of_type(t) is not None for t in table["instance_type"]]]
    frame = mine.astype({c: str for c in HOUR_KEY[1:]}).astype({"quantity": float})
    return frame[[*HOUR_KEY, "quantity"]].sort_values(HOUR_KEY).reset_index(drop=True)


def _assert_same_demand(path: Path, oracle_path: Path) -> pd.DataFrame:
    table, _report = read_usage(path)
    got = _compute_rows(table)
    want = _oracle(oracle_path)
    assert len(got) == len(want) > 0
    pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-12, atol=0)
    return table


# --------------------------------------------------------------------------------------------
# the files, in every spelling


def test_real_focus_sample_gives_the_compute_readers_demand() -> None:
    table = _assert_same_demand(FOCUS, FOCUS)
    got = _compute_rows(table)
    # 12 Fargate rows (one ARM, one covered by a Savings Plan) and 4 Lambda duration rows (one
    # provisioned), each its own hour and key; the 2 request rows are not demand
    assert len(got) == 16
    assert set(got["instance_type"]) == {
        "fargate.vcpu",
        "fargate.memory",
        "lambda.duration",
        "lambda.provisioned-duration",
    }
    assert set(got["tenancy"]) == {"x86_64", "arm64"}
    covered = got[(got["hour"] == pd.Timestamp("2024-09-22 10:00", tz="UTC"))]
    assert covered["quantity"].tolist() == pytest.approx([0.0177777778])  # Savings Plan covered
    lambda_hour = got[got["hour"] == pd.Timestamp("2024-09-27 01:00", tz="UTC")]
    assert lambda_hour["quantity"].tolist() == pytest.approx([382.373875 / 3600])  # GB-hours


def test_real_focus_sample_counts_what_it_leaves_out() -> None:
    _table, report = read_usage(FOCUS)
    assert report.excluded("data transfer").line_items == 31
    assert report.excluded("not Fargate usage").line_items == 1  # EKS cluster hours
    assert report.excluded(NOT_COVERED).line_items == 2  # Lambda requests
    assert report.excluded(NOT_COVERED).quantity == pytest.approx(61.0)  # requests
    assert report.kept_line_items + report.excluded_line_items == 1000


def test_documented_cur_gives_the_compute_readers_demand() -> None:
    table = _assert_same_demand(CUR, CUR)
    got = _compute_rows(table)
    first = got[got["hour"] == pd.Timestamp("2024-03-01 00:00", tz="UTC")]
    vcpu = first[(first["instance_type"] == "fargate.vcpu") & (first["region"] == "us-east-1")]
    assert vcpu["quantity"].tolist() == [3.0]  # 2 on demand + 1 covered; the negation is not
    training = first[first["platform"] == "sagemaker-training"]
    assert training[["instance_type", "tenancy", "quantity"]].values.tolist() == [
        ["ml.m5.xlarge", "x86_64", 2.0]
    ]
    provisioned = first[first["instance_type"] == "lambda.provisioned-concurrency"]
    assert provisioned["quantity"].tolist() == [1.0]  # 3,600 GB-seconds
    # the EC2 line item is keyed as before
    ec2 = table[table["instance_type"] == "m5.large"]
    assert ec2[["platform", "tenancy", "quantity"]].values.tolist() == [
        ["Linux/UNIX", "Shared", 1.0]
    ]


def test_documented_cur_counts_what_it_leaves_out() -> None:
    _table, report = read_usage(CUR)
    counts = {e.reason: e.line_items for e in report.exclusions}
    assert counts == {
        NOT_COVERED: 3,  # the Fargate Windows OS licence, Lambda requests x86 and ARM
        "Savings Plan negation": 2,
        "Savings Plan fee": 1,
        "tax": 1,
        "data transfer": 1,
        "not Fargate usage": 1,  # EKS cluster hours
        "unknown Lambda usage type": 1,
        "unknown region": 1,  # XYZ9-Lambda-GB-Second
        "unknown SageMaker usage type": 1,  # serverless inference
    }
    assert set(counts) <= set(REASONS)
    assert report.kept_line_items == 18  # 17 Fargate, Lambda and SageMaker rows and the EC2 one
    assert report.kept_line_items + report.excluded_line_items == 30


_ATHENA_NAMES: Final = {
    "identity/LineItemId": "identity_line_item_id",
    "bill/BillingPeriodStartDate": "bill_billing_period_start_date",
    "lineItem/UsageAccountId": "line_item_usage_account_id",
    "lineItem/LineItemType": "line_item_line_item_type",
    "lineItem/UsageStartDate": "line_item_usage_start_date",
    "lineItem/UsageEndDate": "line_item_usage_end_date",
    "lineItem/ProductCode": "line_item_product_code",
    "lineItem/UsageType": "line_item_usage_type",
    "lineItem/Operation": "line_item_operation",
    "lineItem/UsageAmount": "line_item_usage_amount",
    "lineItem/UnblendedCost": "line_item_unblended_cost",
    "lineItem/LineItemDescription": "line_item_line_item_description",
    "pricing/unit": "pricing_unit",
}


@pytest.mark.parametrize("layout", ["legacy CUR, Athena names", "CUR 2.0"])
def test_parquet_spellings_give_the_same_demand(tmp_path: Path, layout: str) -> None:
    """The documented-forms CUR as Athena-named Parquet, and as a CUR 2.0 export (``line_item_*``
    columns beside a ``product`` map), reads to the CSV's demand."""
    columns = ", ".join(f'"{old}" AS {new}' for old, new in _ATHENA_NAMES.items())
    if layout == "CUR 2.0":
        columns += ", MAP {'product_name': \"lineItem/ProductCode\"} AS product"
    path = tmp_path / "export.parquet"
    _query(
        f"COPY (SELECT {columns} FROM read_csv('{CUR}', all_varchar=true, header=true)) "
        f"TO '{path}' (FORMAT parquet)"
    )
    table, report = read_usage(path)
    assert report.format == ("cur2" if layout == "CUR 2.0" else "cur")
    from_csv, csv_report = read_usage(CUR)
    pd.testing.assert_frame_equal(table, from_csv)
    assert report.exclusions == csv_report.exclusions
    _assert_same_demand(path, CUR)


_CUR_AS_FOCUS: Final = f"""
    SELECT 'AWS' AS ProviderName,
        CASE "lineItem/ProductCode"
            WHEN 'AmazonECS' THEN 'Amazon Elastic Container Service'
            WHEN 'AmazonEKS' THEN 'Amazon Elastic Kubernetes Service'
            WHEN 'AWSLambda' THEN 'AWS Lambda'
            WHEN 'AmazonSageMaker' THEN 'Amazon SageMaker'
            WHEN 'AmazonEC2' THEN 'Amazon Elastic Compute Cloud'
            ELSE 'Savings Plans for AWS Compute usage' END AS ServiceName,
        {{service_code}}
        CASE "lineItem/LineItemType" WHEN 'Tax' THEN 'Tax'
            WHEN 'SavingsPlanRecurringFee' THEN 'Purchase' ELSE 'Usage' END AS ChargeCategory,
        CASE "lineItem/LineItemType" WHEN 'SavingsPlanCoveredUsage' THEN 'Savings Plan'
            END AS CommitmentDiscountType,
        "lineItem/UsageStartDate" AS ChargePeriodStart,
        "lineItem/UsageEndDate" AS ChargePeriodEnd,
        "lineItem/UsageAmount" AS ConsumedQuantity,
        "pricing/unit" AS ConsumedUnit,
        "lineItem/UsageAccountId" AS SubAccountId,
        "lineItem/UsageType" AS {{usage_type_column}},
        "lineItem/LineItemDescription" AS ChargeDescription,
        "lineItem/Operation" AS x_Operation,
        "lineItem/UnblendedCost" AS BilledCost,
        'USD' AS BillingCurrency
    FROM read_csv('{CUR}', all_varchar=true, header=true)
    WHERE "lineItem/LineItemType" <> 'SavingsPlanNegation'
"""


@pytest.mark.parametrize(
    ("usage_type_column", "service_code"),
    [
        ("x_UsageType", '"lineItem/ProductCode" AS x_ServiceCode,'),  # FOCUS 1.0, AWS columns
        ("SkuMeter", ""),  # FOCUS 1.2: the usage type in SkuMeter, no x_ServiceCode
    ],
)
def test_focus_with_usage_types_gives_the_compute_readers_demand(
    tmp_path: Path, usage_type_column: str, service_code: str
) -> None:
    focus = tmp_path / "focus.csv"
    select = _CUR_AS_FOCUS.format(usage_type_column=usage_type_column, service_code=service_code)
    _query(f"COPY ({select}) TO '{focus}' (HEADER, DELIMITER ',')")
    table, report = read_usage(focus)
    assert report.format == "focus"
    _assert_same_demand(focus, focus)
    pd.testing.assert_frame_equal(_compute_rows(table), _oracle(CUR), check_dtype=False)
    counts = {e.reason: e.line_items for e in report.exclusions}
    assert counts[NOT_COVERED] == 3
    assert counts["not Fargate usage"] == 1
    if usage_type_column == "x_UsageType":
        assert counts["unknown region"] == 1
        assert counts["unknown SageMaker usage type"] == 1
    else:  # a SkuMeter that is not a usage type of these services is read by its description
        assert counts["SageMaker row without a usage type"] == 1  # serverless inference
        assert counts["unknown region"] == 1


# --------------------------------------------------------------------------------------------
# units, bad input, daily bills


def test_a_unit_the_rule_does_not_know_is_counted(tmp_path: Path) -> None:
    odd = tmp_path / "odd_unit.csv"
    line = (
        "Lambda-GB-Second,Invoke,1000.0,0.0166667,"
        "AWS Lambda - Total Compute - US East (N. Virginia)"
    )
    text = CUR.read_text()
    assert text.count(line + ",Lambda-GB-Second") == 1
    odd.write_text(text.replace(line + ",Lambda-GB-Second", line + ",Bytes"))
    table, report = read_usage(odd)
    assert report.excluded("unknown unit").line_items == 1
    duration = table[
        (table["instance_type"] == "lambda.duration") & (table["region"] == "us-east-1")
    ]
    assert duration["quantity"].tolist() == pytest.approx([50.0 / 3600])  # the second hour's only
    _assert_same_demand(odd, odd)


def test_malformed_amount_of_lambda_usage_is_one_error(tmp_path: Path) -> None:
    broken = tmp_path / "bad_amount.csv"
    broken.write_text(
        CUR.read_text().replace("Lambda-GB-Second,Invoke,1000.0,", "Lambda-GB-Second,Invoke,lots,")
    )
    with pytest.raises(UsageInputError, match=r"bad_amount\.csv: 1 .*malformed quantity") as error:
        read_usage(broken)
    assert "\n" not in str(error.value)


def test_a_daily_bill_of_lambda_alone_is_spread_over_the_day(tmp_path: Path) -> None:
    header = CUR.read_text().splitlines()[0]
    daily = tmp_path / "daily.csv"
    day = "2024-03-01T00:00:00Z,2024-03-02T00:00:00Z"
    daily.write_text(
        f"{header}\n"
        f"1,2024-03-01T00:00:00Z,1,Usage,{day},AmazonECS,USE1-Fargate-vCPU-Hours:perCPU,"
        "FargateTask,48.0,1.94,AWS Fargate - vCPU,hours\n"
        f"2,2024-03-01T00:00:00Z,1,SavingsPlanCoveredUsage,{day},AWSLambda,Lambda-GB-Second,"
        "Invoke,2400.0,0.04,AWS Lambda - Total Compute,Lambda-GB-Second\n"
    )
    table, report = read_usage(daily)
    assert report.daily
    assert len(table) == 48
    for instance_type, per_hour in (("fargate.vcpu", 2.0), ("lambda.duration", 100.0 / 3600)):
        rows = table[table["instance_type"] == instance_type]
        assert len(rows) == 24
        assert rows["quantity"].tolist() == pytest.approx([per_hour] * 24)
    _assert_same_demand(daily, daily)


# --------------------------------------------------------------------------------------------
# the SQL follows the Python vocabulary


_CODES: Final = tuple(PRODUCT_CODE_SERVICE)
_PREFIXES: Final = ("", "USE1-", "USW2-", "EUW2-", "APN1-", "EU-", "XYZ9-")
_ML_TYPES: Final = (
    "ml.m5.xlarge",
    "ml.m6g.large",
    "ml.c7gn.2xlarge",
    "ml.g5.xlarge",
    "ml.p4d.24xlarge",
    "ml.x2gd.large",
    "ml.r16g.large",
)
_UNITS: Final = (
    "",
    "Bytes",
    *sorted({s for spellings in UNIT_SPELLINGS.values() for s in spellings}),
)


def _documented_names() -> list[str]:
    names = [rule.name for rule in COMPUTE_USAGE_RULES if rule.service != "sagemaker"]
    names += [f"{component}:{ml}" for component in SAGEMAKER_COMPONENTS for ml in _ML_TYPES]
    names += [
        "Studio:KernelGateway-ml.t3.medium",
        "Host:ml.bad",
        "Train:ML.M5.LARGE",
        "Unknown:ml.m5.large",
        "ServerlessInf:Mem-4GB",
        "DataTransfer-Out-Bytes",
        "AmazonEKS-Hours:perCluster",
        "Fargate-Unknown-Hours",
        "Lambda-Unknown-Form",
        "CloudFront-Out-Bytes",
        "",
    ]
    return names


def _expected(usage_type: str, product_code: str, unit: str) -> tuple[str, tuple[str, ...], float]:
    """(reason, key, key units per bill unit) by the Python vocabulary."""
    parsed = parse_compute_usage_type(usage_type, product_code)
    if not isinstance(parsed, ComputeUsageType):
        reason = "unknown region" if parsed.reason == "unknown region prefix" else parsed.reason
        return reason, (), 0.0
    if not unit_matches(unit, parsed.unit):
        return "unknown unit", (), 0.0
    key = key_of(parsed)
    if key is None:
        return NOT_COVERED, (), 0.0
    return "", (key.region, key.instance_type, key.platform, key.tenancy), key.per_bill_unit


def _sql_classes(cases: list[tuple[str, str, str]]) -> list[tuple[str, tuple[str, ...], float]]:
    """Each case through the one demand SQL, one line item of 3,600 units each."""
    frame = pd.DataFrame(
        {
            "line_item_line_item_type": "Usage",
            "line_item_product_code": [code for _, code, _ in cases],
            "line_item_usage_type": [usage_type for usage_type, _, _ in cases],
            "line_item_operation": "",
            "line_item_usage_start_date": "2024-01-01T00:00:00Z",
            "line_item_usage_amount": 3600.0,
            "line_item_unblended_cost": 0.0,
            "line_item_usage_account_id": "",
            "line_item_currency_code": [str(index) for index in range(len(cases))],
            "pricing_unit": [unit for _, _, unit in cases],
        }
    )
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.register("cases", frame)
    sql = classified_sql("cases", CurColumns(pricing_unit="pricing_unit"))
    rows = connection.execute(sql).df().set_index("currency")
    found = []
    for index in range(len(cases)):
        row = rows.loc[str(index)]
        key: tuple[str, ...] = ()
        if row["reason"] == "":
            key = tuple(str(row[c]) for c in ("region", "instance_type", "platform", "tenancy"))
        per_unit = float(row["quantity"]) / 3600.0 if row["reason"] == "" else 0.0
        found.append((str(row["reason"]), key, per_unit))
    return found


def _check(cases: list[tuple[str, str, str]]) -> None:
    for case, got in zip(cases, _sql_classes(cases), strict=True):
        reason, key, per_unit = _expected(*case)
        assert (got[0], got[1]) == (reason, key), case
        assert got[2] == pytest.approx(per_unit, rel=1e-12), case


def test_every_documented_form_is_classified_as_the_vocabulary_says() -> None:
    cases = [
        (prefix + name if name else "", code, "")
        for name in _documented_names()
        for prefix in _PREFIXES
        for code in _CODES
    ]
    _check(cases)
    reasons = {reason for reason, _, _ in _sql_classes(cases)}
    assert reasons - {""} <= set(REASONS)
    assert {"", NOT_COVERED, "unknown region", "data transfer", "not Fargate usage"} <= reasons


def test_bill_units_are_checked_as_the_vocabulary_says() -> None:
    names = [rule.name for rule in COMPUTE_USAGE_RULES if rule.service != "sagemaker"]
    names += ["Train:ml.m5.large", "Train-Spot:ml.m5.large"]
    codes = {rule.name: rule.service for rule in COMPUTE_USAGE_RULES}
    code_of = {service: code for code, service in reversed(PRODUCT_CODE_SERVICE.items())}
    cases = [
        (f"USE2-{name}", code_of[codes.get(name.split(":")[0], "sagemaker")], unit)
        for name in names
        for unit in _UNITS
    ]
    _check(cases)


_PIECES: Final = (
    "Fargate-", "ARM-", "Windows-", "vCPU-Hours", ":perCPU", "GB-Hours", "Lambda-", "GB-Second",
    "-ARM", "Provisioned-", "Concurrency", "Request", "Edge-", "SpotUsage:", "Train", "Host",
    "Studio", ":", "ml.", "m5", "m6g", ".large", "KernelGateway-", "USE1-", "EUW2-", "XYZ9-",
    "DataTransfer", "-Bytes", "EphemeralStorage-", "OS-", "-",
)  # fmt: skip


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from(_PIECES), min_size=1, max_size=6).map("".join),
            st.sampled_from(_CODES),
            st.sampled_from(_UNITS),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_generated_usage_types_are_classified_as_the_vocabulary_says(
    cases: list[tuple[str, str, str]],
) -> None:
    _check(cases)
