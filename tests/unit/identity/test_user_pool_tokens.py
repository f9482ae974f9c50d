"""Tokens of the user pool: signing-key rotation that keeps old keys until their tokens
expire, ID tokens, refresh-token rotation and reuse detection on both databases, and mail
delivery through a real (in-test) SMTP server."""

from __future__ import annotations

import socketserver
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lakevault.audit import IdentityType
from lakevault.core import FixedClock, SystemRandom
from lakevault.core.errors import AccessDenied, ServiceUnavailable
from lakevault.db import Database, models
from lakevault.identity import (
    MailMessage,
    Principal,
    SigningKeys,
    SMTPSender,
    TokenService,
)
from lakevault.identity._mail import MailState
from lakevault.identity._refresh_tokens import (
    RotationOutcome,
    issue_refresh_token,
    rotate_refresh_token,
    token_digest,
)
from lakevault.identity._sign_in_state import sign_out_everywhere
from lakevault.identity._tokens import KEY_FILE_CHECK_SECONDS

DAY = 86400
PRINCIPAL = Principal(
    arn="arn:aws:iam::111122223333:user/ada",
    account_id="111122223333",
    principal_id="LVUSADA",
    identity_type=IdentityType.IAM_USER,
    username="ada",
)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 5, 1, tzinfo=UTC))


def service(home: Path, clock: FixedClock) -> TokenService:
    return TokenService(
        lambda: SigningKeys.load_or_create(home, random=SystemRandom(), clock=clock),
        clock=clock,
        random=SystemRandom(),
        issuer="lakevault:test",
    )


# --- signing keys ------------------------------------------------------------------------


def test_rotation_keeps_the_old_key_until_its_tokens_expire(
    tmp_path: Path, clock: FixedClock
) -> None:
    seconds = [0.0]  # the service's interval clock: it looks at the key file once a second
    tokens = TokenService(
        lambda: SigningKeys.load_or_create(tmp_path, random=SystemRandom(), clock=clock),
        clock=clock,
        random=SystemRandom(),
        issuer="lakevault:test",
        monotonic=lambda: seconds[0],
    )
    old_kid = tokens.keys.kids[-1]

    def rotate() -> SigningKeys:
        return SigningKeys.load_or_create(tmp_path, random=SystemRandom(), clock=clock).rotate_due(
            random=SystemRandom(),
            clock=clock,
            rotate_after_seconds=30 * DAY,
            max_token_seconds=3600,
        )

    assert rotate().kids == (old_kid,)  # not due yet: nothing changes
    clock.advance(seconds=30 * DAY)
    old_token = tokens.issue(PRINCIPAL).token  # signed with the old key just before rotation
    rotated = rotate()
    assert rotated.kids[0] == old_kid and len(rotated.kids) == 2
    # The running service rereads the changed file at its next look (ADR 0245): it signs with
    # the new key and still verifies a token of the old one.
    seconds[0] += KEY_FILE_CHECK_SECONDS
    new_token = tokens.issue(PRINCIPAL).token
    assert tokens.keys.kids == rotated.kids
    clock.advance(seconds=1000)
    assert tokens.verify(old_token).principal_id == PRINCIPAL.principal_id
    assert tokens.verify(new_token).principal_id == PRINCIPAL.principal_id
    # Once the longest token lifetime (and the skew) has passed, the old key goes.
    clock.advance(seconds=3600)
    assert rotate().kids == rotated.kids[1:]
    seconds[0] += KEY_FILE_CHECK_SECONDS
    assert old_kid not in tokens.keys.kids
    assert tokens.verify(tokens.issue(PRINCIPAL).token).principal_id == PRINCIPAL.principal_id


def test_id_tokens_carry_groups_and_are_no_access_tokens(tmp_path: Path, clock: FixedClock) -> None:
    tokens = service(tmp_path, clock)
    issued = tokens.issue_id_token(
        PRINCIPAL,
        audience="local_POOL",
        groups=("instructor", "student"),
        email="ada@example.org",
        email_verified=True,
        authenticated_at=clock.now(),
        ttl_seconds=300,
    )
    claims = tokens.verify_id_token(issued.token, audience="local_POOL")
    assert claims.groups == ("instructor", "student")
    with pytest.raises(AccessDenied) as caught:
        tokens.verify(issued.token)
    assert caught.value.code == "InvalidToken"
    with pytest.raises(AccessDenied):
        tokens.verify_id_token(issued.token, audience="another_POOL")
    clock.advance(seconds=331)
    with pytest.raises(AccessDenied) as expired:
        tokens.verify_id_token(issued.token, audience="local_POOL")
    assert expired.value.code == "ExpiredToken"


@pytest.mark.parametrize("ttl", [299, 86401])
def test_lifetimes_outside_five_minutes_to_a_day_are_refused(
    tmp_path: Path, clock: FixedClock, ttl: int
) -> None:
    with pytest.raises(Exception, match="token lifetime must be 300 to 86400"):
        service(tmp_path, clock).issue(PRINCIPAL, ttl_seconds=ttl)


def test_a_token_signed_with_none_or_hmac_is_refused(tmp_path: Path, clock: FixedClock) -> None:
    import base64
    import json

    tokens = service(tmp_path, clock)
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none"}).encode()).rstrip(b"=")
    body = tokens.issue(PRINCIPAL).token.split(".")[1]
    for forged in (f"{header.decode()}.{body}.", f"{header.decode()}.{body}.c2ln"):
        with pytest.raises(AccessDenied) as caught:
            tokens.verify(forged)
        assert caught.value.code == "InvalidToken"


# --- refresh tokens ----------------------------------------------------------------------


@pytest.fixture
def user_id(database: Database, clock: FixedClock) -> str:
    with database.session() as session:
        session.add(models.Tenant(account_id="111122223333", name="t", created_at=clock.now()))
        session.flush()
        session.add(
            models.User(
                user_id="LVUSADA",
                account_id="111122223333",
                name="ada",
                path="/",
                arn=PRINCIPAL.arn,
                password_hash=None,
                tags={},
                created_at=clock.now(),
            )
        )
    return "LVUSADA"


def test_refresh_rotates_once_and_reuse_revokes_the_family(
    database: Database, clock: FixedClock, user_id: str
) -> None:
    random = SystemRandom()
    with database.session() as session:
        first = issue_refresh_token(
            session,
            user_id=user_id,
            account_id="111122223333",
            token_generation=1,
            is_mfa_authenticated=False,
            authenticated_at=clock.now(),
            now=clock.now(),
            random=random,
            ttl_seconds=DAY,
        )
    with database.session() as session:
        rotation = rotate_refresh_token(session, first.token, now=clock.now(), random=random)
    assert rotation.outcome is RotationOutcome.ROTATED and rotation.successor is not None
    assert rotation.successor.expires_at == first.expires_at
    with database.session() as session:
        reuse = rotate_refresh_token(session, first.token, now=clock.now(), random=random)
    assert reuse.outcome is RotationOutcome.REUSED
    with database.session() as session:
        after = rotate_refresh_token(
            session, rotation.successor.token, now=clock.now(), random=random
        )
    assert after.outcome is RotationOutcome.INVALID
    with database.read_session() as session:
        rows = session.query(models.RefreshToken).all()
    assert all(row.revoked_at is not None for row in rows)
    assert {row.token_digest for row in rows} == {
        token_digest(first.token),
        token_digest(rotation.successor.token),
    }


def test_refresh_tokens_stop_after_sign_out_and_expiry(
    database: Database, clock: FixedClock, user_id: str
) -> None:
    random = SystemRandom()

    def issue() -> str:
        with database.session() as session:
            return issue_refresh_token(
                session,
                user_id=user_id,
                account_id="111122223333",
                token_generation=1,
                is_mfa_authenticated=False,
                authenticated_at=clock.now(),
                now=clock.now(),
                random=random,
                ttl_seconds=3600,
            ).token

    expiring, signed_out = issue(), issue()
    with database.session() as session:
        sign_out_everywhere(session, user_id, now=clock.now())
    with database.session() as session:
        outcome = rotate_refresh_token(session, signed_out, now=clock.now(), random=random)
    assert outcome.outcome is RotationOutcome.INVALID
    clock.advance(seconds=3600)
    with database.session() as session:
        late = rotate_refresh_token(session, expiring, now=clock.now(), random=random)
    assert late.outcome is RotationOutcome.INVALID
    with database.session() as session:
        unknown = rotate_refresh_token(session, "lvrt.forged", now=clock.now(), random=random)
    assert unknown.outcome is RotationOutcome.INVALID


# --- SMTP ---------------------------------------------------------------------------------


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) to accept one message and keep it."""

    received: list[bytes]

    def handle(self) -> None:
        self.wfile.write(b"220 test ESMTP\r\n")
        while line := self.rfile.readline():
            command = line.strip().upper()
            if command.startswith((b"EHLO", b"HELO")):
                self.wfile.write(b"250 test\r\n")
            elif command == b"DATA":
                self.wfile.write(b"354 go on\r\n")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk
                self.server.received.append(data)  # type: ignore[attr-defined]
                self.wfile.write(b"250 queued\r\n")
            elif command == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, list[bytes]]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], server.received  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


def _message() -> MailMessage:
    return MailMessage(
        message_id="m1",
        account_id="111122223333",
        recipient="ada@example.org",
        subject="Your verification code",
        body="Your verification code is 123456.",
        state=MailState.PENDING,
        created_at=datetime(2026, 5, 1, tzinfo=UTC),
        delivered_at=None,
    )


def test_the_smtp_sender_delivers_through_a_server(smtp_server: tuple[int, list[bytes]]) -> None:
    port, received = smtp_server
    SMTPSender(host="127.0.0.1", port=port, security="none", mail_from="lv@example.org").send(
        _message()
    )
    assert len(received) == 1 and b"123456" in received[0] and b"ada@example.org" in received[0]


def test_an_unreachable_smtp_server_is_a_retryable_error() -> None:
    sender = SMTPSender(
        host="127.0.0.1", port=1, security="none", mail_from="lv@example.org", timeout_seconds=2
    )
    with pytest.raises(ServiceUnavailable) as caught:
        sender.send(_message())
    assert "123456" not in caught.value.message
    assert "m1" in caught.value.message


def test_repr_of_messages_and_senders_hide_secrets() -> None:
    sender = SMTPSender(
        host="smtp.example.org", port=587, security="starttls", mail_from="a@b", password="hunter2"
    )
    assert "hunter2" not in repr(sender)
    assert "123456" not in repr(_message())


# --- the platform's schedule ---------------------------------------------------------------


def test_the_daily_job_rotates_the_signing_keys_when_due(tmp_path: Path) -> None:
    from lakevault.core import load_settings
    from lakevault.runtime import Platform, initialise

    clock = FixedClock(datetime(2026, 1, 1, 2, 41, tzinfo=UTC))
    settings = load_settings(
        {"LAKEVAULT_HOME": str(tmp_path / "home"), "LAKEVAULT_TOKEN_KEY_ROTATION_DAYS": "30"}
    )
    platform = Platform.build(settings, clock=clock)
    initialise(platform)
    schedules = {(s.name, s.cron) for s in platform.jobs.registry.periodic}
    assert ("rotate-token-signing-keys", "41 2 * * *") in schedules
    first = platform.tokens.keys.kids
    platform.jobs.run_worker(name="t", until_idle=True)  # today's period: not due yet
    assert platform.tokens.keys.kids == first
    clock.advance(seconds=30 * DAY)
    platform.jobs.run_worker(name="t", until_idle=True)
    rotated = SigningKeys.load_or_create(settings.resolved_home, random=SystemRandom(), clock=clock)
    assert rotated.kids[0] == first[0] and len(rotated.kids) == 2
    # The running service signs with the new key from its next look at the file (ADR 0245).
    time.sleep(KEY_FILE_CHECK_SECONDS)
    assert platform.tokens.keys.kids == rotated.kids
    platform.close()


# --- codes ---------------------------------------------------------------------------------


def test_codes_compare_in_constant_time_even_without_a_user(
    database: Database, clock: FixedClock, user_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lakevault.identity import _user_pool_codes as codes
    from lakevault.kms import PlatformRootKey

    root_key = PlatformRootKey(b"\x01" * 32, source="test")
    compared: list[int] = []
    real = codes.hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append(1)
        return real(a, b)

    monkeypatch.setattr(codes.hmac, "compare_digest", counting)
    purpose = codes.CodePurpose.RESET_PASSWORD
    with database.session() as session:
        code = codes.issue_code(
            session, user_id, purpose, root_key=root_key, now=clock.now(), random=SystemRandom()
        )
    with database.session() as session:
        assert not codes.consume_code(
            session, None, purpose, code, root_key=root_key, now=clock.now()
        )
        assert codes.consume_code(
            session, user_id, purpose, code, root_key=root_key, now=clock.now()
        )
        assert not codes.consume_code(
            session, user_id, purpose, code, root_key=root_key, now=clock.now()
        )
    assert len(compared) == 3
    with database.read_session() as session:
        assert session.query(models.UserPoolCode).count() == 0
