"""A tenant's own key agent over HTTP (operator-blind mode; docs/keys.md, ADR 0217).

``POST /api/v1/kms/put-key-agent``, ``/get-key-agent`` and ``/delete-key-agent``: one route
per action, as the rest of the KMS API (ADR 0131). The client key travels only in the body of
``put-key-agent`` and is never echoed.
"""

# No ``from __future__ import annotations`` here: FastAPI must see the ``Caller`` alias as an
# evaluated annotation.

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from lakevault import kms
from lakevault.api._auth import caller_dependency
from lakevault.directory import CallContext
from lakevault.keys import KeyAgentAttachments, KeyAgentInfo, KeyCall
from lakevault.runtime import Platform


class NewKeyAgent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=9, max_length=2048, description="https://HOST:PORT of the agent")
    caCertificate: str = Field(min_length=1, max_length=65536, description="platform/ca.pem")
    clientCertificate: str = Field(min_length=1, max_length=65536, description="client.pem")
    clientKey: SecretStr = Field(description="platform/client.key (PEM); never echoed")


class KeyAgentAnswer(BaseModel):
    accountId: str
    url: str
    clientCertificateFingerprint: str
    updatedDate: datetime

    @classmethod
    def of(cls, info: KeyAgentInfo) -> "KeyAgentAnswer":
        return cls(
            accountId=info.account_id,
            url=info.url,
            clientCertificateFingerprint=info.client_fingerprint,
            updatedDate=info.updated_at,
        )


class KeyAgentState(BaseModel):
    keyAgent: KeyAgentAnswer | None


def add_key_agent_routes(router: APIRouter, platform: Platform) -> None:
    """Add the key-agent routes to the KMS router."""
    attachments = KeyAgentAttachments(
        platform.keys,
        kms.TenantKeyAgents(
            platform.database,
            root_key=platform.root_key,
            clock=platform.clock,
            random=platform.random,
        ),
    )
    Caller = Annotated[CallContext, Depends(caller_dependency(platform))]

    def _call(call: CallContext) -> KeyCall:
        return KeyCall(
            principal=call.principal,
            request_id=call.request_id,
            source_ip=call.source_ip,
            user_agent=call.user_agent,
            secure_transport=call.secure_transport,
        )

    @router.post("/put-key-agent", response_model=KeyAgentState)
    def put_key_agent(body: NewKeyAgent, call: Caller) -> KeyAgentState:
        info = attachments.put_key_agent(
            _call(call),
            url=body.url,
            ca_certificate=body.caCertificate.encode("ascii", "replace"),
            client_certificate=body.clientCertificate.encode("ascii", "replace"),
            client_key=body.clientKey.get_secret_value().encode("ascii", "replace"),
        )
        return KeyAgentState(keyAgent=KeyAgentAnswer.of(info))

    @router.post("/get-key-agent", response_model=KeyAgentState)
    def get_key_agent(call: Caller) -> KeyAgentState:
        info = attachments.get_key_agent(_call(call))
        return KeyAgentState(keyAgent=KeyAgentAnswer.of(info) if info is not None else None)

    @router.post("/delete-key-agent", status_code=204)
    def delete_key_agent(call: Caller) -> Response:
        attachments.delete_key_agent(_call(call))
        return Response(status_code=204)
