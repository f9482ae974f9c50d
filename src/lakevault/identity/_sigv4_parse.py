"""Parsing the SigV4 parts of a request: the ``Authorization`` header or the pre-signed query.

Syntax only: each part must be present once and well-formed, or ``IncompleteSignature`` names
the part (never its value, which may be a token or another scheme's credential). Whether the
parts are *right* — scope, time, signature — is ``_sigv4_verify``'s business.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from lakevault.identity._errors import IncompleteSignature, MissingAuthenticationToken, SigV4Failure
from lakevault.identity._sigv4_canonical import (
    ALGORITHM,
    MAX_EXPIRES_SECONDS,
    SCOPE_TERMINATOR,
    SignatureForm,
    SigV4Request,
    parse_query,
)

_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_SCOPE_DATE = re.compile(r"\d{8}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_HEADER_NAME = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")
_ACCESS_KEY_ID = re.compile(r"[\x21-\x2e\x30-\x7e]{1,128}")
_QUERY_PARAMETERS = {
    b"X-Amz-Algorithm": "X-Amz-Algorithm",
    b"X-Amz-Credential": "X-Amz-Credential",
    b"X-Amz-Date": "X-Amz-Date",
    b"X-Amz-Expires": "X-Amz-Expires",
    b"X-Amz-SignedHeaders": "X-Amz-SignedHeaders",
    b"X-Amz-Signature": "X-Amz-Signature",
    b"X-Amz-Security-Token": "X-Amz-Security-Token",
}
_QUERY_FORM_MARKERS = frozenset({b"X-Amz-Algorithm", b"X-Amz-Credential", b"X-Amz-Signature"})
_AUTHORIZATION_COMPONENTS = ("Credential", "SignedHeaders", "Signature")


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedSignature:
    """The signature parts of a request, parsed but not yet trusted."""

    form: SignatureForm
    access_key_id: str
    scope_date: str
    scope_region: str
    scope_service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str
    signed_at: datetime
    expires_seconds: int | None
    session_token: str | None
    query_pairs: tuple[tuple[bytes, bytes], ...]

    def signed_query_pairs(self) -> Sequence[tuple[bytes, bytes]]:
        """The query parameters the signature covers: all but ``X-Amz-Signature``."""
        if self.form is SignatureForm.HEADER:
            return self.query_pairs
        return [pair for pair in self.query_pairs if pair[0] != b"X-Amz-Signature"]


def single_header(grouped: dict[str, list[str]], name: str, display: str) -> str | None:
    """The one value of header ``name``, trimmed; ``None`` when absent.

    A repeated signing header is refused rather than joined: two ``X-Amz-Date`` or
    ``Authorization`` values would leave the verifier to guess which one the client meant.
    """
    values = grouped.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise IncompleteSignature(
            f"the request has {len(values)} {display} headers; send exactly one",
            reason=SigV4Failure.DUPLICATE_HEADER,
        )
    return values[0].strip()


def parse_signature(request: SigV4Request, grouped: dict[str, list[str]]) -> ParsedSignature:
    """Find the form (header or query), then parse and check the syntax of every part.

    Raises ``MissingAuthenticationToken`` when the request carries no signature, and
    ``IncompleteSignature`` naming the first part that is missing, repeated or malformed.
    """
    query_pairs = tuple(parse_query(request.raw_query))
    has_query_form = any(name in _QUERY_FORM_MARKERS for name, _ in query_pairs)
    authorization = single_header(grouped, "authorization", "Authorization")
    if authorization is not None and has_query_form:
        raise IncompleteSignature(
            "the request has both an Authorization header and X-Amz-* query parameters; "
            "sign it one way only",
            reason=SigV4Failure.AMBIGUOUS_AUTHENTICATION,
        )
    if authorization is not None:
        return _parse_header_form(authorization, grouped, query_pairs)
    if has_query_form:
        return _parse_query_form(query_pairs, grouped)
    raise MissingAuthenticationToken(
        "the request is not signed: send an Authorization header (AWS4-HMAC-SHA256) or "
        "pre-signed X-Amz-* query parameters",
        reason=SigV4Failure.NO_AUTHENTICATION,
    )


def _parse_header_form(
    authorization: str,
    grouped: dict[str, list[str]],
    query_pairs: tuple[tuple[bytes, bytes], ...],
) -> ParsedSignature:
    algorithm, _, rest = authorization.partition(" ")
    if algorithm != ALGORITHM:
        raise IncompleteSignature(
            f"the Authorization header must start with the algorithm {ALGORITHM}",
            reason=SigV4Failure.UNSUPPORTED_ALGORITHM,
        )
    components: dict[str, str] = {}
    for position, component in enumerate(rest.split(","), start=1):
        key, separator, value = component.strip().partition("=")
        if not separator:
            raise IncompleteSignature(
                f"component {position} of the Authorization header is not Key=Value",
                reason=SigV4Failure.MALFORMED_AUTHORIZATION,
            )
        if key not in _AUTHORIZATION_COMPONENTS:
            raise IncompleteSignature(
                f"component {position} of the Authorization header is not one of "
                "Credential, SignedHeaders, Signature",
                reason=SigV4Failure.MALFORMED_AUTHORIZATION,
            )
        if key in components:
            raise IncompleteSignature(
                f"the Authorization header has {key} more than once",
                reason=SigV4Failure.DUPLICATE_COMPONENT,
            )
        components[key] = value
    missing = {
        "Credential": SigV4Failure.MISSING_CREDENTIAL,
        "SignedHeaders": SigV4Failure.MISSING_SIGNED_HEADERS,
        "Signature": SigV4Failure.MISSING_SIGNATURE,
    }
    for key, reason in missing.items():
        if key not in components:
            raise IncompleteSignature(
                f"the Authorization header has no {key}= component", reason=reason
            )
    amz_date = single_header(grouped, "x-amz-date", "X-Amz-Date")
    if amz_date is None:
        raise IncompleteSignature(
            "the request has no X-Amz-Date header; send the signing time as YYYYMMDDTHHMMSSZ",
            reason=SigV4Failure.MISSING_DATE,
        )
    return _assemble(
        form=SignatureForm.HEADER,
        credential=components["Credential"],
        signed_headers=components["SignedHeaders"],
        signature=components["Signature"],
        amz_date=amz_date,
        expires=None,
        session_token=single_header(grouped, "x-amz-security-token", "X-Amz-Security-Token"),
        query_pairs=query_pairs,
        where="Authorization header",
    )


def _parse_query_form(
    query_pairs: tuple[tuple[bytes, bytes], ...], grouped: dict[str, list[str]]
) -> ParsedSignature:
    values: dict[str, str] = {}
    for name, value in query_pairs:
        display = _QUERY_PARAMETERS.get(name)
        if display is None:
            continue
        if display in values:
            raise IncompleteSignature(
                f"the query has {display} more than once",
                reason=SigV4Failure.DUPLICATE_PARAMETER,
            )
        try:
            values[display] = value.decode("utf-8")
        except UnicodeDecodeError:
            raise IncompleteSignature(
                f"the query parameter {display} is not valid UTF-8",
                reason=_MALFORMED_PARAMETER.get(display, SigV4Failure.MALFORMED_AUTHORIZATION),
            ) from None
    required = {
        "X-Amz-Algorithm": SigV4Failure.MISSING_ALGORITHM,
        "X-Amz-Credential": SigV4Failure.MISSING_CREDENTIAL,
        "X-Amz-Date": SigV4Failure.MISSING_DATE,
        "X-Amz-Expires": SigV4Failure.MISSING_EXPIRES,
        "X-Amz-SignedHeaders": SigV4Failure.MISSING_SIGNED_HEADERS,
        "X-Amz-Signature": SigV4Failure.MISSING_SIGNATURE,
    }
    for display, reason in required.items():
        if display not in values:
            raise IncompleteSignature(
                f"the pre-signed query has no {display} parameter", reason=reason
            )
    if values["X-Amz-Algorithm"] != ALGORITHM:
        raise IncompleteSignature(
            f"X-Amz-Algorithm must be {ALGORITHM}", reason=SigV4Failure.UNSUPPORTED_ALGORITHM
        )
    return _assemble(
        form=SignatureForm.QUERY,
        credential=values["X-Amz-Credential"],
        signed_headers=values["X-Amz-SignedHeaders"],
        signature=values["X-Amz-Signature"],
        amz_date=values["X-Amz-Date"],
        expires=values["X-Amz-Expires"],
        session_token=(
            values["X-Amz-Security-Token"]
            if "X-Amz-Security-Token" in values
            else single_header(grouped, "x-amz-security-token", "X-Amz-Security-Token")
        ),
        query_pairs=query_pairs,
        where="query",
    )


_MALFORMED_PARAMETER = {
    "X-Amz-Algorithm": SigV4Failure.UNSUPPORTED_ALGORITHM,
    "X-Amz-Credential": SigV4Failure.MALFORMED_CREDENTIAL,
    "X-Amz-Date": SigV4Failure.MALFORMED_DATE,
    "X-Amz-Expires": SigV4Failure.MALFORMED_EXPIRES,
    "X-Amz-SignedHeaders": SigV4Failure.MALFORMED_SIGNED_HEADERS,
    "X-Amz-Signature": SigV4Failure.MALFORMED_SIGNATURE,
}


def _assemble(
    *,
    form: SignatureForm,
    credential: str,
    signed_headers: str,
    signature: str,
    amz_date: str,
    expires: str | None,
    session_token: str | None,
    query_pairs: tuple[tuple[bytes, bytes], ...],
    where: str,
) -> ParsedSignature:
    """Validate the syntax of each part; the message names the part, never its value."""
    parts = credential.split("/")
    if len(parts) != 5:
        raise IncompleteSignature(
            f"the Credential of the {where} must be "
            "<access key id>/<YYYYMMDD>/<region>/<service>/aws4_request",
            reason=SigV4Failure.MALFORMED_CREDENTIAL,
        )
    access_key_id, scope_date, scope_region, scope_service, terminator = parts
    if not _ACCESS_KEY_ID.fullmatch(access_key_id):
        raise IncompleteSignature(
            f"the access key id in the Credential of the {where} is empty, too long "
            "(over 128 characters) or contains spaces or control characters",
            reason=SigV4Failure.MALFORMED_CREDENTIAL,
        )
    if not _SCOPE_DATE.fullmatch(scope_date) or not scope_region or not scope_service:
        raise IncompleteSignature(
            f"the Credential scope of the {where} must have a YYYYMMDD date, a region and "
            "a service",
            reason=SigV4Failure.MALFORMED_CREDENTIAL,
        )
    if terminator != SCOPE_TERMINATOR:
        raise IncompleteSignature(
            f"the Credential scope of the {where} must end in {SCOPE_TERMINATOR}",
            reason=SigV4Failure.SCOPE_TERMINATOR,
        )
    names = tuple(signed_headers.split(";"))
    if not all(_HEADER_NAME.fullmatch(name) for name in names) or any(
        earlier >= later for earlier, later in itertools.pairwise(names)
    ):
        raise IncompleteSignature(
            f"the SignedHeaders of the {where} must be lower-case header names, sorted, "
            "without repeats, separated by ';'",
            reason=SigV4Failure.MALFORMED_SIGNED_HEADERS,
        )
    if not _SIGNATURE.fullmatch(signature):
        raise IncompleteSignature(
            f"the Signature of the {where} must be 64 lower-case hexadecimal digits",
            reason=SigV4Failure.MALFORMED_SIGNATURE,
        )
    signed_at = _parse_amz_date(amz_date)
    return ParsedSignature(
        form=form,
        access_key_id=access_key_id,
        scope_date=scope_date,
        scope_region=scope_region,
        scope_service=scope_service,
        signed_headers=names,
        signature=signature,
        amz_date=amz_date,
        signed_at=signed_at,
        expires_seconds=None if expires is None else _parse_expires(expires),
        session_token=session_token,
        query_pairs=query_pairs,
    )


def _parse_amz_date(amz_date: str) -> datetime:
    if _AMZ_DATE.fullmatch(amz_date):
        try:
            return datetime(
                int(amz_date[0:4]),
                int(amz_date[4:6]),
                int(amz_date[6:8]),
                int(amz_date[9:11]),
                int(amz_date[11:13]),
                int(amz_date[13:15]),
                tzinfo=UTC,
            )
        except ValueError:
            pass
    raise IncompleteSignature(
        "X-Amz-Date must be a UTC time written YYYYMMDDTHHMMSSZ (for example 20150830T123600Z)",
        reason=SigV4Failure.MALFORMED_DATE,
    )


def _parse_expires(expires: str) -> int:
    if not expires.isascii() or not expires.isdigit() or len(expires) > 7:
        raise IncompleteSignature(
            "X-Amz-Expires must be a whole number of seconds",
            reason=SigV4Failure.MALFORMED_EXPIRES,
        )
    seconds = int(expires)
    if not 1 <= seconds <= MAX_EXPIRES_SECONDS:
        raise IncompleteSignature(
            f"X-Amz-Expires must be between 1 and {MAX_EXPIRES_SECONDS} seconds (7 days); "
            f"got {seconds}",
            reason=SigV4Failure.EXPIRES_OUT_OF_RANGE,
        )
    return seconds
