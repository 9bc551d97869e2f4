"""The JSON layout of the AWS Savings Plans offer file, walked into a raw rate table.

Layout: ``version``, ``publicationDate``, ``products`` (a list of plans: ``sku``,
``productFamily``, ``attributes.purchaseOption`` ...) and ``terms.savingsPlan`` (a list, per plan
``sku``, ``leaseContractLength {duration, unit}`` and ``rates`` with ``discountedUsageType``,
``discountedOperation``, ``discountedServiceCode``, ``rateCode``, ``unit``,
``discountedRate {price, currency}``).

The file is walked with :class:`pricing.readers.json_stream.JsonStream` one plan at a time, and
only the rates of the usage types asked for are kept, so memory stays bounded by the largest plan
and the kept rates rather than the whole file.
:func:`pricing.readers.savings_plans_offer.read_savings_plans_json` turns the raw rates into a
catalog.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import pandas as pd
import pyarrow as pa

from pricing.errors import PriceFileError
from pricing.readers.json_stream import JsonStream

JSON_NAMES: Final[dict[str, str]] = {
    "rate_code": "rateCode",
    "plan_family": "productFamily",
    "payment": "attributes.purchaseOption",
    "term": "leaseContractLength",
    "usage_type": "discountedUsageType",
    "operation": "discountedOperation",
    "rate": "discountedRate.price",
    "currency": "discountedRate.currency",
    "unit": "unit",
}
"""The JSON field of each raw rate column, to name it in errors."""

_RATE_FIELDS: Final[dict[str, str]] = {
    "rateCode": "rate_code",
    "discountedUsageType": "usage_type",
    "discountedOperation": "operation",
    "discountedServiceCode": "service_code",
    "unit": "unit",
    "discountedRate.price": "rate",
    "discountedRate.currency": "currency",
}
_PRODUCT_FIELDS: Final[dict[str, str]] = {
    "sku": "sku",
    "productFamily": "plan_family",
    "attributes.purchaseOption": "payment",
}


def json_row_name(row: pd.Series) -> str:
    """Name a raw rate by its plan SKU and ``rateCode``, e.g. ``savingsPlan 2JT7..., rate ...``."""
    return f"savingsPlan {row.get('sku')}, rate {row.get('rate_code')}"


def offer_json_rates(
    stream: JsonStream, usage_types: str, service_codes: Sequence[str] = ("AmazonEC2",)
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Read a Savings Plans offer JSON document into its header and its raw rates.

    Parameters
    ----------
    stream
        Positioned before the document; its ``path`` and ``fix`` are named in errors.
    usage_types
        Regular expression: keep the rates whose ``discountedUsageType`` contains a match (e.g.
        ``(?:BoxUsage|DedicatedUsage):``; ``""`` keeps every usage type).
    service_codes
        Keep the rates of these ``discountedServiceCode`` values (``AmazonEC2`` by default;
        ``AmazonECS``, ``AWSLambda``, ``AmazonSageMaker``, ``AmazonRDS``... for the other
        services' rates).

    Returns
    -------
    header : dict
        The top-level values other than ``products`` and ``terms`` (``version``,
        ``publicationDate``, ...).
    rates : pandas.DataFrame
        One row per kept rate, text columns ``sku``, ``term`` (e.g. ``"3 year"``), ``rate_code``,
        ``usage_type``, ``operation``, ``service_code``, ``unit``, ``rate`` [USD/h], ``currency``,
        ``plan_family`` and ``payment`` (from the plan's product).

    Raises
    ------
    PriceFileError
        Malformed or truncated JSON; no ``publicationDate``, ``products`` or
        ``terms.savingsPlan``; a plan or product without a needed field, naming the plan SKU and
        the ``rateCode``; a plan without a product, or a product listed twice.
    """
    header, products, rate_frames = _walk_offer(stream, usage_types, tuple(service_codes))
    path = stream.path
    if "publicationDate" not in header:
        raise PriceFileError(path, "no publicationDate", "import the offer file unmodified")
    if products is None or rate_frames is None:
        missing = "products" if products is None else "terms.savingsPlan"
        raise PriceFileError(
            path,
            f"no {missing} section: this is not a Savings Plans offer file",
            "pass an AWS Savings Plans offer file (AWSComputeSavingsPlan .../index.json)",
        )
    rates = pd.concat(rate_frames, ignore_index=True) if rate_frames else _empty_rates()
    return header, _join_products(stream, rates, products)


def _walk_offer(
    stream: JsonStream, usage_types: str, service_codes: tuple[str, ...]
) -> tuple[dict[str, Any], list[Any] | None, list[pd.DataFrame] | None]:
    """Walk the offer object: small top-level values, the products, and each plan's EC2 rates."""
    header: dict[str, Any] = {}
    products: list[Any] | None = None
    rate_frames: list[pd.DataFrame] | None = None
    for key in stream.members():
        if key == "products":
            value = stream.value()
            if not isinstance(value, list):
                raise stream.error(
                    "products is not a list (an EC2 price list, not a Savings Plan one?)"
                )
            products = value
        elif key == "terms":
            for term_kind in stream.members():
                if term_kind != "savingsPlan":
                    stream.skip()
                    continue
                rate_frames = rate_frames or []
                for _ in stream.elements():
                    rate_frames.append(
                        _term_rates(stream, stream.value(), usage_types, service_codes)
                    )
        else:
            header[key] = stream.value()
    return header, products, rate_frames


def _term_rates(
    stream: JsonStream, term: Any, usage_types: str, service_codes: tuple[str, ...]
) -> pd.DataFrame:
    """The kept rates of one ``terms.savingsPlan`` element, as raw text columns."""
    path, fix = stream.path, stream.fix
    if not isinstance(term, dict) or not isinstance(term.get("rates"), list):
        sku = term.get("sku") if isinstance(term, dict) else None
        raise PriceFileError(
            path, f"savingsPlan term {sku} has no list of rates", "import the offer file unmodified"
        )
    sku = str(term.get("sku", ""))
    lease = term.get("leaseContractLength")
    if not isinstance(lease, dict) or "duration" not in lease or "unit" not in lease:
        raise PriceFileError(
            path, f"savingsPlan {sku}: field leaseContractLength {{duration, unit}} is missing", fix
        )
    if not term["rates"]:
        return _empty_rates()
    frame = _records_frame(stream, term["rates"], f"the rates of savingsPlan {sku}")
    absent = [field for field in _RATE_FIELDS if field not in frame]
    if absent:
        raise PriceFileError(
            path, f"savingsPlan {sku}: the rates have no field {', '.join(absent)}", fix
        )
    frame = frame.loc[:, list(_RATE_FIELDS)].rename(columns=_RATE_FIELDS).astype("string")
    for column in ("service_code", "usage_type"):
        missing = frame[column].isna().to_numpy()
        if missing.any():
            code = frame.loc[missing, "rate_code"].iloc[0]
            raise PriceFileError(
                path, f"savingsPlan {sku}, rate {code}: field {_json_field(column)} is missing", fix
            )
    kept = frame["service_code"].isin(list(service_codes)) & frame["usage_type"].str.contains(
        usage_types, regex=True
    )
    frame = frame.loc[kept.to_numpy()].copy()
    frame["sku"] = sku
    frame["term"] = f"{lease['duration']} {lease['unit']}"
    return frame


def _records_frame(stream: JsonStream, records: list[Any], what: str) -> pd.DataFrame:
    """A list of JSON objects as a table, nested objects flattened to ``parent.child`` columns."""
    try:
        return pa.Table.from_pylist(records).flatten().to_pandas()  # fast path, uniform types
    except (pa.ArrowException, TypeError, AttributeError):
        pass
    try:
        return pd.json_normalize(records)
    except (TypeError, AttributeError, ValueError) as error:
        raise PriceFileError(
            stream.path, f"{what} are not all JSON objects ({error})", stream.fix
        ) from error


def _empty_rates() -> pd.DataFrame:
    return pd.DataFrame(columns=["sku", "term", *_RATE_FIELDS.values()], dtype="string")


def _json_field(column: str) -> str:
    return {value: key for key, value in _RATE_FIELDS.items()}.get(column, column)


def _join_products(stream: JsonStream, rates: pd.DataFrame, products: list[Any]) -> pd.DataFrame:
    """Attach each rate's plan family and payment option from its product (by plan SKU)."""
    path, fix = stream.path, stream.fix
    table = _records_frame(stream, products, "the products")
    absent = [field for field in _PRODUCT_FIELDS if field not in table]
    if absent:
        raise PriceFileError(path, f"the products have no field {', '.join(absent)}", fix)
    table = table.loc[:, list(_PRODUCT_FIELDS)].rename(columns=_PRODUCT_FIELDS).astype("string")
    duplicated = table["sku"].duplicated().to_numpy()
    if duplicated.any():
        raise PriceFileError(
            path, f"product SKU {table.loc[duplicated, 'sku'].iloc[0]} is listed twice", fix
        )
    joined = rates.merge(table, on="sku", how="left", indicator=True)
    orphan = joined["_merge"].eq("left_only").to_numpy()
    if orphan.any():
        raise PriceFileError(
            path,
            f"savingsPlan term {joined.loc[orphan, 'sku'].iloc[0]} has no product in products",
            fix,
        )
    return joined.drop(columns="_merge")
