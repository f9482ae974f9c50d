"""Server-minted pre-signed URLs: GET or PUT of one object, SigV4 query form, checked twice.

Minting (``PresignedUrls.mint``) asks the gate for ``s3:GetObject`` or ``s3:PutObject`` on the
object *for the caller*, then stores a row naming what the URL may do — method, bucket, key,
expiry (at most 7 days), and for a PUT a content type, a length range and single use — and how
to find the caller again: the kind of credential it used and that credential's id (an access
key, a temporary session, an API key, or a token's user, generation and expiry). No secret is
stored: the URL's signing secret is derived from the platform root key and the URL's id
(``PlatformRootKey.derive_secret``), like access-key secrets, so every principal can mint,
also one without an access key (docs/decisions/0164).

The URL is S3's query form (``X-Amz-Algorithm`` ... ``X-Amz-Signature``) with the URL id as the
access key id, scoped to the service ``s3`` (S3's canonicalisation and ``UNSIGNED-PAYLOAD``, so
a PUT body streams and is never buffered for the signature).

Using it (``PresignedUrls.authorize_use``): the signature verifies (tampered path, method or
parameters are ``SignatureDoesNotMatch``), it has not expired, the request is the method and
object it was signed for, a PUT's ``Content-Type`` equals the condition and its declared
``Content-Length`` is within the range; then the signer is looked up *now* — a deleted user or
key, an ended session, a signed-out token is ``AccessDenied`` — and a single-use URL is consumed
by one conditional ``UPDATE`` (exactly one of N concurrent uses wins). The face then acts as the
signer, so the gate decides again with the signer's current policies.

A ``HEAD`` through a GET URL is verified as the GET it was signed for and does not consume a
single-use URL, though it is refused once the URL was used (docs/decisions/0184).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import quote

from sqlalchemy import update

from lakevault import identity
from lakevault.core.errors import (
    AccessDenied,
    ConfigurationError,
    InvalidParameterValue,
    LakevaultError,
)
from lakevault.db import models
from lakevault.identity import Principal
from lakevault.kms import PlatformRootKey, Readable
from lakevault.storage._core import StorageCore
from lakevault.storage._limits import SizeLimitedReader, check_declared_length
from lakevault.storage._names import check_object_key, object_arn
from lakevault.storage._objects import check_content_type
from lakevault.storage._types import Caller

#: S3's longest pre-signed URL lifetime (SigV4's limit): 7 days.
MAX_EXPIRES_SECONDS = 7 * 24 * 3600
#: The SigV4 service of pre-signed URLs: S3's, for its canonicalisation and UNSIGNED-PAYLOAD.
PRESIGN_SERVICE = "s3"
#: URL ids are access key ids in the ``X-Amz-Credential``; the prefix tells them apart.
URL_ID_PREFIX = "LPSU"
_SECRET_PURPOSE = "storage-presigned-url-v1"  # noqa: S105 - a derivation label
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_FAILED_SIGNER = (
    "the credentials that signed this URL are no longer valid (deleted, deactivated, expired "
    "or signed out); ask for a new URL"
)


class PresignMethod(StrEnum):
    """What a pre-signed URL may do with its object."""

    GET = "GET"
    PUT = "PUT"


class SignerKind(StrEnum):
    """How the principal that minted a URL authenticated (how to find it again)."""

    ACCESS_KEY = "access-key"
    SESSION = "session"
    API_KEY = "api-key"
    TOKEN = "token"  # noqa: S105 - a kind, not a secret


@dataclass(frozen=True, slots=True, kw_only=True)
class Signer:
    """The caller of a mint request and its credential, as the face authenticated it.

    ``credential_id`` is the access key id (long-term or temporary) or the API key id; ``token``
    the verified access-token claims. ``expires_at`` is when that credential ends, if it does:
    a URL never outlives its signer's session.
    """

    kind: SignerKind
    principal: Principal
    credential_id: str | None = None
    token: identity.TokenClaims | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PresignRequest:
    """What a client asks for. Conditions apply to PUT only."""

    method: PresignMethod
    key: str
    expires_in_seconds: int
    content_type: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    single_use: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class PresignedURL:
    """A minted URL: ``target`` is the path and query to append to the server's origin."""

    url_id: str
    method: PresignMethod
    bucket: str
    key: str
    target: str
    expires_at: datetime
    signer_expires_at: datetime | None
    content_type: str | None
    min_length: int | None
    max_length: int | None
    single_use: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PresignedUse:
    """An authorised use of a URL: act as ``principal`` (the signer, looked up now)."""

    url_id: str
    principal: Principal
    content_type: str | None
    min_length: int | None
    max_length: int | None

    def bounded(self, body: Readable) -> Readable:
        """A PUT body held to the URL's length range while it streams."""
        if self.min_length is None and self.max_length is None:
            return body
        return SizeLimitedReader(
            body,
            max_bytes=self.max_length,
            min_bytes=self.min_length or 0,
            what="this pre-signed URL",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Row:
    url_id: str
    bucket: str
    key: str
    method: str
    expires_at: datetime
    content_type: str | None
    min_length: int | None
    max_length: int | None
    single_use: bool
    used_at: datetime | None
    signer_kind: str
    signer_account_id: str
    signer_arn: str
    signer_principal_id: str
    signer_credential_id: str | None
    signer_user_name: str | None
    signer_token_generation: int | None
    signer_token_issued_at: datetime | None
    signer_mfa_authenticated: bool
    signer_expires_at: datetime | None


def presigned_path(prefix: str, bucket: str, key: str) -> str:
    """The URL path of ``key`` under ``prefix``: the key percent-encoded as S3 does (``/``
    kept), so the path the server decodes is the key that was signed."""
    return f"{prefix}/{bucket}/{quote(key, safe='/')}"


class PresignedUrls:
    """Mint pre-signed URLs (permission-checked) and authorise their use (checked again)."""

    def __init__(
        self, core: StorageCore, *, root_key: Callable[[], PlatformRootKey] | None
    ) -> None:
        self._core = core
        self._root_key = root_key

    def _secret(self, url_id: str) -> str:
        return self._require_root_key().derive_secret(purpose=_SECRET_PURPOSE, identifier=url_id)

    def _new_url_id(self) -> str:
        raw = self._core.random.token_bytes(15)
        number = int.from_bytes(raw, "big")
        chars = [_ALPHABET[(number >> (5 * index)) & 31] for index in range(24)]
        return URL_ID_PREFIX + "".join(chars)

    # -- minting -------------------------------------------------------------------------------

    def mint(
        self,
        caller: Caller,
        signer: Signer,
        bucket: str,
        wanted: PresignRequest,
        *,
        host: str,
        path_prefix: str,
    ) -> PresignedURL:
        """Mint a URL for ``wanted`` if the gate allows the caller the action now.

        Raises ``InvalidArgument`` for an expiry outside 1 s..7 days, conditions on a GET, or a
        bad range; ``AccessDenied`` for an anonymous caller or a denied action.
        """
        core = self._core
        _check_request(wanted)
        check_object_key(wanted.key)
        if caller.principal.is_anonymous:
            raise AccessDenied("an anonymous caller cannot sign a URL; authenticate first")
        record = core.load_bucket(bucket)
        action = "s3:GetObject" if wanted.method is PresignMethod.GET else "s3:PutObject"
        url_id = self._new_url_id()
        parameters = {
            "bucketName": bucket,
            "key": wanted.key,
            "presignedUrlId": url_id,
            "presignedMethod": wanted.method.value,
            "expiresIn": wanted.expires_in_seconds,
            "singleUse": wanted.single_use,
        }
        core.authorize(
            caller,
            action=action,
            resource=object_arn(bucket, wanted.key),
            bucket=record,
            read_only=wanted.method is PresignMethod.GET,
            parameters=parameters,
        )
        now = core.clock.now()
        expires_at = now + timedelta(seconds=wanted.expires_in_seconds)
        principal = signer.principal
        token = signer.token
        with core.database.session() as session:
            session.add(
                models.PresignedUrl(
                    url_id=url_id,
                    bucket_name=bucket,
                    object_key=wanted.key,
                    method=wanted.method.value,
                    created_at=now,
                    expires_at=expires_at,
                    content_type=wanted.content_type,
                    min_length=wanted.min_length,
                    max_length=wanted.max_length,
                    single_use=wanted.single_use,
                    used_at=None,
                    signer_kind=signer.kind.value,
                    signer_account_id=principal.account_id,
                    signer_arn=principal.arn,
                    signer_principal_id=principal.principal_id,
                    signer_credential_id=signer.credential_id,
                    signer_user_name=principal.username,
                    signer_token_generation=token.token_generation if token else None,
                    signer_token_issued_at=token.issued_at if token else None,
                    signer_mfa_authenticated=principal.mfa_authenticated,
                    signer_expires_at=signer.expires_at,
                )
            )
        path = presigned_path(path_prefix, bucket, wanted.key)
        signed = identity.sign_request(
            identity.SigV4Request.from_target(wanted.method.value, path, [("host", host)], b""),
            access_key_id=url_id,
            secret_access_key=self._secret(url_id),
            region=core.region,
            service=PRESIGN_SERVICE,
            now=now,
            form=identity.SignatureForm.QUERY,
            expires_seconds=wanted.expires_in_seconds,
        )
        return PresignedURL(
            url_id=url_id,
            method=wanted.method,
            bucket=bucket,
            key=wanted.key,
            target=signed.request.target,
            expires_at=expires_at,
            signer_expires_at=signer.expires_at,
            content_type=wanted.content_type,
            min_length=wanted.min_length,
            max_length=wanted.max_length,
            single_use=wanted.single_use,
        )

    # -- using ---------------------------------------------------------------------------------

    def authorize_use(
        self,
        request: identity.SigV4Request,
        *,
        bucket: str,
        key: str,
        content_type: str | None = None,
        content_length: int | None = None,
    ) -> PresignedUse:
        """Check a use of a URL and return whom to act as; consume a single-use URL.

        ``request`` is the request as received, with ``body=None`` (never buffered). Raises the
        SigV4 errors for a bad or expired signature, ``AccessDenied`` for a request the URL was
        not signed for, a broken content-type condition, a signer that is gone, or a used
        single-use URL; ``EntityTooLarge``/``EntityTooSmall`` for a declared length outside the
        range (before any byte is read).
        """
        core = self._core
        now = core.clock.now()
        found: list[_Row] = []
        # A HEAD is the metadata of the GET the URL was signed for (docs/decisions/0184): its
        # signature is checked as that GET's, and it never consumes a single-use URL.
        is_head = request.method.upper() == "HEAD"
        if is_head:
            request = dataclasses.replace(request, method=PresignMethod.GET.value)

        def lookup(access_key_id: str) -> identity.SigningCredential[str]:
            row = self._load(access_key_id) if access_key_id.startswith(URL_ID_PREFIX) else None
            if row is None:
                raise identity.InvalidAccessKeyId(
                    "The AWS Access Key Id you provided does not exist in our records."
                )
            found.append(row)
            return identity.SigningCredential(
                access_key_id=access_key_id,
                secret_access_key=self._secret(access_key_id),
                principal=access_key_id,
            )

        identity.verify_sigv4(
            request, lookup=lookup, now=now, region=core.region, service=PRESIGN_SERVICE
        )
        row = found[0]
        method = request.method.upper()
        if row.bucket != bucket or row.key != key or row.method != method:
            raise AccessDenied(
                f"this URL was signed for {row.method} of {object_arn(row.bucket, row.key)}, "
                f"not {method} of {object_arn(bucket, key)}"
            )
        if now > row.expires_at:
            raise identity.RequestExpired(
                f"the pre-signed URL expired at {row.expires_at:%Y-%m-%dT%H:%M:%SZ}",
                reason=identity.SigV4Failure.EXPIRED,
            )
        if row.method == PresignMethod.PUT.value:
            if row.content_type is not None and content_type != row.content_type:
                raise AccessDenied(
                    f"this URL requires Content-Type: {row.content_type}; the request sent "
                    f"{content_type!r}"
                )
            what = "this pre-signed URL"
            check_declared_length(
                content_length, max_bytes=row.max_length, min_bytes=row.min_length or 0, what=what
            )
        principal = self._signer_now(row, now)
        if row.single_use and is_head:
            if row.used_at is not None:
                raise AccessDenied(_USED)
        elif row.single_use:
            self._consume(row.url_id, now)
        return PresignedUse(
            url_id=row.url_id,
            principal=dataclasses.replace(principal, access_key_id=row.url_id),
            content_type=row.content_type,
            min_length=row.min_length,
            max_length=row.max_length,
        )

    def _load(self, url_id: str) -> _Row | None:
        with self._core.database.read_session() as session:
            row = session.get(models.PresignedUrl, url_id)
            if row is None:
                return None
            return _Row(
                url_id=row.url_id,
                bucket=row.bucket_name,
                key=row.object_key,
                method=row.method,
                expires_at=row.expires_at,
                content_type=row.content_type,
                min_length=row.min_length,
                max_length=row.max_length,
                single_use=row.single_use,
                used_at=row.used_at,
                signer_kind=row.signer_kind,
                signer_account_id=row.signer_account_id,
                signer_arn=row.signer_arn,
                signer_principal_id=row.signer_principal_id,
                signer_credential_id=row.signer_credential_id,
                signer_user_name=row.signer_user_name,
                signer_token_generation=row.signer_token_generation,
                signer_token_issued_at=row.signer_token_issued_at,
                signer_mfa_authenticated=row.signer_mfa_authenticated,
                signer_expires_at=row.signer_expires_at,
            )

    def _consume(self, url_id: str, now: datetime) -> None:
        """One conditional UPDATE: the first use wins, every other sees ``used_at`` set."""
        with self._core.database.session() as session:
            result = session.execute(
                update(models.PresignedUrl)
                .where(models.PresignedUrl.url_id == url_id, models.PresignedUrl.used_at.is_(None))
                .values(used_at=now)
            )
            won = getattr(result, "rowcount", 0) == 1
        if not won:
            raise AccessDenied(_USED)

    def _signer_now(self, row: _Row, now: datetime) -> Principal:
        """The signer as it is now, or ``AccessDenied``: a URL never outlives its signer."""
        if row.signer_expires_at is not None and now >= row.signer_expires_at:
            raise AccessDenied(_FAILED_SIGNER)
        database = self._core.database
        kind = SignerKind(row.signer_kind)
        credential = row.signer_credential_id or ""
        try:
            if kind is SignerKind.ACCESS_KEY:
                root_key = self._require_root_key()
                principal = identity.access_key_credential(database, root_key, credential).principal
            elif kind is SignerKind.SESSION:
                root_key = self._require_root_key()
                principal = identity.session_credential(
                    database, root_key, credential, now=now
                ).principal
            elif kind is SignerKind.API_KEY:
                principal = identity.api_key_principal(database, credential, now=now)
            else:
                issued_at = row.signer_token_issued_at or now
                principal = identity.principal_for_token(
                    database,
                    identity.TokenClaims(
                        principal_id=row.signer_principal_id,
                        principal_arn=row.signer_arn,
                        account_id=row.signer_account_id,
                        user_name=row.signer_user_name or "",
                        token_id=row.url_id,
                        issued_at=issued_at,
                        expires_at=row.signer_expires_at or now,
                        mfa_authenticated=row.signer_mfa_authenticated,
                        token_generation=row.signer_token_generation or 1,
                    ),
                )
        except LakevaultError as exc:
            raise AccessDenied(_FAILED_SIGNER) from exc
        if principal.arn != row.signer_arn:
            raise AccessDenied(_FAILED_SIGNER)
        return principal

    def _require_root_key(self) -> PlatformRootKey:
        if self._root_key is None:
            raise ConfigurationError("pre-signed URLs need the platform root key")
        return self._root_key()


_USED = "this single-use URL was already used; ask for a new URL"


def _check_request(wanted: PresignRequest) -> None:
    if not 1 <= wanted.expires_in_seconds <= MAX_EXPIRES_SECONDS:
        raise InvalidParameterValue(
            f"expiresIn must be between 1 and {MAX_EXPIRES_SECONDS} seconds (7 days); got "
            f"{wanted.expires_in_seconds}",
            code="InvalidArgument",
        )
    has_conditions = (
        wanted.content_type is not None
        or wanted.min_length is not None
        or wanted.max_length is not None
    )
    if wanted.method is PresignMethod.GET and has_conditions:
        raise InvalidParameterValue(
            "contentType and contentLengthRange apply to PUT URLs only", code="InvalidArgument"
        )
    if wanted.content_type is not None:
        check_content_type(wanted.content_type)
    low, high = wanted.min_length, wanted.max_length
    if (low is not None and low < 0) or (high is not None and high < 0):
        raise InvalidParameterValue(
            "contentLengthRange bounds must be >= 0", code="InvalidArgument"
        )
    if low is not None and high is not None and low > high:
        raise InvalidParameterValue(
            f"contentLengthRange minimum {low} is larger than its maximum {high}",
            code="InvalidArgument",
        )
