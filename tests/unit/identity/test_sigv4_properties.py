"""Properties of SigV4: whatever the request, sign → verify round-trips, and any single-byte
change of a signed part makes verification fail."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from lakevault.core.errors import LakevaultError
from lakevault.identity import (
    InvalidAccessKeyId,
    SignatureForm,
    SigningCredential,
    SigV4Request,
    sign_request,
    verify_sigv4,
)

NOW = datetime(2026, 11, 29, 8, 0, 0, tzinfo=UTC)
KEY_ID = "AKIAPROPERTY"
SECRET = "property-secret"
REGION = "eu-central-1"
SERVICES = ("s3", "lakevault")

# Raw path and query text: unreserved and reserved characters, percent signs (valid escapes or
# not), spaces, plus signs and non-ASCII letters. Path segments avoid "." and ".." so that the
# general rules' normalisation cannot make two different paths equal.
_RAW_PIECE = st.sampled_from([*"abcXYZ019-_.~ +%=!$'()*,;:@é中", "%41", "%2F", "%zz"])
_SEGMENT = (
    st.lists(_RAW_PIECE, min_size=1, max_size=6)
    .map("".join)
    .filter(lambda segment: segment not in {".", ".."})
)
_PATH = st.lists(_SEGMENT, max_size=4).map(lambda segments: "/" + "/".join(segments))
_QUERY_PART = st.lists(
    st.sampled_from([*"abcXYZ019-_.~ +%!$'()*,;:@é中/?", "%41", "%2F", "%zz"]), max_size=6
).map("".join)
_QUERY = st.lists(st.tuples(_QUERY_PART, _QUERY_PART), max_size=4).map(
    lambda pairs: "&".join(f"{name}={value}" for name, value in pairs if name)
)
_HEADER_NAME = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-"), min_size=1, max_size=10
)
_HEADER_VALUE = st.text(st.sampled_from([*"abcXYZ019 \t-_.,;:=/\"'()é"]), max_size=16)
_HEADERS = st.lists(
    st.tuples(_HEADER_NAME.map(lambda name: "x-test-" + name), _HEADER_VALUE), max_size=4
)
_METHOD = st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH"])


@dataclass(frozen=True, slots=True, kw_only=True)
class Signed:
    request: SigV4Request
    service: str
    form: SignatureForm
    session_token: str | None
    is_body_signed: bool


@st.composite
def signed_requests(draw: st.DrawFn) -> Signed:
    service = draw(st.sampled_from(SERVICES))
    form = draw(st.sampled_from(list(SignatureForm)))
    # Tokens travel in a header or the query: printable ASCII without spaces, like STS tokens.
    token_text = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1)
    session_token = draw(st.one_of(st.none(), token_text))
    request = SigV4Request(
        method=draw(_METHOD),
        raw_path=draw(_PATH),
        raw_query=draw(_QUERY),
        headers=(("Host", "lakevault.example.com"), *draw(_HEADERS)),
        body=draw(st.binary(max_size=64)),
    )
    # S3 may sign UNSIGNED-PAYLOAD in the header form, and always does in the query form.
    unsigned_payload = service == "s3" and (
        form is SignatureForm.QUERY or draw(st.booleans(), label="unsigned_payload")
    )
    signed = sign_request(
        request,
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
        session_token=session_token,
        region=REGION,
        service=service,
        now=NOW,
        form=form,
        unsigned_payload=unsigned_payload and form is SignatureForm.HEADER,
    )
    return Signed(
        request=signed.request,
        service=service,
        form=form,
        session_token=session_token,
        is_body_signed=not unsigned_payload,
    )


def _verify(signed: Signed, request: SigV4Request) -> str:
    def lookup(access_key_id: str) -> SigningCredential[str]:
        if access_key_id != KEY_ID:
            raise InvalidAccessKeyId("the access key id does not exist")
        return SigningCredential(
            access_key_id=access_key_id,
            secret_access_key=SECRET,
            principal=f"principal:{access_key_id}",
            session_token=signed.session_token,
        )

    verified = verify_sigv4(request, lookup=lookup, now=NOW, region=REGION, service=signed.service)
    return verified.principal


@settings(max_examples=300, deadline=None)
@given(signed_requests())
def test_sign_then_verify_round_trips(signed: Signed) -> None:
    assert _verify(signed, signed.request) == f"principal:{KEY_ID}"


def _change_one_character(text: str, index: int) -> str:
    """Replace one non-whitespace character by a different letter outside hex digits, so that
    the change survives whitespace folding and percent-decoding (``%4a`` ≡ ``%4A``)."""
    replacement = "q" if text[index] != "q" else "z"
    return text[:index] + replacement + text[index + 1 :]


def _changeable(text: str) -> list[int]:
    return [i for i, c in enumerate(text) if not c.isspace()]


@settings(max_examples=400, deadline=None)
@given(signed_requests(), st.data())
def test_any_single_byte_change_of_a_signed_part_fails(signed: Signed, data: st.DataObject) -> None:
    request = signed.request
    parts = ["method", "path", "header"]
    if request.raw_query:
        parts.append("query")
    if signed.is_body_signed and request.body:
        parts.append("body")
    part = data.draw(st.sampled_from(parts), label="part")
    if part == "method":
        index = data.draw(st.integers(0, len(request.method) - 1), label="index")
        mutated = replace(request, method=_change_one_character(request.method, index))
    elif part == "path":
        index = data.draw(st.sampled_from(_changeable(request.raw_path)), label="index")
        mutated = replace(request, raw_path=_change_one_character(request.raw_path, index))
    elif part == "query":
        index = data.draw(st.sampled_from(_changeable(request.raw_query)), label="index")
        mutated = replace(request, raw_query=_change_one_character(request.raw_query, index))
    elif part == "body":
        assert request.body is not None
        index = data.draw(st.integers(0, len(request.body) - 1), label="index")
        body = bytearray(request.body)
        body[index] ^= data.draw(st.integers(1, 255), label="xor")
        mutated = replace(request, body=bytes(body))
    else:
        position = data.draw(st.integers(0, len(request.headers) - 1), label="header")
        name, value = request.headers[position]
        changeable = _changeable(value)
        if not changeable:
            value, changeable = value + "x", [len(value)]
        index = data.draw(st.sampled_from(changeable), label="index")
        headers = list(request.headers)
        headers[position] = (name, _change_one_character(value, index))
        mutated = replace(request, headers=tuple(headers))
    try:
        _verify(signed, mutated)
    except LakevaultError:
        return
    raise AssertionError(f"a change of the {part} was accepted: {mutated!r}")
