"""Calling AWS APIs through boto3: paging, retry with backoff on throttling, clear access errors.

Credentials come from boto3's standard chain (environment, shared config and credentials files,
SSO, instance / container roles); nothing here reads, logs or stores them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    TokenRetrievalError,
)

from core.errors import CommitoptEnvironmentError, param

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "LimitExceededException",
        "RequestLimitExceeded",
        "SlowDown",
        "ServiceUnavailable",
        "InternalError",
        "InternalServerError",
    }
)
ACCESS_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "AuthFailure",
        "SignatureDoesNotMatch",
    }
)


class AwsAccessError(CommitoptEnvironmentError):
    """Missing credentials, missing permission, or an AWS endpoint that cannot be reached (the
    environment: the CLI exits with code 3)."""


def call_with_backoff(
    operation: Callable[..., dict[str, Any]],
    *,
    permission: str,
    max_attempts: int = 8,
    base_delay_s: float = 0.5,
    max_delay_s: float = 20.0,
    sleep: Callable[[float], None] = time.sleep,
    **parameters: Any,
) -> dict[str, Any]:
    """Call one boto3 operation, retrying throttling with exponential backoff and full jitter.

    Parameters
    ----------
    operation
        A bound client method, e.g. ``client.get_products``.
    permission
        The IAM action it needs (``"pricing:GetProducts"``), named in the error when it is denied.
    max_attempts
        Attempts in all before giving up on throttling.
    base_delay_s, max_delay_s
        Backoff: attempt *n* waits a random time up to ``min(max, base × 2**n)`` [s].
    sleep
        Injected for tests.

    Raises
    ------
    AwsAccessError
        Credentials missing or expired, permission denied, endpoint unreachable, or still throttled
        after ``max_attempts``.
    """
    for attempt in range(max_attempts):
        try:
            return operation(**parameters)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in ACCESS_CODES:
                raise AwsAccessError(
                    f"AWS denied {permission} ({code}); grant the caller's IAM role or user the "
                    f"'{permission}' permission, or check the credentials boto3 found"
                ) from error
            if code not in THROTTLING_CODES:
                raise AwsAccessError(f"AWS call {permission} failed: {code or error}") from error
            if attempt == max_attempts - 1:
                raise AwsAccessError(
                    f"AWS kept throttling {permission} after {max_attempts} attempts; "
                    "try again later or narrow the request (fewer regions or types)"
                ) from error
            sleep(random.uniform(0.0, min(max_delay_s, base_delay_s * 2**attempt)))
        except (NoCredentialsError, PartialCredentialsError, TokenRetrievalError) as error:
            raise AwsAccessError(
                f"no usable AWS credentials for {permission}: configure them the standard way "
                "(aws configure, AWS_PROFILE, SSO login, or an instance role)"
            ) from error
        except NoRegionError as error:
            raise AwsAccessError(
                f"no AWS region set for {permission}; set AWS_DEFAULT_REGION or pass "
                f"{param('aws_region')}"
            ) from error
        except EndpointConnectionError as error:
            raise AwsAccessError(
                f"cannot reach the AWS endpoint for {permission} ({error}); check the network"
            ) from error
    raise AssertionError("unreachable")  # pragma: no cover


def paginate(
    operation: Callable[..., dict[str, Any]],
    *,
    permission: str,
    token_in: str = "NextToken",
    token_out: str = "NextToken",
    sleep: Callable[[float], None] = time.sleep,
    **parameters: Any,
) -> Iterator[dict[str, Any]]:
    """Yield every page of a token-paged AWS operation, each page fetched with backoff.

    Parameters
    ----------
    token_in, token_out
        Request and response names of the paging token (``NextToken`` / ``nextToken``).
    """
    token: str | None = None
    while True:
        request = dict(parameters)
        if token:
            request[token_in] = token
        page = call_with_backoff(operation, permission=permission, sleep=sleep, **request)
        yield page
        token = page.get(token_out)
        if not token:
            return
