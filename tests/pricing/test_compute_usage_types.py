"""The Fargate, Lambda and SageMaker usage-type vocabulary: every documented form, unknown ones."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pricing.compute_usage_types import (
    COMPUTE_USAGE_RULES,
    UNPARSED_REASONS,
    ComputeUsageType,
    UnparsedUsageType,
    parse_charge_description,
    parse_compute_usage_type,
    unit_matches,
)

# usage type, product code -> service, kind, unit, region, architecture, platform/component,
# instance type, eligibility
DOCUMENTED = [
    ("USE1-Fargate-vCPU-Hours:perCPU", "AmazonECS",
     ("fargate", "vcpu", "vCPU-hours", "us-east-1", "x86_64", "Linux", "", "compute")),
    ("USE1-Fargate-GB-Hours", "AmazonECS",
     ("fargate", "memory", "GB-hours", "us-east-1", "x86_64", "Linux", "", "compute")),
    ("USW2-Fargate-ARM-vCPU-Hours:perCPU", "AmazonECS",
     ("fargate", "vcpu", "vCPU-hours", "us-west-2", "arm64", "Linux", "", "compute")),
    ("USW2-Fargate-ARM-GB-Hours", "AmazonEKS",
     ("fargate", "memory", "GB-hours", "us-west-2", "arm64", "Linux", "", "compute")),
    ("EUW2-Fargate-Windows-vCPU-Hours:perCPU", "AmazonECS",
     ("fargate", "vcpu", "vCPU-hours", "eu-west-2", "x86_64", "Windows", "", "compute")),
    ("EUW2-Fargate-Windows-GB-Hours", "AmazonECS",
     ("fargate", "memory", "GB-hours", "eu-west-2", "x86_64", "Windows", "", "compute")),
    ("EUW2-Fargate-Windows-OS-Hours:perCPU", "AmazonECS",
     ("fargate", "os-license", "vCPU-hours", "eu-west-2", "x86_64", "Windows", "", "none")),
    ("USE1-Fargate-EphemeralStorage-GB-Hours", "AmazonEKS",
     ("fargate", "ephemeral-storage", "GB-hours", "us-east-1", "x86_64", "Linux", "", "none")),
    ("USE1-SpotUsage:Fargate-vCPU-Hours:perCPU", "AmazonECS",
     ("fargate", "spot-vcpu", "vCPU-hours", "us-east-1", "x86_64", "Linux", "", "none")),
    ("Lambda-GB-Second", "AWSLambda",
     ("lambda", "duration", "GB-seconds", "us-east-1", "x86_64", "", "", "compute")),
    ("USE2-Lambda-GB-Second-ARM", "AWSLambda",
     ("lambda", "duration", "GB-seconds", "us-east-2", "arm64", "", "", "compute")),
    ("APN1-Lambda-Provisioned-Concurrency", "AWSLambda",
     ("lambda", "provisioned-concurrency", "GB-seconds", "ap-northeast-1", "x86_64", "", "",
      "compute")),
    ("APN1-Lambda-Provisioned-GB-Second-ARM", "AWSLambda",
     ("lambda", "provisioned-duration", "GB-seconds", "ap-northeast-1", "arm64", "", "",
      "compute")),
    ("EU-Request", "AWSLambda",
     ("lambda", "requests", "requests", "eu-west-1", "x86_64", "", "", "none")),
    ("USE1-Request-ARM", "AWSLambda",
     ("lambda", "requests", "requests", "us-east-1", "arm64", "", "", "none")),
    ("Lambda-Edge-GB-Second", "AWSLambda",
     ("lambda", "edge-duration", "GB-seconds", "us-east-1", "x86_64", "", "", "none")),
    ("USE1-Notebk:ml.t3.medium", "AmazonSageMaker",
     ("sagemaker", "ml-instance", "instance-hours", "us-east-1", "", "notebook", "ml.t3.medium",
      "sagemaker")),
    ("USE1-Train:ml.m5.xlarge", "AmazonSageMaker",
     ("sagemaker", "ml-instance", "instance-hours", "us-east-1", "", "training", "ml.m5.xlarge",
      "sagemaker")),
    ("EU-Host:ml.c5.large", "AmazonSageMaker",
     ("sagemaker", "ml-instance", "instance-hours", "eu-west-1", "", "hosting", "ml.c5.large",
      "sagemaker")),
    ("USE2-Processing:ml.m5.xlarge", "AmazonSageMaker",
     ("sagemaker", "ml-instance", "instance-hours", "us-east-2", "", "processing",
      "ml.m5.xlarge", "sagemaker")),
    ("USE1-Tsform:ml.m5.large", "AmazonSageMaker",
     ("sagemaker", "ml-instance", "instance-hours", "us-east-1", "", "batch-transform",
      "ml.m5.large", "sagemaker")),
    ("USE1-Studio:KernelGateway-ml.t3.medium", "AmazonSageMaker",
     ("sagemaker", "ml-instance", "instance-hours", "us-east-1", "", "studio-notebook",
      "ml.t3.medium", "sagemaker")),
    ("USE1-Train-Spot:ml.p3.2xlarge", "AmazonSageMaker",
     ("sagemaker", "ml-instance", "instance-hours", "us-east-1", "", "spot-training",
      "ml.p3.2xlarge", "none")),
]  # fmt: skip


@pytest.mark.parametrize(("usage_type", "product_code", "expected"), DOCUMENTED)
def test_documented_forms(usage_type: str, product_code: str, expected: tuple[str, ...]) -> None:
    for code in (product_code, None):  # with and without the product code
        parsed = parse_compute_usage_type(usage_type, code)
        assert isinstance(parsed, ComputeUsageType), parsed
        assert (
            parsed.service,
            parsed.usage_kind,
            parsed.unit,
            parsed.region,
            parsed.architecture,
            parsed.platform_or_component,
            parsed.instance_type,
            parsed.sp_eligible,
        ) == expected
        assert parsed.usage_type == usage_type


def test_every_rule_is_reachable_and_sourced() -> None:
    for rule in COMPUTE_USAGE_RULES:
        name = f"{rule.name}:ml.m5.large" if rule.service == "sagemaker" else rule.name
        parsed = parse_compute_usage_type(f"USW2-{name}")
        assert isinstance(parsed, ComputeUsageType), rule
        assert (parsed.service, parsed.usage_kind, parsed.sp_eligible) == (
            rule.service,
            rule.usage_kind,
            rule.sp_eligible,
        )
        assert rule.source.startswith("https://")


UNKNOWN = [
    ("USE2-AmazonEKS-Hours:perCluster", "AmazonEKS", "not Fargate usage"),
    ("USE1-Fargate-Something-New", "AmazonECS", "unknown Fargate usage type"),
    ("USE2-Lambda-Unknown-Form", "AWSLambda", "unknown Lambda usage type"),
    ("USE1-ServerlessInf:Mem-4GB", "AmazonSageMaker", "unknown SageMaker usage type"),
    ("USE1-Train:p3.2xlarge", "AmazonSageMaker", "unknown SageMaker usage type"),  # no ml.
    ("XYZ9-Lambda-GB-Second", "AWSLambda", "unknown region prefix"),
    ("USW2-DataTransfer-Out-Bytes", "AWSLambda", "data transfer"),
    ("", "AWSLambda", "empty usage type"),
    ("BoxUsage:m5.large", "AmazonEC2", "unknown service"),
    # the right form billed under the wrong service
    ("USE1-Fargate-GB-Hours", "AWSLambda", "unknown Lambda usage type"),
    ("Lambda-GB-Second", "AmazonSageMaker", "unknown SageMaker usage type"),
]


@pytest.mark.parametrize(("usage_type", "product_code", "reason"), UNKNOWN)
def test_unknown_forms_return_a_reason(usage_type: str, product_code: str, reason: str) -> None:
    parsed = parse_compute_usage_type(usage_type, product_code)
    assert parsed == UnparsedUsageType(usage_type, reason)
    assert reason in UNPARSED_REASONS


@given(st.text(max_size=60), st.sampled_from([None, "AmazonECS", "AWSLambda", "AmazonSageMaker"]))
def test_never_raises(text: str, product_code: str | None) -> None:
    parsed = parse_compute_usage_type(text, product_code)
    if isinstance(parsed, UnparsedUsageType):
        assert parsed.reason in UNPARSED_REASONS


# the charge descriptions of AWS's real FOCUS 1.0 rows (tests/data/focus), and variants
DESCRIPTIONS = [
    ("AWS Fargate - vCPU  - US West 2 (Oregon)", "fargate", "us-west-2",
     "USW2-Fargate-vCPU-Hours:perCPU"),
    ("AWS Fargate - Memory  - US West 2 (Oregon)", "fargate", "us-west-2",
     "USW2-Fargate-GB-Hours"),
    ("AWS Fargate - ARM - Memory - US West (Oregon)", "fargate", "us-west-2",
     "USW2-Fargate-ARM-GB-Hours"),
    ("AWS Lambda - Total Compute - US West (Oregon)-Tier-1", "lambda", "us-west-2",
     "USW2-Lambda-GB-Second"),
    ("AWS Lambda - Total Compute (Provisioned) - US West (Oregon)", "lambda", "us-west-2",
     "USW2-Lambda-Provisioned-GB-Second"),
    ("AWS Lambda - Total Requests - US East (Ohio)", "lambda", "us-east-2", "USE2-Request"),
    ("AWS Lambda - Total Requests - US East (Northern Virginia)", "lambda", "us-east-1",
     "USE1-Request"),
]  # fmt: skip


@pytest.mark.parametrize(("description", "service", "region", "usage_type"), DESCRIPTIONS)
def test_focus_charge_descriptions(
    description: str, service: str, region: str, usage_type: str
) -> None:
    parsed = parse_charge_description(description, service, region)  # type: ignore[arg-type]
    assert parsed == parse_compute_usage_type(usage_type)
    assert isinstance(parsed, ComputeUsageType)
    assert parsed.region == region


@pytest.mark.parametrize(
    ("description", "service", "region", "reason"),
    [
        ("$0.090 per GB - first 10 TB / month data transfer out", "lambda", "us-west-2",
         "data transfer"),
        ("Amazon EKS cluster usage in US East (Ohio)", "fargate", "us-east-2",
         "not Fargate usage"),
        ("AWS Fargate - GPU - US West (Oregon)", "fargate", "us-west-2",
         "unknown Fargate charge description"),
        ("AWS Lambda - Something new", "lambda", "us-west-2",
         "unknown Lambda charge description"),
        ("ml.m5.xlarge training hour", "sagemaker", "us-east-1",
         "SageMaker row without a usage type"),
        ("AWS Lambda - Total Compute - Nowhere", "lambda", "xx-nowhere-1",
         "unknown region prefix"),
        (None, "lambda", "us-east-1", "unknown Lambda charge description"),
    ],
)  # fmt: skip
def test_unknown_charge_descriptions(
    description: str | None, service: str, region: str, reason: str
) -> None:
    parsed = parse_charge_description(description, service, region)  # type: ignore[arg-type]
    assert isinstance(parsed, UnparsedUsageType)
    assert parsed.reason == reason
    assert reason in UNPARSED_REASONS


@pytest.mark.parametrize(
    ("bill_unit", "unit", "matches"),
    [
        ("Hours", "GB-hours", True),  # FOCUS 1.0 sample, Fargate memory
        ("Seconds", "GB-seconds", True),  # FOCUS 1.0 sample, Lambda duration
        ("Lambda-GB-Seconds", "GB-seconds", True),
        ("Lambda-GB-Second", "GB-seconds", True),  # CUR pricing/unit
        ("Requests", "requests", True),
        ("Hrs", "instance-hours", True),
        (None, "vCPU-hours", True),
        ("", "requests", True),
        ("GB", "GB-hours", False),
        ("Requests", "GB-seconds", False),
        ("Bytes", "instance-hours", False),
    ],
)
def test_unit_spellings(bill_unit: str | None, unit: str, matches: bool) -> None:
    assert unit_matches(bill_unit, unit) is matches
