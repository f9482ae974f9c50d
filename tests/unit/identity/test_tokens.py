"""The verified-token cache of ``TokenService.verify`` (ADR 0218): a token seen again skips its
signature check, but never outside the window the claim checks accept, never under other
signing keys, and never for a different (tampered) token."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt

from lakevault.audit import IdentityType
from lakevault.core import FixedClock, SystemRandom
from lakevault.core.errors import AccessDenied
from lakevault.identity import Principal, SigningKeys, TokenService, _tokens

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
        ttl_seconds=600,
    )


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token whose signature joserfc checks (a spy around the real ``jwt.decode``)."""
    seen: list[str] = []
    real = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(_tokens.jwt, "decode", counting)
    return seen


def refusal(tokens: TokenService, token: str) -> str:
    with pytest.raises(AccessDenied) as caught:
        tokens.verify(token)
    return caught.value.code


def test_a_token_verified_again_skips_the_signature_check(
    tmp_path: Path, clock: FixedClock, decodes: list[str]
) -> None:
    tokens = service(tmp_path, clock)
    token = tokens.issue(PRINCIPAL).token
    first = tokens.verify(token)
    clock.advance(seconds=300)
    assert tokens.verify(token) == first
    assert decodes == [token]


def test_a_cached_token_expires_exactly_when_an_uncached_one_does(
    tmp_path: Path, clock: FixedClock, decodes: list[str]
) -> None:
    tokens = service(tmp_path, clock)
    fresh = service(tmp_path, clock)  # never caches before the last check
    token = tokens.issue(PRINCIPAL).token
    tokens.verify(token)
    clock.advance(seconds=600 + _tokens.LEEWAY_SECONDS - 1)  # the last accepted second
    assert tokens.verify(token) == fresh.verify(token)
    clock.advance(seconds=1)
    assert refusal(tokens, token) == refusal(fresh, token) == "ExpiredToken"
    assert refusal(tokens, token) == "ExpiredToken"  # and stays refused


def test_a_clock_set_back_before_the_token_was_issued_verifies_afresh(
    tmp_path: Path, clock: FixedClock, decodes: list[str]
) -> None:
    tokens = service(tmp_path, clock)
    token = tokens.issue(PRINCIPAL).token
    tokens.verify(token)
    clock.advance(seconds=-(_tokens.LEEWAY_SECONDS + 1))
    assert refusal(tokens, token) == "InvalidToken"
    assert decodes == [token, token]


class Monotonic:
    """The service's interval clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def checked_service(home: Path, clock: FixedClock, monotonic: Monotonic) -> TokenService:
    return TokenService(
        lambda: SigningKeys.load_or_create(home, random=SystemRandom(), clock=clock),
        clock=clock,
        random=SystemRandom(),
        issuer="lakevault:test",
        ttl_seconds=600,
        monotonic=monotonic,
    )


def replace_key_file(home: Path, clock: FixedClock) -> None:
    """What an operator does to invalidate every token: delete the file; a new key is made."""
    (home / "keys" / _tokens.KEY_FILE_NAME).unlink()
    SigningKeys.load_or_create(home, random=SystemRandom(), clock=clock)


def test_new_signing_keys_forget_every_verified_token(tmp_path: Path, clock: FixedClock) -> None:
    monotonic = Monotonic()
    tokens = checked_service(tmp_path, clock, monotonic)
    token = tokens.issue(PRINCIPAL).token
    tokens.verify(token)
    replace_key_file(tmp_path, clock)
    monotonic.now += _tokens.KEY_FILE_CHECK_SECONDS
    assert refusal(tokens, token) == "InvalidToken"


def test_a_replaced_key_file_revokes_tokens_within_the_check_interval(
    tmp_path: Path, clock: FixedClock
) -> None:
    # ADR 0245: the key file is looked at once per KEY_FILE_CHECK_SECONDS, not per request,
    # so a replaced file takes effect at the next look, never later.
    monotonic = Monotonic()
    tokens = checked_service(tmp_path, clock, monotonic)
    token = tokens.issue(PRINCIPAL).token
    tokens.verify(token)
    replace_key_file(tmp_path, clock)
    monotonic.now += _tokens.KEY_FILE_CHECK_SECONDS * 0.5
    tokens.verify(token)  # inside the interval: the keys read before are still used
    monotonic.now += _tokens.KEY_FILE_CHECK_SECONDS * 0.5
    assert refusal(tokens, token) == "InvalidToken"
    monotonic.now += 3600
    assert refusal(tokens, token) == "InvalidToken"  # and stays refused


def test_a_new_service_after_the_replacement_refuses_at_once(
    tmp_path: Path, clock: FixedClock
) -> None:
    token = service(tmp_path, clock).issue(PRINCIPAL).token
    replace_key_file(tmp_path, clock)
    assert refusal(service(tmp_path, clock), token) == "InvalidToken"


def test_a_key_another_process_added_verifies_at_once(tmp_path: Path, clock: FixedClock) -> None:
    monotonic = Monotonic()
    here = checked_service(tmp_path, clock, monotonic)
    here.verify(here.issue(PRINCIPAL).token)  # keys loaded, next look in a second
    # Another process rotates and signs with its new key before this one looked again.
    SigningKeys.load_or_create(tmp_path, random=SystemRandom(), clock=clock).rotate(
        random=SystemRandom(), clock=clock
    )
    there = service(tmp_path, clock)
    token = there.issue(PRINCIPAL).token
    assert here.verify(token).principal_id == PRINCIPAL.principal_id
    assert here.keys.kids == there.keys.kids  # and this process now signs with it too


def test_a_token_of_unknown_keys_is_refused_without_rereading_an_unchanged_file(
    tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monotonic = Monotonic()
    tokens = checked_service(tmp_path, clock, monotonic)
    token = tokens.issue(PRINCIPAL).token
    other = tmp_path / "other"
    stranger = service(other, clock).issue(PRINCIPAL).token  # signed by keys never in our file
    loads: list[Path] = []
    real = SigningKeys.load_or_create

    def counting(home: Path, **kwargs: Any) -> SigningKeys:
        loads.append(home)
        return real(home, **kwargs)

    monkeypatch.setattr(SigningKeys, "load_or_create", staticmethod(counting))
    assert refusal(tokens, stranger) == "InvalidToken"
    assert loads == []  # the file was looked at, found unchanged, not reread
    assert tokens.verify(token).principal_id == PRINCIPAL.principal_id


def test_a_tampered_token_is_never_answered_from_the_cache(
    tmp_path: Path, clock: FixedClock
) -> None:
    tokens = service(tmp_path, clock)
    token = tokens.issue(PRINCIPAL).token
    tokens.verify(token)
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert refusal(tokens, f"{header}.{payload}.{flipped}") == "InvalidToken"
    assert refusal(tokens, token + "x") == "InvalidToken"


def test_an_id_token_is_refused_even_after_its_user_s_access_token_was_cached(
    tmp_path: Path, clock: FixedClock
) -> None:
    tokens = service(tmp_path, clock)
    tokens.verify(tokens.issue(PRINCIPAL).token)
    id_token = tokens.issue_id_token(
        PRINCIPAL,
        audience="pool-client",
        groups=(),
        email=None,
        email_verified=False,
        authenticated_at=clock.now(),
        ttl_seconds=600,
    ).token
    assert refusal(tokens, id_token) == "InvalidToken"


def test_the_cache_is_bounded_and_drops_the_least_recently_used(
    tmp_path: Path, clock: FixedClock, decodes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_tokens, "VERIFIED_TOKEN_CACHE_SIZE", 3)
    tokens = service(tmp_path, clock)
    issued = [tokens.issue(PRINCIPAL).token for _ in range(4)]
    for token in issued[:3]:
        tokens.verify(token)
    tokens.verify(issued[0])  # now the most recently used
    tokens.verify(issued[3])  # evicts issued[1]
    decodes.clear()
    for token in (issued[0], issued[2], issued[3]):
        tokens.verify(token)
    assert decodes == []
    tokens.verify(issued[1])
    assert decodes == [issued[1]]
