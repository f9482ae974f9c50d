"""The object header: exact layout, strict canonical parsing, field validation, no key bytes."""

from __future__ import annotations

import io
import re

import pytest

from lakevault.core.errors import InvalidParameterValue
from lakevault.kms import (
    IntegrityError,
    IntegrityFailure,
    ObjectFormatVersion,
    ObjectHeader,
    read_object_header,
    read_object_header_at,
)
from tests.unit.kms.helpers import CONTEXT, BytesRangeSource, make_header


def test_layout_matches_the_documented_offsets() -> None:
    header = make_header()
    encoded = header.encode()
    assert encoded[0:4] == b"LVOB"
    assert encoded[4] == 1
    assert int.from_bytes(encoded[5:7], "big") == len(encoded) == header.encoded_length
    assert int.from_bytes(encoded[7:11], "big") == 16384
    assert encoded[11:43] == CONTEXT.sha256()
    assert int.from_bytes(encoded[43:47], "big") == 3
    assert encoded[47] == 5
    assert encoded[48:53] == b"key-1"
    assert int.from_bytes(encoded[53:55], "big") == 48
    assert encoded[55:] == b"wrapped:" + bytes(40)


def test_parsing_round_trips_and_leaves_the_stream_at_the_prefix() -> None:
    header = make_header()
    stream = io.BytesIO(header.encode() + b"REST")
    assert read_object_header(stream) == header
    assert stream.read() == b"REST"
    assert read_object_header_at(BytesRangeSource(header.encode() + b"REST")) == header


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda b: b[:6], IntegrityFailure.MALFORMED_HEADER),
        (lambda b: b[:-1], IntegrityFailure.MALFORMED_HEADER),
        (lambda b: b"LVOC" + b[4:], IntegrityFailure.MALFORMED_HEADER),
        (lambda b: b[:4] + b"\x02" + b[5:], IntegrityFailure.UNSUPPORTED_FORMAT_VERSION),
        (lambda b: b[:5] + b"\x00\x10" + b[7:], IntegrityFailure.MALFORMED_HEADER),
        (lambda b: b[:5] + b"\xff\xff" + b[7:], IntegrityFailure.MALFORMED_HEADER),
        (lambda b: b[:47] + b"\x06" + b[48:], IntegrityFailure.MALFORMED_HEADER),
        (lambda b: b[:48] + b"\xff" + b[49:], IntegrityFailure.MALFORMED_HEADER),
        (lambda b: b[:10] + b"\x01" + b[11:], IntegrityFailure.MALFORMED_HEADER),
    ],
    ids=[
        "short-prefix",
        "short-body",
        "magic",
        "version",
        "length-too-small",
        "length-too-large",
        "key-id-length",
        "key-id-not-utf8",
        "chunk-size",
    ],
)
def test_malformed_headers_fail_closed(mutate: object, reason: IntegrityFailure) -> None:
    data = mutate(make_header().encode())  # type: ignore[operator]
    with pytest.raises(IntegrityError) as failure:
        read_object_header(io.BytesIO(data))
    assert failure.value.audit_reason is reason


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("key_id", "", "key_id must be 1 to 255 bytes of UTF-8, got 0"),
        ("key_id", "k" * 256, "got 256"),
        ("key_id", "\udcff", "valid Unicode"),
        ("key_version", -1, "key_version must be 0 to 4294967295, got -1"),
        ("key_version", 2**32, "got 4294967296"),
        ("encryption_context_sha256", bytes(31), "must be 32 bytes, got 31"),
        ("wrapped_data_key", b"", "wrapped_data_key must be 1 to 4096 bytes, got 0"),
        ("wrapped_data_key", bytes(4097), "got 4097"),
        ("chunk_size_bytes", 65536, "must be 16384 (fixed by C2SP), got 65536"),
    ],
)
def test_fields_are_validated_with_sizes(field: str, value: object, message: str) -> None:
    fields: dict[str, object] = {
        "format_version": ObjectFormatVersion.V1,
        "key_id": "key-1",
        "key_version": 1,
        "encryption_context_sha256": bytes(32),
        "wrapped_data_key": b"w",
    }
    fields[field] = value
    with pytest.raises(InvalidParameterValue, match=re.escape(message)):
        ObjectHeader(**fields)  # type: ignore[arg-type]


def test_repr_names_the_wrapped_key_without_its_bytes() -> None:
    header = ObjectHeader.create(
        key_id="key-1",
        key_version=1,
        wrapped_data_key=b"\xaa\xbb" * 20,
        encryption_context=CONTEXT,
    )
    assert "aabb" not in repr(header)
    assert "\\xaa" not in repr(header)
    assert "wrapped_data_key=<40 bytes>" in repr(header)
