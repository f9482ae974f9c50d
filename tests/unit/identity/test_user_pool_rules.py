"""The pure rules of the user pool: password policy, lockout backoff, TOTP steps, codes, and
the argon2 parameters (OWASP minimum or stronger)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pyotp
import pytest
from argon2 import PasswordHasher
from argon2.low_level import Type
from hypothesis import given
from hypothesis import strategies as st

from lakevault.core import load_settings
from lakevault.core.errors import ConfigurationError, InvalidInput, InvalidParameterValue
from lakevault.identity import LockoutPolicy, PasswordPolicy, TokenLifetimes
from lakevault.identity._mfa import matching_step
from lakevault.identity._passwords import _HASHER
from lakevault.identity._user_pool_codes import new_code
from lakevault.identity._user_pool_service import DECOY_ARGON2_HASH

# --- password policy ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "missing"),
    [
        ("Sh0rt", "8 to 256 characters"),
        ("alllower1", "an upper-case letter"),
        ("ALLUPPER1", "a lower-case letter"),
        ("NoDigitsHere", "a digit"),
    ],
)
def test_default_policy_names_each_missing_rule(password: str, missing: str) -> None:
    with pytest.raises(InvalidParameterValue) as caught:
        PasswordPolicy().check(password)
    assert caught.value.code == "InvalidPasswordException"
    assert missing in caught.value.message
    assert password not in caught.value.message


def test_default_policy_accepts_eight_with_upper_lower_digit() -> None:
    PasswordPolicy().check("Abcdefg1")


def test_symbols_are_required_only_when_configured() -> None:
    assert PasswordPolicy(require_symbols=True).problems("Abcdefg1") == ["a symbol"]
    assert PasswordPolicy(require_symbols=True).problems("Abcdefg1!") == []


def test_a_policy_shorter_than_eight_is_refused() -> None:
    with pytest.raises(InvalidParameterValue, match="minimum length must be 8"):
        PasswordPolicy(min_length=6)


# --- lockout -----------------------------------------------------------------------------


def test_lockout_starts_at_the_threshold_and_doubles() -> None:
    policy = LockoutPolicy(threshold=3, base_seconds=30, max_seconds=900)
    assert [policy.lockout_seconds(n) for n in range(1, 9)] == [0, 0, 30, 60, 120, 240, 480, 900]


@given(
    threshold=st.integers(1, 20),
    base=st.integers(1, 3600),
    extra=st.integers(0, 86400),
    failures=st.integers(0, 10_000),
)
def test_no_lockout_ever_exceeds_the_maximum(
    threshold: int, base: int, extra: int, failures: int
) -> None:
    policy = LockoutPolicy(threshold=threshold, base_seconds=base, max_seconds=base + extra)
    assert 0 <= policy.lockout_seconds(failures) <= base + extra
    assert policy.lockout_seconds(failures) <= policy.lockout_seconds(failures + 1)


# --- argon2 ------------------------------------------------------------------------------


def test_argon2id_parameters_meet_owasp_minimum() -> None:
    """OWASP (Password Storage Cheat Sheet): argon2id with m >= 19 MiB, t >= 2, p = 1, or an
    equivalent trade-off; argon2-cffi's defaults (RFC 9106 low-memory: 64 MiB, t=3, p=4)
    exceed it on memory and passes."""
    assert _HASHER.type is Type.ID
    assert _HASHER.memory_cost >= 19 * 1024
    assert _HASHER.time_cost >= 2
    assert _HASHER.hash("x").startswith("$argon2id$")


def test_the_decoy_hash_costs_what_a_real_hash_costs() -> None:
    hasher = PasswordHasher()
    expected = f"m={hasher.memory_cost},t={hasher.time_cost},p={hasher.parallelism}"
    assert f"$argon2id$v=19${expected}$" in DECOY_ARGON2_HASH
    assert not hasher.check_needs_rehash(DECOY_ARGON2_HASH)


# --- TOTP --------------------------------------------------------------------------------

SECRET = pyotp.random_base32()
NOW = datetime(2026, 3, 1, 12, 0, 10, tzinfo=UTC)
STEP = int(NOW.timestamp()) // 30


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_codes_of_adjacent_steps_are_accepted(offset: int) -> None:
    code = pyotp.TOTP(SECRET).at((STEP + offset) * 30)
    assert matching_step(SECRET, code, now=NOW, last_used_step=None) == STEP + offset


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_codes_outside_the_drift_are_refused(offset: int) -> None:
    code = pyotp.TOTP(SECRET).at((STEP + offset) * 30)
    assert matching_step(SECRET, code, now=NOW, last_used_step=None) is None


def test_a_used_step_is_never_accepted_again() -> None:
    code = pyotp.TOTP(SECRET).at(STEP * 30)
    assert matching_step(SECRET, code, now=NOW, last_used_step=STEP) is None
    earlier = pyotp.TOTP(SECRET).at((STEP - 1) * 30)
    assert matching_step(SECRET, earlier, now=NOW, last_used_step=STEP) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦"])
def test_malformed_codes_do_not_match(code: str) -> None:
    assert matching_step(SECRET, code, now=NOW, last_used_step=None) is None


# --- codes -------------------------------------------------------------------------------


class CountingRandom:
    def __init__(self) -> None:
        self.counter = itertools.count()

    def token_bytes(self, length: int) -> bytes:
        return next(self.counter).to_bytes(length, "big")


def test_codes_are_six_digits() -> None:
    random = CountingRandom()
    codes = [new_code(random) for _ in range(100)]
    assert all(len(code) == 6 and code.isdigit() for code in codes)
    assert len(set(codes)) == 100


def test_code_mismatch_is_invalid_input() -> None:
    from lakevault.identity._user_pool_codes import code_mismatch

    error = code_mismatch()
    assert isinstance(error, InvalidInput)
    assert (error.code, error.http_status) == ("CodeMismatchException", 400)


# --- settings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variables", "problem"),
    [
        ({"LAKEVAULT_ACCESS_TOKEN_TTL_SECONDS": "299"}, "access_token_ttl_seconds"),
        ({"LAKEVAULT_ID_TOKEN_TTL_SECONDS": "86401"}, "id_token_ttl_seconds"),
        ({"LAKEVAULT_REFRESH_TOKEN_TTL_SECONDS": "2592001"}, "refresh_token_ttl_seconds"),
        (
            {"LAKEVAULT_LOCKOUT_BASE_SECONDS": "60", "LAKEVAULT_LOCKOUT_MAX_SECONDS": "30"},
            "must be at least lockout_base_seconds",
        ),
        ({"LAKEVAULT_MAIL_SENDER": "smtp"}, "set smtp_host"),
        ({"LAKEVAULT_SIGN_IN_RATE_LIMIT": "lots"}, "sign_in_rate_limit"),
    ],
)
def test_user_pool_settings_are_checked_at_start(variables: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(variables)
    assert problem in caught.value.message


def test_rules_come_from_the_settings() -> None:
    settings = load_settings(
        {
            "LAKEVAULT_PASSWORD_MIN_LENGTH": "12",
            "LAKEVAULT_PASSWORD_REQUIRE_SYMBOLS": "true",
            "LAKEVAULT_LOCKOUT_THRESHOLD": "2",
            "LAKEVAULT_ACCESS_TOKEN_TTL_SECONDS": "600",
        }
    )
    assert PasswordPolicy.from_settings(settings) == PasswordPolicy(
        min_length=12, require_symbols=True
    )
    assert LockoutPolicy.from_settings(settings).threshold == 2
    assert TokenLifetimes.from_settings(settings).access_seconds == 600


def test_totp_checks_compare_every_step_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """No early exit: a code of the first candidate step costs as many comparisons as a wrong
    one, and each is ``hmac.compare_digest``."""
    from lakevault.identity import _mfa

    calls: list[tuple[bytes, bytes]] = []
    real = _mfa.hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(_mfa.hmac, "compare_digest", counting)
    first_step = pyotp.TOTP(SECRET).at((STEP - 1) * 30)
    for code in (first_step, "000000"):
        calls.clear()
        matching_step(SECRET, code, now=NOW, last_used_step=None)
        assert len(calls) == 3
