"""Who is calling and from where: what every directory operation needs to ask the gate."""

from __future__ import annotations

from dataclasses import dataclass

from lakevault.identity import Principal


@dataclass(frozen=True, slots=True, kw_only=True)
class CallContext:
    """The authenticated caller of one API request and the facts of its connection."""

    principal: Principal
    request_id: str
    source_ip: str | None = None
    user_agent: str | None = None
    secure_transport: bool = False
