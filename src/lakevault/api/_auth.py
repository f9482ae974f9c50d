"""Who is calling: the request's credentials become a ``CallContext`` for the directory.

* ``Authorization: Bearer <access token>`` — from ``POST /api/v1/sessions``;
* AWS Signature Version 4 (header or pre-signed query) with an access key or temporary
  credentials from ``sts:AssumeRole``, scoped to service ``lakevault`` and the platform's
  region; the body is part of the signature (a streaming upload,
  ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``, signs it chunk by chunk: ``_sigv4_streaming``);
* ``X-Api-Key: lvk_...`` — an API key, acting as its creator within its scope; a browser
  ``Origin`` outside the key's allowed origins is refused;
* nothing — anonymous, which the gate denies unless a resource policy allows it.

A request with credentials that do not verify is refused outright; it is never downgraded to
anonymous. Every lookup reads the database, so a deleted user, key or revoked session stops
working at once.

Two dependencies: ``caller_dependency`` gives the ``CallContext``; ``pending_caller_dependency``
(for routes that do their work in one worker thread, such as the object PUT) makes every check
that needs no database — credentials that conflict, the streaming-payload rules, a bearer
token's signature and times — and leaves a bearer token's principal lookup to
:meth:`PendingCaller.resolve` in that thread: the same checks and errors, one thread hop fewer
(docs/decisions/0220).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from lakevault import identity
from lakevault.api._sigv4_streaming import (
    CHUNKED_PAYLOAD_SCOPE_KEY,
    refuse_unless_streaming_route,
)
from lakevault.api._streaming import read_signed_body
from lakevault.core.errors import AccessDenied, InvalidRequest
from lakevault.db import Database
from lakevault.directory import CallContext
from lakevault.runtime import Platform

#: The SigV4 service name of the management API.
SIGV4_SERVICE = "lakevault"
TEMPORARY_KEY_PREFIX = "LSIA"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PendingCaller:
    """An authenticated request whose bearer token's principal is still to be looked up.

    Every check that needs no database has passed. :meth:`resolve` makes the lookup (one
    indexed read: a deleted or renamed user, or one who signed out everywhere, is refused with
    ``InvalidToken``) and must run before the request acts, off the event loop — in the worker
    thread that does the request's work.
    """

    context: CallContext
    """The caller; its principal is anonymous while ``token_claims`` is set."""
    token_claims: identity.TokenClaims | None
    database: Database

    def resolve(self) -> CallContext:
        """The caller, with the bearer token's principal looked up afresh (blocking)."""
        if self.token_claims is None:
            return self.context
        principal = identity.principal_for_token(self.database, self.token_claims)
        return dataclasses.replace(self.context, principal=principal)


def caller_dependency(platform: Platform) -> Callable[[Request], Awaitable[CallContext]]:
    """A FastAPI dependency that authenticates the request (database work off the loop)."""

    async def caller(request: Request) -> CallContext:
        found = await _authenticate(platform, request)
        if isinstance(found, identity.TokenClaims):
            found = await run_in_threadpool(identity.principal_for_token, platform.database, found)
        return _call_context(request, found)

    return caller


def pending_caller_dependency(
    platform: Platform,
) -> Callable[[Request], Awaitable[PendingCaller]]:
    """A FastAPI dependency like :func:`caller_dependency` that leaves a bearer token's
    principal lookup to :meth:`PendingCaller.resolve` (API keys and signatures are looked up
    here, as their checks need the database)."""

    async def pending_caller(request: Request) -> PendingCaller:
        found = await _authenticate(platform, request)
        if isinstance(found, identity.TokenClaims):
            return PendingCaller(
                context=_call_context(request, identity.ANONYMOUS),
                token_claims=found,
                database=platform.database,
            )
        return PendingCaller(
            context=_call_context(request, found), token_claims=None, database=platform.database
        )

    return pending_caller


def _call_context(request: Request, principal: identity.Principal) -> CallContext:
    return CallContext(
        principal=principal,
        request_id=str(request.scope.get("state", {}).get("request_id", "")),
        source_ip=request.client.host if request.client is not None else None,
        user_agent=request.headers.get("user-agent"),
        # The scope's scheme, which ``request.url.scheme`` reads, without building the URL.
        secure_transport=str(request.scope.get("scheme", "http")).lower() == "https",
    )


async def _authenticate(
    platform: Platform, request: Request
) -> identity.Principal | identity.TokenClaims:
    """The request's principal, or the verified claims of a bearer token whose principal is
    still to be looked up; raise on credentials that conflict or do not verify."""
    header = request.headers.get("authorization")
    api_key = request.headers.get("x-api-key")
    is_presigned = bool(request.scope.get("query_string")) and "x-amz-algorithm" in (
        key.lower() for key in request.query_params
    )
    # A streaming upload's body is verified chunk by chunk by the route that reads it
    # (_sigv4_streaming), from the seed in the Authorization header; with any other
    # credentials its chunk framing would be stored as the object's bytes, and on any
    # other route the seed, which signs no byte of the body, would vouch for a body
    # nobody signed.
    streaming = request.headers.get("x-amz-content-sha256", "").startswith("STREAMING-")
    if streaming:
        refuse_unless_streaming_route(request)
        if is_presigned or header is None or not header.startswith("AWS4-HMAC-SHA256"):
            raise InvalidRequest(
                "an aws-chunked body (x-amz-content-sha256: STREAMING-...) must be signed "
                "with SigV4 in the Authorization header; with a token, an API key or a "
                "pre-signed URL send the plain body"
            )
    principal = identity.ANONYMOUS
    if api_key is not None:
        if header is not None or is_presigned:
            raise AccessDenied(
                "send one kind of credentials: an API key, a token or a signature",
                code="InvalidApiKey",
            )
        principal = await run_in_threadpool(_api_key_principal, platform, request, api_key)
    elif is_presigned or (header is not None and header.startswith("AWS4-HMAC-SHA256")):
        # Every signed body but a streaming upload's is read whole and hashed here.
        signed = identity.SigV4Request(
            method=request.method,
            raw_path=request.scope["raw_path"].decode("utf-8", "surrogateescape")
            if request.scope.get("raw_path")
            else request.url.path,
            raw_query=request.scope.get("query_string", b"").decode("utf-8", "surrogateescape"),
            headers=tuple(
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in request.scope["headers"]
            ),
            body=None if streaming else await read_signed_body(request),
        )
        verified = await run_in_threadpool(_verify_signature, platform, signed)
        principal = verified.principal
        if verified.chunk_context is not None:
            request.scope[CHUNKED_PAYLOAD_SCOPE_KEY] = verified.chunk_context
    elif header is not None:
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise AccessDenied(
                "unsupported Authorization header; send 'Authorization: Bearer <token>' "
                "with a token from POST /api/v1/sessions, or sign the request with SigV4",
                code="IncompleteSignature",
            )
        return platform.tokens.verify(credentials.strip())
    return principal


def _api_key_principal(platform: Platform, request: Request, key: str) -> identity.Principal:
    caller = identity.api_key_caller(platform.database, key, now=platform.clock.now())
    origin = request.headers.get("origin")
    if caller.allowed_origins and origin is not None and origin not in caller.allowed_origins:
        raise AccessDenied(
            f"the API key may not be used from the origin {origin}", code="InvalidApiKey"
        )
    return caller.principal


def _verify_signature(
    platform: Platform, request: identity.SigV4Request
) -> identity.VerifiedRequest[identity.Principal]:
    now = platform.clock.now()

    def lookup(access_key_id: str) -> identity.SigningCredential[identity.Principal]:
        if access_key_id.startswith(TEMPORARY_KEY_PREFIX):
            return identity.session_credential(
                platform.database, platform.root_key(), access_key_id, now=now
            )
        return identity.access_key_credential(platform.database, platform.root_key(), access_key_id)

    verified = identity.verify_sigv4(
        request, lookup=lookup, now=now, region=platform.settings.region, service=SIGV4_SERVICE
    )
    if not verified.is_temporary_credential:
        identity.record_access_key_use(platform.database, verified.access_key_id, now=now)
    return verified
