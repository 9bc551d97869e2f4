"""Retry with backoff, paging and access errors of the shared AWS call helpers."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError

from pricing.readers.aws_api import AwsAccessError, call_with_backoff, paginate


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "x"}}, "GetProducts")


class _Flaky:
    """Fails with the given errors first, then returns pages."""

    def __init__(self, errors: list[Exception], pages: list[dict[str, Any]]) -> None:
        self.errors = errors
        self.pages = pages
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **parameters: Any) -> dict[str, Any]:
        self.calls.append(parameters)
        if self.errors:
            raise self.errors.pop(0)
        return self.pages.pop(0)


def test_throttling_is_retried_with_growing_backoff() -> None:
    sleeps: list[float] = []
    operation = _Flaky([_client_error("ThrottlingException")] * 3, [{"ok": True}])
    result = call_with_backoff(
        operation, permission="pricing:GetProducts", sleep=sleeps.append, base_delay_s=1.0
    )
    assert result == {"ok": True}
    assert len(operation.calls) == 4
    assert len(sleeps) == 3
    assert all(0 <= s <= 2**i for i, s in enumerate(sleeps))


def test_gives_up_after_max_attempts() -> None:
    operation = _Flaky([_client_error("Throttling")] * 5, [])
    with pytest.raises(AwsAccessError, match="kept throttling pricing:GetProducts after 5"):
        call_with_backoff(
            operation, permission="pricing:GetProducts", max_attempts=5, sleep=lambda _: None
        )


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (_client_error("AccessDeniedException"), "grant .* 'pricing:GetProducts' permission"),
        (NoCredentialsError(), "no usable AWS credentials"),
        (NoRegionError(), "no AWS region set"),
        (_client_error("ValidationException"), "failed: ValidationException"),
    ],
)
def test_access_problems_are_one_clear_error(error: Exception, message: str) -> None:
    operation = _Flaky([error], [])
    with pytest.raises(AwsAccessError, match=message):
        call_with_backoff(operation, permission="pricing:GetProducts", sleep=lambda _: None)
    assert len(operation.calls) == 1  # not retried


def test_no_region_names_the_region_parameter_not_a_flag() -> None:
    operation = _Flaky([NoRegionError()], [])
    with pytest.raises(AwsAccessError) as error:
        call_with_backoff(operation, permission="athena:StartQueryExecution", sleep=lambda _: None)
    assert error.value.parameters == ("aws_region",)
    assert str(error.value).endswith("set AWS_DEFAULT_REGION or pass `aws_region`")


def test_paginate_follows_tokens() -> None:
    operation = _Flaky(
        [_client_error("ThrottlingException")],
        [{"items": [1], "nextToken": "a"}, {"items": [2], "nextToken": "b"}, {"items": [3]}],
    )
    pages = list(
        paginate(
            operation,
            permission="savingsplans:DescribeSavingsPlansOfferingRates",
            token_in="nextToken",
            token_out="nextToken",
            sleep=lambda _: None,
            maxResults=1,
        )
    )
    assert [p["items"] for p in pages] == [[1], [2], [3]]
    assert [c.get("nextToken") for c in operation.calls] == [None, None, "a", "b"]
    assert all(c["maxResults"] == 1 for c in operation.calls)
