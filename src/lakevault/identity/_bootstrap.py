"""First start: create the platform account, its administrator and the administrator's policy.

The administrator's password is generated, stored only as an argon2id hash, and returned to the
one caller that created it — exactly once. The CLI prints it to the terminal; it never goes to a
log. A second bootstrap (another start, a concurrent process) finds the installation done and
returns ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson
import sqlalchemy.exc

from lakevault.audit import AuditEvent, EventResource, IdentityType, UserIdentity, append_in
from lakevault.core import (
    PLATFORM_ACCOUNT_ID,
    Clock,
    RandomSource,
    new_entity_id,
    new_request_id,
)
from lakevault.db import Database, models
from lakevault.identity._passwords import generate_password, hash_password

ADMIN_USER_NAME = "admin"
ADMINISTRATOR_POLICY_NAME = "AdministratorAccess"
ADMINISTRATOR_POLICY_DOCUMENT = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "AllowEverything", "Effect": "Allow", "Action": "*", "Resource": "*"}],
}


@dataclass(frozen=True, slots=True, kw_only=True)
class BootstrapCredentials:
    """The administrator's one-time credentials. ``repr`` never shows the password."""

    account_id: str
    user_name: str
    user_arn: str
    password: str = field(repr=False)


def user_arn(account_id: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{account_id}:user{path}{name}"


def policy_arn(account_id: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{account_id}:policy{path}{name}"


def is_bootstrapped(database: Database) -> bool:
    with database.read_session() as session:
        return session.get(models.PlatformState, 1) is not None


def bootstrap_platform(
    database: Database, *, clock: Clock, random: RandomSource, region: str
) -> BootstrapCredentials | None:
    """Create the platform administrator unless it exists; return its credentials or ``None``.

    Everything (account, user, policy, attachment, marker, audit event) commits in one
    transaction: a crash leaves either a bootstrapped installation or an untouched one.
    """
    now = clock.now()
    password = generate_password(random)
    arn = user_arn(PLATFORM_ACCOUNT_ID, ADMIN_USER_NAME)
    user_id = new_entity_id("LVUS", random)
    try:
        with database.session() as session:
            if session.get(models.PlatformState, 1) is not None:
                return None
            if session.get(models.Tenant, PLATFORM_ACCOUNT_ID) is None:
                session.add(
                    models.Tenant(
                        account_id=PLATFORM_ACCOUNT_ID,
                        name="platform",
                        is_platform=True,
                        created_at=now,
                    )
                )
                # Without relationships the unit of work does not order inserts by foreign
                # key, so parents are flushed before their children explicitly.
                session.flush()
            session.add(
                models.User(
                    user_id=user_id,
                    account_id=PLATFORM_ACCOUNT_ID,
                    name=ADMIN_USER_NAME,
                    path="/",
                    arn=arn,
                    password_hash=hash_password(password),
                    tags={},
                    created_at=now,
                )
            )
            policy_id = new_entity_id("LVPO", random)
            session.add(
                models.Policy(
                    policy_id=policy_id,
                    account_id=PLATFORM_ACCOUNT_ID,
                    name=ADMINISTRATOR_POLICY_NAME,
                    path="/",
                    description="Full access to the platform (created at installation).",
                    arn=policy_arn(PLATFORM_ACCOUNT_ID, ADMINISTRATOR_POLICY_NAME),
                    default_version_id="v1",
                    next_version_number=2,
                    created_at=now,
                    updated_at=now,
                )
            )
            session.flush()
            session.add(
                models.PolicyVersion(
                    policy_id=policy_id,
                    version_id="v1",
                    document=orjson.dumps(ADMINISTRATOR_POLICY_DOCUMENT).decode("utf-8"),
                    created_at=now,
                )
            )
            session.add(models.UserPolicyAttachment(user_id=user_id, policy_id=policy_id))
            session.add(models.PlatformState(id=1, bootstrapped_at=now, admin_user_id=user_id))
            append_in(
                session,
                AuditEvent(
                    event_id=new_request_id(random),
                    event_time=now,
                    event_source="lakevault.local",
                    event_name="BootstrapPlatform",
                    region=region,
                    source_ip_address=None,
                    user_agent="lakevault-init",
                    user_identity=UserIdentity(
                        type=IdentityType.AWS_SERVICE,
                        principal_id="lakevault",
                        arn="lakevault.local",
                        account_id=PLATFORM_ACCOUNT_ID,
                    ),
                    request_id=new_request_id(random),
                    read_only=False,
                    recipient_account_id=PLATFORM_ACCOUNT_ID,
                    resources=(
                        EventResource(arn=arn, account_id=PLATFORM_ACCOUNT_ID, type="User"),
                    ),
                    response_elements={"userName": ADMIN_USER_NAME, "userId": user_id},
                ),
            )
    except sqlalchemy.exc.IntegrityError:
        # Another process bootstrapped concurrently and committed first.
        return None
    return BootstrapCredentials(
        account_id=PLATFORM_ACCOUNT_ID, user_name=ADMIN_USER_NAME, user_arn=arn, password=password
    )
