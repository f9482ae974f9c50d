"""``EncryptionContext.for_object`` gives its pairs in canonical order instead of sorting them
(ADR 0257): the result must be exactly ``from_mapping``'s, and every value is still checked."""

from __future__ import annotations

import pytest

from lakevault.core.errors import InvalidParameterValue
from lakevault.kms import EncryptionContext


@pytest.mark.parametrize(
    "key", ["report.csv", "", "a/b/../c", "ключ/数据", "\U0001f600", "z" * 1024, "key\x00"]
)
def test_for_object_is_from_mapping_of_the_same_four_names(key: str) -> None:
    values = {"tenant": "123456789012", "bucket": "red-data", "key": key, "version-id": "ab" * 16}
    made = EncryptionContext.for_object(
        tenant=values["tenant"], bucket=values["bucket"], key=key, version_id=values["version-id"]
    )
    expected = EncryptionContext.from_mapping(values)
    assert made == expected
    assert made.canonical_bytes() == expected.canonical_bytes()
    assert made.sha256() == expected.sha256()


def test_for_object_still_refuses_a_lone_surrogate_and_an_oversized_value() -> None:
    with pytest.raises(InvalidParameterValue, match="value of 'key' must be valid Unicode"):
        EncryptionContext.for_object(tenant="t", bucket="b", key="\udc80", version_id="v")
    with pytest.raises(InvalidParameterValue, match="value of 'bucket' may be at most 65536"):
        EncryptionContext.for_object(tenant="t", bucket="b" * 65537, key="k", version_id="v")
    with pytest.raises(InvalidParameterValue, match="names and values must be strings"):
        EncryptionContext.for_object(tenant="t", bucket="b", key=None, version_id="v")  # type: ignore[arg-type]


def test_names_keep_their_own_error_text() -> None:
    with pytest.raises(InvalidParameterValue, match="encryption context names must be valid"):
        EncryptionContext(pairs=(("\udc80", "v"),))
