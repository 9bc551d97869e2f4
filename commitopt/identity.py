"""Who did it: the identity recorded with every run, plan, decision and purchase.

The identity is the AWS caller identity (``sts:GetCallerIdentity``) when boto3's standard
credential chain finds credentials, else the operating-system user; host and time are recorded
in both cases. Looking the identity up never fails a command: when the STS call fails (no
network, access denied, expired token) the OS identity is used and the reason is kept in
:attr:`Identity.aws_error`.

Credentials are never read here beyond asking boto3 whether it has any; nothing of them is
logged or stored. The STS answer (account, ARN, user id) is asked once per command: it is kept
in the running click command's context, never in module state.

Matching an identity against a configured list (``approvers``, ``self_approval`` in
``commitopt.toml``, see :meth:`Identity.matches`):

- an ARN entry matches the caller ARN exactly; an IAM role ARN
  (``arn:aws:iam::123456789012:role/Finance``, any path) also matches a session of that role
  (``arn:aws:sts::123456789012:assumed-role/Finance/ann``);
- a plain name matches the OS user name (OS identity) or the IAM user name, role-session name or
  federated-user name (AWS identity), ignoring case.

Two identities are the same principal (:meth:`Identity.same_principal`) when both are AWS
identities with the same ARN, or, when either is an OS identity, when both have the same OS user
on the same host.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

from core.times import utc_datetime

AWS: Final = "aws"
"""Identity kind: the AWS caller identity (an ARN)."""

OS: Final = "os"
"""Identity kind: the operating-system user (no usable AWS credentials)."""

STS_CONNECT_TIMEOUT_S: Final = 3.0
"""Connect timeout of the one ``sts:GetCallerIdentity`` call [s]."""

STS_READ_TIMEOUT_S: Final = 5.0
"""Read timeout of the one ``sts:GetCallerIdentity`` call [s]."""

AWS_ERROR_LIMIT: Final = 300
"""Longest ``aws_error`` text kept [characters]."""


@dataclass(frozen=True)
class Arn:
    """The parts of an ARN that identity matching needs.

    Attributes
    ----------
    partition, service, account_id
        ``aws``, ``iam`` or ``sts``, the 12-digit account.
    resource_type
        ``user``, ``role``, ``assumed-role``, ``federated-user``, ``root``, ...
    path
        The resource's parts after its type (``("Finance", "ann")`` for an assumed role).
    """

    partition: str
    service: str
    account_id: str
    resource_type: str
    path: tuple[str, ...]

    @property
    def name(self) -> str:
        """The resource's last name: an IAM user or role name, a session or federated name."""
        return self.path[-1] if self.path else self.resource_type


def parse_arn(text: str) -> Arn | None:
    """The parts of an IAM or STS principal ARN, or ``None`` when ``text`` is not one."""
    parts = text.strip().split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] not in ("iam", "sts"):
        return None
    _, partition, service, _region, account, resource = parts
    if not partition or not account or not resource:
        return None
    pieces = resource.split("/")
    return Arn(partition, service, account, pieces[0], tuple(p for p in pieces[1:] if p))


def visible(text: str) -> str:
    """``text`` with every non-printable character shown as an escape (``\\x1b``, ``\\n``,
    ``\\u202e``), so terminal control sequences stay inert. Idempotent: its output is all
    printable, so showing a shown text again changes nothing."""
    out: list[str] = []
    for char in text:
        if char.isprintable():
            out.append(char)
        elif char in "\n\t\r":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[char])
        elif ord(char) < 0x100:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return "".join(out)


def _clean_name(value: str) -> str:
    """A name from the environment with surrounding space removed (kept otherwise as given:
    printing makes control characters visible, see :func:`visible`)."""
    return value.strip()


@dataclass(frozen=True)
class Identity:
    """Who did something, where and when.

    Attributes
    ----------
    kind
        ``"aws"`` (the STS caller identity) or ``"os"`` (the operating-system user).
    principal
        The caller ARN (aws) or the OS user name (os).
    os_user
        The operating-system user (both kinds).
    host
        The host name (both kinds).
    at
        When the identity was taken (UTC).
    account_id
        The AWS account (aws only).
    user_id
        STS's ``UserId`` (``AIDA…`` for a user, ``AROA…:session`` for a role session; aws only).
    aws_error
        Why the AWS identity could not be used (os only, when credentials were found but the
        STS call failed, or reading the credentials failed).
    """

    kind: str
    principal: str
    os_user: str
    host: str
    at: datetime
    account_id: str | None = None
    user_id: str | None = None
    aws_error: str | None = None

    @property
    def arn(self) -> Arn | None:
        """The parsed caller ARN (aws only)."""
        return parse_arn(self.principal) if self.kind == AWS else None

    @property
    def name(self) -> str:
        """The plain name that configured names match: the OS user (os); the IAM user,
        role-session or federated-user name (aws; ``root`` for the account's root user)."""
        arn = self.arn
        if self.kind != AWS or arn is None:
            return self.os_user if self.kind == OS else self.principal
        return arn.name

    @property
    def display_name(self) -> str:
        """A short name for people: ``ann@build-host`` (os), ``Finance/ann (aws 123456789012)``
        (a role session), ``ann (aws 123456789012)`` (an IAM user)."""
        if self.kind != AWS:
            return f"{self.os_user}@{self.host}" if self.host else self.os_user
        arn = self.arn
        short = self.principal
        if arn is not None:
            short = "/".join(arn.path[-2:]) if arn.resource_type == "assumed-role" else arn.name
        account = self.account_id or (arn.account_id if arn else "")
        return f"{short} (aws {account})" if account else short

    def matches(self, entry: str) -> bool:
        """Whether a configured ``approvers`` / ``self_approval`` entry names this identity
        (see the module docstring)."""
        wanted_text = entry.strip()
        if not wanted_text:
            return False
        if wanted_text.startswith("arn:"):
            if self.kind != AWS:
                return False
            if wanted_text == self.principal:
                return True
            wanted, mine = parse_arn(wanted_text), self.arn
            return (
                wanted is not None
                and mine is not None
                and wanted.service == "iam"
                and wanted.resource_type == "role"
                and bool(wanted.path)
                and mine.service == "sts"
                and mine.resource_type == "assumed-role"
                and len(mine.path) >= 1
                and (wanted.partition, wanted.account_id, wanted.name)
                == (mine.partition, mine.account_id, mine.path[0])
            )
        return bool(self.name) and self.name.casefold() == wanted_text.casefold()

    def same_principal(self, other: Identity) -> bool:
        """Whether ``other`` is the same principal: the same ARN when both are AWS identities,
        else the same OS user on the same host."""
        if self.kind == AWS and other.kind == AWS:
            return self.principal == other.principal
        return (self.os_user, self.host.casefold()) == (other.os_user, other.host.casefold())

    def as_mapping(self) -> dict[str, Any]:
        """The identity as JSON-able fields (what the workspace stores)."""
        return {
            "kind": self.kind,
            "principal": self.principal,
            "account_id": self.account_id,
            "user_id": self.user_id,
            "os_user": self.os_user,
            "host": self.host,
            "at": self.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "aws_error": self.aws_error,
        }

    def to_json(self) -> str:
        """:meth:`as_mapping` as JSON text (sorted keys)."""
        return json.dumps(self.as_mapping(), sort_keys=True)

    @classmethod
    def from_mapping(cls, value: Mapping[str, Any] | str | None) -> Identity | None:
        """An identity from :meth:`as_mapping` (or its JSON text); ``None`` for ``None`` (rows
        written before identities were recorded) or for text that is not an identity."""
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                return None
        if not isinstance(value, Mapping) or not value.get("principal"):
            return None
        try:
            at = utc_datetime(
                datetime.fromisoformat(str(value.get("at", "")).replace("Z", "+00:00"))
            )
        except ValueError:
            at = datetime(1970, 1, 1, tzinfo=UTC)

        def text(key: str) -> str | None:
            item = value.get(key)
            return None if item is None else str(item)

        return cls(
            kind=str(value.get("kind") or OS),
            principal=str(value["principal"]),
            os_user=str(value.get("os_user") or ""),
            host=str(value.get("host") or ""),
            at=at,
            account_id=text("account_id"),
            user_id=text("user_id"),
            aws_error=text("aws_error"),
        )


@dataclass(frozen=True)
class _AwsAnswer:
    """What STS said (or why it could not be asked)."""

    arn: str | None = None
    account_id: str | None = None
    user_id: str | None = None
    error: str | None = None


IDENTITY_META_KEY: Final = "commitopt.identity.sts_answer"
"""Where the running click command keeps its STS answer (``click.Context.meta``)."""


def _command_meta() -> dict[str, Any] | None:
    """The running click command's shared ``meta`` dict, or ``None`` outside a command."""
    import click

    context = click.get_current_context(silent=True)
    return None if context is None else context.meta


def os_user() -> str:
    """The operating-system user name (``getpass.getuser``; ``unknown`` when there is none)."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError, ImportError):
        name = os.environ.get("USER", "")
    return _clean_name(name) or "unknown"


def host_name() -> str:
    """This machine's host name (``unknown`` when there is none)."""
    return _clean_name(socket.gethostname()) or "unknown"


def os_identity(*, now: datetime | None = None, aws_error: str | None = None) -> Identity:
    """The operating-system identity: user, host and time (no AWS call)."""
    user = os_user()
    return Identity(
        kind=OS,
        principal=user,
        os_user=user,
        host=host_name(),
        at=utc_datetime(now or datetime.now(UTC)),
        aws_error=aws_error,
    )


def _short(text: str) -> str:
    return " ".join(text.split())[:AWS_ERROR_LIMIT]


def _ask_sts(client: Any) -> _AwsAnswer:
    """One ``sts:GetCallerIdentity`` call; failures become an answer with an error."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = client.get_caller_identity()
    except ClientError as error:
        detail = error.response.get("Error", {})
        code = detail.get("Code", "error")
        return _AwsAnswer(
            error=_short(f"sts:GetCallerIdentity refused: {code}: {detail.get('Message', '')}")
        )
    except BotoCoreError as error:
        return _AwsAnswer(
            error=_short(f"sts:GetCallerIdentity failed: {type(error).__name__}: {error}")
        )
    except Exception as error:  # never fail a command for want of an identity
        return _AwsAnswer(error=_short(f"sts:GetCallerIdentity failed: {type(error).__name__}"))
    arn = answer.get("Arn") if isinstance(answer, Mapping) else None
    if not arn:
        return _AwsAnswer(error="sts:GetCallerIdentity returned no Arn")
    return _AwsAnswer(
        arn=str(arn),
        account_id=None if answer.get("Account") is None else str(answer["Account"]),
        user_id=None if answer.get("UserId") is None else str(answer["UserId"]),
    )


def sts_client(session: Any) -> Any:
    """An STS client of ``session`` with short timeouts and a single attempt."""
    from botocore.config import Config

    config = Config(
        connect_timeout=STS_CONNECT_TIMEOUT_S,
        read_timeout=STS_READ_TIMEOUT_S,
        retries={"total_max_attempts": 1, "mode": "standard"},
    )
    return session.client("sts", region_name=session.region_name or "us-east-1", config=config)


def _resolve(session: Any | None, client: Any | None) -> _AwsAnswer:
    """Ask STS who the credentials belong to, if boto3 finds any."""
    if client is None:
        try:
            import boto3

            active = session if session is not None else boto3.Session()
            credentials = active.get_credentials()
        except Exception as error:  # a broken profile or credential process: OS identity
            return _AwsAnswer(
                error=_short(f"cannot read the AWS credentials: {type(error).__name__}: {error}")
            )
        if credentials is None:
            return _AwsAnswer()
        try:
            client = sts_client(active)
        except Exception as error:
            return _AwsAnswer(error=_short(f"cannot make an STS client: {type(error).__name__}"))
    return _ask_sts(client)


def current_identity(
    session: Any | None = None,
    *,
    client: Any | None = None,
    now: datetime | None = None,
) -> Identity:
    """Who is running this command.

    Parameters
    ----------
    session
        A ``boto3.Session`` (e.g. of ``--profile``); default: boto3's standard credential chain.
    client
        An STS client to ask (tests inject a stubbed one); default: one made from the session,
        when it has credentials.
    now
        The identity's time [default: now, UTC].

    Returns
    -------
    Identity
        The AWS caller identity when credentials are found and STS answers; else the OS
        identity (with :attr:`Identity.aws_error` when the AWS identity could not be had).
        Never raises for want of an identity. With neither ``session`` nor ``client`` given,
        inside a click command, STS is asked once per command.
    """
    meta = _command_meta() if session is None and client is None else None
    answer = meta.get(IDENTITY_META_KEY) if meta is not None else None
    if answer is None:
        answer = _resolve(session, client)
        if meta is not None:
            meta[IDENTITY_META_KEY] = answer
    moment = utc_datetime(now or datetime.now(UTC))
    if answer.arn is None:
        return os_identity(now=moment, aws_error=answer.error)
    base = os_identity(now=moment)
    return replace(
        base,
        kind=AWS,
        principal=answer.arn,
        account_id=answer.account_id,
        user_id=answer.user_id,
    )


__all__ = [
    "AWS",
    "OS",
    "Arn",
    "Identity",
    "current_identity",
    "host_name",
    "os_identity",
    "os_user",
    "parse_arn",
    "sts_client",
    "visible",
]
