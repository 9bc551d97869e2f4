"""Identities: the STS caller (stubbed, no network), the OS fallback, matching, storing."""

from __future__ import annotations

import json
import socket
from typing import Any

import boto3
import pytest

from commitopt import identity as identity_module
from commitopt.identity import (
    AWS,
    OS,
    Identity,
    current_identity,
    parse_arn,
    visible,
)
from tests.commitopt.identities import (
    ACCOUNT,
    ANN_SESSION,
    BOB_USER,
    FINANCE_ROLE,
    T0,
    as_os_user,
    aws_caller,
    caller,
    isolated_aws,
    person,
    stubbed_sts,
)

__all__ = ["isolated_aws"]


def test_the_sts_caller_is_the_identity(isolated_aws: None) -> None:
    client, stubber = stubbed_sts(caller(ANN_SESSION))
    found = current_identity(client=client, now=T0)
    stubber.assert_no_pending_responses()
    assert (found.kind, found.principal, found.account_id) == (AWS, ANN_SESSION, ACCOUNT)
    assert found.user_id == "AROAEXAMPLE:ann" and found.aws_error is None
    assert found.os_user and found.host == socket.gethostname() and found.at == T0
    assert found.name == "ann" and found.display_name == f"Finance/ann (aws {ACCOUNT})"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("ExpiredToken", "The security token included in the request is expired"),
        ("AccessDenied", "not authorized to perform sts:GetCallerIdentity"),
    ],
)
def test_a_failed_sts_call_falls_back_to_the_os_user_and_says_why(
    isolated_aws: None, monkeypatch: pytest.MonkeyPatch, code: str, message: str
) -> None:
    as_os_user(monkeypatch, "ann")
    client, _ = stubbed_sts((code, message))
    found = current_identity(client=client, now=T0)
    assert (found.kind, found.principal, found.os_user) == (OS, "ann", "ann")
    assert found.aws_error == f"sts:GetCallerIdentity refused: {code}: {message}"


def test_an_unreachable_sts_falls_back(isolated_aws: None) -> None:
    class Offline:
        def get_caller_identity(self) -> dict[str, Any]:
            from botocore.exceptions import EndpointConnectionError

            raise EndpointConnectionError(endpoint_url="https://sts.us-east-1.amazonaws.com/")

    found = current_identity(client=Offline(), now=T0)
    assert found.kind == OS and found.aws_error is not None
    assert found.aws_error.startswith("sts:GetCallerIdentity failed: EndpointConnectionError")


def test_without_credentials_the_os_user_is_asked_and_aws_is_not(
    isolated_aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_os_user(monkeypatch, "ann")
    assert boto3.Session().get_credentials() is None

    def no_sts(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("no credentials: STS must not be asked")

    monkeypatch.setattr(identity_module, "sts_client", no_sts)
    found = current_identity(now=T0)
    assert found == person("ann", socket.gethostname())
    assert found.aws_error is None


def test_credentials_are_never_stored(isolated_aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """With credentials in the session and STS refusing them, neither the key id nor the
    secret appears in what is stored."""
    client, _ = stubbed_sts(("InvalidClientTokenId", "The security token is invalid."))
    session = boto3.Session(
        aws_access_key_id="AKIASECRETKEYID00000",
        aws_secret_access_key="very-secret-value",
        region_name="us-east-1",
    )
    monkeypatch.setattr(identity_module, "sts_client", lambda _session: client)
    found = current_identity(session)
    stored = found.to_json()
    assert found.kind == OS and "InvalidClientTokenId" in (found.aws_error or "")
    assert "AKIASECRETKEYID00000" not in stored and "very-secret-value" not in stored


def test_the_sts_answer_is_asked_once_per_command(
    isolated_aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside one click command STS is asked once; each command asks afresh; outside a
    command nothing is kept (no module state to reset between tests)."""
    import click

    calls: list[object] = []
    answer = identity_module._AwsAnswer(arn=BOB_USER, account_id=ACCOUNT, user_id="AIDABOB")

    def resolve(session: object, client: object) -> identity_module._AwsAnswer:
        calls.append((session, client))
        return answer

    monkeypatch.setattr(identity_module, "_resolve", resolve)
    with click.Context(click.Command("one")):
        first, second = current_identity(), current_identity()
    assert len(calls) == 1 and first.principal == second.principal == BOB_USER
    assert first.name == "bob" and first.display_name == f"bob (aws {ACCOUNT})"
    with click.Context(click.Command("two")):
        current_identity()
    assert len(calls) == 2
    current_identity()
    current_identity()
    assert len(calls) == 4


def test_arn_entries_match_the_caller_and_roles_match_their_sessions() -> None:
    ann = aws_caller(ANN_SESSION)
    assert ann.matches(ANN_SESSION)
    assert ann.matches(FINANCE_ROLE)
    assert ann.matches(f"arn:aws:iam::{ACCOUNT}:role/teams/finance/Finance")  # a role's path
    assert not ann.matches("arn:aws:iam::999999999999:role/Finance")  # another account
    assert not ann.matches(f"arn:aws:iam::{ACCOUNT}:role/FinanceAdmin")
    assert not ann.matches(f"arn:aws-cn:iam::{ACCOUNT}:role/Finance")  # another partition
    assert not ann.matches(f"arn:aws:iam::{ACCOUNT}:user/ann")
    assert ann.matches("ANN") and not ann.matches("Finance")  # the session name, any case
    bob = aws_caller(BOB_USER, os_user="bob")
    assert bob.matches(BOB_USER) and bob.matches("bob") and not bob.matches(FINANCE_ROLE)
    # an OS identity is never an ARN, and a plain name matches its OS user
    assert not person("ann").matches(ANN_SESSION) and person("ann").matches("Ann")
    assert not person("ann").matches("") and not person("ann").matches("ann@desk-1")


def test_same_principal() -> None:
    assert aws_caller(ANN_SESSION).same_principal(aws_caller(ANN_SESSION, host="other"))
    assert not aws_caller(ANN_SESSION).same_principal(aws_caller(BOB_USER))
    assert person("ann").same_principal(person("ann"))
    assert not person("ann").same_principal(person("ann", "desk-2"))
    # an AWS identity and an OS one: the same OS user on the same host is the same person
    assert aws_caller(ANN_SESSION).same_principal(person("ann"))
    assert not aws_caller(ANN_SESSION).same_principal(person("bob"))


def test_stored_identities_round_trip_and_null_means_unknown() -> None:
    ann = aws_caller(ANN_SESSION)
    assert Identity.from_mapping(ann.as_mapping()) == ann
    assert Identity.from_mapping(ann.to_json()) == ann
    assert json.loads(ann.to_json())["at"] == "2026-11-23T09:00:00Z"
    assert Identity.from_mapping(None) is None  # rows written before identities were
    assert Identity.from_mapping("not json") is None
    assert Identity.from_mapping({"kind": "os"}) is None


def test_parse_arn() -> None:
    parsed = parse_arn(ANN_SESSION)
    assert parsed is not None
    assert (parsed.service, parsed.resource_type, parsed.path) == (
        "sts",
        "assumed-role",
        ("Finance", "ann"),
    )
    assert parse_arn("arn:aws:s3:::bucket") is None and parse_arn("ann") is None
    root = parse_arn(f"arn:aws:iam::{ACCOUNT}:root")
    assert root is not None and root.name == "root"


def test_visible_makes_control_characters_readable() -> None:
    assert visible("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m"
    assert visible("a\nb\tc\u202ed") == "a\\nb\\tc\\u202ed"
    assert visible(visible("\x1b]8;;")) == visible("\x1b]8;;") == "\\x1b]8;;"  # idempotent
    assert visible("[bold]ok[/] é") == "[bold]ok[/] é"
