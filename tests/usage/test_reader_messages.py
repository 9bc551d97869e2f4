"""The usage readers' bad-input messages: one line naming the file, the row or column, and the fix.

Bad files are built in ``tmp_path`` from the fixtures in ``tests/data``: an empty file, CUR CSVs
cut in the middle of their last row, a CUR with a renamed column, a FOCUS file without a column.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pricing.errors import PriceFileError
from pricing.readers.cur_columns import normalise_column_name
from pricing.readers.detect import detect_format as detect_price_format
from usage.errors import UsageInputError
from usage.readers import _CUR_SLASH_NAMES, detect_format, read_cur, read_usage

DATA = Path(__file__).resolve().parents[1] / "data"
LEGACY_CSV_GZ = DATA / "cur" / "focusconv_legacy-cur_2023-11_head20.csv.gz"
CUR_PARQUET = DATA / "cur" / "wal_Oct2018-WorkshopCUR-usage-trimmed.zstd.parquet"
FOCUS = DATA / "focus" / "focus1.0_sample_1000.csv"


def _message(path: Path, *fragments: str) -> str:
    """The message of importing ``path`` (format detected); checks it is one short line."""
    with pytest.raises(UsageInputError) as caught:
        read_usage(path)
    message = str(caught.value)
    assert "\n" not in message
    assert len(message) < 400, message
    assert message.startswith(f"{path}: "), message
    assert "; " in message  # <file>: <problem>; <fix>
    assert "--" not in message  # the library names parameters; only the CLI spells flags
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def _cut_last_row(data: bytes, keep: float = 0.5) -> bytes:
    """``data`` (a CSV ending with a line break) cut inside its last row."""
    start = data.rstrip(b"\n").rfind(b"\n") + 1
    return data[: start + int((len(data) - start) * keep)]


def _ec2_cur_rows(count: int) -> pd.DataFrame:
    """A legacy CUR (slash column names) of ``count`` hourly EC2 line items."""
    return pd.DataFrame(
        {
            "identity/LineItemId": [f"item{i}" for i in range(count)],
            "lineItem/LineItemType": ["Usage"] * count,
            "lineItem/ProductCode": ["AmazonEC2"] * count,
            "lineItem/UsageType": ["BoxUsage:m5.large"] * count,
            "lineItem/Operation": ["RunInstances"] * count,
            "lineItem/UsageStartDate": [
                f"2024-01-{1 + i // 24 % 28:02d}T{i % 24:02d}:00:00Z" for i in range(count)
            ],
            "lineItem/UsageAmount": ["1"] * count,
            "lineItem/LineItemDescription": ["$0.096 per On Demand Linux m5.large Instance Hour"]
            * count,
            "lineItem/UnblendedCost": ["0.096"] * count,
        }
    )


# 1. an empty usage file ----------------------------------------------------------------------


def test_empty_usage_file_gets_a_usage_remedy(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    message = _message(empty, "empty.csv", "the file is empty", "export the usage again")
    assert "price file" not in message
    assert "Data Exports" in message and "check the path" in message


def test_empty_price_file_keeps_the_price_remedy(tmp_path: Path) -> None:
    empty = tmp_path / "prices.csv"
    empty.write_bytes(b"")
    with pytest.raises(PriceFileError, match="the file is empty; download the price file again"):
        detect_price_format(empty)


# 2. a truncated CUR ---------------------------------------------------------------------------


def test_cut_legacy_cur_csv_is_called_truncated(tmp_path: Path) -> None:
    whole = gzip.decompress(LEGACY_CSV_GZ.read_bytes())
    cut = tmp_path / "cur-cut.csv"
    cut.write_bytes(_cut_last_row(whole))
    message = _message(
        cut,
        "looks truncated",
        "the last row (line 21)",
        "of the 94 in the header",
        "download the file again",
    )
    assert "not a CUR" not in message
    assert "identity/TimeInterval" not in message  # no dump of the header


def test_cut_inside_a_quoted_value_is_an_unterminated_quote(tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    _ec2_cur_rows(30).to_csv(path, index=False, quoting=1)  # every value quoted
    data = path.read_bytes()
    start = data.rstrip(b"\n").rfind(b"\n") + 1
    inside = data.index(b"$0.096 per", start) + 5  # in lineItem/LineItemDescription
    path.write_bytes(data[:inside])
    _message(
        path,
        "quoted.csv",
        "looks truncated",
        "the last row (line 31) ends inside an unterminated quote",
        "column 8 (lineItem/LineItemDescription) of the 9 in the header",
        "download the file again",
    )


def test_cut_cur_with_ec2_rows_is_truncated_whatever_the_format(tmp_path: Path) -> None:
    path = tmp_path / "ec2.csv"
    _ec2_cur_rows(30).to_csv(path, index=False)
    _, report = read_usage(path)  # whole, it reads
    assert report.kept_line_items == 30
    data = path.read_bytes()
    start = data.rstrip(b"\n").rfind(b"\n") + 1
    path.write_bytes(data[: data.index(b",RunInstances", start) + 4])
    fragments = ("the last row (line 31) stops in column 5 (lineItem/Operation) of the 9",)
    _message(path, "ec2.csv", "looks truncated", *fragments, "download the file again")
    with pytest.raises(UsageInputError, match="looks truncated") as caught:
        read_cur(path)  # the format given: the same message
    assert fragments[0] in str(caught.value)


def test_large_cur_cut_at_100_000_bytes(tmp_path: Path) -> None:
    """The cut is found from the file's tail; the line counted over the whole file."""
    whole = tmp_path / "big.csv"
    _ec2_cur_rows(3000).to_csv(whole, index=False)
    data = whole.read_bytes()
    assert len(data) > 300_000
    cut = data[:100_000]
    lines = cut.count(b"\n") + 1
    plain = tmp_path / "big-cut.csv"
    plain.write_bytes(cut)
    packed = tmp_path / "big-cut.csv.gz"
    packed.write_bytes(gzip.compress(cut))  # a whole gzip of a cut CSV
    for path in (plain, packed):
        _message(path, path.name, "looks truncated", f"the last row (line {lines})", "of the 9")


def test_whole_file_without_a_final_line_break_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "no-newline.csv"
    _ec2_cur_rows(30).to_csv(path, index=False)
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    _, report = read_usage(path)
    assert report.kept_line_items == 30


def test_cut_parquet_is_truncated(tmp_path: Path) -> None:
    cut = tmp_path / "cut.parquet"
    data = CUR_PARQUET.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    _message(cut, "looks truncated or corrupt", "Parquet", "footer", "download the file again")


def test_ragged_row_in_the_middle_is_named(tmp_path: Path) -> None:
    lines = gzip.decompress(LEGACY_CSV_GZ.read_bytes()).decode().splitlines()
    lines[10] = lines[10][:300]  # row 10 loses most of its values
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(lines) + "\n")
    _message(path, "row 10 (line 11) has", "where the header has 94 columns", "pass an unmodified")


# 3. a required column renamed or dropped --------------------------------------------------------


def test_renamed_cur_column_is_named(tmp_path: Path) -> None:
    table = pq.read_table(CUR_PARQUET)
    renamed = [
        "lineitem_usagetype" if c == "line_item_usage_type" else c for c in table.column_names
    ]
    path = tmp_path / "renamed.parquet"
    pq.write_table(table.rename_columns(renamed), path)
    message = _message(
        path,
        "looks like a legacy CUR but has no column line_item_usage_type (lineItem/UsageType",
        "lineitem_usagetype",
        "pass an unmodified CUR export",
    )
    assert "not a CUR" not in message
    with pytest.raises(UsageInputError, match="line_item_usage_type"):
        detect_format(path)


def test_dropped_column_of_a_slash_named_cur_csv(tmp_path: Path) -> None:
    path = tmp_path / "cur.csv"
    _ec2_cur_rows(3).drop(columns=["lineItem/Operation"]).to_csv(path, index=False)
    _message(
        path,
        "looks like a legacy CUR but has no column line_item_operation (lineItem/Operation)",
        "pass an unmodified CUR export",
    )


def test_focus_without_charge_category_is_named(tmp_path: Path) -> None:
    path = tmp_path / "focus.csv"
    pd.read_csv(FOCUS, dtype=str).drop(columns=["ChargeCategory"]).to_csv(path, index=False)
    message = _message(
        path,
        "focus.csv",
        "looks like a FOCUS export but has no column ChargeCategory",
        "pass an unmodified FOCUS 1.0-1.2 export",
    )
    assert "not a CUR" not in message


def test_canonical_table_without_tenancy_is_named(tmp_path: Path) -> None:
    path = tmp_path / "usage.csv"
    pd.DataFrame(
        {
            "hour": ["2024-01-01T00:00:00+00:00"],
            "region": ["us-east-1"],
            "instance_type": ["m5.large"],
            "platform": ["Linux/UNIX"],
            "quantity": [1.0],
        }
    ).to_csv(path, index=False)
    _message(path, "looks like the canonical usage table but has no column tenancy", "add")


def test_file_near_no_format_lists_a_few_columns(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    pd.DataFrame({f"some_rather_long_column_name_{i}": [1] for i in range(100)}).to_csv(
        path, index=False
    )
    with pytest.raises(UsageInputError) as caught:
        read_usage(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: not a CUR, CUR 2.0, FOCUS or canonical usage file")
    assert "(100 in all)" in message
    assert "\n" not in message
    assert message.count("some_rather_long_column_name_") <= 12


def test_file_of_no_format_names_each_format_and_its_columns(tmp_path: Path) -> None:
    """The fix lists the formats and the columns each needs; it names no parameter (which
    ``recommend --usage`` has no flag for, and which would not help: columns decide)."""
    path = tmp_path / "onecol.csv"
    path.write_text("hello\n1\n", encoding="utf-8")
    with pytest.raises(UsageInputError) as caught:
        read_usage(path)
    assert caught.value.parameters == ()
    fix = str(caught.value).split("; ", 1)[1]
    for needed in ("line_item_usage_type", "line_item_usage_start_date", "ChargePeriodStart",
                   "ConsumedQuantity", "hour, region, instance_type, platform, tenancy, "
                   "quantity"):  # fmt: skip
        assert needed in fix, fix


def test_slash_spellings_are_the_needed_columns() -> None:
    for snake, slash in _CUR_SLASH_NAMES.items():
        assert normalise_column_name(slash) == snake
