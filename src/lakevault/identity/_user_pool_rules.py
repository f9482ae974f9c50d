"""The rules of a user pool as values: password policy, MFA setting, lockout backoff, lifetimes.

Pure: no database, no clock. The services read them from settings (platform defaults) or from a
pool's row and apply them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from lakevault.core import Settings
from lakevault.core.errors import InvalidParameterValue

#: OWASP's "symbols" for password rules: printable ASCII that is neither letter nor digit.
_SYMBOLS = frozenset("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ")
MAX_PASSWORD_LENGTH = 256


class MFAConfiguration(StrEnum):
    """Cognito's ``MfaConfiguration``: whether pool users may or must use TOTP MFA."""

    OFF = "OFF"
    OPTIONAL = "OPTIONAL"
    ON = "ON"


@dataclass(frozen=True, slots=True, kw_only=True)
class PasswordPolicy:
    """What a password must contain. The default is the platform's: 8+ with upper, lower, digit."""

    min_length: int = 8
    require_uppercase: bool = True
    require_lowercase: bool = True
    require_digits: bool = True
    require_symbols: bool = False

    def __post_init__(self) -> None:
        if not 8 <= self.min_length <= MAX_PASSWORD_LENGTH:
            raise InvalidParameterValue(
                f"the password policy's minimum length must be 8 to {MAX_PASSWORD_LENGTH}; got "
                f"{self.min_length}"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> PasswordPolicy:
        return cls(
            min_length=settings.password_min_length,
            require_uppercase=settings.password_require_uppercase,
            require_lowercase=settings.password_require_lowercase,
            require_digits=settings.password_require_digits,
            require_symbols=settings.password_require_symbols,
        )

    def problems(self, password: str) -> list[str]:
        """The rules ``password`` breaks, as phrases (never the password itself)."""
        problems = []
        if not self.min_length <= len(password) <= MAX_PASSWORD_LENGTH:
            problems.append(f"{self.min_length} to {MAX_PASSWORD_LENGTH} characters")
        if self.require_uppercase and not any(c.isupper() for c in password):
            problems.append("an upper-case letter")
        if self.require_lowercase and not any(c.islower() for c in password):
            problems.append("a lower-case letter")
        if self.require_digits and not any(c.isdigit() for c in password):
            problems.append("a digit")
        if self.require_symbols and not any(c in _SYMBOLS for c in password):
            problems.append("a symbol")
        return problems

    def check(self, password: str) -> None:
        """Raise ``InvalidParameterValue`` (code ``InvalidPasswordException``) naming the rules."""
        problems = self.problems(password)
        if problems:
            raise InvalidParameterValue(
                "the password does not meet the pool's password policy; it needs "
                + ", ".join(problems),
                code="InvalidPasswordException",
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class LockoutPolicy:
    """Exponential backoff after failed sign-ins, bounded so that no lockout lasts forever.

    After ``threshold`` failures in a row the user is locked for ``base_seconds``; every further
    failure doubles the period, up to ``max_seconds``. Any lockout therefore ends by itself
    within ``max_seconds`` — the platform administrator can always sign in again after waiting,
    and an operator can clear it at once (``lakevault userpool unlock``).
    """

    threshold: int = 5
    base_seconds: int = 30
    max_seconds: int = 900

    def __post_init__(self) -> None:
        if self.threshold < 1 or not 1 <= self.base_seconds <= self.max_seconds:
            raise InvalidParameterValue(
                "the lockout policy needs threshold >= 1 and 1 <= base_seconds <= max_seconds; "
                f"got {self.threshold}, {self.base_seconds} and {self.max_seconds}"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> LockoutPolicy:
        return cls(
            threshold=settings.lockout_threshold,
            base_seconds=settings.lockout_base_seconds,
            max_seconds=settings.lockout_max_seconds,
        )

    def lockout_seconds(self, failed_attempts: int) -> int:
        """How long to lock after this many failures in a row (0 below the threshold)."""
        if failed_attempts < self.threshold:
            return 0
        exponent = min(failed_attempts - self.threshold, 30)
        return int(min(self.max_seconds, self.base_seconds * 2**exponent))


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenLifetimes:
    """Lifetimes of the tokens a sign-in yields (validated by the settings' bounds)."""

    access_seconds: int = 3600
    id_seconds: int = 3600
    refresh_seconds: int = 2592000

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenLifetimes:
        return cls(
            access_seconds=settings.access_token_ttl_seconds,
            id_seconds=settings.id_token_ttl_seconds,
            refresh_seconds=settings.refresh_token_ttl_seconds,
        )
