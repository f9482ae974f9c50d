"""Tables of audit access grants and audit alarms (docs/audit.md, "Alarms").

* ``audit_log_policies`` — a tenant's resource policy on its own audit log: the grant that lets
  another principal (the platform administrator) read it (docs/decisions/0201);
* ``audit_alarm_cursors`` — how far the detectors have read each account's log;
* ``audit_alarm_counts`` — per-minute counts the detectors keep, per account, detector and
  subject (a principal, a key, a source address);
* ``audit_alarm_states`` — when an alarm was last raised for a subject (cool-down);
* ``audit_alarm_subscriptions`` — where an account's alarms are delivered;
* ``audit_alarm_deliveries`` — one alarm to one subscription, delivered by a job.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lakevault.db._models import Base


class AuditLogPolicy(Base):
    """The resource policy a tenant attached to its audit log (IAM JSON, validated)."""

    __tablename__ = "audit_log_policies"

    account_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class AuditAlarmCursor(Base):
    """The next sequence of an account's log the alarm detectors have not read yet."""

    __tablename__ = "audit_alarm_cursors"

    account_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    next_sequence: Mapped[int] = mapped_column(BigInteger)


class AuditAlarmCount(Base):
    """How many matching events one detector saw for one subject in one minute."""

    __tablename__ = "audit_alarm_counts"

    account_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    detector: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    minute: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    subject: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(Integer)


class AuditAlarmState(Base):
    """When the last alarm of a detector for a subject was raised (for the cool-down)."""

    __tablename__ = "audit_alarm_states"

    account_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    detector: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_raised_at: Mapped[datetime]


class AuditAlarmSubscription(Base):
    """Deliver an account's alarms to a webhook (HMAC-signed) or an email address."""

    __tablename__ = "audit_alarm_subscriptions"
    __table_args__ = (Index("ix_audit_alarm_subscriptions_account_id", "account_id"),)

    subscription_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(12))
    protocol: Mapped[str] = mapped_column(String(16))
    endpoint: Mapped[str] = mapped_column(String(2048))
    detectors: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class AuditAlarmDelivery(Base):
    """One alarm for one subscription; the delivery job carries only ``delivery_id``."""

    __tablename__ = "audit_alarm_deliveries"

    delivery_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(
        String(24),
        ForeignKey("audit_alarm_subscriptions.subscription_id", ondelete="CASCADE"),
        index=True,
    )
    account_id: Mapped[str] = mapped_column(String(12))
    alarm_event_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
