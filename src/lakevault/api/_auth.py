"""Who is calling: the request's credentials become a ``CallContext`` for the directory.

Today: ``Authorization: Bearer <access token>`` (from ``POST /api/v1/sessions``) or no
credentials at all (anonymous, which the gate denies unless a resource policy allows it). A
request with credentials that do not verify is refused outright — it is never downgraded to
anonymous. SigV4 and API keys join here (issue #4).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from lakevault import identity
from lakevault.core.errors import AccessDenied
from lakevault.directory import CallContext
from lakevault.runtime import Platform


def caller_dependency(platform: Platform) -> Callable[[Request], CallContext]:
    """A FastAPI dependency (sync: it reads the database) that authenticates the request."""

    def caller(request: Request) -> CallContext:
        header = request.headers.get("authorization")
        principal = identity.ANONYMOUS
        if header is not None:
            scheme, _, credentials = header.partition(" ")
            if scheme.lower() != "bearer" or not credentials.strip():
                raise AccessDenied(
                    "unsupported Authorization header; send 'Authorization: Bearer <token>' "
                    "with a token from POST /api/v1/sessions",
                    code="IncompleteSignature",
                )
            claims = platform.tokens.verify(credentials.strip())
            principal = identity.principal_for_token(platform.database, claims)
        return CallContext(
            principal=principal,
            request_id=str(request.scope.get("state", {}).get("request_id", "")),
            source_ip=request.client.host if request.client is not None else None,
            user_agent=request.headers.get("user-agent"),
            secure_transport=request.url.scheme == "https",
        )

    return caller
