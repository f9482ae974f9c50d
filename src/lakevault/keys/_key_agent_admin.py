"""A tenant attaches its own key agent through the gate (operator-blind mode; ADR 0217).

ADR 0144 left attaching a tenant's key agent to the operator's command on the installation
(``lakevault key-agent attach``): the tenant handed its bundle to the operator, and nothing in
the tenant's audit log said that an agent was attached, or whose. Here a principal of the
tenant attaches, reads and detaches its tenant's agent itself:

* ``kms:PutKeyAgent`` / ``kms:GetKeyAgent`` / ``kms:DeleteKeyAgent`` on
  ``arn:aws:kms:REGION:ACCOUNT:key-agent`` — lakevault's own actions (AWS has no such resource),
  decided by the gate on the caller's identity policies, only ever for the caller's own tenant;
* before anything is stored, the platform connects to the agent with the given TLS material,
  checks that it serves this tenant (``/v1/health``) and that a wrap and unwrap round trip
  works — a wrong URL or bundle would otherwise cut the tenant off from every new key;
* the change is recorded in the tenant's audit log (``PutKeyAgent``/``DeleteKeyAgent``, the URL
  and the client certificate's fingerprint; never the client key).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lakevault import kms
from lakevault.audit import IdentityType, UserIdentity
from lakevault.core import PLATFORM_ACCOUNT_ID, new_request_id
from lakevault.core.errors import AccessDenied, InvalidParameterValue, LakevaultError
from lakevault.gate import Request
from lakevault.keys._events import EventWho, KeyCall
from lakevault.keys._service import KeyService

RESOURCE_TYPE = "AWS::KMS::KeyAgent"
_CHECK_AAD = b"lakevault:key-agent-attach-check"


def key_agent_arn(region: str, account_id: str) -> str:
    return f"arn:aws:kms:{region}:{account_id}:key-agent"


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyAgentInfo:
    """The tenant's attached agent (``GetKeyAgent``): where it is and which client it pins."""

    account_id: str
    url: str
    client_fingerprint: str
    updated_at: datetime


class KeyAgentAttachments:
    """``PutKeyAgent``, ``GetKeyAgent`` and ``DeleteKeyAgent`` of a tenant, through the gate."""

    def __init__(self, keys: KeyService, agents: kms.TenantKeyAgents) -> None:
        self._keys = keys
        self._agents = agents

    def _authorize(
        self, call: KeyCall, action: str, *, read_only: bool, parameters: dict[str, object]
    ) -> str:
        account = call.principal.account_id
        if not account:
            raise AccessDenied("an anonymous caller has no tenant; sign in first")
        arn = key_agent_arn(self._keys.region, account)
        self._keys.gate.require(
            Request(
                principal=call.principal,
                action=action,
                resource=arn,
                resource_account=account,
                resource_type=RESOURCE_TYPE,
                request_id=call.request_id,
                source_ip=call.source_ip,
                user_agent=call.user_agent,
                secure_transport=call.secure_transport,
                read_only=read_only,
                request_parameters=parameters,
            )
        )
        return arn

    def put_key_agent(
        self,
        call: KeyCall,
        *,
        url: str,
        ca_certificate: bytes,
        client_certificate: bytes,
        client_key: bytes,
    ) -> KeyAgentInfo:
        """Attach (or replace) the caller's tenant's key agent, after checking it answers."""
        try:
            fingerprint = kms.certificate_fingerprint(client_certificate)
        except (ValueError, LakevaultError) as exc:
            raise InvalidParameterValue(
                "clientCertificate is not a PEM certificate; send the platform/client.pem "
                "that 'lakevault key-agent certs' wrote"
            ) from exc
        parameters: dict[str, object] = {"url": url, "clientCertificateFingerprint": fingerprint}
        arn = self._authorize(call, "kms:PutKeyAgent", read_only=False, parameters=parameters)
        account = call.principal.account_id
        self._check_agent(
            kms.AgentConnection(
                tenant_id=account,
                url=url,
                ca_certificate=ca_certificate,
                client_certificate=client_certificate,
                client_key=client_key,
            )
        )
        self._agents.attach(
            account,
            url=url,
            ca_certificate=ca_certificate,
            client_certificate=client_certificate,
            client_key=client_key,
        )
        self._record(call, "PutKeyAgent", arn, parameters)
        info = self.get_info(account)
        assert info is not None
        return info

    def _check_agent(self, connection: kms.AgentConnection) -> None:
        """Refuse an agent that does not answer, serves another tenant, or does not round-trip."""
        if not connection.url.startswith("https://"):
            raise InvalidParameterValue("a key agent URL must start with https:// (mutual TLS)")
        try:
            wrapper = kms.AgentKeyWrapper(connection)
        except (LakevaultError, ValueError, OSError) as exc:
            raise InvalidParameterValue(
                "the key agent's TLS material does not load (the CA certificate, client "
                "certificate and client key must be the PEM files of one bundle; "
                f"{type(exc).__name__})"
            ) from exc
        try:
            health = wrapper.health()
            if health.get("tenant_id") != connection.tenant_id:
                raise InvalidParameterValue(
                    f"the key agent at {connection.url} serves tenant {health.get('tenant_id')}, "
                    f"not {connection.tenant_id}; run 'lakevault key-agent init' for this tenant"
                )
            probe = self._keys.random.token_bytes(32)
            wrapped = wrapper.wrap(connection.tenant_id, probe, aad=_CHECK_AAD)
            if wrapper.unwrap(connection.tenant_id, wrapped, aad=_CHECK_AAD) != probe:
                raise InvalidParameterValue(
                    f"the key agent at {connection.url} did not give back what it wrapped"
                )
        except (kms.KeyAgentUnavailable, kms.IntegrityError) as exc:
            raise InvalidParameterValue(
                f"cannot use the key agent at {connection.url}: {exc.message}; start it "
                "('lakevault key-agent run') and check the URL and the platform/ bundle"
            ) from exc
        finally:
            wrapper.close()

    def get_key_agent(self, call: KeyCall) -> KeyAgentInfo | None:
        """The caller's tenant's agent, or ``None`` (then the platform root key wraps)."""
        self._authorize(call, "kms:GetKeyAgent", read_only=True, parameters={})
        return self.get_info(call.principal.account_id)

    def get_info(self, account_id: str) -> KeyAgentInfo | None:
        found = self._agents.connection(account_id)
        if found is None:
            return None
        connection, updated_at = found
        return KeyAgentInfo(
            account_id=account_id,
            url=connection.url,
            client_fingerprint=kms.certificate_fingerprint(connection.client_certificate),
            updated_at=updated_at,
        )

    def delete_key_agent(self, call: KeyCall) -> None:
        """Detach the tenant's agent. Material it wrapped stays unusable until one is attached
        again (new keys are then wrapped under the platform root key)."""
        arn = self._authorize(call, "kms:DeleteKeyAgent", read_only=False, parameters={})
        self._agents.detach(call.principal.account_id)
        self._record(call, "DeleteKeyAgent", arn, {})

    def record_operator_change(
        self, tenant_id: str, operation: str, parameters: dict[str, object]
    ) -> None:
        """Record in the tenant's own log that the operator's CLI (``lakevault key-agent
        attach|detach`` on the installation, which no gate decides) changed its agent — so a
        tenant sees an operator attaching an agent of its own."""
        who = EventWho(
            identity=UserIdentity(
                type=IdentityType.ROOT,
                principal_id=PLATFORM_ACCOUNT_ID,
                arn=f"arn:aws:iam::{PLATFORM_ACCOUNT_ID}:root",
                account_id=PLATFORM_ACCOUNT_ID,
            ),
            request_id=new_request_id(self._keys.random),
            source_ip=None,
            user_agent="lakevault key-agent (operator command)",
            additional={"invokedBy": "lakevault-operator-cli"},
        )
        self._keys.change(
            who,
            operation=operation,
            key_arn=key_agent_arn(self._keys.region, tenant_id),
            account_id=tenant_id,
            parameters=parameters,
            act=lambda session: None,
        )

    def _record(
        self, call: KeyCall, operation: str, arn: str, parameters: dict[str, object]
    ) -> None:
        self._keys.change(
            EventWho.of_call(call),
            operation=operation,
            key_arn=arn,
            account_id=call.principal.account_id,
            parameters=parameters,
            act=lambda session: None,
        )
