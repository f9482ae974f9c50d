"""Alarm subscriptions: where an account's alarms go, managed through the gate.

Two protocols:

* ``webhook`` — an HTTPS URL (``http://`` on a loopback host only when the development setting
  allows it); every delivery is signed with HMAC-SHA256 under a secret derived from the
  platform root key and the subscription id, shown once at creation and never stored;
* ``email`` — an address; the message goes through the identity mail sender (the user pool's
  outbox, or SMTP).

A subscription may name the detectors it wants; none means every detector.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from sqlalchemy import select

from lakevault.core import parse_account_id
from lakevault.core.errors import InvalidParameterValue, LimitExceeded, NoSuchEntity
from lakevault.db import Database, models
from lakevault.directory import CallContext
from lakevault.kms import PlatformRootKey
from lakevault.trail import _names as names
from lakevault.trail._core import TrailCore
from lakevault.trail._detectors import Detector

#: ``PlatformRootKey.derive_secret`` purpose of webhook signing secrets.
WEBHOOK_SECRET_PURPOSE = "audit-alarm-webhook"  # noqa: S105 - a derivation label
MAX_SUBSCRIPTIONS_PER_ACCOUNT = 20
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
_LOOPBACK_NAMES = frozenset({"localhost"})


class AlarmProtocol(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmSubscription:
    subscription_id: str
    account_id: str
    protocol: AlarmProtocol
    endpoint: str
    detectors: tuple[Detector, ...]
    created_at: datetime

    @property
    def arn(self) -> str:
        return names.subscription_arn(self.account_id, self.subscription_id)

    def wants(self, detector: Detector) -> bool:
        return not self.detectors or detector in self.detectors


@dataclass(frozen=True, slots=True, kw_only=True)
class CreatedSubscription:
    """A new subscription; ``signing_secret`` (webhooks) is shown this once, never again."""

    subscription: AlarmSubscription
    signing_secret: str | None


def webhook_secret(root_key: PlatformRootKey, subscription_id: str) -> str:
    """The HMAC key of a webhook subscription (derived, so the database holds no secret)."""
    return root_key.derive_secret(purpose=WEBHOOK_SECRET_PURPOSE, identifier=subscription_id)


def check_webhook_url(url: str, *, allow_http_loopback: bool) -> None:
    """Refuse a webhook URL that is not https (or allowed loopback http) or points nowhere safe.

    Link-local, multicast and unspecified addresses are refused (cloud metadata endpoints live
    at link-local addresses). Redirects are never followed at delivery.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host or parts.username or parts.password:
        raise InvalidParameterValue(
            "endpoint must be an absolute https:// URL without credentials, for example "
            "https://hooks.example.com/lakevault"
        )
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    is_loopback = host in _LOOPBACK_NAMES or (address is not None and address.is_loopback)
    if parts.scheme == "http" and not (allow_http_loopback and is_loopback):
        raise InvalidParameterValue(
            "endpoint must use https; http:// is accepted only on a loopback host with the "
            "setting audit_alarm_webhook_allow_http_loopback (development)"
        )
    if parts.scheme not in ("http", "https"):
        raise InvalidParameterValue(f"endpoint must be an https:// URL, not {parts.scheme}:")
    if address is not None and (
        address.is_link_local or address.is_multicast or address.is_unspecified
    ):
        raise InvalidParameterValue(
            "endpoint must not be a link-local, multicast or unspecified address"
        )


class AlarmSubscriptions:
    """Create, list and delete an account's alarm subscriptions, each decided by the gate."""

    def __init__(
        self,
        core: TrailCore,
        *,
        root_key: Callable[[], PlatformRootKey],
        allow_http_loopback: bool,
    ) -> None:
        self._core = core
        self._root_key = root_key
        self._allow_http_loopback = allow_http_loopback

    def create(
        self,
        call: CallContext,
        account_id: str,
        *,
        protocol: AlarmProtocol,
        endpoint: str,
        detectors: Sequence[Detector] = (),
    ) -> CreatedSubscription:
        """Subscribe ``endpoint`` (``lakevault:CreateAuditAlarmSubscription``)."""
        account_id = parse_account_id(account_id)
        if protocol is AlarmProtocol.WEBHOOK:
            check_webhook_url(endpoint, allow_http_loopback=self._allow_http_loopback)
        elif not _EMAIL.match(endpoint):
            raise InvalidParameterValue(
                "endpoint of an email subscription is one address, for example security@example.com"
            )
        wanted = tuple(sorted(set(detectors)))
        # A webhook URL may carry a secret in its path or query (many chat services work that
        # way), so the log records only its host; an email address is recorded as given.
        parameters = {
            "protocol": protocol.value,
            "endpoint": urlsplit(endpoint).hostname
            if protocol is AlarmProtocol.WEBHOOK
            else endpoint,
            "detectors": [d.value for d in wanted],
        }
        self._core.authorize(
            call,
            names.CREATE_ALARM_SUBSCRIPTION,
            account_id,
            parameters=parameters,
            read_only=False,
        )
        subscription_id = "LVAS" + self._core.random.token_bytes(10).hex().upper()
        now = self._core.clock.now()
        with self._core.database.session() as session:
            existing = session.scalars(
                select(models.AuditAlarmSubscription.subscription_id).where(
                    models.AuditAlarmSubscription.account_id == account_id
                )
            ).all()
            if len(existing) >= MAX_SUBSCRIPTIONS_PER_ACCOUNT:
                raise LimitExceeded(
                    f"account {account_id} has {len(existing)} alarm subscriptions, the most "
                    "allowed; delete one first"
                )
            session.add(
                models.AuditAlarmSubscription(
                    subscription_id=subscription_id,
                    account_id=account_id,
                    protocol=protocol.value,
                    endpoint=endpoint,
                    detectors=[d.value for d in wanted],
                    created_at=now,
                )
            )
            self._core.record_change(
                session,
                call,
                names.CREATE_ALARM_SUBSCRIPTION,
                account_id,
                resource=names.subscription_arn(account_id, subscription_id),
                resource_type=names.SUBSCRIPTION_RESOURCE_TYPE,
                parameters=parameters,
                elements={"subscriptionId": subscription_id},
            )
        subscription = AlarmSubscription(
            subscription_id=subscription_id,
            account_id=account_id,
            protocol=protocol,
            endpoint=endpoint,
            detectors=wanted,
            created_at=now,
        )
        secret = (
            webhook_secret(self._root_key(), subscription_id)
            if protocol is AlarmProtocol.WEBHOOK
            else None
        )
        return CreatedSubscription(subscription=subscription, signing_secret=secret)

    def list(self, call: CallContext, account_id: str) -> list[AlarmSubscription]:
        """The account's subscriptions (``lakevault:ListAuditAlarmSubscriptions``)."""
        self._core.authorize(call, names.LIST_ALARM_SUBSCRIPTIONS, account_id, parameters=None)
        return subscriptions_of(self._core.database, account_id)

    def delete(self, call: CallContext, account_id: str, subscription_id: str) -> None:
        """Delete one subscription; its pending deliveries are dropped with it."""
        arn = names.subscription_arn(parse_account_id(account_id), subscription_id)
        self._core.authorize(
            call,
            names.DELETE_ALARM_SUBSCRIPTION,
            account_id,
            parameters={"subscriptionId": subscription_id},
            read_only=False,
            resource=arn,
            resource_type=names.SUBSCRIPTION_RESOURCE_TYPE,
        )
        with self._core.database.session() as session:
            row = session.get(models.AuditAlarmSubscription, subscription_id)
            if row is None or row.account_id != account_id:
                raise NoSuchEntity(
                    f"account {account_id} has no alarm subscription {subscription_id}"
                )
            session.delete(row)
            self._core.record_change(
                session,
                call,
                names.DELETE_ALARM_SUBSCRIPTION,
                account_id,
                resource=arn,
                resource_type=names.SUBSCRIPTION_RESOURCE_TYPE,
                parameters={"subscriptionId": subscription_id},
            )


def subscriptions_of(database: Database, account_id: str) -> list[AlarmSubscription]:
    with database.read_session() as session:
        rows = session.scalars(
            select(models.AuditAlarmSubscription)
            .where(models.AuditAlarmSubscription.account_id == account_id)
            .order_by(models.AuditAlarmSubscription.created_at)
        ).all()
        return [_subscription(row) for row in rows]


def _subscription(row: models.AuditAlarmSubscription) -> AlarmSubscription:
    return AlarmSubscription(
        subscription_id=row.subscription_id,
        account_id=row.account_id,
        protocol=AlarmProtocol(row.protocol),
        endpoint=row.endpoint,
        detectors=tuple(Detector(d) for d in row.detectors),
        created_at=row.created_at,
    )
