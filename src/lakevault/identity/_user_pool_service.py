"""The user pool's public flows: sign-up, confirmation, sign-in with lockout and MFA, tokens,
refresh, sign-out everywhere, password reset.

These are Cognito's unauthenticated APIs (and the self-service ones a user calls with their own
access token): no IAM policy decides them, so each records its own audit event
(``eventSource`` ``cognito-idp.amazonaws.com``; password sign-in keeps CloudTrail's
``ConsoleLogin``) in the transaction of its effect. Rules that hold throughout:

* **No enumeration.** Sign-up, sign-in, code confirmation and reset answer the same whether or
  not the user exists, and an unknown user costs the same argon2 work as a known one. A locked
  user gets the wrong-password answer (the reason goes to the audit log only).
* **Bounded.** Every password or code check is rate-limited per client address and per user
  name (:class:`AttemptLimiter`), and failures lock the user with bounded exponential backoff.
* **Secrets once.** Passwords, codes, TOTP secrets and tokens appear only in the value that
  issues them; events record names and outcomes.

The methods block (argon2, database): the HTTP face runs them in a worker thread.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NoReturn

import sqlalchemy.exc
from sqlalchemy import select
from sqlalchemy.orm import Session

from lakevault.audit import AuditEvent, EventResource, IdentityType, UserIdentity, append_in
from lakevault.core import PLATFORM_ACCOUNT_ID, Clock, RandomSource, new_request_id
from lakevault.core.errors import AccessDenied, InvalidInput, LakevaultError
from lakevault.db import Database, models
from lakevault.identity._authenticate import user_principal
from lakevault.identity._mail import Enqueue, queue_mail
from lakevault.identity._mfa import (
    MFAEnrollment,
    associate_device,
    check_device_code,
    confirm_device,
    confirmed_device,
)
from lakevault.identity._names import EntityKind, check_name
from lakevault.identity._passwords import hash_password, is_password_valid
from lakevault.identity._principal import Principal
from lakevault.identity._rate_limit import AttemptLimiter
from lakevault.identity._refresh_tokens import (
    IssuedRefreshToken,
    RotationOutcome,
    issue_refresh_token,
    revoke_refresh_token,
    rotate_refresh_token,
)
from lakevault.identity._sign_in_state import (
    is_locked,
    record_failure,
    record_success,
    sign_out_everywhere,
)
from lakevault.identity._tokens import IssuedToken, TokenService
from lakevault.identity._user_pool import (
    MemberStatus,
    check_email,
    create_member,
    groups_of_user,
    is_temporary_password_expired,
    mask_email,
    member_row,
    pool_for_account,
    pool_password_policy,
    pool_row,
)
from lakevault.identity._user_pool_codes import CodePurpose, code_mismatch, consume_code, issue_code
from lakevault.identity._user_pool_rules import LockoutPolicy, MFAConfiguration, TokenLifetimes
from lakevault.kms import PlatformRootKey

COGNITO_SOURCE = "cognito-idp.amazonaws.com"
CHALLENGE_TTL = timedelta(minutes=5)
MAX_CHALLENGE_ATTEMPTS = 3
CHALLENGE_PREFIX = "lvch."
_SIGN_IN_FAILED = "sign-in failed: the account id, user name or password is wrong"
_POOL_SIGN_IN_FAILED = "Incorrect username or password."
#: An argon2id hash (of a fixed text, at argon2-cffi's default parameters) verified when the
#: user is unknown or locked, so those answers cost what a wrong password costs. A constant,
#: not computed on first use: the first unknown user would otherwise pay one extra hash.
#: tests/unit/identity/test_user_pool_rules.py checks that its parameters are the hasher's.
DECOY_ARGON2_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$CGRTjorAg2pTZWxVHj+Sdw$"
    "i1XDceJ5+sZYwcbE4c+CWaVY2RdjtUDVEliqhndvNt8"
)


class ChallengeName(StrEnum):
    """What a sign-in still needs after the password (Cognito's challenge names)."""

    SOFTWARE_TOKEN_MFA = "SOFTWARE_TOKEN_MFA"  # noqa: S105 - a challenge name
    MFA_SETUP = "MFA_SETUP"
    NEW_PASSWORD_REQUIRED = "NEW_PASSWORD_REQUIRED"  # noqa: S105 - a challenge name


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientInfo:
    """Where a request comes from, for rate limits and audit events."""

    source_ip: str | None = None
    user_agent: str | None = None
    request_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthenticationResult:
    """The tokens of a completed sign-in or refresh; ``repr`` shows none of them."""

    access_token: IssuedToken = field(repr=False)
    refresh_token: IssuedRefreshToken = field(repr=False)
    id_token: IssuedToken | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingChallenge:
    """A sign-in that passed the password and must answer ``name``; ``session`` is secret."""

    name: ChallengeName
    session: str = field(repr=False)
    expires_at: datetime


SignInResult = AuthenticationResult | PendingChallenge


@dataclass(frozen=True, slots=True, kw_only=True)
class CodeDelivery:
    """Where a code went: a masked address (sign-up) or nothing at all (reset)."""

    destination: str | None
    medium: str = "EMAIL"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Flow:
    """What differs between IAM sign-in (``/sessions``) and pool sign-in."""

    account_id: str
    pool: models.UserPool | None
    event_source: str
    event_name: str
    failure_code: str
    failure_message: str


class UserPoolService:
    """The flows above, over one database, token service, job queue and rate limiter."""

    def __init__(
        self,
        *,
        database: Database,
        tokens: TokenService,
        clock: Clock,
        random: RandomSource,
        root_key: Callable[[], PlatformRootKey],
        enqueue: Enqueue,
        region: str,
        lockout: LockoutPolicy,
        lifetimes: TokenLifetimes,
        limiter: AttemptLimiter,
    ) -> None:
        self._database = database
        self._tokens = tokens
        self._clock = clock
        self._random = random
        self._root_key = root_key
        self._enqueue = enqueue
        self._region = region
        self._lockout = lockout
        self._lifetimes = lifetimes
        self._limiter = limiter

    @property
    def lockout(self) -> LockoutPolicy:
        return self._lockout

    # --- sign-in ---------------------------------------------------------------------------

    def sign_in(
        self,
        *,
        account_id: str,
        user_name: str,
        password: str,
        mfa_code: str | None = None,
        client: ClientInfo,
    ) -> SignInResult:
        """Password sign-in of any user of a tenant (``POST /api/v1/sessions``)."""
        with self._database.read_session() as session:
            known = session.get(models.Tenant, account_id) is not None
            pool = pool_for_account(session, account_id) if known else None
            user = (
                session.scalar(
                    select(models.User).where(
                        models.User.account_id == account_id, models.User.name == user_name
                    )
                )
                if known
                else None
            )
            member = session.get(models.UserPoolMember, user.user_id) if user else None
        flow = _Flow(
            account_id=account_id if known else PLATFORM_ACCOUNT_ID,
            pool=pool,
            event_source="signin.amazonaws.com",
            event_name="ConsoleLogin",
            failure_code=AccessDenied.code,
            failure_message=_SIGN_IN_FAILED,
        )
        return self._password_step(
            flow,
            user,
            member,
            user_name=user_name,
            password=password,
            mfa_code=mfa_code,
            client=client,
            claimed_account=account_id,
        )

    def pool_sign_in(
        self,
        *,
        pool_id: str,
        user_name: str,
        password: str,
        mfa_code: str | None = None,
        client: ClientInfo,
    ) -> SignInResult:
        """``InitiateAuth`` with ``USER_PASSWORD_AUTH``: members of the pool only."""
        with self._database.read_session() as session:
            pool = pool_row(session, pool_id)
            found = member_row(session, pool_id, user_name)
        flow = _Flow(
            account_id=pool.account_id,
            pool=pool,
            event_source=COGNITO_SOURCE,
            event_name="InitiateAuth",
            failure_code="NotAuthorizedException",
            failure_message=_POOL_SIGN_IN_FAILED,
        )
        user, member = found if found is not None else (None, None)
        return self._password_step(
            flow,
            user,
            member,
            user_name=user_name,
            password=password,
            mfa_code=mfa_code,
            client=client,
            claimed_account=None,
        )

    def _password_step(
        self,
        flow: _Flow,
        user: models.User | None,
        member: models.UserPoolMember | None,
        *,
        user_name: str,
        password: str,
        mfa_code: str | None,
        client: ClientInfo,
        claimed_account: str | None,
    ) -> SignInResult:
        self._limit(
            client, flow.account_id if claimed_account is None else claimed_account, user_name
        )
        now = self._clock.now()
        locked = False
        if user is not None:
            with self._database.read_session() as session:
                state = session.get(models.UserSignInState, user.user_id)
                locked = state is not None and is_locked(state, now)
        if user is None or user.password_hash is None or locked:
            is_password_valid(DECOY_ARGON2_HASH, password)
            reason = "locked" if locked else "unknown-user"
            self._fail(flow, user, user_name, client, reason=reason, count=False)
        if not is_password_valid(user.password_hash, password):
            self._fail(flow, user, user_name, client, reason="wrong-password", count=True)
        if member is not None and member.status == MemberStatus.FORCE_CHANGE_PASSWORD:
            if is_temporary_password_expired(member, now):
                self._record(
                    flow, user, user_name, client, outcome="Failure", reason="temporary-expired"
                )
                raise AccessDenied(
                    "Temporary password has expired and must be reset by an administrator.",
                    code="NotAuthorizedException",
                )
            return self._challenge(
                flow, user, user_name, client, ChallengeName.NEW_PASSWORD_REQUIRED
            )
        if member is not None and member.status != MemberStatus.CONFIRMED:
            self._record(flow, user, user_name, client, outcome="Failure", reason="unconfirmed")
            raise AccessDenied(
                "the user has not confirmed the sign-up code yet; confirm it, or ask for a new "
                "code",
                code="UserNotConfirmedException",
            )
        return self._after_password(flow, user, user_name, mfa_code, client, now=now)

    def _after_password(
        self,
        flow: _Flow,
        user: models.User,
        user_name: str,
        mfa_code: str | None,
        client: ClientInfo,
        *,
        now: datetime,
    ) -> SignInResult:
        """The MFA step that follows a good password (or a first new password)."""
        with self._database.read_session() as session:
            device = confirmed_device(session, user.user_id)
            required = self._is_mfa_required(session, flow.pool, user.user_id)
        if device is not None:
            if mfa_code is None:
                return self._challenge(
                    flow, user, user_name, client, ChallengeName.SOFTWARE_TOKEN_MFA
                )
            return self._mfa_step(flow, user, user_name, mfa_code, client, now=now)
        if required:
            return self._challenge(flow, user, user_name, client, ChallengeName.MFA_SETUP)
        return self._succeed(flow, user, user_name, client, mfa=False, authenticated_at=now)

    def _is_mfa_required(
        self, session: Session, pool: models.UserPool | None, user_id: str
    ) -> bool:
        if pool is None:
            return False
        if pool.mfa_configuration == MFAConfiguration.ON.value:
            return True
        return any(group.mfa_required for group in groups_of_user(session, pool.pool_id, user_id))

    def _mfa_step(
        self,
        flow: _Flow,
        user: models.User,
        user_name: str,
        code: str,
        client: ClientInfo,
        *,
        now: datetime,
        challenge_digest: str | None = None,
    ) -> AuthenticationResult:
        failure: LakevaultError | None = None
        with self._database.session() as session:
            device = confirmed_device(session, user.user_id)
            try:
                if device is None:
                    raise code_mismatch()
                check_device_code(session, device, code, root_key=self._root_key(), now=now)
            except InvalidInput as exc:
                failure = exc
        if failure is not None:
            self._count_challenge_failure(challenge_digest)
            self._fail(
                flow, user, user_name, client, reason="wrong-mfa-code", count=True, error=failure
            )
        if challenge_digest is not None:
            self._drop_challenge(challenge_digest)
        return self._succeed(flow, user, user_name, client, mfa=True, authenticated_at=now)

    def _challenge(
        self,
        flow: _Flow,
        user: models.User,
        user_name: str,
        client: ClientInfo,
        name: ChallengeName,
    ) -> PendingChallenge:
        now = self._clock.now()
        secret = CHALLENGE_PREFIX + base64.urlsafe_b64encode(self._random.token_bytes(32)).decode()
        with self._database.session() as session:
            session.add(
                models.SignInChallenge(
                    challenge_digest=_digest(secret),
                    user_id=user.user_id,
                    kind=name.value,
                    failed_attempts=0,
                    created_at=now,
                    expires_at=now + CHALLENGE_TTL,
                )
            )
            append_in(
                session,
                self._event(
                    flow,
                    user,
                    user_name,
                    client,
                    outcome="Challenge",
                    extra={"challengeName": name.value},
                ),
            )
        return PendingChallenge(name=name, session=secret, expires_at=now + CHALLENGE_TTL)

    def respond_to_challenge(
        self,
        *,
        session_token: str,
        mfa_code: str | None = None,
        new_password: str | None = None,
        client: ClientInfo,
    ) -> SignInResult:
        """Answer ``SOFTWARE_TOKEN_MFA`` (a code of the device), ``MFA_SETUP`` (the first
        code of the device associated with this session) or ``NEW_PASSWORD_REQUIRED`` (the
        password that replaces an administrator's temporary one; an MFA challenge may
        follow)."""
        challenge, user, flow = self._open_challenge(session_token)
        self._limit(client, user.account_id, user.name)
        now = self._clock.now()
        if challenge.kind == ChallengeName.NEW_PASSWORD_REQUIRED.value:
            return self._set_first_password(flow, challenge, user, new_password, client, now=now)
        if mfa_code is None:
            raise InvalidInput(
                f"the {challenge.kind} challenge is answered with mfaCode",
                code="InvalidParameterException",
            )
        if challenge.kind == ChallengeName.SOFTWARE_TOKEN_MFA.value:
            return self._mfa_step(
                flow,
                user,
                user.name,
                mfa_code,
                client,
                now=now,
                challenge_digest=challenge.challenge_digest,
            )
        failure: LakevaultError | None = None
        with self._database.session() as session:
            try:
                confirm_device(session, user.user_id, mfa_code, root_key=self._root_key(), now=now)
            except InvalidInput as exc:
                failure = exc
        if failure is not None:
            self._count_challenge_failure(challenge.challenge_digest)
            raise failure
        self._drop_challenge(challenge.challenge_digest)
        return self._succeed(flow, user, user.name, client, mfa=True, authenticated_at=now)

    def _set_first_password(
        self,
        flow: _Flow,
        challenge: models.SignInChallenge,
        user: models.User,
        new_password: str | None,
        client: ClientInfo,
        *,
        now: datetime,
    ) -> SignInResult:
        """Replace the temporary password; the member is confirmed, the challenge used up."""
        if new_password is None:
            raise InvalidInput(
                "the NEW_PASSWORD_REQUIRED challenge is answered with newPassword",
                code="InvalidParameterException",
            )
        if flow.pool is not None:
            pool_password_policy(flow.pool).check(new_password)
        if is_password_valid(user.password_hash or DECOY_ARGON2_HASH, new_password):
            raise InvalidInput(
                "the new password must differ from the temporary one",
                code="InvalidPasswordException",
            )
        password_hash = hash_password(new_password)
        with self._database.session() as session:
            row = session.get(models.User, user.user_id)
            member = session.get(models.UserPoolMember, user.user_id)
            if row is None or member is None:
                raise AccessDenied(
                    "the sign-in session is invalid or has expired; sign in again",
                    code="NotAuthorizedException",
                )
            row.password_hash = password_hash
            member.status = MemberStatus.CONFIRMED
            found = session.get(models.SignInChallenge, challenge.challenge_digest)
            if found is not None:
                session.delete(found)
            append_in(session, self._self_service_event(row, "ChangePassword", client))
        return self._after_password(flow, user, user.name, None, client, now=now)

    def associate_software_token(
        self,
        *,
        session_token: str | None = None,
        principal: Principal | None = None,
        client: ClientInfo,
    ) -> MFAEnrollment:
        """A new TOTP secret for the user of an ``MFA_SETUP`` challenge, or for a signed-in
        user. Replacing a confirmed device needs a token that itself passed MFA."""
        now = self._clock.now()
        if session_token is not None:
            challenge, user, _flow = self._open_challenge(session_token)
            if challenge.kind != ChallengeName.MFA_SETUP.value:
                raise AccessDenied(
                    "this session does not set up MFA", code="NotAuthorizedException"
                )
        elif principal is not None and principal.identity_type is IdentityType.IAM_USER:
            with self._database.read_session() as session:
                found = session.get(models.User, principal.principal_id)
                device = confirmed_device(session, principal.principal_id)
            if found is None:
                raise AccessDenied(
                    "the access token is not valid; sign in again", code="InvalidToken"
                )
            if device is not None and not principal.mfa_authenticated:
                raise AccessDenied(
                    "an authenticator is already set up; sign in with it to replace it",
                    code="NotAuthorizedException",
                )
            user = found
        else:
            raise AccessDenied(
                "associating an authenticator needs a user's access token or an MFA_SETUP session",
                code="NotAuthorizedException",
            )
        with self._database.session() as session:
            enrollment = associate_device(
                session,
                session.get(models.User, user.user_id) or user,
                root_key=self._root_key(),
                issuer=f"lakevault {self._region}",
                now=now,
                random=self._random,
            )
            append_in(session, self._self_service_event(user, "AssociateSoftwareToken", client))
        return enrollment

    def verify_software_token(
        self, *, principal: Principal, mfa_code: str, client: ClientInfo
    ) -> None:
        """Confirm the signed-in user's newly associated device with its first code."""
        self._limit(client, principal.account_id, principal.username or principal.principal_id)
        now = self._clock.now()
        with self._database.session() as session:
            user = session.get(models.User, principal.principal_id)
            if user is None:
                raise AccessDenied(
                    "the access token is not valid; sign in again", code="InvalidToken"
                )
            confirm_device(session, user.user_id, mfa_code, root_key=self._root_key(), now=now)
            append_in(session, self._self_service_event(user, "VerifySoftwareToken", client))

    def _open_challenge(
        self, session_token: str
    ) -> tuple[models.SignInChallenge, models.User, _Flow]:
        invalid = AccessDenied(
            "the sign-in session is invalid or has expired; sign in again",
            code="NotAuthorizedException",
        )
        now = self._clock.now()
        with self._database.read_session() as session:
            challenge = session.get(models.SignInChallenge, _digest(session_token))
            user = session.get(models.User, challenge.user_id) if challenge is not None else None
            pool = pool_for_account(session, user.account_id) if user is not None else None
            member = session.get(models.UserPoolMember, user.user_id) if user is not None else None
        if challenge is None or user is None or challenge.expires_at <= now:
            raise invalid
        is_pool = member is not None and pool is not None
        flow = _Flow(
            account_id=user.account_id,
            pool=pool,
            event_source=COGNITO_SOURCE if is_pool else "signin.amazonaws.com",
            event_name="RespondToAuthChallenge" if is_pool else "ConsoleLogin",
            failure_code="NotAuthorizedException",
            failure_message=_POOL_SIGN_IN_FAILED,
        )
        return challenge, user, flow

    def _count_challenge_failure(self, digest: str | None) -> None:
        if digest is None:
            return
        with self._database.session() as session:
            challenge = session.get(models.SignInChallenge, digest)
            if challenge is not None:
                challenge.failed_attempts += 1
                if challenge.failed_attempts >= MAX_CHALLENGE_ATTEMPTS:
                    session.delete(challenge)

    def _drop_challenge(self, digest: str) -> None:
        with self._database.session() as session:
            challenge = session.get(models.SignInChallenge, digest)
            if challenge is not None:
                session.delete(challenge)

    def _succeed(
        self,
        flow: _Flow,
        user: models.User,
        user_name: str,
        client: ClientInfo,
        *,
        mfa: bool,
        authenticated_at: datetime,
    ) -> AuthenticationResult:
        with self._database.session() as session:
            state = record_success(session, user.user_id)
            result = self._tokens_for(
                session,
                user,
                generation=state.token_generation,
                mfa=mfa,
                authenticated_at=authenticated_at,
                family=None,
            )
            append_in(
                session,
                self._event(flow, user, user_name, client, outcome="Success", extra={"mfa": mfa}),
            )
        return result

    def _tokens_for(
        self,
        session: Session,
        user: models.User,
        *,
        generation: int,
        mfa: bool,
        authenticated_at: datetime,
        family: IssuedRefreshToken | None,
    ) -> AuthenticationResult:
        """Access token, ID token (pool members) and refresh token (new family unless given)."""
        now = self._clock.now()
        member = session.get(models.UserPoolMember, user.user_id)
        groups = (
            tuple(group.name for group in groups_of_user(session, member.pool_id, user.user_id))
            if member is not None
            else ()
        )
        principal = dataclasses.replace(user_principal(user), mfa_authenticated=mfa)
        access = self._tokens.issue(
            principal,
            ttl_seconds=self._lifetimes.access_seconds,
            token_generation=generation,
            groups=groups,
        )
        id_token = None
        if member is not None:
            id_token = self._tokens.issue_id_token(
                principal,
                audience=member.pool_id,
                groups=groups,
                email=member.email,
                email_verified=member.email_verified,
                authenticated_at=authenticated_at,
                ttl_seconds=self._lifetimes.id_seconds,
            )
        refresh = family or issue_refresh_token(
            session,
            user_id=user.user_id,
            account_id=user.account_id,
            token_generation=generation,
            is_mfa_authenticated=mfa,
            authenticated_at=authenticated_at,
            now=now,
            random=self._random,
            ttl_seconds=self._lifetimes.refresh_seconds,
        )
        return AuthenticationResult(access_token=access, refresh_token=refresh, id_token=id_token)

    def _fail(
        self,
        flow: _Flow,
        user: models.User | None,
        user_name: str,
        client: ClientInfo,
        *,
        reason: str,
        count: bool,
        error: LakevaultError | None = None,
    ) -> NoReturn:
        """Record a failed attempt (and count it toward lockout), then raise."""
        with self._database.session() as session:
            if count and user is not None:
                record_failure(session, user.user_id, policy=self._lockout, now=self._clock.now())
            append_in(
                session,
                self._event(flow, user, user_name, client, outcome="Failure", reason=reason),
            )
        raise error or AccessDenied(flow.failure_message, code=flow.failure_code)

    def _record(
        self,
        flow: _Flow,
        user: models.User | None,
        user_name: str,
        client: ClientInfo,
        *,
        outcome: str,
        reason: str,
    ) -> None:
        with self._database.session() as session:
            append_in(
                session, self._event(flow, user, user_name, client, outcome=outcome, reason=reason)
            )

    # --- refresh, revocation ---------------------------------------------------------------

    def refresh(self, *, refresh_token: str, client: ClientInfo) -> AuthenticationResult:
        """``REFRESH_TOKEN_AUTH``: new access (and ID) token and the refresh token's successor.

        A token presented twice revokes its whole family (reuse detection).
        """
        invalid = AccessDenied(
            "the refresh token is not valid; sign in again", code="NotAuthorizedException"
        )
        now = self._clock.now()
        with self._database.session() as session:
            rotation = rotate_refresh_token(session, refresh_token, now=now, random=self._random)
            used = rotation.used
            user = session.get(models.User, used.user_id) if used is not None else None
            if rotation.outcome is RotationOutcome.REUSED and user is not None:
                append_in(
                    session,
                    self._self_service_event(
                        user, "RefreshTokenReuseDetected", client, error="NotAuthorizedException"
                    ),
                )
            if rotation.outcome is not RotationOutcome.ROTATED or user is None or used is None:
                result = None
            else:
                result = self._tokens_for(
                    session,
                    user,
                    generation=used.token_generation,
                    mfa=used.is_mfa_authenticated,
                    authenticated_at=used.authenticated_at,
                    family=rotation.successor,
                )
                append_in(session, self._self_service_event(user, "RefreshTokenAuth", client))
        if result is None:
            raise invalid
        return result

    def revoke_token(self, *, refresh_token: str, client: ClientInfo) -> None:
        """``RevokeToken``: the refresh token's family stops (access tokens run out)."""
        with self._database.session() as session:
            user_id = revoke_refresh_token(session, refresh_token, now=self._clock.now())
            user = session.get(models.User, user_id) if user_id is not None else None
            if user is not None:
                append_in(session, self._self_service_event(user, "RevokeToken", client))

    def global_sign_out(self, *, principal: Principal, client: ClientInfo) -> None:
        """Sign the calling user out everywhere: every access and refresh token stops now."""
        with self._database.session() as session:
            user = session.get(models.User, principal.principal_id)
            if user is None or principal.identity_type is not IdentityType.IAM_USER:
                raise AccessDenied(
                    "only a user can sign out everywhere", code="NotAuthorizedException"
                )
            sign_out_everywhere(session, user.user_id, now=self._clock.now())
            append_in(session, self._self_service_event(user, "GlobalSignOut", client))

    # --- sign-up and password reset --------------------------------------------------------

    def sign_up(
        self,
        *,
        pool_id: str,
        user_name: str,
        password: str,
        email: str,
        client: ClientInfo,
    ) -> CodeDelivery:
        """Create an unconfirmed pool user and mail a verification code.

        A taken user name gets the same answer, after the same argon2 work, and no mail.
        """
        self._limit(client, pool_id, user_name)
        now = self._clock.now()
        with self._database.read_session() as session:
            pool = pool_row(session, pool_id)
        if not pool.allow_self_sign_up:
            raise AccessDenied(
                "SignUp is not permitted for this user pool", code="NotAuthorizedException"
            )
        check_name(EntityKind.USER, user_name, parameter="username")
        check_email(email)
        pool_password_policy(pool).check(password)
        password_hash = hash_password(password)
        delivery = CodeDelivery(destination=mask_email(email))
        try:
            with self._database.session() as session:
                taken = session.scalar(
                    select(models.User.user_id).where(
                        models.User.account_id == pool.account_id, models.User.name == user_name
                    )
                )
                if taken is None:
                    user = create_member(
                        session,
                        pool,
                        user_name=user_name,
                        password_hash=password_hash,
                        email=email,
                        email_verified=False,
                        status=MemberStatus.UNCONFIRMED,
                        now=now,
                        random=self._random,
                    )
                    self._mail_code(session, pool, user, email, CodePurpose.VERIFY_EMAIL)
                append_in(
                    session,
                    self._pool_event(
                        pool,
                        "SignUp",
                        user_name,
                        client,
                        error="UsernameExistsException" if taken else None,
                    ),
                )
        except sqlalchemy.exc.IntegrityError:
            # A concurrent sign-up took the name first: the same answer as for a taken name.
            return delivery
        return delivery

    def _mail_code(
        self,
        session: Session,
        pool: models.UserPool,
        user: models.User,
        email: str,
        purpose: CodePurpose,
    ) -> None:
        now = self._clock.now()
        code = issue_code(
            session, user.user_id, purpose, root_key=self._root_key(), now=now, random=self._random
        )
        if purpose is CodePurpose.VERIFY_EMAIL:
            subject = f"Your verification code for {pool.name}"
            text = f"Your verification code is {code}. It expires in 24 hours."
        else:
            subject = f"Your password reset code for {pool.name}"
            text = (
                f"Your password reset code is {code}. It expires in 1 hour. If you did not ask "
                "to reset your password, ignore this message."
            )
        queue_mail(
            session,
            self._enqueue,
            account_id=pool.account_id,
            recipient=email,
            subject=subject,
            body=f"Hello {user.name},\n\n{text}\n",
            now=now,
            random=self._random,
        )

    def confirm_sign_up(
        self, *, pool_id: str, user_name: str, code: str, client: ClientInfo
    ) -> None:
        """Confirm with the mailed code; every failure is the same ``CodeMismatchException``."""
        self._limit(client, pool_id, user_name)
        now = self._clock.now()
        with self._database.session() as session:
            pool = pool_row(session, pool_id)
            _user, member, is_confirmed = self._use_member_code(
                session, pool_id, user_name, CodePurpose.VERIFY_EMAIL, code, now=now
            )
            if is_confirmed and member is not None:
                member.status = MemberStatus.CONFIRMED
                member.email_verified = True
            append_in(
                session,
                self._pool_event(
                    pool,
                    "ConfirmSignUp",
                    user_name,
                    client,
                    error=None if is_confirmed else "CodeMismatchException",
                ),
            )
        if not is_confirmed:
            raise code_mismatch()

    def resend_confirmation_code(
        self, *, pool_id: str, user_name: str, client: ClientInfo
    ) -> CodeDelivery:
        """A new code for an unconfirmed user; the same answer for anyone else."""
        self._limit(client, pool_id, user_name)
        with self._database.session() as session:
            pool = pool_row(session, pool_id)
            found = member_row(session, pool_id, user_name)
            if found is not None and found[1].status == MemberStatus.UNCONFIRMED:
                self._mail_code(session, pool, found[0], found[1].email, CodePurpose.VERIFY_EMAIL)
            append_in(session, self._pool_event(pool, "ResendConfirmationCode", user_name, client))
        return CodeDelivery(destination=None)

    def forgot_password(self, *, pool_id: str, user_name: str, client: ClientInfo) -> CodeDelivery:
        """Mail a reset code to a confirmed member's verified address; the same answer for
        anyone else (the destination is never shown, so the answer reveals no address)."""
        self._limit(client, pool_id, user_name)
        with self._database.session() as session:
            pool = pool_row(session, pool_id)
            found = member_row(session, pool_id, user_name)
            if found is not None and found[1].email_verified:
                self._mail_code(session, pool, found[0], found[1].email, CodePurpose.RESET_PASSWORD)
            append_in(session, self._pool_event(pool, "ForgotPassword", user_name, client))
        return CodeDelivery(destination=None)

    def confirm_forgot_password(
        self, *, pool_id: str, user_name: str, code: str, new_password: str, client: ClientInfo
    ) -> None:
        """Set a new password with a reset code. The reset also ends any lockout and signs the
        user out everywhere (a reset usually answers a suspected compromise)."""
        self._limit(client, pool_id, user_name)
        now = self._clock.now()
        with self._database.read_session() as session:
            pool = pool_row(session, pool_id)
        pool_password_policy(pool).check(new_password)
        password_hash = hash_password(new_password)
        with self._database.session() as session:
            user, _member, is_reset = self._use_member_code(
                session, pool_id, user_name, CodePurpose.RESET_PASSWORD, code, now=now
            )
            if is_reset and user is not None:
                user.password_hash = password_hash
                record_success(session, user.user_id)
                sign_out_everywhere(session, user.user_id, now=now)
            append_in(
                session,
                self._pool_event(
                    pool,
                    "ConfirmForgotPassword",
                    user_name,
                    client,
                    error=None if is_reset else "CodeMismatchException",
                ),
            )
        if not is_reset:
            raise code_mismatch()

    # --- helpers ---------------------------------------------------------------------------

    def _use_member_code(
        self,
        session: Session,
        pool_id: str,
        user_name: str,
        purpose: CodePurpose,
        code: str,
        *,
        now: datetime,
    ) -> tuple[models.User | None, models.UserPoolMember | None, bool]:
        """The member (if any) and whether ``code`` was theirs; the check runs either way."""
        found = member_row(session, pool_id, user_name)
        user, member = found if found is not None else (None, None)
        is_right = consume_code(
            session,
            user.user_id if user is not None else None,
            purpose,
            code,
            root_key=self._root_key(),
            now=now,
        )
        return user, member, is_right

    def _limit(self, client: ClientInfo, scope: str, user_name: str) -> None:
        self._limiter.hit(("ip", client.source_ip or "-"), ("user", scope, user_name))

    def _event(
        self,
        flow: _Flow,
        user: models.User | None,
        user_name: str,
        client: ClientInfo,
        *,
        outcome: str,
        reason: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> AuditEvent:
        """A sign-in attempt (``ConsoleLogin`` or Cognito's name), with its outcome."""
        arn = user.arn if user is not None else f"arn:aws:iam::{flow.account_id}:user/{user_name}"
        key = "ConsoleLogin" if flow.event_name == "ConsoleLogin" else "authenticationResult"
        is_failure = outcome == "Failure"
        return self._audit_event(
            source=flow.event_source,
            name=flow.event_name,
            identity=UserIdentity(
                type=IdentityType.IAM_USER,
                principal_id=user.user_id if user is not None else "",
                arn=arn,
                account_id=flow.account_id,
            ),
            recipient=flow.account_id,
            client=client,
            parameters={"userName": user_name},
            elements={key: outcome, **(extra or {})},
            error=flow.failure_code if is_failure else None,
            error_message="sign-in failed" if is_failure else None,
            additional={"failureReason": reason} if reason is not None else {},
        )

    def _self_service_event(
        self, user: models.User, name: str, client: ClientInfo, *, error: str | None = None
    ) -> AuditEvent:
        """Something a user did with their own tokens (refresh, MFA, sign-out)."""
        return self._audit_event(
            source=COGNITO_SOURCE,
            name=name,
            identity=UserIdentity(
                type=IdentityType.IAM_USER,
                principal_id=user.user_id,
                arn=user.arn,
                account_id=user.account_id,
            ),
            recipient=user.account_id,
            client=client,
            parameters={"userName": user.name},
            resources=(EventResource(arn=user.arn, account_id=user.account_id, type="User"),),
            error=error,
        )

    def _pool_event(
        self,
        pool: models.UserPool,
        name: str,
        user_name: str,
        client: ClientInfo,
        *,
        error: str | None = None,
    ) -> AuditEvent:
        """An unauthenticated pool call (sign-up, codes, reset) in the pool tenant's log."""
        return self._audit_event(
            source=COGNITO_SOURCE,
            name=name,
            identity=UserIdentity(
                type=IdentityType.ANONYMOUS, principal_id="", arn="", account_id=""
            ),
            recipient=pool.account_id,
            client=client,
            parameters={"userPoolId": pool.pool_id, "userName": user_name},
            error=error,
        )

    def _audit_event(
        self,
        *,
        source: str,
        name: str,
        identity: UserIdentity,
        recipient: str,
        client: ClientInfo,
        parameters: Mapping[str, Any],
        elements: Mapping[str, Any] | None = None,
        resources: tuple[EventResource, ...] = (),
        error: str | None = None,
        error_message: str | None = None,
        additional: Mapping[str, Any] | None = None,
    ) -> AuditEvent:
        return AuditEvent(
            event_id=new_request_id(self._random),
            event_time=self._clock.now(),
            event_source=source,
            event_name=name,
            region=self._region,
            source_ip_address=client.source_ip,
            user_agent=client.user_agent,
            user_identity=identity,
            request_id=client.request_id,
            read_only=False,
            recipient_account_id=recipient,
            resources=resources,
            request_parameters=parameters,
            response_elements=elements,
            error_code=error,
            error_message=error_message,
            additional=additional or {},
        )


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
