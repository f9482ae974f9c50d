"""Block-public-access, and the organization allowance that lets a tenant turn it off.

Block-public-access is on for every bucket. A tenant may turn it off for one bucket
(``s3:PutBucketPublicAccessBlock``) only while its organization allows public buckets — an
allowance only the platform administrator sets (``lakevault:PutOrganizationPublicBuckets`` on
the organization's ARN, in the platform account). With it off, a bucket policy may name
``"*"``, and anonymous requests are decided by the gate like any other: allowed only for what
the policy grants, each one audited with ``userIdentity.type`` ``Anonymous``.

Two rules keep a withdrawn allowance from leaving a bucket public:

* withdrawing it turns block-public-access back on for every bucket of the organization's
  tenants in the same transaction (the allowance row is locked by both sides, so a tenant
  cannot turn it off concurrently);
* while block-public-access is on, a public bucket policy is ignored for every principal outside
  the bucket's account and for anonymous callers (S3's ``RestrictPublicBuckets``) — so a policy
  written while it was off stops working at once, though it stays stored
  (:func:`policy_for_request`, called by the core for every decision).

docs/decisions/0166.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lakevault import iam
from lakevault.core import PLATFORM_ACCOUNT_ID
from lakevault.core.errors import AccessDenied, NoSuchEntity
from lakevault.db import models
from lakevault.identity import Principal
from lakevault.storage._bucket_policy import is_public
from lakevault.storage._names import bucket_arn
from lakevault.storage._types import Caller

if TYPE_CHECKING:
    from lakevault.storage._core import BucketRecord, StorageCore

PUT_ALLOWANCE_ACTION = "lakevault:PutOrganizationPublicBuckets"
GET_ALLOWANCE_ACTION = "lakevault:GetOrganizationPublicBuckets"


def organization_arn(organization_id: str) -> str:
    """The organization's ARN, as the directory names it."""
    return f"arn:aws:lakevault::{PLATFORM_ACCOUNT_ID}:organization/{organization_id}"


def policy_for_request(bucket: BucketRecord, principal: Principal) -> iam.Policy | None:
    """The bucket policy the gate may use for ``principal``.

    While block-public-access is on, a public policy does not apply to anonymous callers or to
    principals of other accounts (S3's ``RestrictPublicBuckets``); the bucket's own account
    keeps it.
    """
    policy = bucket.policy
    if policy is None or not bucket.block_public_access:
        return policy
    if not principal.is_anonymous and principal.account_id == bucket.account_id:
        return policy
    return None if is_public(policy) else policy


@dataclass(frozen=True, slots=True, kw_only=True)
class PublicAccessBlock:
    """A bucket's block-public-access, and whether its organization allows turning it off."""

    bucket: str
    block_public_access: bool
    organization_allows_public: bool


class PublicAccess:
    """Block-public-access per bucket; the organization allowance (platform administrator)."""

    def __init__(self, core: StorageCore) -> None:
        self._core = core

    # -- the organization allowance (platform administrator) ------------------------------------

    def put_organization_allowance(
        self, caller: Caller, organization_id: str, *, allowed: bool
    ) -> bool:
        """Allow (or stop allowing) the organization's tenants to have public buckets.

        Stopping turns block-public-access on again for all their buckets, atomically.
        """
        core = self._core
        resource = organization_arn(organization_id)
        core.authorize(
            caller,
            action=PUT_ALLOWANCE_ACTION,
            resource=resource,
            bucket=None,
            read_only=False,
            parameters={"organizationId": organization_id, "allowed": allowed},
            resource_account=PLATFORM_ACCOUNT_ID,
        )
        with core.database.session() as session:
            if session.get(models.Organization, organization_id) is None:
                raise NoSuchEntity(f"the organization {organization_id!r} does not exist")
            row = session.get(
                models.OrganizationPublicBuckets,
                organization_id,
                with_for_update=not core.database.is_sqlite,
            )
            closed = 0
            if allowed and row is None:
                session.add(
                    models.OrganizationPublicBuckets(
                        organization_id=organization_id, updated_at=core.clock.now()
                    )
                )
            elif not allowed and row is not None:
                session.delete(row)
                accounts = select(models.Tenant.account_id).where(
                    models.Tenant.organization_id == organization_id
                )
                result = session.execute(
                    update(models.Bucket)
                    .where(
                        models.Bucket.account_id.in_(accounts),
                        models.Bucket.block_public_access.is_(False),
                    )
                    .values(block_public_access=True)
                    .execution_options(synchronize_session=False)
                )
                closed = int(getattr(result, "rowcount", 0) or 0)
            core.record_change(
                session,
                caller,
                action=PUT_ALLOWANCE_ACTION,
                resource=resource,
                resource_account=PLATFORM_ACCOUNT_ID,
                parameters={"organizationId": organization_id, "allowed": allowed},
                elements={"bucketsBlockedAgain": closed},
            )
        return allowed

    def get_organization_allowance(self, caller: Caller, organization_id: str) -> bool:
        core = self._core
        core.authorize(
            caller,
            action=GET_ALLOWANCE_ACTION,
            resource=organization_arn(organization_id),
            bucket=None,
            read_only=True,
            parameters={"organizationId": organization_id},
            resource_account=PLATFORM_ACCOUNT_ID,
        )
        with core.database.read_session() as session:
            return session.get(models.OrganizationPublicBuckets, organization_id) is not None

    # -- a bucket's block-public-access (the tenant) ----------------------------------------------

    def get_public_access_block(self, caller: Caller, bucket: str) -> PublicAccessBlock:
        """``s3:GetBucketPublicAccessBlock``."""
        core = self._core
        record = core.load_bucket(bucket)
        core.authorize(
            caller,
            action="s3:GetBucketPublicAccessBlock",
            resource=bucket_arn(bucket),
            bucket=record,
            read_only=True,
            parameters={"bucketName": bucket},
        )
        with core.database.read_session() as session:
            allowed = _allowance(session, record.account_id, lock=False) is not None
        return PublicAccessBlock(
            bucket=bucket,
            block_public_access=record.block_public_access,
            organization_allows_public=allowed,
        )

    def put_public_access_block(
        self, caller: Caller, bucket: str, *, block_public_access: bool
    ) -> PublicAccessBlock:
        """``s3:PutBucketPublicAccessBlock``: turning it off needs the organization allowance."""
        core = self._core
        record = core.load_bucket(bucket)
        parameters = {"bucketName": bucket, "blockPublicAccess": block_public_access}
        core.authorize(
            caller,
            action="s3:PutBucketPublicAccessBlock",
            resource=bucket_arn(bucket),
            bucket=record,
            read_only=False,
            parameters=parameters,
        )
        with core.database.session() as session:
            allowance = _allowance(session, record.account_id, lock=not core.database.is_sqlite)
            if not block_public_access and allowance is None:
                raise AccessDenied(
                    f"block-public-access cannot be turned off for bucket {bucket!r}: the "
                    "tenant's organization does not allow public buckets (the platform "
                    "administrator sets PUT /api/v1/organizations/{id}/public-buckets)"
                )
            row = core.lock_bucket(session, bucket)
            row.block_public_access = block_public_access
            core.record_change(
                session,
                caller,
                action="s3:PutBucketPublicAccessBlock",
                resource=bucket_arn(bucket),
                resource_account=record.account_id,
                parameters=parameters,
            )
        return PublicAccessBlock(
            bucket=bucket,
            block_public_access=block_public_access,
            organization_allows_public=allowance is not None,
        )


def _allowance(
    session: Session, account_id: str, *, lock: bool
) -> models.OrganizationPublicBuckets | None:
    organization_id = session.scalar(
        select(models.Tenant.organization_id).where(models.Tenant.account_id == account_id)
    )
    if organization_id is None:
        return None
    return session.get(models.OrganizationPublicBuckets, organization_id, with_for_update=lock)
