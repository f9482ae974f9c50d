"""Tenants, users, groups, roles and policies in the metadata store, and the policies the gate
then sees — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from lakevault import iam, identity
from lakevault.audit import IdentityType
from lakevault.core import FixedClock, SystemRandom
from lakevault.core.errors import (
    Conflict,
    EntityAlreadyExists,
    LimitExceeded,
    MalformedPolicyDocument,
    NoSuchEntity,
    ValidationError,
)
from lakevault.db import Database, upgrade
from lakevault.gate import Gate, Request
from lakevault.identity import EntityKind

NOW = datetime(2026, 5, 1, tzinfo=UTC)
RANDOM = SystemRandom()


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


ALLOW_ALL = doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
READ_ONLY = doc({"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})


class Fixture:
    def __init__(self, database: Database) -> None:
        self.database = database
        with database.session() as session:
            self.tenant = identity.create_tenant(
                session, name="research", organization_id=None, now=NOW, random=RANDOM
            )
            self.user = identity.create_user(
                session, account_id=self.account, name="alice", now=NOW, random=RANDOM
            )

    @property
    def account(self) -> str:
        return self.tenant.account_id if hasattr(self, "tenant") else ""

    def session(self) -> Any:
        return self.database.session()

    def principal(self, name: str = "alice") -> identity.Principal:
        with self.database.read_session() as session:
            user = identity.get_user(session, self.account, name)
        return identity.Principal(
            arn=user.arn,
            account_id=user.account_id,
            principal_id=user.user_id,
            identity_type=IdentityType.IAM_USER,
            username=user.name,
        )

    def decide(self, action: str, resource: str = "arn:aws:s3:::bucket/key") -> iam.DecisionKind:
        class Sink:
            def append(self, event: object) -> int:
                return 0

        gate = Gate(
            engine=iam.Evaluator(),
            policies=self.source,
            audit=Sink(),
            clock=FixedClock(),
            random=RANDOM,
            region="local",
        )
        request = Request(
            principal=self.principal(),
            action=action,
            resource=resource,
            resource_account=self.account,
            request_id="r",
        )
        return gate.authorize(request).effect


@pytest.fixture
def world(database: Database) -> Iterator[Fixture]:
    fixture = Fixture(database)
    fixture.source = identity.DatabasePolicySource(database)  # type: ignore[attr-defined]
    yield fixture


def _policy(session: Session, account: str, name: str, document: dict[str, Any]) -> str:
    return identity.create_policy(
        session, account_id=account, name=name, document=document, now=NOW, random=RANDOM
    ).arn


def test_a_user_without_policies_is_implicitly_denied(world: Fixture) -> None:
    assert world.decide("s3:GetObject") is iam.DecisionKind.IMPLICITLY_DENIED


def test_group_policies_apply_to_members_only_while_they_are_members(world: Fixture) -> None:
    with world.session() as session:
        arn = _policy(session, world.account, "Read", READ_ONLY)
        identity.create_group(
            session, account_id=world.account, name="analysts", now=NOW, random=RANDOM
        )
        identity.attach_policy(session, EntityKind.GROUP, world.account, "analysts", arn)
        identity.add_user_to_group(session, world.account, "analysts", "alice")
    assert world.decide("s3:GetObject") is iam.DecisionKind.ALLOWED
    assert world.decide("s3:PutObject") is iam.DecisionKind.IMPLICITLY_DENIED
    with world.session() as session:
        identity.remove_user_from_group(session, world.account, "analysts", "alice")
    assert world.decide("s3:GetObject") is iam.DecisionKind.IMPLICITLY_DENIED


def test_inline_policies_of_user_and_group_apply(world: Fixture) -> None:
    with world.session() as session:
        identity.put_inline_policy(
            session,
            EntityKind.USER,
            world.account,
            "alice",
            policy_name="own",
            document=READ_ONLY,
            now=NOW,
        )
        assert identity.list_inline_policies(session, EntityKind.USER, world.account, "alice") == [
            "own"
        ]
    assert world.decide("s3:GetObject") is iam.DecisionKind.ALLOWED
    with world.session() as session:
        identity.delete_inline_policy(session, EntityKind.USER, world.account, "alice", "own")
    assert world.decide("s3:GetObject") is iam.DecisionKind.IMPLICITLY_DENIED


def test_only_the_default_version_is_in_force_and_changes_are_never_served_stale(
    world: Fixture,
) -> None:
    with world.session() as session:
        arn = _policy(session, world.account, "Evolving", READ_ONLY)
        identity.attach_policy(session, EntityKind.USER, world.account, "alice", arn)
        put_only = doc({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"})
        version = identity.create_policy_version(
            session, arn, put_only, set_as_default=False, now=NOW
        )
    assert version.version_id == "v2" and not version.is_default
    assert world.decide("s3:GetObject") is iam.DecisionKind.ALLOWED
    with world.session() as session:
        identity.set_default_policy_version(session, arn, "v2", now=NOW)
    assert world.decide("s3:GetObject") is iam.DecisionKind.IMPLICITLY_DENIED
    assert world.decide("s3:PutObject") is iam.DecisionKind.ALLOWED


def test_at_most_five_versions_and_the_default_cannot_be_deleted(world: Fixture) -> None:
    with world.session() as session:
        arn = _policy(session, world.account, "Many", READ_ONLY)
        for _ in range(4):
            identity.create_policy_version(session, arn, READ_ONLY, set_as_default=False, now=NOW)
    with pytest.raises(LimitExceeded, match="up to 5 versions"), world.session() as session:
        identity.create_policy_version(session, arn, READ_ONLY, set_as_default=False, now=NOW)
    with pytest.raises(Conflict) as caught, world.session() as session:
        identity.delete_policy_version(session, arn, "v1")
    assert caught.value.code == "DeleteConflict"
    with world.session() as session:
        identity.delete_policy_version(session, arn, "v5")
        assert [v.version_id for v in identity.list_policy_versions(session, arn)] == [
            "v1",
            "v2",
            "v3",
            "v4",
        ]


def test_a_permissions_boundary_caps_what_policies_allow(world: Fixture) -> None:
    with world.session() as session:
        admin = _policy(session, world.account, "Admin", ALLOW_ALL)
        boundary = _policy(session, world.account, "ReadOnlyBoundary", READ_ONLY)
        identity.attach_policy(session, EntityKind.USER, world.account, "alice", admin)
        identity.set_permissions_boundary(
            session, EntityKind.USER, world.account, "alice", boundary
        )
    assert world.decide("s3:GetObject") is iam.DecisionKind.ALLOWED
    assert world.decide("s3:DeleteObject") is not iam.DecisionKind.ALLOWED
    with pytest.raises(Conflict, match="attached"), world.session() as session:
        identity.delete_policy(session, boundary)


def test_guardrails_of_organization_and_tenant_bind_even_administrators(database: Database) -> None:
    with database.session() as session:
        platform = identity.create_tenant  # the platform account is created by bootstrap
    credentials = identity.bootstrap_platform(
        database, clock=FixedClock(), random=RANDOM, region="local"
    )
    assert credentials is not None
    with database.session() as session:
        organization = identity.create_organization(session, name="acme", now=NOW, random=RANDOM)
        tenant = identity.create_tenant(
            session,
            name="acme-data",
            organization_id=organization.organization_id,
            now=NOW,
            random=RANDOM,
        )
        identity.create_user(
            session, account_id=tenant.account_id, name="root-ish", now=NOW, random=RANDOM
        )
        admin = identity.create_policy(
            session,
            account_id=tenant.account_id,
            name="Admin",
            document=ALLOW_ALL,
            now=NOW,
            random=RANDOM,
        ).arn
        identity.attach_policy(session, EntityKind.USER, tenant.account_id, "root-ish", admin)
        no_delete = identity.create_policy(
            session,
            account_id="000000000000",
            name="NoDeletes",
            document=doc(
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {"Sid": "NoDelete", "Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"},
            ),
            now=NOW,
            random=RANDOM,
        ).arn
        identity.attach_guardrail(session, "organization", organization.organization_id, no_delete)
    del platform
    source = identity.DatabasePolicySource(database)
    with database.read_session() as session:
        user = identity.get_user(session, tenant.account_id, "root-ish")
    principal = identity.Principal(
        arn=user.arn,
        account_id=user.account_id,
        principal_id=user.user_id,
        identity_type=IdentityType.IAM_USER,
        username=user.name,
    )
    found = source.policies_for(principal)
    assert [p.policy_id for p in found.guardrails] == [no_delete]
    policies = iam.PolicySet(identity=found.identity, guardrails=found.guardrails)

    def decide(action: str) -> iam.DecisionKind:
        request = iam.EvaluationRequest(
            principal=iam.Principal.from_arn(user.arn),
            action=action,
            resource="arn:aws:s3:::b/k",
            resource_account=tenant.account_id,
            context={},
        )
        return iam.evaluate(request, policies).decision

    assert decide("s3:GetObject") is iam.DecisionKind.ALLOWED
    assert decide("s3:DeleteObject") is iam.DecisionKind.EXPLICITLY_DENIED


def test_deleting_a_user_needs_its_policies_detached_and_then_its_access_ends(
    world: Fixture,
) -> None:
    with world.session() as session:
        arn = _policy(session, world.account, "Read", READ_ONLY)
        identity.attach_policy(session, EntityKind.USER, world.account, "alice", arn)
    principal = world.principal()
    with pytest.raises(Conflict) as caught, world.session() as session:
        identity.delete_user(session, world.account, "alice")
    assert caught.value.code == "DeleteConflict"
    with world.session() as session:
        identity.detach_policy(session, EntityKind.USER, world.account, "alice", arn)
        identity.delete_user(session, world.account, "alice")
    assert world.source.policies_for(principal) == identity.PrincipalPolicies()  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["", "has space", "x" * 65, "semi;colon"])
def test_invalid_user_names_are_validation_errors(world: Fixture, name: str) -> None:
    with pytest.raises(ValidationError, match="userName"), world.session() as session:
        identity.create_user(session, account_id=world.account, name=name, now=NOW, random=RANDOM)


def test_duplicates_and_missing_entities_have_aws_errors(world: Fixture) -> None:
    with (
        pytest.raises(EntityAlreadyExists, match="User with name alice already exists"),
        world.session() as session,
    ):
        identity.create_user(
            session, account_id=world.account, name="alice", now=NOW, random=RANDOM
        )
    with (
        pytest.raises(NoSuchEntity, match="The user with name bob cannot be found"),
        world.session() as session,
    ):
        identity.get_user(session, world.account, "bob")


def test_a_trust_policy_must_name_a_principal(world: Fixture) -> None:
    with pytest.raises(MalformedPolicyDocument), world.session() as session:
        identity.create_role(
            session,
            account_id=world.account,
            name="reader",
            trust_policy=doc({"Effect": "Allow", "Action": "sts:AssumeRole"}),
            now=NOW,
            random=RANDOM,
        )
    with world.session() as session:
        role = identity.create_role(
            session,
            account_id=world.account,
            name="reader",
            trust_policy=doc(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": world.user.arn},
                    "Action": "sts:AssumeRole",
                }
            ),
            now=NOW,
            random=RANDOM,
        )
    assert role.arn == f"arn:aws:iam::{world.account}:role/reader"


def test_policies_of_another_tenant_cannot_be_attached(world: Fixture) -> None:
    with world.session() as session:
        other = identity.create_tenant(
            session, name="other", organization_id=None, now=NOW, random=RANDOM
        )
        foreign = _policy(session, other.account_id, "Theirs", ALLOW_ALL)
    with pytest.raises(Exception, match="belongs to another tenant"), world.session() as session:
        identity.attach_policy(session, EntityKind.USER, world.account, "alice", foreign)


def test_migration_turns_existing_policy_documents_into_version_one(database_url: str) -> None:
    database = Database(database_url)
    upgrade(database, revision="0003")
    with database.session() as session:
        session.execute(
            text(
                "INSERT INTO tenants (account_id, name, is_platform, created_at) "
                "VALUES ('111111111111', 't', false, CURRENT_TIMESTAMP)"
            )
        )
        session.execute(
            text(
                "INSERT INTO policies (policy_id, account_id, name, arn, document, version, "
                "created_at) VALUES ('LVPOAAAAAAAAAAAAAAAA', '111111111111', 'P', "
                "'arn:aws:iam::111111111111:policy/P', '{\"Version\": \"2012-10-17\"}', 1, "
                "CURRENT_TIMESTAMP)"
            )
        )
    upgrade(database)
    with database.read_session() as session:
        versions = identity.list_policy_versions(session, "arn:aws:iam::111111111111:policy/P")
    assert [(v.version_id, v.document, v.is_default) for v in versions] == [
        ("v1", '{"Version": "2012-10-17"}', True)
    ]
    database.dispose()
