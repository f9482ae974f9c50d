"""Delivering an alarm to its subscriptions: signed webhooks and mail, through the job queue.

When the scanner raises an alarm it writes one ``audit_alarm_deliveries`` row per webhook
subscription and enqueues :data:`DELIVER_ALARM_TASK` with the row's id, in the transaction that
records the alarm: a delivery exists exactly when its alarm does. Mail goes the same way through
the identity mail sender (its own table and delivery task). A failing receiver fails the job,
which the queue retries with backoff.

A webhook request is ``POST`` with the alarm event as its JSON body and::

    X-Lakevault-Delivery: <delivery id>
    X-Lakevault-Timestamp: <unix seconds>
    X-Lakevault-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>

The receiver recomputes the HMAC with the secret it was given at subscription, compares in
constant time and rejects old timestamps (replay). Redirects are not followed.
"""

from __future__ import annotations

import hmac
import http.client
import ipaddress
import socket
import ssl
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from lakevault import identity
from lakevault.core import RandomSource
from lakevault.core.errors import ServiceUnavailable
from lakevault.db import Database, models
from lakevault.jobs import RetryPolicy, TaskContext, TaskDefinition
from lakevault.kms import PlatformRootKey
from lakevault.trail._detectors import Detector
from lakevault.trail._subscriptions import AlarmProtocol, AlarmSubscription, webhook_secret

DELIVER_ALARM_TASK = "audit.alarm.deliver"
SIGNATURE_HEADER = "X-Lakevault-Signature"
TIMESTAMP_HEADER = "X-Lakevault-Timestamp"
DELIVERY_HEADER = "X-Lakevault-Delivery"

#: ``JobQueue.enqueue``.
Enqueue = Callable[..., Any]


class DeliverAlarm(BaseModel):
    """Payload of :data:`DELIVER_ALARM_TASK`: which delivery (the body stays in its row)."""

    delivery_id: str = Field(min_length=1, max_length=32)


def sign_webhook(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Lakevault-Signature`` value of a delivery."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, "sha256")
    return "sha256=" + mac.hexdigest()


def enqueue_deliveries(
    session: Session,
    enqueue: Enqueue,
    *,
    subscriptions: list[AlarmSubscription],
    detector: Detector,
    alarm: Mapping[str, Any],
    now: datetime,
    random: RandomSource,
) -> int:
    """Queue the alarm for every subscription that wants ``detector``; return how many."""
    body = orjson.dumps(alarm, option=orjson.OPT_SORT_KEYS).decode("utf-8")
    queued = 0
    for subscription in subscriptions:
        if not subscription.wants(detector):
            continue
        if subscription.protocol is AlarmProtocol.EMAIL:
            identity.queue_mail(
                session,
                enqueue,
                account_id=subscription.account_id,
                recipient=subscription.endpoint,
                subject=f"lakevault alarm: {detector.value} in account {subscription.account_id}",
                body=_mail_body(alarm),
                now=now,
                random=random,
            )
        else:
            delivery_id = random.token_bytes(16).hex()
            session.add(
                models.AuditAlarmDelivery(
                    delivery_id=delivery_id,
                    subscription_id=subscription.subscription_id,
                    account_id=subscription.account_id,
                    alarm_event_id=str(alarm["eventID"]),
                    body=body,
                    created_at=now,
                    delivered_at=None,
                )
            )
            session.flush()
            enqueue(session, DELIVER_ALARM_TASK, DeliverAlarm(delivery_id=delivery_id))
        queued += 1
    return queued


def delivery_tasks(
    *,
    database: Database,
    root_key: Callable[[], PlatformRootKey],
    timeout_seconds: float = 10.0,
) -> list[TaskDefinition[Any]]:
    """The webhook delivery task, for the platform's job registry."""

    def deliver(context: TaskContext, payload: DeliverAlarm) -> None:
        with database.read_session() as session:
            row = session.get(models.AuditAlarmDelivery, payload.delivery_id)
            if row is None or row.delivered_at is not None:
                return  # Delivered already, or its subscription was deleted since.
            subscription = session.get(models.AuditAlarmSubscription, row.subscription_id)
            if subscription is None:
                return
            url, subscription_id, body = subscription.endpoint, row.subscription_id, row.body
        secret = webhook_secret(root_key(), subscription_id)
        post_webhook(
            url,
            body.encode("utf-8"),
            secret=secret,
            delivery_id=payload.delivery_id,
            now=context.now,
            timeout_seconds=timeout_seconds,
        )
        with database.session() as session:
            if context.apply_once(session):
                delivered = session.get(models.AuditAlarmDelivery, payload.delivery_id)
                if delivered is not None:
                    delivered.delivered_at = context.now

    return [
        TaskDefinition(
            name=DELIVER_ALARM_TASK,
            payload_model=DeliverAlarm,
            handler=deliver,
            timeout_seconds=timeout_seconds * 3,
            retry=RetryPolicy(max_attempts=8, base_delay_seconds=30.0),
        )
    ]


def post_webhook(
    url: str,
    body: bytes,
    *,
    secret: str,
    delivery_id: str,
    now: datetime,
    timeout_seconds: float,
) -> None:
    """POST one signed delivery; raise ``ServiceUnavailable`` unless the receiver answers 2xx."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    _refuse_link_local(host, parts.port or (443 if parts.scheme == "https" else 80))
    timestamp = str(int(now.timestamp()))
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            host, parts.port, timeout=timeout_seconds, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(host, parts.port, timeout=timeout_seconds)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request(
            "POST",
            path,
            body=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "lakevault-alarms",
                DELIVERY_HEADER: delivery_id,
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: sign_webhook(secret, timestamp, body),
            },
        )
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException) as exc:
        raise ServiceUnavailable(
            f"the alarm webhook at {host} could not be reached ({type(exc).__name__}); the "
            "delivery is retried"
        ) from exc
    finally:
        connection.close()
    if not 200 <= status < 300:
        raise ServiceUnavailable(
            f"the alarm webhook at {host} answered HTTP {status} to delivery {delivery_id}; "
            "the delivery is retried (redirects are not followed)"
        )


def _refuse_link_local(host: str, port: int) -> None:
    """Refuse a host that resolves to a link-local, multicast or unspecified address.

    Cloud metadata services live at link-local addresses; a name that resolves there is refused
    at delivery as an address literal is at subscription. (A name that changes its answer
    between this check and the connection is not caught: DNS rebinding is a residual risk.)
    """
    try:
        answers = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise ServiceUnavailable(
            f"the alarm webhook host {host} does not resolve ({type(exc).__name__}); the "
            "delivery is retried"
        ) from exc
    for *_, address in answers:
        ip = ipaddress.ip_address(str(address[0]).split("%", 1)[0])
        if ip.is_link_local or ip.is_multicast or ip.is_unspecified:
            raise ServiceUnavailable(
                f"the alarm webhook host {host} resolves to {ip}, a link-local, multicast or "
                "unspecified address; lakevault does not deliver there"
            )


def _mail_body(alarm: Mapping[str, Any]) -> str:
    parameters = alarm.get("requestParameters") or {}
    lines = [
        f"Alarm {parameters.get('detector')} in account {alarm.get('recipientAccountId')}.",
        f"Subject: {parameters.get('subject')}",
        f"Count in the window: {parameters.get('count')} (threshold {parameters.get('threshold')},"
        f" window {parameters.get('windowSeconds')} s)",
        f"Event: {alarm.get('eventID')} at {alarm.get('eventTime')}",
        "",
        "The alarm is an event of the account's audit log (eventName AuditAlarm).",
    ]
    return "\n".join(lines) + "\n"
