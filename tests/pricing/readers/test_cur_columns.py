"""cur_select_sql: normalised names, and the columns a reader may take in their Parquet type."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pricing.readers.cur_columns import cur_select_sql

COLUMNS = ("line_item_usage_amount", "line_item_usage_start_date", "line_item_unblended_cost")


def _parquet(path: Path) -> Path:
    table = pa.table(
        {
            "line_item_usage_amount": pa.array([0.1, 2.0 / 3.0], pa.float64()),
            "line_item_usage_start_date": pa.array(
                pd.to_datetime(["2024-01-01 00:00", "2024-01-01 01:00"]), pa.timestamp("us")
            ),
            "line_item_unblended_cost": pa.array([0.1, 0.2], pa.float32()),
        }
    )
    pq.write_table(table, path)
    return path


def _types(select: str) -> dict[str, str]:
    with duckdb.connect() as connection:
        return {str(r[0]): str(r[1]) for r in connection.sql(f"DESCRIBE {select}").fetchall()}


def test_native_columns_keep_double_and_timestamp_types(tmp_path: Path) -> None:
    path = _parquet(tmp_path / "cur.parquet")
    with duckdb.connect() as connection:
        plain = cur_select_sql(connection, [path], required=COLUMNS)
        native = cur_select_sql(connection, [path], required=COLUMNS, native=COLUMNS)
    assert {_types(plain)[c] for c in COLUMNS} == {"VARCHAR"}
    typed = _types(native)
    assert typed["line_item_usage_amount"] == "DOUBLE"
    assert typed["line_item_usage_start_date"] == "TIMESTAMP"
    # FLOAT -> text -> DOUBLE is not FLOAT -> DOUBLE (0.1 vs 0.10000000149...): stays text
    assert typed["line_item_unblended_cost"] == "VARCHAR"


def test_native_columns_cast_to_the_same_values_as_text(tmp_path: Path) -> None:
    """What the readers do with the columns (TRY_CAST to DOUBLE / TIMESTAMPTZ) gives the same
    values either way, also when a CSV group makes the union text again."""
    path = _parquet(tmp_path / "cur.parquet")
    csv = tmp_path / "cur.csv"
    pd.DataFrame(
        {"line_item_usage_amount": ["1e-3"], "line_item_usage_start_date": ["2024-01-01T02:00:00Z"],
         "line_item_unblended_cost": ["0.3"]}
    ).to_csv(csv, index=False)  # fmt: skip
    cast = (
        "SELECT TRY_CAST(line_item_usage_amount AS DOUBLE) AS amount, "
        "TRY_CAST(line_item_usage_start_date AS TIMESTAMPTZ) AS started, "
        "TRY_CAST(line_item_unblended_cost AS DOUBLE) AS cost FROM ({}) ORDER BY started"
    )
    for files in ([path], [path, csv]):
        with duckdb.connect() as connection:
            connection.execute("SET TimeZone = 'UTC'")
            frames = [
                connection.sql(
                    cast.format(cur_select_sql(connection, files, required=COLUMNS, native=n))
                ).df()
                for n in ((), COLUMNS)
            ]
        pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=True)
        assert frames[0]["amount"].iloc[1] == 2.0 / 3.0
