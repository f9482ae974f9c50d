from __future__ import annotations

import re

import pytest

from lakevault.core import (
    PLATFORM_ACCOUNT_ID,
    SystemRandom,
    new_account_id,
    new_entity_id,
    new_request_id,
    parse_account_id,
)
from lakevault.core.errors import InvalidParameterValue


class CountingRandom:
    """Deterministic bytes: proves ids come from the injected source, not os.urandom."""

    def __init__(self) -> None:
        self.counter = 0

    def token_bytes(self, length: int) -> bytes:
        self.counter += 1
        return bytes([self.counter % 256]) * length


def test_request_id_has_the_uuid4_shape() -> None:
    request_id = new_request_id(SystemRandom())
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", request_id
    )


def test_ids_come_from_the_injected_random_source() -> None:
    assert new_request_id(CountingRandom()) == new_request_id(CountingRandom())
    assert new_entity_id("LVUS", CountingRandom()) == new_entity_id("LVUS", CountingRandom())


def test_entity_id_is_prefix_and_sixteen_base32_characters() -> None:
    assert re.fullmatch(r"LVUS[A-Z2-7]{16}", new_entity_id("LVUS", SystemRandom()))


def test_entity_id_prefix_must_be_four_capitals() -> None:
    with pytest.raises(InvalidParameterValue, match="four capital letters"):
        new_entity_id("user", SystemRandom())


def test_account_id_is_twelve_digits_and_never_the_platform_account() -> None:
    class ZeroRandom:
        calls = 0

        def token_bytes(self, length: int) -> bytes:
            self.calls += 1
            return bytes(length) if self.calls == 1 else b"\x01" * length

    account = new_account_id(ZeroRandom())
    assert re.fullmatch(r"[0-9]{12}", account)
    assert account != PLATFORM_ACCOUNT_ID


@pytest.mark.parametrize("bad", ["12345678901", "1234567890123", "12345678901a", ""])
def test_parse_account_id_refuses_anything_but_twelve_digits(bad: str) -> None:
    with pytest.raises(InvalidParameterValue, match="exactly 12 digits"):
        parse_account_id(bad)
