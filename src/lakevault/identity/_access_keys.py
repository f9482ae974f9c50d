"""Access keys: long-term SigV4 credentials of users, at most two per user.

An access key's secret is derived from the platform root key and the key id
(``PlatformRootKey.derive_secret``), so the database holds no secret at all: the key id, its
owner, its status and when it was last used. The secret is shown once, at creation; the API
never returns it again. Deleting or deactivating a key, or deleting its user, stops it at once:
every request looks the key up.
"""

from __future__ import annotations

import base64
import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lakevault.core import RandomSource
from lakevault.core.errors import LimitExceeded, NoSuchEntity
from lakevault.db import Database, models
from lakevault.identity._authenticate import principal_from_row
from lakevault.identity._errors import InvalidAccessKeyId
from lakevault.identity._principal import Principal
from lakevault.identity._sigv4_verify import SigningCredential
from lakevault.identity._users import user_row
from lakevault.kms import PlatformRootKey

MAX_KEYS_PER_USER = 2
ACCESS_KEY_PURPOSE = "iam-access-key"
_LAST_USED_RESOLUTION = timedelta(minutes=5)


class AccessKeyStatus(StrEnum):
    ACTIVE = "Active"
    INACTIVE = "Inactive"


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessKeyInfo:
    access_key_id: str
    user_name: str
    status: AccessKeyStatus
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewAccessKey:
    """A created key with its secret, which exists in readable form only in this value."""

    key: AccessKeyInfo
    secret_access_key: str = field(repr=False)


def new_key_id(prefix: str, random: RandomSource) -> str:
    """``LKIA`` (long-term) or ``LSIA`` (temporary) and 16 base32 characters, like AWS's AKIA."""
    return prefix + base64.b32encode(random.token_bytes(10)).decode("ascii")


def create_access_key(
    session: Session,
    account_id: str,
    user_name: str,
    *,
    root_key: PlatformRootKey,
    now: datetime,
    random: RandomSource,
) -> NewAccessKey:
    user = user_row(session, account_id, user_name)
    count = session.scalar(select(func.count()).where(models.AccessKey.user_id == user.user_id))
    if (count or 0) >= MAX_KEYS_PER_USER:
        raise LimitExceeded(
            f"Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS_PER_USER}; delete a key of "
            f"{user_name} first"
        )
    row = models.AccessKey(
        access_key_id=new_key_id("LKIA", random),
        user_id=user.user_id,
        account_id=account_id,
        status=AccessKeyStatus.ACTIVE.value,
        created_at=now,
        last_used_at=None,
    )
    session.add(row)
    session.flush()
    secret = root_key.derive_secret(purpose=ACCESS_KEY_PURPOSE, identifier=row.access_key_id)
    return NewAccessKey(key=_info(row, user_name), secret_access_key=secret)


def _info(row: models.AccessKey, user_name: str) -> AccessKeyInfo:
    return AccessKeyInfo(
        access_key_id=row.access_key_id,
        user_name=user_name,
        status=AccessKeyStatus(row.status),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
    )


def _key_row(session: Session, account_id: str, user_name: str, key_id: str) -> models.AccessKey:
    user = user_row(session, account_id, user_name)
    row = session.get(models.AccessKey, key_id)
    if row is None or row.user_id != user.user_id:
        raise NoSuchEntity(f"The Access Key with id {key_id} cannot be found.")
    return row


def list_access_keys(session: Session, account_id: str, user_name: str) -> list[AccessKeyInfo]:
    user = user_row(session, account_id, user_name)
    rows = session.scalars(
        select(models.AccessKey)
        .where(models.AccessKey.user_id == user.user_id)
        .order_by(models.AccessKey.created_at)
    )
    return [_info(row, user_name) for row in rows]


def update_access_key(
    session: Session, account_id: str, user_name: str, key_id: str, status: AccessKeyStatus
) -> None:
    _key_row(session, account_id, user_name, key_id).status = status.value
    session.flush()


def delete_access_key(session: Session, account_id: str, user_name: str, key_id: str) -> None:
    session.delete(_key_row(session, account_id, user_name, key_id))
    session.flush()


def access_key_credential(
    database: Database, root_key: PlatformRootKey, access_key_id: str
) -> SigningCredential[Principal]:
    """The SigV4 lookup for long-term keys: raise ``InvalidAccessKeyId`` unless active.

    Reads only: the caller records the use (``record_access_key_use``) once the signature has
    verified, so that unsigned probes of a key id leave no trace in its last-used time.
    """
    row = database.fetch_one(
        "SELECT u.user_id, u.account_id, u.name, u.arn, u.tags, k.status FROM access_keys k "
        "JOIN users u ON u.user_id = k.user_id WHERE k.access_key_id = ?",
        (access_key_id,),
    )
    if row is None or row[5] != AccessKeyStatus.ACTIVE.value:
        raise InvalidAccessKeyId(
            "The AWS Access Key Id you provided does not exist in our records."
        )
    return SigningCredential(
        access_key_id=access_key_id,
        secret_access_key=root_key.derive_secret(
            purpose=ACCESS_KEY_PURPOSE, identifier=access_key_id
        ),
        principal=dataclasses.replace(principal_from_row(row), access_key_id=access_key_id),
    )


def record_access_key_use(database: Database, access_key_id: str, *, now: datetime) -> None:
    """Set the key's last-used time (at most every five minutes, to spare the database)."""
    with database.session() as session:
        session.execute(
            update(models.AccessKey)
            .where(
                models.AccessKey.access_key_id == access_key_id,
                (models.AccessKey.last_used_at.is_(None))
                | (models.AccessKey.last_used_at < now - _LAST_USED_RESOLUTION),
            )
            .values(last_used_at=now)
        )
