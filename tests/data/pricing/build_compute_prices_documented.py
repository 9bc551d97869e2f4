"""Write the documented-forms price fixtures of Fargate, Lambda, SageMaker and Database SPs.

Run from the repository root: ``python tests/data/pricing/build_compute_prices_documented.py``.
The files are not AWS files: see ``compute_prices_documented.README.md`` for where each row's form
comes from and which rates are real (quoted) and which illustrative.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

HERE = Path(__file__).parent
DISCLAIMER = (
    "This pricing list is for informational purposes only. All prices are subject to the "
    "additional terms included in the pricing pages on http://aws.amazon.com. All Free Tier "
    "prices are also subject to the terms included at https://aws.amazon.com/free/"
)
PUBLISHED = "2026-11-20T00:00:00Z"
VERSION = "20261120000000"

# ----------------------------------------------------------------------------- on-demand offers

PRICE_HEADER = [
    "SKU", "OfferTermCode", "RateCode", "TermType", "PriceDescription", "EffectiveDate",
    "StartingRange", "EndingRange", "Unit", "PricePerUnit", "Currency", "Product Family",
    "serviceCode", "Location", "Location Type", "Instance Type", "usageType", "operation",
    "Region Code",
]  # fmt: skip

# offer -> rows: sku, family, usage type, operation, unit, price, begin, end, instance type
ON_DEMAND: dict[str, list[tuple[str, ...]]] = {
    "AmazonECS": [
        ("ECSFGVCPUUSE1", "Compute", "USE1-Fargate-vCPU-Hours:perCPU", "FargateTask", "hours",
         "0.0404800000", "0", "Inf", ""),
        ("ECSFGMEMUSE1", "Compute", "USE1-Fargate-GB-Hours", "FargateTask", "hours",
         "0.0044450000", "0", "Inf", ""),
        ("ECSFGARMVCPU1", "Compute", "USE1-Fargate-ARM-vCPU-Hours:perCPU", "FargateTask",
         "hours", "0.0323800000", "0", "Inf", ""),
        ("ECSFGARMMEM1", "Compute", "USE1-Fargate-ARM-GB-Hours", "FargateTask", "hours",
         "0.0035600000", "0", "Inf", ""),
        ("ECSFGWINVCPU1", "Compute", "USE1-Fargate-Windows-vCPU-Hours:perCPU", "FargateTask",
         "hours", "0.0465520000", "0", "Inf", ""),
        ("ECSFGWINOS1", "Compute", "USE1-Fargate-Windows-OS-Hours:perCPU", "FargateTask",
         "hours", "0.0460000000", "0", "Inf", ""),
        ("ECSFGEPHUSE1", "Compute", "USE1-Fargate-EphemeralStorage-GB-Hours", "FargateTask",
         "hours", "0.0001110000", "0", "Inf", ""),
        ("ECSFGVCPUUSW2", "Compute", "USW2-Fargate-vCPU-Hours:perCPU", "FargateTask", "hours",
         "0.0404800000", "0", "Inf", ""),
    ],
    "AWSLambda": [
        ("LAMBDADUR1", "Serverless", "USE1-Lambda-GB-Second", "Invoke", "Lambda-GB-Second",
         "0.0000166667", "0", "6000000000", ""),
        ("LAMBDADUR1", "Serverless", "USE1-Lambda-GB-Second", "Invoke", "Lambda-GB-Second",
         "0.0000150000", "6000000000", "15000000000", ""),
        ("LAMBDADUR1", "Serverless", "USE1-Lambda-GB-Second", "Invoke", "Lambda-GB-Second",
         "0.0000133334", "15000000000", "Inf", ""),
        ("LAMBDADURARM1", "Serverless", "USE1-Lambda-GB-Second-ARM", "Invoke",
         "Lambda-GB-Second", "0.0000133334", "0", "7500000000", ""),
        ("LAMBDADURARM1", "Serverless", "USE1-Lambda-GB-Second-ARM", "Invoke",
         "Lambda-GB-Second", "0.0000120001", "7500000000", "Inf", ""),
        ("LAMBDAPC1", "Serverless", "USE1-Lambda-Provisioned-Concurrency", "Invoke",
         "Lambda-GB-Second", "0.0000041667", "0", "Inf", ""),
        ("LAMBDAPD1", "Serverless", "USE1-Lambda-Provisioned-GB-Second", "Invoke",
         "Lambda-GB-Second", "0.0000097222", "0", "Inf", ""),
        ("LAMBDAREQ1", "Serverless", "USE1-Request", "Invoke", "Requests", "0.0000002000", "0",
         "Inf", ""),
    ],
    "AmazonSageMaker": [
        ("SMTRAINM5XL1", "ML Instance", "USE1-Train:ml.m5.xlarge", "RunInstance", "Hrs",
         "0.2300000000", "0", "Inf", "ml.m5.xlarge"),
        ("SMHOSTM5XL1", "ML Instance", "USE1-Host:ml.m5.xlarge", "RunInstance", "Hrs",
         "0.2300000000", "0", "Inf", "ml.m5.xlarge"),
        ("SMNBT3MED1", "ML Instance", "USE1-Notebk:ml.t3.medium", "RunInstance", "Hrs",
         "0.0500000000", "0", "Inf", "ml.t3.medium"),
        ("SMTRAINM416XL", "ML Instance", "USE1-Train:ml.m4.16xlarge", "RunInstance", "Hrs",
         "3.8400000000", "0", "Inf", "ml.m4.16xlarge"),
        ("SMSPOTM5XL1", "ML Instance", "USE1-Train-Spot:ml.m5.xlarge", "RunInstance", "Hrs",
         "0.0690000000", "0", "Inf", "ml.m5.xlarge"),
        ("SMSTORAGE1", "Storage", "USE1-ML:VolumeUsage.gp2", "", "GB-Mo", "0.1400000000", "0",
         "Inf", ""),
    ],
}  # fmt: skip


def write_on_demand(offer: str) -> None:
    """The CSV and JSON of one on-demand offer."""
    rows = ON_DEMAND[offer]
    with (HERE / f"pricelist_{offer}_documented.csv").open("w", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\n")
        for row in (
            ("FormatVersion", "v1.0"),
            ("Disclaimer", DISCLAIMER),
            ("Publication Date", PUBLISHED),
            ("Version", VERSION),
            ("OfferCode", offer),
        ):
            writer.writerow(row)
        writer.writerow(PRICE_HEADER)
        for number, (sku, family, usage, operation, unit, price, begin, end, itype) in enumerate(
            rows
        ):
            writer.writerow(
                [sku, "JRTCKXETXF", f"{sku}.JRTCKXETXF.{number:010d}", "OnDemand",
                 f"documented form, illustrative rate: {usage}", "2026-11-01", begin, end, unit,
                 price, "USD", family, offer, "US East (N. Virginia)"
                 if "USE1" in usage else "US West (Oregon)", "AWS Region", itype, usage,
                 operation, "us-east-1" if "USE1" in usage else "us-west-2"]
            )  # fmt: skip
    products: dict[str, dict[str, object]] = {}
    terms: dict[str, dict[str, object]] = {}
    for number, (sku, family, usage, operation, unit, price, begin, end, itype) in enumerate(rows):
        attributes = {
            "servicecode": offer,
            "locationType": "AWS Region",
            "usagetype": usage,
            "operation": operation,
            "regionCode": "us-east-1" if "USE1" in usage else "us-west-2",
        }
        if itype:
            attributes["instanceType"] = itype
        products[sku] = {"sku": sku, "productFamily": family, "attributes": attributes}
        term = terms.setdefault(sku, {}).setdefault(
            f"{sku}.JRTCKXETXF",
            {
                "offerTermCode": "JRTCKXETXF",
                "sku": sku,
                "effectiveDate": "2026-11-01T00:00:00Z",
                "priceDimensions": {},
                "termAttributes": {},
            },
        )
        code = f"{sku}.JRTCKXETXF.{number:010d}"
        term["priceDimensions"][code] = {  # type: ignore[index]
            "rateCode": code, "description": f"documented form, illustrative rate: {usage}",
            "beginRange": begin, "endRange": end, "unit": unit, "pricePerUnit": {"USD": price},
            "appliesTo": [],
        }  # fmt: skip
    document = {"formatVersion": "v1.0", "disclaimer": DISCLAIMER, "offerCode": offer,
                "version": VERSION, "publicationDate": PUBLISHED, "products": products,
                "terms": {"OnDemand": terms}}  # fmt: skip
    (HERE / f"pricelist_{offer}_documented.json").write_text(json.dumps(document, indent=1) + "\n")


# ---------------------------------------------------------------------- Savings Plans offers

SP_HEADER = [
    "SKU", "RateCode", "Unit", "EffectiveDate", "DiscountedRate", "Currency", "DiscountedSKU",
    "DiscountedServiceCode", "DiscountedUsageType", "DiscountedOperation", "PurchaseOption",
    "LeaseContractLength", "LeaseContractLengthUnit", "ServiceCode", "UsageType", "Operation",
    "Description", "Instance Family", "Location", "Location Type", "Granularity",
    "Product Family", "DiscountedRegionCode", "DiscountedInstanceType",
]  # fmt: skip

# plan: sku, purchase option, years, service code, product family, plan usage type
PLANS = {
    "compute-1n": ("ILLUSTRCOMP1NUP", "No Upfront", "1", "ComputeSavingsPlans",
                   "ComputeSavingsPlans", "ComputeSP:1yrNoUpfront"),
    "compute-3a": ("ILLUSTRCOMP3AUP", "All Upfront", "3", "ComputeSavingsPlans",
                   "ComputeSavingsPlans", "ComputeSP:3yrAllUpfront"),
    "sagemaker-1p": ("3YPXFW2FJXS3D9VM", "Partial Upfront", "1", "MachineLearningSavingsPlans",
                     "SageMakerSavingsPlans", "SageMakerSP:1yrPartialUpfront"),
    "database-1n": ("ILLUSTRDBSP1NUP", "No Upfront", "1", "DatabaseSavingsPlans",
                    "DatabaseSavingsPlans", "DatabaseSP:1yrNoUpfront"),
}  # fmt: skip

# plan, discounted sku, service code, usage type, operation, unit, rate, instance type
SP_RATES: dict[str, list[tuple[str, ...]]] = {
    "compute": [
        ("compute-1n", "ECSFGVCPUUSE1", "AmazonECS", "USE1-Fargate-vCPU-Hours:perCPU",
         "FargateTask", "Hrs", "0.0323800000", ""),
        ("compute-1n", "EKSFGVCPUUSE1", "AmazonEKS", "USE1-Fargate-vCPU-Hours:perCPU",
         "FargateTask", "Hrs", "0.0323800000", ""),
        ("compute-1n", "ECSFGMEMUSE1", "AmazonECS", "USE1-Fargate-GB-Hours", "FargateTask", "Hrs",
         "0.0035560000", ""),
        ("compute-1n", "ECSFGARMVCPU1", "AmazonECS", "USE1-Fargate-ARM-vCPU-Hours:perCPU",
         "FargateTask", "Hrs", "0.0259040000", ""),
        ("compute-1n", "LAMBDADUR1", "AWSLambda", "USE1-Lambda-GB-Second", "Invoke",
         "Lambda-GB-Second", "0.0000150000", ""),
        ("compute-1n", "LAMBDADURARM1", "AWSLambda", "USE1-Lambda-GB-Second-ARM", "Invoke",
         "Lambda-GB-Second", "0.0000120000", ""),
        ("compute-1n", "LAMBDAPC1", "AWSLambda", "USE1-Lambda-Provisioned-Concurrency", "Invoke",
         "Lambda-GB-Second", "0.0000033334", ""),
        ("compute-1n", "LAMBDAREQ1", "AWSLambda", "USE1-Request", "Invoke", "Request",
         "0.0000002000", ""),
        ("compute-1n", "EC2M5LARGE1", "AmazonEC2", "USE1-BoxUsage:m5.large", "RunInstances",
         "Hrs", "0.0650000000", "m5.large"),
        ("compute-3a", "ECSFGVCPUUSE1", "AmazonECS", "USE1-Fargate-vCPU-Hours:perCPU",
         "FargateTask", "Hrs", "0.0202400000", ""),
        ("compute-3a", "LAMBDADUR1", "AWSLambda", "USE1-Lambda-GB-Second", "Invoke",
         "Lambda-GB-Second", "0.0000133334", ""),
    ],
    "sagemaker": [
        ("sagemaker-1p", "25TC687A4JSSSY7E", "AmazonSageMaker", "USE1-Train:ml.m4.16xlarge",
         "RunInstance", "Hrs", "2.60544", ""),
        ("sagemaker-1p", "SMTRAINM5XL1", "AmazonSageMaker", "USE1-Train:ml.m5.xlarge",
         "RunInstance", "Hrs", "0.1564000000", ""),
        ("sagemaker-1p", "SMHOSTM5XL1", "AmazonSageMaker", "USE1-Host:ml.m5.xlarge",
         "RunInstance", "Hrs", "0.1564000000", ""),
        ("sagemaker-1p", "SMNBT3MED1", "AmazonSageMaker", "USE1-Notebk:ml.t3.medium",
         "RunInstance", "Hrs", "0.0340000000", ""),
        ("sagemaker-1p", "SMSTUDIOM5L1", "AmazonSageMaker",
         "USE1-Studio:KernelGateway-ml.m5.large", "RunInstance", "Hrs", "0.0782000000", ""),
        ("sagemaker-1p", "SMSPOTM5XL1", "AmazonSageMaker", "USE1-Train-Spot:ml.m5.xlarge",
         "RunInstance", "Hrs", "0.0690000000", ""),
        ("sagemaker-1p", "SMSERVERLESS1", "AmazonSageMaker", "USE1-ServerlessInf:Mem-4GB",
         "RunInstance", "Hrs", "0.0000800000", ""),
    ],
    "database": [
        ("database-1n", "RDSAURMYR7GL1", "AmazonRDS", "USE1-InstanceUsage:db.r7g.large",
         "CreateDBInstance:0016", "Hrs", "0.2000000000", "db.r7g.large"),
        ("database-1n", "RDSMYSQLR6GLSAZ", "AmazonRDS", "InstanceUsage:db.r6g.large",
         "CreateDBInstance:0002", "Hrs", "0.1800000000", "db.r6g.large"),
        ("database-1n", "RDSMYSQLR6GLMAZ", "AmazonRDS", "Multi-AZUsage:db.r6g.large",
         "CreateDBInstance:0002", "Hrs", "0.3600000000", "db.r6g.large"),
        ("database-1n", "ECR7GLREDIS1", "AmazonElastiCache", "USE1-NodeUsage:cache.r7g.large",
         "CreateCacheCluster:0002", "Hrs", "0.1500000000", "cache.r7g.large"),
        ("database-1n", "RDSAURSLV2", "AmazonRDS", "USE1-Aurora:ServerlessV2Usage",
         "CreateDBInstance:0016", "ACU-Hr", "0.0960000000", ""),
        ("database-1n", "DDBRRU1", "AmazonDynamoDB", "USE1-ReadRequestUnits", "GetItem",
         "ReadRequestUnits", "0.0000001000", ""),
    ],
}  # fmt: skip

OFFER_CODES = {
    "compute": "AWSComputeSavingsPlan",
    "sagemaker": "AWSMachineLearningSavingsPlans",
    "database": "AWSDatabaseSavingsPlans",
}


def write_savings_plans(offer: str) -> None:
    """The CSV and JSON of one Savings Plans offer excerpt."""
    rates = SP_RATES[offer]
    with (HERE / f"savingsplan_{offer}_documented.csv").open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        for row in (
            ("FormatVersion", "v1.0"),
            ("Disclaimer", DISCLAIMER),
            ("Publication Date", PUBLISHED),
            ("Version", VERSION),
            ("OfferCode", OFFER_CODES[offer]),
        ):
            writer.writerow(row)
        writer.writerow(SP_HEADER)
        for plan, dsku, service, usage, operation, unit, rate, itype in rates:
            sku, purchase, years, plan_service, family, plan_usage = PLANS[plan]
            writer.writerow(
                [sku, f"{sku}.{dsku}", unit, "2026-11-01T00:00:00Z", rate, "USD", dsku, service,
                 usage, operation, purchase, years, "year", plan_service, plan_usage, "",
                 f"{years} year {purchase} {family}", "", "Any", "AWS Region", "hourly", family,
                 "us-east-1", itype]
            )  # fmt: skip
    products = []
    terms = []
    for plan in dict.fromkeys(r[0] for r in rates):
        sku, purchase, years, plan_service, family, plan_usage = PLANS[plan]
        products.append(
            {"sku": sku, "productFamily": family, "serviceCode": plan_service,
             "usageType": plan_usage, "operation": "",
             "attributes": {"purchaseOption": purchase, "productFamily": family,
                            "serviceCode": plan_service, "granularity": "hourly",
                            "locationType": "AWS Region", "purchaseTerm": f"{years}yr",
                            "location": "Any", "usageType": plan_usage}}
        )  # fmt: skip
        terms.append(
            {"sku": sku, "description": f"{years} year {purchase} {family}",
             "effectiveDate": "2026-11-01T00:00:00Z",
             "leaseContractLength": {"duration": int(years), "unit": "year"},
             "rates": [
                 {"discountedSku": dsku, "discountedUsageType": usage,
                  "discountedOperation": operation, "discountedServiceCode": service,
                  "rateCode": f"{sku}.{dsku}", "unit": unit,
                  "discountedRate": {"price": rate, "currency": "USD"}}
                 for p, dsku, service, usage, operation, unit, rate, _ in rates if p == plan
             ]}
        )  # fmt: skip
    document = {"version": VERSION, "publicationDate": PUBLISHED, "products": products,
                "terms": {"savingsPlan": terms}}  # fmt: skip
    (HERE / f"savingsplan_{offer}_documented.json").write_text(
        json.dumps(document, indent=1) + "\n"
    )


if __name__ == "__main__":
    for name in ON_DEMAND:
        write_on_demand(name)
    for name in SP_RATES:
        write_savings_plans(name)
