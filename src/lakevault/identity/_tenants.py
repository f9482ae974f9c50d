"""Organizations and tenants: creating, finding, grouping.

Functions here act inside the caller's session (one transaction per API call, committed by the
caller together with its audit event); authorisation happens above, in the directory.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lakevault.core import RandomSource, new_account_id
from lakevault.core.errors import EntityAlreadyExists, NoSuchEntity
from lakevault.db import models
from lakevault.identity._converters import organization_info, tenant_info
from lakevault.identity._entities import OrganizationInfo, TenantInfo
from lakevault.identity._names import check_tenant_name


def create_organization(
    session: Session, *, name: str, now: datetime, random: RandomSource
) -> OrganizationInfo:
    check_tenant_name(name)
    if session.scalar(select(models.Organization).where(models.Organization.name == name)):
        raise EntityAlreadyExists(f"an organization named {name!r} already exists")
    organization_id = "o-" + random.token_bytes(5).hex()
    row = models.Organization(organization_id=organization_id, name=name, created_at=now)
    session.add(row)
    session.flush()
    return organization_info(row)


def get_organization(session: Session, organization_id: str) -> OrganizationInfo:
    row = session.get(models.Organization, organization_id)
    if row is None:
        raise NoSuchEntity(f"the organization {organization_id} does not exist")
    return organization_info(row)


def list_organizations(session: Session) -> list[OrganizationInfo]:
    rows = session.scalars(select(models.Organization).order_by(models.Organization.name))
    return [organization_info(row) for row in rows]


def create_tenant(
    session: Session,
    *,
    name: str,
    organization_id: str | None,
    now: datetime,
    random: RandomSource,
) -> TenantInfo:
    """Create a tenant with a fresh random 12-digit account id."""
    check_tenant_name(name)
    if session.scalar(select(models.Tenant).where(models.Tenant.name == name)):
        raise EntityAlreadyExists(f"a tenant named {name!r} already exists")
    if organization_id is not None:
        get_organization(session, organization_id)
    while True:
        account_id = new_account_id(random)
        if session.get(models.Tenant, account_id) is None:
            break
    row = models.Tenant(
        account_id=account_id,
        name=name,
        is_platform=False,
        organization_id=organization_id,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return tenant_info(row)


def get_tenant(session: Session, account_id: str) -> TenantInfo:
    row = session.get(models.Tenant, account_id)
    if row is None:
        raise NoSuchEntity(f"the tenant {account_id} does not exist")
    return tenant_info(row)


def list_tenants(session: Session) -> list[TenantInfo]:
    rows = session.scalars(select(models.Tenant).order_by(models.Tenant.name))
    return [tenant_info(row) for row in rows]
