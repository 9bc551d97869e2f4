"""Fargate, Lambda and SageMaker usage read from CUR and FOCUS files.

Oracles: the real FOCUS 1.0 sample (FinOps Foundation, CC BY 4.0) against an independent DuckDB
query written here, and a CUR built from AWS's documented usage-type forms
(``tests/data/cur/compute_usage_documented_forms.csv``) against the same kind of query.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from usage.compute_usage import COMPUTE_USAGE_COLUMNS, read_compute_usage
from usage.errors import UsageInputError

DATA = Path(__file__).resolve().parents[1] / "data"
FOCUS = DATA / "focus" / "focus1.0_sample_1000.csv"
CUR = DATA / "cur" / "compute_usage_documented_forms.csv"

_FOCUS_ORACLE = f"""
    SELECT date_trunc('hour', CAST(ChargePeriodStart AS TIMESTAMP)) AS hour,
        SubAccountId AS account_id, RegionId AS region,
        CASE WHEN ChargeDescription LIKE 'AWS Fargate - %vCPU%' THEN 'fargate vcpu'
             WHEN ChargeDescription LIKE 'AWS Fargate - %Memory%' THEN 'fargate memory'
             WHEN ChargeDescription LIKE 'AWS Lambda - Total Compute (Provisioned)%'
                 THEN 'lambda provisioned-duration'
             WHEN ChargeDescription LIKE 'AWS Lambda - Total Compute%' THEN 'lambda duration'
             WHEN ChargeDescription LIKE 'AWS Lambda - Total Requests%' THEN 'lambda requests'
        END AS kind,
        CASE WHEN ChargeDescription LIKE '% ARM %' THEN 'arm64' ELSE 'x86_64' END
            AS architecture,
        count(*) AS line_items,
        sum(CAST(ConsumedQuantity AS DOUBLE)) AS quantity
    FROM read_csv('{FOCUS}', all_varchar=true, header=true)
    WHERE ProviderName = 'AWS' AND ChargeCategory = 'Usage'
      AND ServiceName IN ('AWS Lambda', 'Amazon Elastic Container Service')
      AND (ChargeDescription LIKE 'AWS Fargate - %' OR ChargeDescription LIKE 'AWS Lambda - %')
    GROUP BY ALL ORDER BY ALL
"""


def _query(sql: str) -> pd.DataFrame:
    """The result of ``sql`` on a fresh DuckDB connection in UTC."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    return connection.execute(sql).df()


def _kinds(table: pd.DataFrame) -> pd.DataFrame:
    """The table in the oracle's shape (hour naive UTC, service and kind in one column)."""
    shaped = table.assign(
        hour=table["hour"].dt.tz_convert("UTC").dt.tz_localize(None),
        kind=table["service"] + " " + table["usage_kind"],
    )
    columns = ["hour", "account_id", "region", "kind", "architecture", "quantity"]
    return shaped[columns].sort_values(columns[:-1]).reset_index(drop=True)


def test_real_focus_sample_against_an_independent_query() -> None:
    table, report = read_compute_usage(FOCUS)
    expected = _query(_FOCUS_ORACLE)
    # 18 real rows: 12 Fargate (6 vCPU, 6 memory, one ARM, one covered by a Savings Plan) and
    # 6 Lambda (3 duration, 1 provisioned duration, 2 requests), each its own hour and key.
    assert int(expected["line_items"].sum()) == 18
    assert report.format == "focus"
    assert report.kept_line_items == 18
    assert len(table) == 18
    got = _kinds(table)
    want = expected.drop(columns="line_items").sort_values(list(got.columns[:-1]))
    pd.testing.assert_frame_equal(got, want.reset_index(drop=True), check_dtype=False)
    assert list(table.columns) == list(COMPUTE_USAGE_COLUMNS)
    assert str(table["hour"].dt.tz) == "UTC"
    by_service = table.groupby("service")["quantity"].sum()
    assert by_service["fargate"] == pytest.approx(
        0.3613324306 + 1.5263588889
    )  # vCPU + memory hours
    assert by_service["lambda"] == pytest.approx(599.661875)
    # Savings Plan eligibility: Fargate and Lambda duration compute, requests none
    eligible = table.groupby(["usage_kind", "sp_eligible"]).size().to_dict()
    assert eligible == {
        ("duration", "compute"): 3,
        ("memory", "compute"): 6,
        ("provisioned-duration", "compute"): 1,
        ("requests", "none"): 2,
        ("vcpu", "compute"): 6,
    }


def test_real_focus_sample_counts_what_it_leaves_out() -> None:
    _, report = read_compute_usage(FOCUS, "focus")
    assert report.line_items == 1000
    # data transfer of Lambda (3) and ECS (28); the one EKS row is cluster hours, not Fargate
    assert report.unparsed_line_items("data transfer") == 31
    assert report.unparsed_line_items("not Fargate usage") == 1
    assert report.excluded_line_items("other service") == 950
    left_out = sum(r.line_items for r in (*report.unparsed, *report.excluded))
    assert report.kept_line_items + left_out == report.line_items


def test_covered_usage_in_the_real_sample_is_demand() -> None:
    table, _ = read_compute_usage(FOCUS)
    # 2024-09-22 10:00: Fargate memory with CommitmentDiscountType "Savings Plan", billed 0
    hour = pd.Timestamp("2024-09-22 10:00", tz="UTC")
    row = table[(table["hour"] == hour) & (table["service"] == "fargate")]
    assert row["quantity"].tolist() == pytest.approx([0.0177777778])


_CUR_ORACLE = f"""
    SELECT date_trunc('hour', CAST("lineItem/UsageStartDate" AS TIMESTAMPTZ)) AS hour,
        "lineItem/UsageAccountId" AS account_id, "lineItem/UsageType" AS usage_type,
        count(*) AS line_items, sum(CAST("lineItem/UsageAmount" AS DOUBLE)) AS quantity
    FROM read_csv('{CUR}', all_varchar=true, header=true)
    WHERE "lineItem/LineItemType" IN ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage')
      AND "lineItem/ProductCode" IN ('AmazonECS', 'AmazonEKS', 'AWSLambda', 'AmazonSageMaker')
      AND "lineItem/UsageType" NOT IN ('USE2-DataTransfer-Out-Bytes',
          'USE1-AmazonEKS-Hours:perCluster', 'USE2-Lambda-Unknown-Form', 'XYZ9-Lambda-GB-Second',
          'USE1-ServerlessInf:Mem-4GB')
    GROUP BY ALL
"""


@pytest.fixture(scope="module")
def cur_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documented-forms CUR as Parquet with Athena / CUR 2.0 column names."""
    path = tmp_path_factory.mktemp("cur") / "compute.parquet"
    columns = _query(f"DESCRIBE SELECT * FROM read_csv('{CUR}', all_varchar=true)")
    names = [str(name) for name in columns["column_name"]]
    duckdb.sql(
        f"COPY (SELECT {_athena_names(names)} FROM read_csv('{CUR}', all_varchar=true)) "
        f"TO '{path}' (FORMAT parquet)"
    )
    return path


def _athena_names(names: list[str]) -> str:
    athena = {
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
    return ", ".join(f'"{name}" AS {athena[name]}' for name in names)


@pytest.mark.parametrize("spelling", ["slash CSV", "Athena Parquet"])
def test_documented_cur_against_an_independent_query(spelling: str, cur_parquet: Path) -> None:
    path = CUR if spelling == "slash CSV" else cur_parquet
    table, report = read_compute_usage(path)
    expected = _query(_CUR_ORACLE)
    assert report.format == "cur"
    assert report.kept_line_items == int(expected["line_items"].sum()) == 20
    assert table["quantity"].sum() == pytest.approx(expected["quantity"].sum())
    assert len(table) == 18  # two pairs of rows share an hour and key
    hour = pd.Timestamp("2024-03-01 00:00", tz="UTC")
    east = table[(table["hour"] == hour) & (table["region"] == "us-east-1")]
    fargate = east[east["service"] == "fargate"].set_index("usage_kind")["quantity"]
    # vCPU: 2 on demand + 1 covered (the negation of the covered line is not demand);
    # memory: 4 at 00:00 + 2 from a line starting at 00:30
    assert fargate.to_dict() == {"memory": 6.0, "vcpu": 3.0}
    sagemaker = table[table["service"] == "sagemaker"].set_index("platform_or_component")
    assert sagemaker["quantity"].to_dict() == {
        "hosting": 1.0,
        "notebook": 1.0,
        "processing": 1.0,
        "training": 2.0,  # covered by a SageMaker Savings Plan
    }
    assert set(sagemaker["sp_eligible"]) == {"sagemaker"}
    assert sagemaker.loc["training", "instance_type"] == "ml.m5.xlarge"
    eks = table[(table["region"] == "us-west-2")]
    assert set(eks["architecture"]) == {"arm64"}
    assert set(eks["sp_eligible"]) == {"compute"}
    requests = table[table["usage_kind"] == "requests"]
    assert set(requests["sp_eligible"]) == {"none"}
    assert requests["quantity"].sum() == 12000.0
    assert set(table["account_id"]) == {"111111111111", "222222222222"}


def test_documented_cur_counts_what_it_leaves_out() -> None:
    _, report = read_compute_usage(CUR, "cur")
    assert report.line_items == 30
    assert {r.reason: r.line_items for r in report.unparsed} == {
        "data transfer": 1,
        "not Fargate usage": 1,
        "unknown Lambda usage type": 1,
        "unknown SageMaker usage type": 1,
        "unknown region prefix": 1,
    }
    assert {r.reason: r.line_items for r in report.excluded} == {
        "Savings Plan negation": 2,
        "line item type Tax": 1,
        "other service": 2,  # EC2 and the Savings Plan fee
    }
    negations = next(r for r in report.excluded if r.reason == "Savings Plan negation")
    assert negations.examples == ("USE1-Fargate-vCPU-Hours:perCPU", "USE1-Train:ml.m5.xlarge")
    left_out = sum(r.line_items for r in (*report.unparsed, *report.excluded))
    assert report.kept_line_items + left_out == report.line_items


def test_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(UsageInputError, match=r"nope\.csv: no such file"):
        read_compute_usage(missing, "cur")


def test_missing_column_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "no_usage_type.csv"
    duckdb.sql(
        f"COPY (SELECT * EXCLUDE (\"lineItem/UsageType\") FROM read_csv('{CUR}', "
        f"all_varchar=true)) TO '{broken}' (HEADER, DELIMITER ',')"
    )
    with pytest.raises(UsageInputError) as raised:
        read_compute_usage(broken, "cur")
    message = str(raised.value)
    assert str(broken) in message
    assert "line_item_usage_type" in message
    assert "\n" not in message


def test_missing_focus_column_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "focus_no_service.csv"
    duckdb.sql(
        f"COPY (SELECT * EXCLUDE (ServiceName) FROM read_csv('{FOCUS}', all_varchar=true)) "
        f"TO '{broken}' (HEADER, DELIMITER ',')"
    )
    with pytest.raises(UsageInputError, match=r"focus_no_service\.csv: missing FOCUS column\(s\) "):
        read_compute_usage(broken, "focus")


def test_malformed_amount_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "bad_amount.csv"
    text = CUR.read_text().replace(
        "Lambda-GB-Second,Invoke,1000.0,", "Lambda-GB-Second,Invoke,lots,"
    )
    broken.write_text(text)
    with pytest.raises(UsageInputError, match=r"bad_amount\.csv: 1 .*usage amount.*'lots'"):
        read_compute_usage(broken, "cur")


def test_a_unit_the_rule_does_not_know_is_counted(tmp_path: Path) -> None:
    odd = tmp_path / "odd_unit.csv"
    text = CUR.read_text()
    line = (
        "Lambda-GB-Second,Invoke,1000.0,0.0166667,"
        "AWS Lambda - Total Compute - US East (N. Virginia)"
    )
    assert text.count(line + ",Lambda-GB-Second") == 1
    odd.write_text(text.replace(line + ",Lambda-GB-Second", line + ",Bytes"))
    table, report = read_compute_usage(odd)
    assert report.unparsed_line_items("unknown unit") == 1
    assert report.kept_line_items == 19
    lambda_x86 = table[(table["usage_kind"] == "duration") & (table["region"] == "us-east-1")]
    assert lambda_x86["quantity"].tolist() == [50.0]  # the second hour's only


def test_a_billing_period_is_read_from_its_latest_delivery_only(tmp_path: Path) -> None:
    old, new = tmp_path / "delivery-1", tmp_path / "delivery-2"
    old.mkdir()
    new.mkdir()
    text = CUR.read_text()
    (old / "cur.csv").write_text(text.replace(",2.0,0.08096,", ",9.0,0.36432,", 1))
    (new / "cur.csv").write_text(text)
    (new / "copy-of-cur.csv").write_text(text)  # the same line items again
    os.utime(old / "cur.csv", (1_700_000_000, 1_700_000_000))
    table, report = read_compute_usage(tmp_path, "cur")
    single, _ = read_compute_usage(CUR, "cur")
    pd.testing.assert_frame_equal(table, single)
    assert report.files == (str(new / "copy-of-cur.csv"),)
    assert set(report.superseded_files) == {str(old / "cur.csv"), str(new / "cur.csv")}
    assert report.line_items == 30


def test_daily_line_items_are_spread_over_their_hours(tmp_path: Path) -> None:
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
    table, report = read_compute_usage(daily, "cur")
    assert report.kept_line_items == 2
    assert len(table) == 48
    hours = pd.date_range("2024-03-01", periods=24, freq="h", tz="UTC")
    for service, per_hour in (("fargate", 2.0), ("lambda", 100.0)):
        rows = table[table["service"] == service]
        assert rows["hour"].tolist() == hours.tolist()
        assert rows["quantity"].tolist() == pytest.approx([per_hour] * 24)


_CUR_AS_FOCUS = f"""
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
        "lineItem/LineItemDescription" AS ChargeDescription
    FROM read_csv('{CUR}', all_varchar=true, header=true)
    WHERE "lineItem/LineItemType" <> 'SavingsPlanNegation'
"""


@pytest.mark.parametrize(
    ("usage_type_column", "service_code"),
    [
        ("x_UsageType", '"lineItem/ProductCode" AS x_ServiceCode,'),  # FOCUS 1.0 with AWS columns
        ("SkuMeter", ""),  # FOCUS 1.2: the usage type in SkuMeter, no x_ServiceCode
    ],
)
def test_focus_with_usage_types_reads_as_the_cur(
    tmp_path: Path, usage_type_column: str, service_code: str
) -> None:
    """FOCUS has no negation lines: the CUR's rows without them, in FOCUS columns, read alike."""
    focus = tmp_path / "focus.csv"
    select = _CUR_AS_FOCUS.format(usage_type_column=usage_type_column, service_code=service_code)
    _query(f"COPY ({select}) TO '{focus}' (HEADER, DELIMITER ',')")
    table, report = read_compute_usage(focus)
    from_cur, cur_report = read_compute_usage(CUR)
    assert report.format == "focus"
    pd.testing.assert_frame_equal(table, from_cur)
    if usage_type_column == "x_UsageType":
        assert report.unparsed == cur_report.unparsed
    else:  # a SkuMeter that is not a usage type of the three is read by its description
        assert {r.reason: r.line_items for r in report.unparsed} == {
            "data transfer": 1,
            "not Fargate usage": 1,  # "Amazon EKS cluster usage in US East (N. Virginia)"
            "unknown Lambda usage type": 1,
            "SageMaker row without a usage type": 1,  # serverless inference
            "unknown region prefix": 1,
        }
    assert report.kept_line_items == 20
    assert report.excluded_line_items("charge category Tax") == 1
    # EC2 and the Savings Plan fee (a Purchase of a service none of the three)
    assert report.excluded_line_items("other service") == 2


def test_auto_format_needs_only_this_readers_columns(tmp_path: Path) -> None:
    """A CUR without line_item_operation (which only the EC2 reader needs) is still a CUR."""
    lean = tmp_path / "lean.csv"
    _query(
        f"COPY (SELECT * EXCLUDE (\"lineItem/Operation\") FROM read_csv('{CUR}', "
        f"all_varchar=true)) TO '{lean}' (HEADER, DELIMITER ',')"
    )
    table, report = read_compute_usage(lean)
    assert report.format == "cur"
    pd.testing.assert_frame_equal(table, read_compute_usage(CUR)[0])


def test_a_canonical_table_is_refused_in_one_line(tmp_path: Path) -> None:
    canonical = tmp_path / "canonical.csv"
    canonical.write_text(
        "hour,account_id,region,instance_type,platform,tenancy,quantity\n"
        "2024-03-01T00:00:00Z,1,us-east-1,m5.large,Linux/UNIX,Shared,1\n"
    )
    with pytest.raises(UsageInputError, match=r"canonical\.csv: is a canonical usage table"):
        read_compute_usage(canonical)
