"""Identities for tests: people at hosts, AWS callers answered by a stubbed STS, no network.

``isolated_aws`` clears every ``AWS_*`` variable and points boto3 at no configuration, no
credentials file and no instance metadata, so boto3 finds no credentials and nothing is asked of
AWS; ``as_os_user`` makes the OS user (what :func:`getpass.getuser` reads) someone else.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from commitopt.identity import AWS, OS, Identity, sts_client

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

ACCOUNT = "123456789012"
FINANCE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/Finance"
ANN_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/Finance/ann"
BOB_USER = f"arn:aws:iam::{ACCOUNT}:user/bob"


def person(name: str, host: str = "desk-1") -> Identity:
    """An OS identity: ``name`` at ``host``."""
    return Identity(kind=OS, principal=name, os_user=name, host=host, at=T0)


def aws_caller(arn: str, *, os_user: str = "ann", host: str = "desk-1") -> Identity:
    """An AWS identity of the caller ARN."""
    return Identity(
        kind=AWS,
        principal=arn,
        os_user=os_user,
        host=host,
        at=T0,
        account_id=ACCOUNT,
        user_id="AROAEXAMPLE:ann",
    )


PLANNER = person("planner", "cron-host")
ANN = person("ann")
BOB = person("bob")
EVE = person("eve")


def stubbed_sts(*answers: dict[str, Any] | tuple[str, str]) -> tuple[Any, Stubber]:
    """An STS client answering ``get_caller_identity`` with each answer in turn: a dict is a
    response, ``(code, message)`` an error. Its credentials are fake; nothing leaves."""
    session = boto3.Session(
        aws_access_key_id="AKIAFAKEFAKEFAKEFAKE",
        aws_secret_access_key="fake-secret-never-stored",
        region_name="us-east-1",
    )
    client = sts_client(session)
    stubber = Stubber(client)
    for answer in answers:
        if isinstance(answer, tuple):
            stubber.add_client_error("get_caller_identity", answer[0], answer[1])
        else:
            stubber.add_response("get_caller_identity", answer, {})
    stubber.activate()
    return client, stubber


def caller(arn: str, user_id: str = "AROAEXAMPLE:ann") -> dict[str, str]:
    """A ``get_caller_identity`` response."""
    return {"UserId": user_id, "Account": ACCOUNT, "Arn": arn}


@pytest.fixture
def isolated_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No AWS credentials anywhere boto3 looks."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield


def as_os_user(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Make ``getpass.getuser()`` (and so the OS identity) answer ``name``."""
    for variable in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(variable, name)


def os_user_env(name: str) -> dict[str, str]:
    """Environment variables that make a subprocess's OS user ``name``."""
    return {variable: name for variable in ("LOGNAME", "USER", "LNAME", "USERNAME")}


def without_sts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever credentials the environment holds (fake ones, in purchase tests), never ask
    STS: every identity is the OS user's."""
    from commitopt import identity

    monkeypatch.setattr(identity, "_resolve", lambda _session, _client: identity._AwsAnswer())
