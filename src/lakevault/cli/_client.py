"""Talking to a running lakevault: the saved session and an HTTP client for the API.

``lakevault login`` saves the endpoint and an access token in
``$XDG_CONFIG_HOME/lakevault/session.json`` (``~/.config/...`` by default), mode 0600, written
atomically. Commands that manage the platform send that token; an error answer is printed as
its AWS-style code and message and ends the command with exit code 1 (3 when not signed in).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from lakevault.core import write_atomically
from lakevault.core.errors import ConfigurationError, LakevaultError, ServiceUnavailable


def session_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "lakevault" / "session.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class SavedSession:
    endpoint: str
    account_id: str
    user_name: str
    access_token: str
    expires_at: str

    def __repr__(self) -> str:
        return f"SavedSession(endpoint={self.endpoint!r}, user={self.account_id}/{self.user_name})"


def save_session(session: SavedSession) -> Path:
    path = session_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    document = {
        "endpoint": session.endpoint,
        "accountId": session.account_id,
        "userName": session.user_name,
        "accessToken": session.access_token,
        "expiresAt": session.expires_at,
    }
    write_atomically(path, orjson.dumps(document, option=orjson.OPT_INDENT_2), mode=0o600)
    return path


def load_session() -> SavedSession:
    path = session_path()
    try:
        document = orjson.loads(path.read_bytes())
        return SavedSession(
            endpoint=document["endpoint"],
            account_id=document["accountId"],
            user_name=document["userName"],
            access_token=document["accessToken"],
            expires_at=document["expiresAt"],
        )
    except FileNotFoundError as exc:
        raise ConfigurationError("not signed in; run 'lakevault login' first") from exc
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"the saved session {path} is damaged; run 'lakevault login' again"
        ) from exc


def account_of(account: str | None) -> str:
    """The ``--account`` given, or the account of the saved session."""
    return account if account is not None else load_session().account_id


class RemoteError(LakevaultError):
    """An error answer of the API, carrying the server's code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, code=code)
        self.http_status = status


class ApiClient:
    """A small JSON client for ``/api/v1`` (sync; one command makes a few calls)."""

    def __init__(self, endpoint: str, token: str | None = None) -> None:
        headers = {"user-agent": "lakevault-cli"}
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        self._client = httpx.Client(base_url=endpoint.rstrip("/"), headers=headers, timeout=30)

    @classmethod
    def from_saved_session(cls) -> ApiClient:
        saved = load_session()
        return cls(saved.endpoint, saved.access_token)

    def call(self, method: str, path: str, body: Any = None, **params: str) -> Any:
        try:
            response = self._client.request(
                method, "/api/v1" + path, json=body, params=params or None
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                f"cannot reach lakevault at {self._client.base_url} ({type(exc).__name__}); "
                "check that it runs and the endpoint given to 'lakevault login'"
            ) from exc
        if response.status_code == 204:
            return None
        try:
            payload = response.json()
        except ValueError as exc:
            raise RemoteError(
                response.status_code,
                "InvalidResponse",
                f"the server answered {response.status_code} without JSON",
            ) from exc
        if response.status_code >= 400:
            error = payload.get("error", {}) if isinstance(payload, dict) else {}
            raise RemoteError(
                response.status_code,
                str(error.get("code", "Unknown")),
                f"{error.get('message', 'the request failed')} (request id "
                f"{error.get('requestId', '?')})",
            )
        return payload
