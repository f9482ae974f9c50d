"""Mail to user pool users (verification and reset codes), delivered by a background job.

The request that causes a message writes it to ``user_pool_mail`` and enqueues the delivery
task in the same transaction, so a message exists if and only if its cause committed, and a
failing SMTP server is retried with the job queue's backoff instead of failing the request.
The job's payload is the message id only: codes never enter the job table.

Senders (``mail_sender`` setting):

* ``outbox`` (default) — delivery keeps the message in the table, and the tenant's
  administrator reads it through ``GET /api/v1/tenants/{account}/user-pool/outbox``. For
  installations without a mail server, and for tests.
* ``smtp`` — :mod:`smtplib` with STARTTLS or implicit TLS (certificates verified). Once the
  server has accepted a message its body is erased, so codes do not linger in the database.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from lakevault.core import Clock, RandomSource, Settings
from lakevault.core.errors import ServiceUnavailable
from lakevault.db import Database, models
from lakevault.jobs import RetryPolicy, TaskContext, TaskDefinition

DELIVER_MAIL_TASK = "identity.user-pool.deliver-mail"


class MailState(StrEnum):
    PENDING = "pending"
    OUTBOX = "outbox"
    SENT = "sent"


@dataclass(frozen=True, slots=True, kw_only=True)
class MailMessage:
    """One message; ``repr`` hides the body, which may carry a code."""

    message_id: str
    account_id: str
    recipient: str
    subject: str
    body: str = field(repr=False)
    state: MailState
    created_at: datetime
    delivered_at: datetime | None


class MailSender(Protocol):
    """Delivers a message. ``keeps_body``: whether the body stays readable in the outbox."""

    keeps_body: bool

    def send(self, message: MailMessage) -> None: ...


class OutboxSender:
    """Delivery into the outbox table itself: nothing leaves the platform."""

    keeps_body = True

    def send(self, message: MailMessage) -> None:
        """Nothing to do: the message is already where the administrator reads it."""


class SMTPSender:
    """Delivery through an SMTP server with :mod:`smtplib`; TLS certificates are verified."""

    keeps_body = False

    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: str,
        mail_from: str,
        username: str | None = None,
        password: str | None = None,
        timeout_seconds: float = 30.0,
    ) -> None:
        self._host = host
        self._port = port
        self._security = security
        self._mail_from = mail_from
        self._username = username
        self._password = password
        self._timeout = timeout_seconds

    def __repr__(self) -> str:
        return f"SMTPSender(host={self._host!r}, port={self._port}, security={self._security!r})"

    def send(self, message: MailMessage) -> None:
        """Send, or raise ``ServiceUnavailable`` (the job is retried) naming the server."""
        email = EmailMessage()
        email["From"] = self._mail_from
        email["To"] = message.recipient
        email["Subject"] = message.subject
        email["Message-ID"] = f"<{message.message_id}@lakevault>"
        email.set_content(message.body)
        context = ssl.create_default_context()
        try:
            client: smtplib.SMTP
            if self._security == "tls":
                client = smtplib.SMTP_SSL(
                    self._host, self._port, timeout=self._timeout, context=context
                )
            else:
                client = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
            with client:
                if self._security == "starttls":
                    client.starttls(context=context)
                if self._username is not None and self._password is not None:
                    client.login(self._username, self._password)
                client.send_message(email)
        except (OSError, smtplib.SMTPException) as exc:
            raise ServiceUnavailable(
                f"the SMTP server {self._host}:{self._port} did not accept message "
                f"{message.message_id} ({type(exc).__name__}); the delivery is retried"
            ) from exc


def mail_sender_for(settings: Settings) -> MailSender:
    if settings.mail_sender.value == "smtp" and settings.smtp_host is not None:
        return SMTPSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security.value,
            mail_from=settings.mail_from,
            username=settings.smtp_username,
            password=(
                settings.smtp_password.get_secret_value()
                if settings.smtp_password is not None
                else None
            ),
        )
    return OutboxSender()


class DeliverMail(BaseModel):
    """Payload of the delivery task: which message (never its content)."""

    message_id: str = Field(min_length=1, max_length=32)


#: ``JobQueue.enqueue``.
Enqueue = Callable[..., Any]


def queue_mail(
    session: Session,
    enqueue: Enqueue,
    *,
    account_id: str,
    recipient: str,
    subject: str,
    body: str,
    now: datetime,
    random: RandomSource,
) -> str:
    """Store a message and enqueue its delivery in the caller's transaction; return its id."""
    message_id = random.token_bytes(16).hex()
    session.add(
        models.UserPoolMail(
            message_id=message_id,
            account_id=account_id,
            recipient=recipient,
            subject=subject,
            body=body,
            state=MailState.PENDING.value,
            created_at=now,
        )
    )
    session.flush()
    enqueue(session, DELIVER_MAIL_TASK, DeliverMail(message_id=message_id))
    return message_id


def _message(row: models.UserPoolMail) -> MailMessage:
    return MailMessage(
        message_id=row.message_id,
        account_id=row.account_id,
        recipient=row.recipient,
        subject=row.subject,
        body=row.body or "",
        state=MailState(row.state),
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


def list_outbox(session: Session, account_id: str, *, limit: int = 100) -> list[MailMessage]:
    """The tenant's messages, newest first (bodies are empty once sent by SMTP)."""
    rows = session.scalars(
        select(models.UserPoolMail)
        .where(models.UserPoolMail.account_id == account_id)
        .order_by(models.UserPoolMail.created_at.desc(), models.UserPoolMail.message_id)
        .limit(limit)
    )
    return [_message(row) for row in rows]


def mail_tasks(
    *, database: Database, sender: MailSender, clock: Clock
) -> list[TaskDefinition[DeliverMail]]:
    """The delivery task: idempotent (a delivered message is not sent again)."""

    def deliver(context: TaskContext, payload: DeliverMail) -> None:
        with database.read_session() as session:
            row = session.get(models.UserPoolMail, payload.message_id)
            message = _message(row) if row is not None else None
        if message is None or message.state is not MailState.PENDING:
            return
        sender.send(message)
        with database.session() as session:
            row = session.get(models.UserPoolMail, payload.message_id)
            if row is None:
                return
            row.state = (MailState.OUTBOX if sender.keeps_body else MailState.SENT).value
            row.delivered_at = clock.now()
            if not sender.keeps_body:
                row.body = None

    return [
        TaskDefinition(
            name=DELIVER_MAIL_TASK,
            payload_model=DeliverMail,
            handler=deliver,
            timeout_seconds=60.0,
            retry=RetryPolicy(max_attempts=8, base_delay_seconds=5.0, max_delay_seconds=900.0),
        )
    ]
