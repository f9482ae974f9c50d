"""Authenticating one API request: token or SigV4 verification plus the principal lookup.

Issue #4's target: <= 0.5 ms of CPU per authenticated request. Measured in one run, side by
side with anchors: one ES256 signature verification by pyca ``cryptography`` directly (the
floor for a JWT), and one SQLite primary-key read through SQLAlchemy (the floor for a lookup).

Run: ``python -m bench auth [--requests N]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from lakevault import identity
from lakevault.core import FixedClock, SystemRandom, load_settings
from lakevault.db import models
from lakevault.runtime import Platform, initialise

TARGET_MICROSECONDS = 500.0


def _cpu_microseconds(function: Callable[[], object], repeat: int) -> float:
    for _ in range(min(50, repeat)):
        function()
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(repeat):
            function()
        best = min(best, (time.process_time() - start) / repeat * 1e6)
    return best


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench auth")
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as home:
        settings = load_settings({"LAKEVAULT_HOME": home})
        clock = FixedClock()
        platform = Platform.build(settings, clock=clock)
        credentials = initialise(platform).credentials
        assert credentials is not None
        admin = identity.authenticate_password(
            platform.database,
            account_id="000000000000",
            user_name="admin",
            password=credentials.password,
        )
        token = platform.tokens.issue(admin).token

        def bearer() -> object:
            claims = platform.tokens.verify(token)
            return identity.principal_for_token(platform.database, claims)

        with platform.database.session() as session:
            key = identity.create_access_key(
                session,
                "000000000000",
                "admin",
                root_key=platform.root_key(),
                now=clock.now(),
                random=SystemRandom(),
            )
        request = identity.SigV4Request.from_target(
            "GET", "/api/v1/tenants", [("host", "127.0.0.1:8080")]
        )
        signed = identity.sign_request(
            request,
            access_key_id=key.key.access_key_id,
            secret_access_key=key.secret_access_key,
            region=settings.region,
            service="lakevault",
            now=clock.now(),
        ).request

        def sigv4() -> object:
            return identity.verify_sigv4(
                signed,
                lookup=lambda key_id: identity.access_key_credential(
                    platform.database, platform.root_key(), key_id
                ),
                now=clock.now(),
                region=settings.region,
                service="lakevault",
            ).principal

        with platform.database.session() as session:
            identity.create_role(
                session,
                account_id="000000000000",
                name="Bench",
                trust_policy={
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                now=clock.now(),
                random=SystemRandom(),
            )
            role = session.scalar(select(models.Role).where(models.Role.name == "Bench"))
            assert role is not None
            role_session = identity.create_role_session(
                session,
                role,
                session_name="bench",
                source_arn=admin.arn,
                duration_seconds=900,
                policy=None,
                tags=identity.SessionTags(tags={"team": "blue"}, transitive_keys=("team",)),
                root_key=platform.root_key(),
                now=clock.now(),
                random=SystemRandom(),
            )
            user = session.get(models.User, admin.principal_id)
            assert user is not None
            user_session = identity.create_user_session(
                session,
                user,
                serial_number=None,
                token_code=None,
                duration_seconds=900,
                root_key=platform.root_key(),
                now=clock.now(),
                random=SystemRandom(),
            )

        def temporary(key_id: str, secret: str, token: str) -> Callable[[], object]:
            signed_temporary = identity.sign_request(
                request,
                access_key_id=key_id,
                secret_access_key=secret,
                region=settings.region,
                service="lakevault",
                now=clock.now(),
                session_token=token,
            ).request

            def verify() -> object:
                return identity.verify_sigv4(
                    signed_temporary,
                    lookup=lambda found: identity.session_credential(
                        platform.database, platform.root_key(), found, now=clock.now()
                    ),
                    now=clock.now(),
                    region=settings.region,
                    service="lakevault",
                ).principal

            return verify

        role_sigv4 = temporary(
            role_session.access_key_id,
            role_session.secret_access_key,
            role_session.session_token,
        )
        user_sigv4 = temporary(
            user_session.access_key_id,
            user_session.secret_access_key,
            user_session.session_token,
        )

        private = ec.generate_private_key(ec.SECP256R1())
        signature = private.sign(b"x" * 300, ec.ECDSA(hashes.SHA256()))
        public = private.public_key()

        def raw_es256() -> object:
            public.verify(signature, b"x" * 300, ec.ECDSA(hashes.SHA256()))
            return None

        def raw_lookup() -> object:
            with platform.database.read_session() as session:
                return session.get(models.User, admin.principal_id)

        rows = [
            (
                "bearer token: verify + principal lookup",
                _cpu_microseconds(bearer, args.requests),
                True,
            ),
            ("SigV4 + access key lookup", _cpu_microseconds(sigv4, args.requests), True),
            (
                "SigV4 + role session lookup (AssumeRole)",
                _cpu_microseconds(role_sigv4, args.requests),
                True,
            ),
            (
                "SigV4 + user session lookup (GetSessionToken)",
                _cpu_microseconds(user_sigv4, args.requests),
                True,
            ),
            (
                "anchor: one ES256 verify (cryptography)",
                _cpu_microseconds(raw_es256, args.requests),
                False,
            ),
            (
                "anchor: one SQLite row read (SQLAlchemy)",
                _cpu_microseconds(raw_lookup, args.requests),
                False,
            ),
        ]
        platform.close()
    print(f"{'measure':48} {'CPU µs':>9}  target")
    failed = False
    for name, micros, has_target in rows:
        verdict = ""
        if has_target:
            ok = micros <= TARGET_MICROSECONDS
            failed |= not ok
            verdict = f"<= {TARGET_MICROSECONDS:.0f}  {'PASS' if ok else 'FAIL'}"
        print(f"{name:48} {micros:9.1f}  {verdict}")
    return 1 if failed else 0
