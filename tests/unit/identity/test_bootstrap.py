"""First start: the administrator is created once, with credentials handed out once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from lakevault.audit import DatabaseAuditLog
from lakevault.core import PLATFORM_ACCOUNT_ID, FixedClock, SystemRandom
from lakevault.core.errors import AccessDenied
from lakevault.db import Database, models
from lakevault.identity import (
    ADMIN_USER_NAME,
    BootstrapCredentials,
    authenticate_password,
    bootstrap_platform,
    is_bootstrapped,
)


def _bootstrap(database: Database) -> BootstrapCredentials | None:
    return bootstrap_platform(database, clock=FixedClock(), random=SystemRandom(), region="local")


def test_first_bootstrap_returns_credentials_that_sign_in(database: Database) -> None:
    assert not is_bootstrapped(database)
    credentials = _bootstrap(database)
    assert credentials is not None
    assert is_bootstrapped(database)
    principal = authenticate_password(
        database,
        account_id=PLATFORM_ACCOUNT_ID,
        user_name=ADMIN_USER_NAME,
        password=credentials.password,
    )
    assert principal.arn == "arn:aws:iam::000000000000:user/admin"


def test_second_bootstrap_hands_out_nothing(database: Database) -> None:
    assert _bootstrap(database) is not None
    assert _bootstrap(database) is None


def test_concurrent_bootstraps_hand_out_credentials_exactly_once(database: Database) -> None:
    results: list[BootstrapCredentials | None] = []
    threads = [
        threading.Thread(target=lambda: results.append(_bootstrap(database))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len([r for r in results if r is not None]) == 1
    with database.read_session() as session:
        assert len(session.scalars(select(models.User)).all()) == 1


def test_the_password_is_stored_only_as_an_argon2id_hash(database: Database) -> None:
    credentials = _bootstrap(database)
    assert credentials is not None
    with database.read_session() as session:
        stored = session.scalars(select(models.User.password_hash)).one()
    assert stored is not None and stored.startswith("$argon2id$")
    assert credentials.password not in stored
    assert credentials.password not in repr(credentials)


def test_bootstrap_is_audited_without_the_password(database: Database) -> None:
    credentials = _bootstrap(database)
    assert credentials is not None
    events = DatabaseAuditLog(database).read(PLATFORM_ACCOUNT_ID)
    assert [e["eventName"] for e in events] == ["BootstrapPlatform"]
    assert credentials.password not in str(events)


@pytest.mark.parametrize(
    ("account", "user", "right_password"),
    [
        (PLATFORM_ACCOUNT_ID, ADMIN_USER_NAME, False),
        (PLATFORM_ACCOUNT_ID, "mallory", True),
        ("123456789012", ADMIN_USER_NAME, True),
    ],
    ids=["wrong-password", "unknown-user", "unknown-account"],
)
def test_every_sign_in_failure_is_the_same_denial(
    database: Database, account: str, user: str, right_password: bool
) -> None:
    credentials = _bootstrap(database)
    assert credentials is not None
    password = credentials.password if right_password else credentials.password + "x"
    with pytest.raises(AccessDenied) as caught:
        authenticate_password(database, account_id=account, user_name=user, password=password)
    assert caught.value.message == "sign-in failed: the account id, user name or password is wrong"
