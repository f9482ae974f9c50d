"""Recovery by the operator, outside the API: unlock a user, sign a user out everywhere.

These are the documented way out when no administrator can sign in — the platform
administrator locked out by an attacker's failed attempts, say. They need what only the
operator has (the configuration and the metadata database) and no sign-in at all, so no lockout
can stand in their way. Each is recorded in the tenant's audit log as the platform's own
(``AWSService``) action, in the transaction of its effect.
"""

from __future__ import annotations

from datetime import datetime

from lakevault.audit import AuditEvent, EventResource, IdentityType, UserIdentity, append_in
from lakevault.core import Clock, RandomSource, new_request_id
from lakevault.db import Database, models
from lakevault.identity._sign_in_state import sign_out_everywhere, unlock_user
from lakevault.identity._users import user_row


def recover_user(
    database: Database,
    *,
    account_id: str,
    user_name: str,
    sign_out: bool,
    clock: Clock,
    random: RandomSource,
    region: str,
) -> None:
    """End the user's lockout (and, with ``sign_out``, revoke every token); raise
    ``NoSuchEntity`` when the user does not exist."""
    now = clock.now()
    with database.session() as session:
        user = user_row(session, account_id, user_name)
        unlock_user(session, user.user_id)
        if sign_out:
            sign_out_everywhere(session, user.user_id, now=now)
        append_in(session, _event(user, sign_out=sign_out, now=now, random=random, region=region))


def _event(
    user: models.User, *, sign_out: bool, now: datetime, random: RandomSource, region: str
) -> AuditEvent:
    return AuditEvent(
        event_id=new_request_id(random),
        event_time=now,
        event_source="lakevault.local",
        event_name="OperatorRecoverUser",
        region=region,
        source_ip_address=None,
        user_agent="lakevault-cli",
        user_identity=UserIdentity(
            type=IdentityType.AWS_SERVICE,
            principal_id="lakevault",
            arn="lakevault.local",
            account_id=user.account_id,
        ),
        request_id=new_request_id(random),
        read_only=False,
        recipient_account_id=user.account_id,
        resources=(EventResource(arn=user.arn, account_id=user.account_id, type="User"),),
        request_parameters={"userName": user.name, "signOut": sign_out},
        additional={"stateChange": True},
    )
