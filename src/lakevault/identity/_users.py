"""Users and groups (teams) of a tenant, and who belongs to which group.

Deleting follows AWS: a user or group that still has attached or inline policies, group
memberships or members is refused with ``DeleteConflict`` — removing access is an explicit,
audited step, never a side effect.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lakevault.core import RandomSource, new_entity_id
from lakevault.core.errors import Conflict, EntityAlreadyExists, NoSuchEntity
from lakevault.db import models
from lakevault.identity._converters import group_info, user_info
from lakevault.identity._entities import GroupInfo, UserInfo
from lakevault.identity._names import (
    EntityKind,
    check_name,
    check_path,
    entity_arn,
    validate_tags,
)
from lakevault.identity._passwords import check_password_policy, hash_password
from lakevault.identity._tenants import get_tenant


def user_row(session: Session, account_id: str, name: str) -> models.User:
    row = session.scalar(
        select(models.User).where(models.User.account_id == account_id, models.User.name == name)
    )
    if row is None:
        raise NoSuchEntity(f"The user with name {name} cannot be found.")
    return row


def group_row(session: Session, account_id: str, name: str) -> models.Group:
    row = session.scalar(
        select(models.Group).where(models.Group.account_id == account_id, models.Group.name == name)
    )
    if row is None:
        raise NoSuchEntity(f"The group with name {name} cannot be found.")
    return row


def count_inline_policies(session: Session, kind: EntityKind, principal_id: str) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                models.InlinePolicy.principal_kind == kind.value,
                models.InlinePolicy.principal_id == principal_id,
            )
        )
        or 0
    )


def create_user(
    session: Session,
    *,
    account_id: str,
    name: str,
    path: str = "/",
    tags: dict[str, str] | None = None,
    now: datetime,
    random: RandomSource,
) -> UserInfo:
    check_name(EntityKind.USER, name, parameter="userName")
    check_path(path)
    get_tenant(session, account_id)
    if session.scalar(
        select(models.User.user_id).where(
            models.User.account_id == account_id, models.User.name == name
        )
    ):
        raise EntityAlreadyExists(f"User with name {name} already exists.")
    row = models.User(
        user_id=new_entity_id("LVUS", random),
        account_id=account_id,
        name=name,
        path=path,
        arn=entity_arn(account_id, EntityKind.USER, name, path),
        password_hash=None,
        tags=validate_tags(tags or {}),
        created_at=now,
    )
    session.add(row)
    session.flush()
    return user_info(row)


def get_user(session: Session, account_id: str, name: str) -> UserInfo:
    return user_info(user_row(session, account_id, name))


def list_users(session: Session, account_id: str, *, path_prefix: str = "/") -> list[UserInfo]:
    rows = session.scalars(
        select(models.User)
        .where(models.User.account_id == account_id, models.User.path.startswith(path_prefix))
        .order_by(models.User.name)
    )
    return [user_info(row) for row in rows]


def delete_user(session: Session, account_id: str, name: str) -> UserInfo:
    row = user_row(session, account_id, name)
    attached = session.scalar(
        select(func.count()).where(models.UserPolicyAttachment.user_id == row.user_id)
    )
    inline = count_inline_policies(session, EntityKind.USER, row.user_id)
    groups = session.scalar(
        select(func.count()).where(models.GroupMembership.user_id == row.user_id)
    )
    if attached or inline or groups:
        raise Conflict(
            f"Cannot delete entity, must detach all policies ({attached} attached, {inline} "
            f"inline) and remove the user from all groups ({groups}) first.",
            code="DeleteConflict",
        )
    platform = session.get(models.PlatformState, 1)
    if platform is not None and platform.admin_user_id == row.user_id:
        raise Conflict(
            "the platform administrator created at installation cannot be deleted",
            code="DeleteConflict",
        )
    info = user_info(row)
    session.delete(row)
    session.flush()
    return info


def set_user_password(session: Session, account_id: str, name: str, password: str) -> None:
    """Give a user a sign-in password (AWS ``CreateLoginProfile``/``UpdateLoginProfile``)."""
    check_password_policy(password)
    user_row(session, account_id, name).password_hash = hash_password(password)
    session.flush()


def tag_user(session: Session, account_id: str, name: str, tags: dict[str, str]) -> UserInfo:
    row = user_row(session, account_id, name)
    row.tags = validate_tags({**row.tags, **tags})
    session.flush()
    return user_info(row)


def create_group(
    session: Session,
    *,
    account_id: str,
    name: str,
    path: str = "/",
    now: datetime,
    random: RandomSource,
) -> GroupInfo:
    check_name(EntityKind.GROUP, name, parameter="groupName")
    check_path(path)
    get_tenant(session, account_id)
    if session.scalar(
        select(models.Group.group_id).where(
            models.Group.account_id == account_id, models.Group.name == name
        )
    ):
        raise EntityAlreadyExists(f"Group with name {name} already exists.")
    row = models.Group(
        group_id=new_entity_id("LVGR", random),
        account_id=account_id,
        name=name,
        path=path,
        arn=entity_arn(account_id, EntityKind.GROUP, name, path),
        created_at=now,
    )
    session.add(row)
    session.flush()
    return group_info(row)


def get_group(session: Session, account_id: str, name: str) -> tuple[GroupInfo, list[UserInfo]]:
    """The group and its members."""
    row = group_row(session, account_id, name)
    members = session.scalars(
        select(models.User)
        .join(models.GroupMembership, models.GroupMembership.user_id == models.User.user_id)
        .where(models.GroupMembership.group_id == row.group_id)
        .order_by(models.User.name)
    )
    return group_info(row), [user_info(member) for member in members]


def list_groups(session: Session, account_id: str) -> list[GroupInfo]:
    rows = session.scalars(
        select(models.Group)
        .where(models.Group.account_id == account_id)
        .order_by(models.Group.name)
    )
    return [group_info(row) for row in rows]


def list_groups_for_user(session: Session, account_id: str, user_name: str) -> list[GroupInfo]:
    user = user_row(session, account_id, user_name)
    rows = session.scalars(
        select(models.Group)
        .join(models.GroupMembership, models.GroupMembership.group_id == models.Group.group_id)
        .where(models.GroupMembership.user_id == user.user_id)
        .order_by(models.Group.name)
    )
    return [group_info(row) for row in rows]


def add_user_to_group(session: Session, account_id: str, group_name: str, user_name: str) -> None:
    group = group_row(session, account_id, group_name)
    user = user_row(session, account_id, user_name)
    if session.get(models.GroupMembership, (group.group_id, user.user_id)) is None:
        session.add(models.GroupMembership(group_id=group.group_id, user_id=user.user_id))
        session.flush()


def remove_user_from_group(
    session: Session, account_id: str, group_name: str, user_name: str
) -> None:
    group = group_row(session, account_id, group_name)
    user = user_row(session, account_id, user_name)
    membership = session.get(models.GroupMembership, (group.group_id, user.user_id))
    if membership is None:
        raise NoSuchEntity(f"The user {user_name} is not in the group {group_name}.")
    session.delete(membership)
    session.flush()


def delete_group(session: Session, account_id: str, name: str) -> GroupInfo:
    row = group_row(session, account_id, name)
    members = session.scalar(
        select(func.count()).where(models.GroupMembership.group_id == row.group_id)
    )
    attached = session.scalar(
        select(func.count()).where(models.GroupPolicyAttachment.group_id == row.group_id)
    )
    inline = count_inline_policies(session, EntityKind.GROUP, row.group_id)
    if members or attached or inline:
        raise Conflict(
            f"Cannot delete entity, must remove users ({members}), detach all policies "
            f"({attached}) and delete inline policies ({inline}) first.",
            code="DeleteConflict",
        )
    info = group_info(row)
    session.delete(row)
    session.flush()
    return info
