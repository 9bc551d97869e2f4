"""``commitopt simulate`` with an inventory rebuilt from a CUR: each RI serves its owner first."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pricing.inventory import (
    Commitment,
    Inventory,
    InventoryError,
    inventory_from_cur,
    read_portfolio_json,
)
from tests.commitopt.conftest import RunCli

CUR = Path(__file__).parents[1] / "data/cur/wal_Oct2018-WorkshopCUR-ribill-trimmed.zstd.parquet"
OWNER = "836060457634"
OTHER = "011254002932"


@pytest.fixture
def inventory_json(tmp_path: Path) -> tuple[Path, Path]:
    """The bill's own RIs as portfolio JSON, and an empty plan."""
    owned = tmp_path / "owned.json"
    inventory_from_cur([CUR]).to_portfolio_json(owned)
    empty = tmp_path / "plan.json"
    empty.write_text(json.dumps({"purchases": []}))
    return owned, empty


def _by_account(run_cli: RunCli, owned: Path, empty: Path) -> dict[str, dict[str, float]]:
    result = run_cli(
        "simulate", "--usage", str(CUR), "--portfolio", str(empty), "--inventory", str(owned),
        "--by", "account", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return {row["account_id"]: row for row in json.loads(result.stdout)}


def test_cur_inventory_json_carries_the_owner(inventory_json: tuple[Path, Path]) -> None:
    owned, _ = inventory_json
    items = json.loads(owned.read_text())["purchases"]
    assert len(items) == 9
    assert {item["account_id"] for item in items} == {OWNER}
    assert {c.account_id for c in read_portfolio_json(owned).commitments} == {OWNER}


def test_ris_serve_their_own_account_first(
    run_cli: RunCli, inventory_json: tuple[Path, Path]
) -> None:
    owned, empty = inventory_json
    rows = _by_account(run_cli, owned, empty)
    # AWS covered 373.25 NU of the other account's t2 usage only (test_real_bill); the rest of
    # the RIs went to their buyer, whose unused RIs (c4.large ...) are its own waste.
    assert set(rows) == {OWNER, OTHER}
    assert rows[OTHER]["savings_vs_on_demand_usd"] == pytest.approx(3.125173, abs=1e-6)
    assert rows[OTHER]["unused_commitment_usd"] == 0.0
    assert rows[OWNER]["unused_commitment_usd"] == pytest.approx(49.003582, abs=1e-6)
    assert rows[OWNER]["savings_vs_on_demand_usd"] == pytest.approx(53.646081, abs=1e-6)


def test_without_owner_the_ris_spread_over_both_accounts(
    run_cli: RunCli, inventory_json: tuple[Path, Path]
) -> None:
    owned, empty = inventory_json
    payload = json.loads(owned.read_text())
    for item in payload["purchases"]:
        del item["account_id"]
    owned.write_text(json.dumps(payload))
    rows = _by_account(run_cli, owned, empty)
    assert set(rows) == {"", OWNER, OTHER}  # unused RIs belong to no account
    assert rows[OTHER]["savings_vs_on_demand_usd"] == pytest.approx(22.364104, abs=1e-6)


def _commitment(**changes: object) -> Commitment:
    base = Commitment(
        kind="compute_savings_plan",
        id="sp-1",
        start=datetime(2026, 1, 1, tzinfo=UTC),
        end=datetime(2027, 1, 1, tzinfo=UTC),
        term_years=1,
        payment_option="No Upfront",
        upfront_usd=0.0,
        commitment_usd_per_hour=1.5,
        recurring_usd_per_hour=1.5,
        effective_usd_per_hour=1.5,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_account_id_round_trips_and_defaults_to_none(tmp_path: Path) -> None:
    path = tmp_path / "owned.json"
    items = (_commitment(account_id="000123456789"), _commitment(id="sp-2"))
    Inventory(items, as_of=datetime(2026, 1, 1, tzinfo=UTC)).to_portfolio_json(path)
    assert "account_id" not in json.loads(path.read_text())["purchases"][1]
    back = read_portfolio_json(path).commitments
    assert [c.account_id for c in back] == ["000123456789", None]
    assert back[0] == replace(items[0], source=back[0].source)
    frame = Inventory(items, as_of=datetime(2026, 1, 1, tzinfo=UTC)).to_frame()
    assert frame["account_id"].tolist()[0] == "000123456789"


def test_account_id_as_a_number_or_not_an_account(tmp_path: Path) -> None:
    item = _commitment().to_json_item()
    path = tmp_path / "owned.json"
    path.write_text(json.dumps({"purchases": [{**item, "account_id": 123456789}]}))
    assert read_portfolio_json(path).commitments[0].account_id == "000123456789"
    path.write_text(json.dumps({"purchases": [{**item, "account_id": "ops team"}]}))
    with pytest.raises(InventoryError, match=r"purchases\[0\]\.account_id: 'ops team'"):
        read_portfolio_json(path)
