"""AWS Signature Version 4: the canonical request, the string to sign and the signature.

Spec: "Create a signed AWS API request" and "Authenticating Requests (AWS Signature Version 4)"
of the AWS IAM and S3 user guides; the test vectors are awslabs/aws-c-auth's
``aws-signing-test-suite/v4`` (read in place from ``../shared/conformance/sigv4``).

Everything here is pure: values in, values out, no clock, no I/O. The signer
(``_sigv4_sign``) and the verifier (``_sigv4_verify``) both build the canonical request through
:func:`compute_signature`, so they cannot drift apart.

The one piece of state is a bounded LRU of derived signing keys, keyed by
(secret, date, region, service): deriving a key costs four HMACs, and one key serves every
request of that credential for a day. The cache holds no more than what a credential lookup
already hands over, and a revoked key is refused by the lookup before the cache is consulted.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote_to_bytes

ALGORITHM = "AWS4-HMAC-SHA256"
SCOPE_TERMINATOR = "aws4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
CONTENT_SHA256_HEADER = "x-amz-content-sha256"
SIGNING_KEY_CACHE_SIZE = 1024
#: The longest validity of a pre-signed request: seven days, as in AWS.
MAX_EXPIRES_SECONDS = 7 * 24 * 3600

#: Services that follow S3's rules; every other service follows the general SigV4 rules.
S3_SERVICES = frozenset({"s3", "s3-object-lambda", "s3express"})

_HEADER_WHITESPACE = re.compile(r"[ \t\r\n]+")
_UNRESERVED = "-_.~"


class SignatureForm(enum.Enum):
    """Where the signature travels: the ``Authorization`` header or the query (pre-signed)."""

    HEADER = "header"
    QUERY = "query"


@dataclass(frozen=True, slots=True, kw_only=True)
class SigV4Request:
    """The parts of an HTTP request that SigV4 signs, exactly as they came over the wire.

    ``raw_path`` is the request target's path before any percent-decoding, and ``raw_query``
    the part after ``?`` (without it); a face decodes the wire bytes as UTF-8 with
    ``surrogateescape`` so that no byte is lost. ``headers`` keeps every header line in order,
    repeats included, because SigV4 joins repeated values in arrival order. ``body`` is the
    buffered body; a face that streams the body passes ``body=None`` and, for services whose
    signature covers the payload, the hex SHA-256 it computed as ``payload_sha256``.
    """

    method: str
    raw_path: str
    raw_query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = b""
    payload_sha256: str | None = None

    def __post_init__(self) -> None:
        if self.body is not None and self.payload_sha256 is not None:
            raise ValueError(
                "SigV4Request: pass either body (buffered) or payload_sha256 (streamed), not both"
            )

    @classmethod
    def from_target(
        cls,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> SigV4Request:
        """Build a request from an HTTP request target such as ``/path?query``."""
        raw_path, _, raw_query = target.partition("?")
        return cls(
            method=method, raw_path=raw_path, raw_query=raw_query, headers=tuple(headers), body=body
        )

    @property
    def target(self) -> str:
        """The request target: the raw path, and ``?`` plus the raw query when there is one."""
        return f"{self.raw_path}?{self.raw_query}" if self.raw_query else self.raw_path

    def header_values(self, name: str) -> list[str]:
        """Every value of the header ``name`` (case-insensitive), in arrival order."""
        wanted = name.lower()
        return [value for header, value in self.headers if header.lower() == wanted]


@dataclass(frozen=True, slots=True, kw_only=True)
class SigningRules:
    """How a service canonicalises a request; S3 differs from every other AWS service.

    ``normalize_path`` removes ``.``/``..`` segments and empty segments (not for S3, whose keys
    may contain them). ``double_encode_path`` URI-encodes the raw path once more, so ``%``
    becomes ``%25`` (every service but S3); S3 decodes the path and encodes it once.
    ``is_payload_hash_in_header`` takes the payload hash from ``x-amz-content-sha256``, which
    may be ``UNSIGNED-PAYLOAD`` (S3); otherwise the payload hash is the body's SHA-256.
    """

    normalize_path: bool
    double_encode_path: bool
    is_payload_hash_in_header: bool


S3_RULES = SigningRules(
    normalize_path=False, double_encode_path=False, is_payload_hash_in_header=True
)
GENERAL_RULES = SigningRules(
    normalize_path=True, double_encode_path=True, is_payload_hash_in_header=False
)


def rules_for_service(service: str) -> SigningRules:
    """The canonicalisation rules AWS applies for ``service`` (S3's, or the general ones)."""
    return S3_RULES if service in S3_SERVICES else GENERAL_RULES


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialScope:
    """``date/region/service/aws4_request``: what a signing key is valid for."""

    date: str
    region: str
    service: str

    def __str__(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/{SCOPE_TERMINATOR}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureParts:
    """The intermediate values of one signature, for tests, debugging clients and the CLI."""

    canonical_request: str
    string_to_sign: str
    signature: str


def format_amz_date(moment: datetime) -> str:
    """``YYYYMMDDTHHMMSSZ`` in UTC, as ``X-Amz-Date`` carries it.

    Raises ``ValueError`` for a naive datetime: its time zone would be a guess.
    """
    if moment.tzinfo is None:
        raise ValueError("a SigV4 timestamp must be timezone-aware (use datetime.now(UTC))")
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def uri_encode(value: str | bytes, *, safe: str = "") -> str:
    """Percent-encode everything but the unreserved characters (RFC 3986), and ``safe``."""
    return quote(value, safe=_UNRESERVED + safe)


def _to_bytes(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape")


def _normalize_path(path: str) -> str:
    """Remove ``.``, ``..`` and empty segments; keep a trailing slash (aws-c-auth's rules)."""
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in {"", "."}:
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    normalized = "/" + "/".join(segments)
    if path.endswith("/") and normalized != "/":
        normalized += "/"
    return normalized


def canonical_uri(raw_path: str, rules: SigningRules) -> str:
    """The canonical URI of ``raw_path`` under ``rules`` (see :class:`SigningRules`)."""
    path = raw_path or "/"
    if rules.normalize_path:
        path = _normalize_path(path)
    if rules.double_encode_path:
        return uri_encode(_to_bytes(path), safe="/")
    return uri_encode(unquote_to_bytes(path), safe="/")


def parse_query(raw_query: str) -> list[tuple[bytes, bytes]]:
    """Split a raw query into percent-decoded (name, value) pairs, in order.

    ``+`` stays a literal plus, as in every AWS SDK; a parameter without ``=`` has an empty
    value; empty parts (``a=1&&b=2``) are dropped.
    """
    pairs: list[tuple[bytes, bytes]] = []
    for part in raw_query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((unquote_to_bytes(name), unquote_to_bytes(value)))
    return pairs


def canonical_query(pairs: Sequence[tuple[bytes, bytes]]) -> str:
    """Encode each name and value, sort by encoded name then value, join with ``&``."""
    encoded = sorted((uri_encode(name), uri_encode(value)) for name, value in pairs)
    return "&".join(f"{name}={value}" for name, value in encoded)


def canonical_header_value(value: str) -> str:
    """Trim the value and collapse inner runs of whitespace (folded lines too) to one space."""
    return _HEADER_WHITESPACE.sub(" ", value).strip(" ")


def group_headers(headers: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Lower-cased header name to its raw values, in arrival order."""
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        grouped.setdefault(name.lower(), []).append(value)
    return grouped


def canonical_headers(grouped: dict[str, list[str]], signed_headers: Sequence[str]) -> str:
    """One ``name:value`` line per signed header; repeated values joined with commas.

    ``signed_headers`` is sorted and lower-case; every name in it is present in ``grouped``
    (the caller checked, to raise its own precise error).
    """
    return "".join(
        f"{name}:{','.join(canonical_header_value(value) for value in grouped[name])}\n"
        for name in signed_headers
    )


def hash_payload(request: SigV4Request) -> str:
    """Hex SHA-256 of the body, or the ``payload_sha256`` a streaming face computed."""
    if request.body is not None:
        return hashlib.sha256(request.body).hexdigest()
    if request.payload_sha256 is None:
        raise ValueError(
            "SigV4Request has neither body nor payload_sha256; the payload hash is unknown"
        )
    return request.payload_sha256


def build_canonical_request(
    *,
    method: str,
    uri: str,
    query: str,
    headers: str,
    signed_headers: Sequence[str],
    payload_hash: str,
) -> str:
    """The six lines of the canonical request (headers already end in a newline)."""
    return f"{method}\n{uri}\n{query}\n{headers}\n{';'.join(signed_headers)}\n{payload_hash}"


def build_string_to_sign(*, amz_date: str, scope: CredentialScope, canonical_request: str) -> str:
    """``AWS4-HMAC-SHA256``, the timestamp, the scope and the canonical request's hash."""
    digest = hashlib.sha256(canonical_request.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def _hmac_sha256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


@functools.lru_cache(maxsize=SIGNING_KEY_CACHE_SIZE)
def derive_signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    """The HMAC-SHA256 chain ``AWS4``+secret → date → region → service → ``aws4_request``.

    .. warning:: The result is key material: it signs any request of that scope for a day.
       Never log it. Results are cached (bounded LRU of :data:`SIGNING_KEY_CACHE_SIZE`).
    """
    key = _hmac_sha256(("AWS4" + secret_access_key).encode("utf-8"), date)
    key = hmac.new(key, region.encode("utf-8"), hashlib.sha256).digest()
    key = hmac.new(key, service.encode("utf-8"), hashlib.sha256).digest()
    return hmac.new(key, SCOPE_TERMINATOR.encode("ascii"), hashlib.sha256).digest()


def compute_signature(
    request: SigV4Request,
    *,
    rules: SigningRules,
    query_pairs: Sequence[tuple[bytes, bytes]],
    grouped_headers: dict[str, list[str]],
    signed_headers: Sequence[str],
    payload_hash: str,
    amz_date: str,
    scope: CredentialScope,
    secret_access_key: str,
) -> SignatureParts:
    """Canonicalise ``request`` and sign it: the one path both the signer and verifier take.

    ``query_pairs`` are the decoded query parameters to sign (the verifier leaves out
    ``X-Amz-Signature``; the pre-signing signer adds the ``X-Amz-*`` ones), ``grouped_headers``
    the request's headers by lower-case name (:func:`group_headers`).
    """
    canonical_request = build_canonical_request(
        method=request.method,
        uri=canonical_uri(request.raw_path, rules),
        query=canonical_query(query_pairs),
        headers=canonical_headers(grouped_headers, signed_headers),
        signed_headers=signed_headers,
        payload_hash=payload_hash,
    )
    string_to_sign = build_string_to_sign(
        amz_date=amz_date, scope=scope, canonical_request=canonical_request
    )
    signing_key = derive_signing_key(secret_access_key, scope.date, scope.region, scope.service)
    signature = hmac.new(signing_key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return SignatureParts(
        canonical_request=canonical_request, string_to_sign=string_to_sign, signature=signature
    )
