"""Write the hand-written, illustrative Price List offers of OpenSearch, Redshift, MemoryDB and the
RDS Oracle / SQL Server editions used by the tests (``tests/data/pricing/pricelist_*``).

Usage (from the repository root)::

    python scripts/build_illustrative_price_lists.py

Not AWS files: the layout is the bulk offer's (five preamble lines, a header, one row per price
dimension; JSON ``products`` / ``terms``), the attribute names AWS's documented ones, **every rate
illustrative** (see ``tests/data/pricing/pricelist_database_illustrative.README.md``). The CSV and
JSON of an offer carry the same rows.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Final

REPOSITORY: Final = Path(__file__).resolve().parent.parent
OUTPUT: Final = REPOSITORY / "tests" / "data" / "pricing"
VERSION: Final = "20251001000000"
PUBLISHED: Final = "2025-10-01T00:00:00Z"
DISCLAIMER: Final = "Illustrative rates written for commitopt's tests; not an AWS file."
LOCATIONS: Final = {
    "us-east-1": "US East (N. Virginia)",
    "us-west-2": "US West (Oregon)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "us-east-2": "US East (Ohio)",
}
TERM_CODES: Final = {  # (lease, purchase) -> offer term code, as the EC2 offer uses them
    ("1yr", "No Upfront"): "4NA7Y494T4",
    ("1yr", "Partial Upfront"): "HU7G6KETJZ",
    ("1yr", "All Upfront"): "6QCMYABX3D",
    ("3yr", "No Upfront"): "BPH4J8HBKS",
    ("3yr", "Partial Upfront"): "38NPMPTW36",
    ("3yr", "All Upfront"): "NQ3QZPMQV9",
    ("1yr", "Heavy Utilization"): "Z2E3P23VKM",
}
ON_DEMAND_CODE: Final = "JRTCKXETXF"

# One product: sku, family, attributes; on-demand USD/h; reserved (lease, purchase, upfront, hourly)
Product = tuple[str, str, dict[str, str], float, list[tuple[str, str, float, float]]]

OFFERS: Final[dict[str, tuple[str, list[Product]]]] = {
    "AmazonES": (
        "pricelist_AmazonES_illustrative",
        [
            ("ESR6GLARGEUSE1", "Amazon OpenSearch Service Instance",
             {"regionCode": "us-east-1", "usagetype": "ESInstance:r6g.large",
              "operation": "ESDomain", "instanceType": "r6g.large.search"},
             0.167, [("1yr", "No Upfront", 0.0, 0.115), ("3yr", "All Upfront", 2106.0, 0.0)]),
            ("ESM5XLAPS1", "Amazon OpenSearch Service Instance",
             {"regionCode": "ap-southeast-1", "usagetype": "APS1-ESInstance:m5.xlarge",
              "operation": "ESDomain", "instanceType": "m5.xlarge.search"},
             0.376, [("1yr", "Partial Upfront", 1200.0, 0.14)]),
            ("ESGP2USE1", "Amazon OpenSearch Service Volume",
             {"regionCode": "us-east-1", "usagetype": "ES:GP2-Storage", "operation": "ESDomain"},
             0.135, []),
        ],
    ),
    "AmazonRedshift": (
        "pricelist_AmazonRedshift_illustrative",
        [
            ("RSDC2LUSE1", "Compute Instance",
             {"regionCode": "us-east-1", "usagetype": "Node:dc2.large",
              "operation": "RunComputeNode:0001", "instanceType": "dc2.large"},
             0.25, [("1yr", "All Upfront", 1380.0, 0.0), ("1yr", "Heavy Utilization", 750, 0.03)]),
            ("RSRA3XLPUSW2", "Compute Instance",
             {"regionCode": "us-west-2", "usagetype": "USW2-Node:ra3.xlplus",
              "operation": "RunComputeNode:0001", "instanceType": "ra3.xlplus"},
             1.086, [("3yr", "Partial Upfront", 5000.0, 0.2)]),
            ("RSRMSUSE1", "Redshift Managed Storage",
             {"regionCode": "us-east-1", "usagetype": "RMS:ra3.xlplus",
              "operation": "", "instanceType": "ra3.xlplus"},
             0.024, []),
        ],
    ),
    "AmazonMemoryDB": (
        "pricelist_AmazonMemoryDB_illustrative",
        [
            ("MDBR6GLREDIS", "Amazon MemoryDB",
             {"regionCode": "us-east-1", "usagetype": "USE1-NodeUsage:db.r6g.large",
              "operation": "CreateCluster", "instanceType": "db.r6g.large", "engine": "Redis"},
             0.309, [("1yr", "No Upfront", 0.0, 0.216)]),
            ("MDBR6GLVALKEY", "Amazon MemoryDB",
             {"regionCode": "us-east-1", "usagetype": "USE1-NodeUsage:db.r6g.large",
              "operation": "CreateCluster", "instanceType": "db.r6g.large", "engine": "Valkey"},
             0.2163, []),
            ("MDBT4GSUSE2", "Amazon MemoryDB",
             {"regionCode": "us-east-2", "usagetype": "USE2-NodeUsage:db.t4g.small",
              "operation": "CreateCluster", "instanceType": "db.t4g.small", "engine": "Redis"},
             0.068, []),
            ("MDBWRITTEN", "Amazon MemoryDB",
             {"regionCode": "us-east-1", "usagetype": "USE1-DataWritten-Bytes",
              "operation": "", "instanceType": "", "engine": "Redis"},
             0.2, []),
        ],
    ),
    "AmazonRDS": (
        "pricelist_AmazonRDS_editions_illustrative",
        [
            ("RDSORASE2LIM5L", "Database Instance",
             {"regionCode": "us-east-1", "usagetype": "InstanceUsage:db.m5.large",
              "operation": "CreateDBInstance:0005", "instanceType": "db.m5.large",
              "databaseEngine": "Oracle", "databaseEdition": "Standard Two",
              "licenseModel": "License included", "deploymentOption": "Single-AZ"},
             0.342, [("1yr", "No Upfront", 0.0, 0.25)]),
            ("RDSSQLSELIM5XLMAZ", "Database Instance",
             {"regionCode": "us-east-1", "usagetype": "Multi-AZUsage:db.m5.xlarge",
              "operation": "CreateDBInstance:0012", "instanceType": "db.m5.xlarge",
              "databaseEngine": "SQL Server", "databaseEdition": "Standard",
              "licenseModel": "License included", "deploymentOption": "Multi-AZ"},
             2.9, [("1yr", "All Upfront", 15000.0, 0.0)]),
            ("RDSORAEEBYOLR5L", "Database Instance",
             {"regionCode": "us-east-1", "usagetype": "InstanceUsage:db.r5.large",
              "operation": "CreateDBInstance:0004", "instanceType": "db.r5.large",
              "databaseEngine": "Oracle", "databaseEdition": "Enterprise",
              "licenseModel": "Bring your own license", "deploymentOption": "Single-AZ"},
             0.25, []),
            ("RDSORAEELIR5L", "Database Instance",
             {"regionCode": "us-east-1", "usagetype": "InstanceUsage:db.r5.large",
              "operation": "CreateDBInstance:0005", "instanceType": "db.r5.large",
              "databaseEngine": "Oracle", "databaseEdition": "Enterprise",
              "licenseModel": "License included", "deploymentOption": "Single-AZ"},
             0.9, []),
        ],
    ),
}  # fmt: skip

CSV_ATTRIBUTES: Final = {
    "regionCode": "Region Code", "usagetype": "usageType", "operation": "operation",
    "instanceType": "Instance Type", "engine": "Engine", "databaseEngine": "Database Engine",
    "databaseEdition": "Database Edition", "licenseModel": "License Model",
    "deploymentOption": "Deployment Option",
}  # fmt: skip


def _dimensions(sku: str, product: Product) -> list[dict[str, Any]]:
    """One record per price dimension: term type, code, unit, price, lease, purchase."""
    _, _, _, on_demand, reserved = product
    rows = [dict(sku=sku, type="OnDemand", code=ON_DEMAND_CODE, unit="Hrs", price=on_demand,
                 lease="", purchase="", rate="6YS6EN2CT7")]  # fmt: skip
    for lease, purchase, upfront, hourly in reserved:
        code = TERM_CODES[(lease, purchase)]
        rows.append(dict(sku=sku, type="Reserved", code=code, unit="Hrs", price=hourly,
                         lease=lease, purchase=purchase, rate="6YS6EN2CT7"))  # fmt: skip
        if upfront:
            rows.append(dict(sku=sku, type="Reserved", code=code, unit="Quantity", price=upfront,
                             lease=lease, purchase=purchase, rate="2TG2D8R56U"))  # fmt: skip
    return rows


def write_offer(offer: str, stem: str, products: list[Product]) -> None:
    """Write ``<stem>.csv`` and ``<stem>.json`` of one offer."""
    attributes = sorted({a for p in products for a in p[2]}, key=list(CSV_ATTRIBUTES).index)
    header = ["SKU", "OfferTermCode", "RateCode", "TermType", "PriceDescription", "Unit",
              "PricePerUnit", "Currency", "LeaseContractLength", "PurchaseOption",
              "OfferingClass", "Product Family", "serviceCode", "Location", "Location Type",
              *(CSV_ATTRIBUTES[a] for a in attributes)]  # fmt: skip
    text = io.StringIO()
    writer = csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n")
    for name, value in (("FormatVersion", "v1.0"), ("Disclaimer", DISCLAIMER),
                        ("Publication Date", PUBLISHED), ("Version", VERSION),
                        ("OfferCode", offer)):  # fmt: skip
        writer.writerow([name, value])
    writer.writerow(header)
    json_products: dict[str, Any] = {}
    terms: dict[str, dict[str, Any]] = {"OnDemand": {}, "Reserved": {}}
    for product in products:
        sku, family, attrs, _, _ = product
        region = attrs["regionCode"]
        full = {"servicecode": offer, "location": LOCATIONS[region], "locationType": "AWS Region",
                **attrs}  # fmt: skip
        json_products[sku] = {"sku": sku, "productFamily": family, "attributes": full}
        for row in _dimensions(sku, product):
            offering_class = "standard" if row["type"] == "Reserved" else ""
            writer.writerow([
                sku, row["code"], f"{sku}.{row['code']}.{row['rate']}", row["type"],
                "illustrative" if row["unit"] == "Hrs" else "Upfront Fee", row["unit"],
                f"{row['price']:.10f}" if row["unit"] == "Hrs" else f"{row['price']:g}", "USD",
                row["lease"], row["purchase"], offering_class, family, offer, LOCATIONS[region],
                "AWS Region", *(attrs.get(a, "") for a in attributes),
            ])  # fmt: skip
            term = terms[row["type"]].setdefault(sku, {}).setdefault(
                f"{sku}.{row['code']}",
                {"offerTermCode": row["code"], "sku": sku, "effectiveDate": PUBLISHED,
                 "priceDimensions": {},
                 "termAttributes": {"LeaseContractLength": row["lease"],
                                    "OfferingClass": "standard",
                                    "PurchaseOption": row["purchase"]}
                 if row["type"] == "Reserved" else {}},
            )  # fmt: skip
            rate_code = f"{sku}.{row['code']}.{row['rate']}"
            term["priceDimensions"][rate_code] = {
                "rateCode": rate_code, "unit": row["unit"],
                "pricePerUnit": {"USD": f"{row['price']:.10f}"},
            }  # fmt: skip
    (OUTPUT / f"{stem}.csv").write_text(text.getvalue())
    document = {"formatVersion": "v1.0", "disclaimer": DISCLAIMER, "offerCode": offer,
                "version": VERSION, "publicationDate": PUBLISHED, "products": json_products,
                "terms": terms}  # fmt: skip
    (OUTPUT / f"{stem}.json").write_text(json.dumps(document, indent=2) + "\n")


def main() -> int:
    """Write every offer; returns the exit code."""
    for offer, (stem, products) in OFFERS.items():
        write_offer(offer, stem, products)
        print(f"wrote {OUTPUT / stem}.csv and .json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
