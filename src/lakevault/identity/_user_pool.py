"""User pools: a tenant's self-service sign-up directory (Cognito-like), its groups and members.

A pool member is an IAM user of the tenant (path ``/userpool/``) with a membership row holding
its email address and confirmation status; a pool group is a name mapped to an IAM group, so a
pool user's permissions are the IAM group's policies, evaluated by the gate like any user's.
Like the other entity functions, these act in the caller's session and do not authorise.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from lakevault.core import RandomSource, new_entity_id
from lakevault.core.errors import EntityAlreadyExists, InvalidParameterValue, NoSuchEntity
from lakevault.db import models
from lakevault.identity._names import EntityKind, check_name, entity_arn
from lakevault.identity._passwords import generate_password, hash_password
from lakevault.identity._user_pool_rules import MFAConfiguration, PasswordPolicy
from lakevault.identity._users import create_group, group_row

POOL_USER_PATH = "/userpool/"
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}")
_POOL_NAME = re.compile(r"[\w\s+=,.@-]{1,128}")


class MemberStatus:
    """Cognito's user status values that lakevault uses."""

    UNCONFIRMED = "UNCONFIRMED"
    CONFIRMED = "CONFIRMED"
    FORCE_CHANGE_PASSWORD = "FORCE_CHANGE_PASSWORD"  # noqa: S105 - a status name


#: How long an administrator's temporary password signs in (Cognito's default, 7 days).
TEMPORARY_PASSWORD_VALIDITY = timedelta(days=7)


@dataclass(frozen=True, slots=True, kw_only=True)
class AdminCreatedUser:
    """A user an administrator created; ``temporary_password`` is shown in this answer only
    and must be changed at the first sign-in."""

    user_name: str
    arn: str
    email: str
    status: str
    temporary_password: str = field(repr=False)
    temporary_password_expires_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class UserPoolInfo:
    pool_id: str
    account_id: str
    arn: str
    name: str
    mfa_configuration: MFAConfiguration
    allow_self_sign_up: bool
    password_policy: PasswordPolicy
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class UserPoolGroupInfo:
    pool_id: str
    name: str
    iam_group_arn: str
    mfa_required: bool
    created_at: datetime


def user_pool_arn(region: str, account_id: str, pool_id: str) -> str:
    return f"arn:aws:cognito-idp:{region}:{account_id}:userpool/{pool_id}"


def check_email(email: str) -> str:
    if not _EMAIL.fullmatch(email):
        raise InvalidParameterValue(
            "email must be an address such as 'ada@example.org'", code="InvalidParameterException"
        )
    return email


def mask_email(email: str) -> str:
    """``a***@e***`` — enough for a user to recognise the address, too little to harvest it."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain[:1]}***"


def pool_info(row: models.UserPool, region: str) -> UserPoolInfo:
    return UserPoolInfo(
        pool_id=row.pool_id,
        account_id=row.account_id,
        arn=user_pool_arn(region, row.account_id, row.pool_id),
        name=row.name,
        mfa_configuration=MFAConfiguration(row.mfa_configuration),
        allow_self_sign_up=row.allow_self_sign_up,
        password_policy=pool_password_policy(row),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def pool_password_policy(row: models.UserPool) -> PasswordPolicy:
    return PasswordPolicy(
        min_length=row.password_min_length,
        require_uppercase=row.password_require_uppercase,
        require_lowercase=row.password_require_lowercase,
        require_digits=row.password_require_digits,
        require_symbols=row.password_require_symbols,
    )


def pool_row(session: Session, pool_id: str) -> models.UserPool:
    row = session.get(models.UserPool, pool_id)
    if row is None:
        raise NoSuchEntity(f"User pool {pool_id} does not exist.", code="ResourceNotFoundException")
    return row


def pool_for_account(session: Session, account_id: str) -> models.UserPool | None:
    return session.scalar(select(models.UserPool).where(models.UserPool.account_id == account_id))


def create_user_pool(
    session: Session,
    *,
    account_id: str,
    name: str,
    region: str,
    password_policy: PasswordPolicy,
    mfa_configuration: MFAConfiguration,
    allow_self_sign_up: bool,
    now: datetime,
    random: RandomSource,
) -> UserPoolInfo:
    """The tenant's pool; a tenant has at most one (``EntityAlreadyExists`` otherwise)."""
    if not _POOL_NAME.fullmatch(name):
        raise InvalidParameterValue(
            "poolName must be 1 to 128 letters, digits, spaces and + = , . @ _ -"
        )
    if pool_for_account(session, account_id) is not None:
        raise EntityAlreadyExists(f"tenant {account_id} already has a user pool; update it instead")
    row = models.UserPool(
        pool_id=f"{region}_{base64.b32encode(random.token_bytes(10)).decode('ascii')}",
        account_id=account_id,
        name=name,
        created_at=now,
    )
    _apply(row, password_policy, mfa_configuration, allow_self_sign_up, now)
    session.add(row)
    session.flush()
    return pool_info(row, region)


def update_user_pool(
    session: Session,
    pool_id: str,
    *,
    region: str,
    password_policy: PasswordPolicy,
    mfa_configuration: MFAConfiguration,
    allow_self_sign_up: bool,
    now: datetime,
) -> UserPoolInfo:
    row = pool_row(session, pool_id)
    _apply(row, password_policy, mfa_configuration, allow_self_sign_up, now)
    session.flush()
    return pool_info(row, region)


def _apply(
    row: models.UserPool,
    policy: PasswordPolicy,
    mfa: MFAConfiguration,
    allow_self_sign_up: bool,
    now: datetime,
) -> None:
    row.mfa_configuration = mfa.value
    row.allow_self_sign_up = allow_self_sign_up
    row.password_min_length = policy.min_length
    row.password_require_uppercase = policy.require_uppercase
    row.password_require_lowercase = policy.require_lowercase
    row.password_require_digits = policy.require_digits
    row.password_require_symbols = policy.require_symbols
    row.updated_at = now


def create_pool_group(
    session: Session,
    pool_id: str,
    *,
    name: str,
    iam_group_name: str | None,
    mfa_required: bool,
    now: datetime,
    random: RandomSource,
) -> UserPoolGroupInfo:
    """Map pool group ``name`` to an IAM group (created under the same name when missing)."""
    pool = pool_row(session, pool_id)
    if session.get(models.UserPoolGroup, (pool_id, name)) is not None:
        raise EntityAlreadyExists(
            f"the pool group {name} already exists", code="GroupExistsException"
        )
    target = iam_group_name or name
    try:
        group = group_row(session, pool.account_id, target)
    except NoSuchEntity:
        create_group(session, account_id=pool.account_id, name=target, now=now, random=random)
        group = group_row(session, pool.account_id, target)
    row = models.UserPoolGroup(
        pool_id=pool_id,
        name=name,
        group_id=group.group_id,
        mfa_required=mfa_required,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return UserPoolGroupInfo(
        pool_id=pool_id,
        name=name,
        iam_group_arn=group.arn,
        mfa_required=mfa_required,
        created_at=now,
    )


def list_pool_groups(session: Session, pool_id: str) -> list[UserPoolGroupInfo]:
    rows = session.execute(
        select(models.UserPoolGroup, models.Group.arn)
        .join(models.Group, models.Group.group_id == models.UserPoolGroup.group_id)
        .where(models.UserPoolGroup.pool_id == pool_id)
        .order_by(models.UserPoolGroup.name)
    )
    return [
        UserPoolGroupInfo(
            pool_id=row.pool_id,
            name=row.name,
            iam_group_arn=arn,
            mfa_required=row.mfa_required,
            created_at=row.created_at,
        )
        for row, arn in rows
    ]


def pool_group_row(session: Session, pool_id: str, name: str) -> models.UserPoolGroup:
    row = session.get(models.UserPoolGroup, (pool_id, name))
    if row is None:
        raise NoSuchEntity(
            f"the pool group {name} does not exist", code="ResourceNotFoundException"
        )
    return row


def groups_of_user(session: Session, pool_id: str, user_id: str) -> list[models.UserPoolGroup]:
    """The pool groups ``user_id`` belongs to (through their IAM groups), by name."""
    return list(
        session.scalars(
            select(models.UserPoolGroup)
            .join(
                models.GroupMembership,
                models.GroupMembership.group_id == models.UserPoolGroup.group_id,
            )
            .where(
                models.UserPoolGroup.pool_id == pool_id, models.GroupMembership.user_id == user_id
            )
            .order_by(models.UserPoolGroup.name)
        )
    )


def member_row(
    session: Session, pool_id: str, user_name: str
) -> tuple[models.User, models.UserPoolMember] | None:
    """The pool's member called ``user_name`` (``None`` for anyone else, member or not)."""
    found = session.execute(
        select(models.User, models.UserPoolMember)
        .join(models.UserPoolMember, models.UserPoolMember.user_id == models.User.user_id)
        .join(models.UserPool, models.UserPool.pool_id == models.UserPoolMember.pool_id)
        .where(
            models.UserPoolMember.pool_id == pool_id,
            models.User.name == user_name,
            models.User.account_id == models.UserPool.account_id,
        )
    ).first()
    return (found[0], found[1]) if found is not None else None


def is_temporary_password_expired(member: models.UserPoolMember, now: datetime) -> bool:
    """Whether an administrator's temporary password is past its 7 days."""
    created = (
        member.created_at
        if member.created_at.tzinfo
        else member.created_at.replace(tzinfo=now.tzinfo)
    )
    return now >= created + TEMPORARY_PASSWORD_VALIDITY


def create_member(
    session: Session,
    pool: models.UserPool,
    *,
    user_name: str,
    password_hash: str,
    email: str,
    email_verified: bool,
    status: str,
    now: datetime,
    random: RandomSource,
) -> models.User:
    """Add a pool member: an IAM user under ``/userpool/`` and its membership row (the caller
    has checked the name, the address and that the name is free)."""
    user = models.User(
        user_id=new_entity_id("LVUS", random),
        account_id=pool.account_id,
        name=user_name,
        path=POOL_USER_PATH,
        arn=entity_arn(pool.account_id, EntityKind.USER, user_name, POOL_USER_PATH),
        password_hash=password_hash,
        tags={},
        created_at=now,
    )
    session.add(user)
    session.flush()
    session.add(
        models.UserPoolMember(
            user_id=user.user_id,
            pool_id=pool.pool_id,
            email=email,
            email_verified=email_verified,
            status=status,
            created_at=now,
        )
    )
    session.flush()
    return user


def admin_create_member(
    session: Session,
    pool: models.UserPool,
    *,
    user_name: str,
    email: str,
    temporary_password: str | None,
    resend: bool,
    now: datetime,
    random: RandomSource,
) -> AdminCreatedUser:
    """Create a confirmed pool user with a temporary password (``AdminCreateUser``).

    The user must choose a new password at the first sign-in (challenge
    ``NEW_PASSWORD_REQUIRED``); the temporary one signs in for 7 days. A given temporary
    password must meet the pool's password policy; otherwise one is generated. With
    ``resend`` an existing user still waiting for that first sign-in gets a new temporary
    password and 7 more days (Cognito's ``MessageAction=RESEND``). Raises
    ``UsernameExistsException`` (409) for a taken name, ``InvalidParameterValue`` for a bad
    name, address or password.
    """
    check_name(EntityKind.USER, user_name, parameter="username")
    check_email(email)
    policy = pool_password_policy(pool)
    if temporary_password is None:
        temporary_password = generate_password(random) + "!"
    policy.check(temporary_password)
    password_hash = hash_password(temporary_password)
    found = member_row(session, pool.pool_id, user_name)
    if resend:
        if found is None or found[1].status != MemberStatus.FORCE_CHANGE_PASSWORD:
            raise NoSuchEntity(
                f"no user {user_name} of the pool is waiting for a first sign-in; only those "
                "can get a new temporary password",
                code="UserNotFoundException",
            )
        user, member = found
        user.password_hash = password_hash
        member.email = email
        member.created_at = now
    else:
        taken = session.scalar(
            select(models.User.user_id).where(
                models.User.account_id == pool.account_id, models.User.name == user_name
            )
        )
        if taken is not None:
            raise EntityAlreadyExists(
                f"User account already exists: {user_name} is taken in this tenant",
                code="UsernameExistsException",
            )
        user = create_member(
            session,
            pool,
            user_name=user_name,
            password_hash=password_hash,
            email=email,
            # The administrator vouches for the address (Cognito: email_verified=true).
            email_verified=True,
            status=MemberStatus.FORCE_CHANGE_PASSWORD,
            now=now,
            random=random,
        )
    session.flush()
    return AdminCreatedUser(
        user_name=user_name,
        arn=user.arn,
        email=email,
        status=MemberStatus.FORCE_CHANGE_PASSWORD,
        temporary_password=temporary_password,
        temporary_password_expires_at=now + TEMPORARY_PASSWORD_VALIDITY,
    )
