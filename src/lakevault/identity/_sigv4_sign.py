"""Signing requests with AWS Signature Version 4, in the header or the pre-signed query form.

Used by tests, the CLI and pre-signed URLs. Pure: the caller passes the time (``now``) and the
secret; nothing is read from the environment or the clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from lakevault.identity._sigv4_canonical import (
    ALGORITHM,
    CONTENT_SHA256_HEADER,
    MAX_EXPIRES_SECONDS,
    UNSIGNED_PAYLOAD,
    CredentialScope,
    SignatureForm,
    SignatureParts,
    SigningRules,
    SigV4Request,
    compute_signature,
    format_amz_date,
    group_headers,
    hash_payload,
    parse_query,
    rules_for_service,
    uri_encode,
)
from lakevault.identity._sigv4_chunked import STREAMING_PAYLOAD

#: Headers a signer leaves out by default, because proxies and clients change them in flight
#: (the same choice as botocore) or because they carry the signature itself.
DEFAULT_UNSIGNED_HEADERS = frozenset({"authorization", "expect", "user-agent", "x-amzn-trace-id"})

_SIGNING_HEADERS = frozenset({"authorization", "x-amz-date", "x-amz-security-token"})
_SIGNING_QUERY_PARAMETERS = frozenset(
    {b"X-Amz-Algorithm", b"X-Amz-Credential", b"X-Amz-Signature", b"X-Amz-Security-Token"}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Signer:
    """What both forms need to sign: who signs, for which scope, under which rules."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None
    amz_date: str
    scope: CredentialScope
    rules: SigningRules
    sign_session_token: bool
    unsigned_header_names: frozenset[str]

    def sign(
        self,
        request: SigV4Request,
        *,
        query_pairs: list[tuple[bytes, bytes]],
        headers: Iterable[tuple[str, str]],
        payload_hash: str,
    ) -> tuple[list[str], SignatureParts]:
        """Sign ``request`` with these query pairs and headers; return the signed names too."""
        headers = tuple(headers)
        signed_headers = sorted({name.lower() for name, _ in headers} - self.unsigned_header_names)
        parts = compute_signature(
            request,
            rules=self.rules,
            query_pairs=query_pairs,
            grouped_headers=group_headers(headers),
            signed_headers=signed_headers,
            payload_hash=payload_hash,
            amz_date=self.amz_date,
            scope=self.scope,
            secret_access_key=self.secret_access_key,
        )
        return signed_headers, parts


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedRequest:
    """A signed request ready to send, with the intermediate values that produced it."""

    request: SigV4Request
    form: SignatureForm
    parts: SignatureParts

    @property
    def signature(self) -> str:
        """The hex signature (the request's ``Signature=`` or ``X-Amz-Signature``)."""
        return self.parts.signature


def _check_unsigned(request: SigV4Request) -> None:
    present = {name.lower() for name, _ in request.headers} & _SIGNING_HEADERS
    present |= {
        name.decode("utf-8", "replace")
        for name, _ in parse_query(request.raw_query)
        if name in _SIGNING_QUERY_PARAMETERS
    }
    if present:
        raise ValueError(
            "sign_request: the request already carries signature parts "
            f"({', '.join(sorted(present))}); sign the unsigned request"
        )
    if not request.header_values("host"):
        raise ValueError("sign_request: the request has no Host header, which SigV4 signs")


def sign_request(
    request: SigV4Request,
    *,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    service: str,
    now: datetime,
    session_token: str | None = None,
    form: SignatureForm = SignatureForm.HEADER,
    expires_seconds: int = 3600,
    rules: SigningRules | None = None,
    add_content_sha256_header: bool = False,
    unsigned_payload: bool = False,
    sign_session_token: bool = True,
    unsigned_header_names: frozenset[str] = DEFAULT_UNSIGNED_HEADERS,
) -> SignedRequest:
    """Sign ``request`` as of ``now`` and return the request to send.

    Header form: adds ``X-Amz-Security-Token`` (temporary credentials), ``X-Amz-Date``,
    ``x-amz-content-sha256`` (always under S3 rules; otherwise when
    ``add_content_sha256_header``) and ``Authorization``. Query form: appends the ``X-Amz-*``
    parameters, valid for ``expires_seconds`` (1 second to 7 days).

    Every header of the request is signed except ``unsigned_header_names``. ``rules`` default to
    the service's (:func:`rules_for_service`). Under S3 rules ``unsigned_payload`` signs
    ``UNSIGNED-PAYLOAD`` instead of the body's hash; an ``x-amz-content-sha256`` header already
    on the request is kept and signed as the payload hash.

    ``sign_session_token=False`` adds the session token after signing, as some AWS services
    accept. lakevault's verifier refuses such requests (an unsigned ``x-amz-*`` header, or a
    query parameter the signature does not cover), so use it only to talk to those services.

    Raises ``ValueError`` for a request that is already signed or has no ``Host`` header, an
    out-of-range ``expires_seconds``, ``unsigned_payload`` outside S3 rules, or a naive ``now``.
    """
    rules = rules_for_service(service) if rules is None else rules
    _check_unsigned(request)
    if unsigned_payload and not rules.is_payload_hash_in_header:
        raise ValueError("unsigned_payload is only allowed under S3 signing rules")
    amz_date = format_amz_date(now)
    signer = _Signer(
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        session_token=session_token,
        amz_date=amz_date,
        scope=CredentialScope(date=amz_date[:8], region=region, service=service),
        rules=rules,
        sign_session_token=sign_session_token,
        unsigned_header_names=unsigned_header_names,
    )
    if form is SignatureForm.HEADER:
        return _sign_header_form(
            request,
            signer,
            add_content_sha256_header=add_content_sha256_header,
            unsigned_payload=unsigned_payload,
        )
    if not 1 <= expires_seconds <= MAX_EXPIRES_SECONDS:
        raise ValueError(
            f"expires_seconds must be between 1 and {MAX_EXPIRES_SECONDS} (7 days); "
            f"got {expires_seconds}"
        )
    return _sign_query_form(request, signer, expires_seconds=expires_seconds)


def _payload_hash(request: SigV4Request, rules: SigningRules, *, unsigned_payload: bool) -> str:
    declared = request.header_values(CONTENT_SHA256_HEADER)
    if declared and declared[0].strip() == STREAMING_PAYLOAD:
        return STREAMING_PAYLOAD  # the seed of a streaming upload, under any rules
    if rules.is_payload_hash_in_header and declared:
        return declared[0].strip()
    if unsigned_payload:
        return UNSIGNED_PAYLOAD
    return hash_payload(request)


def _sign_header_form(
    request: SigV4Request,
    signer: _Signer,
    *,
    add_content_sha256_header: bool,
    unsigned_payload: bool,
) -> SignedRequest:
    payload_hash = _payload_hash(request, signer.rules, unsigned_payload=unsigned_payload)
    token = signer.session_token
    token_header = [("X-Amz-Security-Token", token)] if token is not None else []
    added = [("X-Amz-Date", signer.amz_date)]
    has_content_header = bool(request.header_values(CONTENT_SHA256_HEADER))
    wants_content_header = signer.rules.is_payload_hash_in_header or add_content_sha256_header
    if wants_content_header and not has_content_header:
        added.append((CONTENT_SHA256_HEADER, payload_hash))
    signed_headers, parts = signer.sign(
        request,
        query_pairs=parse_query(request.raw_query),
        headers=[*request.headers, *(token_header if signer.sign_session_token else []), *added],
        payload_hash=payload_hash,
    )
    authorization = (
        f"{ALGORITHM} Credential={signer.access_key_id}/{signer.scope}, "
        f"SignedHeaders={';'.join(signed_headers)}, Signature={parts.signature}"
    )
    headers = (*request.headers, *token_header, *added, ("Authorization", authorization))
    return SignedRequest(
        request=replace(request, headers=headers), form=SignatureForm.HEADER, parts=parts
    )


def _sign_query_form(
    request: SigV4Request, signer: _Signer, *, expires_seconds: int
) -> SignedRequest:
    payload_hash = _payload_hash(
        request, signer.rules, unsigned_payload=signer.rules.is_payload_hash_in_header
    )
    signed_header_names = sorted(
        {name.lower() for name, _ in request.headers} - signer.unsigned_header_names
    )
    parameters = [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{signer.access_key_id}/{signer.scope}"),
        ("X-Amz-Date", signer.amz_date),
        ("X-Amz-SignedHeaders", ";".join(signed_header_names)),
        ("X-Amz-Expires", str(expires_seconds)),
    ]
    token = signer.session_token
    token_parameter = [("X-Amz-Security-Token", token)] if token is not None else []
    signed_parameters = [*parameters, *(token_parameter if signer.sign_session_token else [])]
    _, parts = signer.sign(
        request,
        query_pairs=parse_query(request.raw_query)
        + [(name.encode("utf-8"), value.encode("utf-8")) for name, value in signed_parameters],
        headers=request.headers,
        payload_hash=payload_hash,
    )
    appended = "&".join(
        f"{name}={uri_encode(value)}"
        for name, value in [*parameters, *token_parameter, ("X-Amz-Signature", parts.signature)]
    )
    raw_query = f"{request.raw_query}&{appended}" if request.raw_query else appended
    return SignedRequest(
        request=replace(request, raw_query=raw_query), form=SignatureForm.QUERY, parts=parts
    )
