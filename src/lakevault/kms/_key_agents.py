"""Which tenants keep their root in a key agent, and the wrapper that routes to it.

:class:`TenantKeyAgents` is the per-tenant setting (table ``tenant_key_agents``): attach a
tenant's agent (URL, the agent's CA certificate, the platform's client certificate and key),
detach it, read it. The client key is stored sealed under the platform root key.

:class:`OperatorBlindTenantKeyWrapper` is the :class:`~lakevault.kms.TenantKeyWrapper` the key
service is given. For each call it reads the tenant's row:

* ``wrap`` — a tenant with an agent wraps through the agent (:class:`AgentKeyWrapper`), any
  other through the default (platform-derived) wrapper;
* ``unwrap`` — material in the agent format (first byte ``0xA1``) goes to the tenant's agent,
  and only there: with no agent attached, or the agent down, it fails with
  :class:`~lakevault.kms.KeyAgentUnavailable`. Platform-format material goes to the default
  wrapper (it was wrapped before the tenant attached its agent; docs/keys.md says to attach the
  agent before creating keys, and why).

It caches agent connections (URL and TLS material), never unwrapped material. A connection is
rebuilt when the tenant's row changes.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable
from datetime import datetime

from lakevault.core import Clock, RandomSource
from lakevault.core.errors import ConfigurationError, InvalidParameterValue, NoSuchEntity
from lakevault.db import Database, models
from lakevault.kms._errors import KeyAgentUnavailable
from lakevault.kms._key_agent_certs import certificate_fingerprint
from lakevault.kms._key_agent_client import AgentConnection, AgentKeyWrapper, client_tls_context
from lakevault.kms._key_agent_root import is_agent_wrapped
from lakevault.kms._root_key import PlatformRootKey
from lakevault.kms._sealed_secrets import open_secret, seal_secret
from lakevault.kms._tenant_keys import TenantKeyWrapper

_SEAL_PURPOSE = "key-agent-client-key"


def _is_account_id(value: str) -> bool:
    return len(value) == 12 and value.isdigit()


class TenantKeyAgents:
    """The ``tenant_key_agents`` table: one row per tenant in operator-blind mode."""

    __slots__ = ("_clock", "_database", "_random", "_root_key")

    def __init__(
        self,
        database: Database,
        *,
        root_key: Callable[[], PlatformRootKey],
        clock: Clock,
        random: RandomSource,
    ) -> None:
        self._database = database
        self._root_key = root_key
        self._clock = clock
        self._random = random

    def attach(
        self,
        tenant_id: str,
        *,
        url: str,
        ca_certificate: bytes,
        client_certificate: bytes,
        client_key: bytes,
    ) -> str:
        """Record (or replace) the tenant's agent; return the client certificate's fingerprint.

        The TLS material is checked first (it must load and match), so a bad bundle is refused
        here rather than at the first key operation.
        """
        if not _is_account_id(tenant_id):
            raise InvalidParameterValue("a tenant id is a 12-digit account id (123456789012)")
        if not url.startswith("https://") or len(url) > 2048:
            raise InvalidParameterValue(
                "a key agent URL must start with https:// (mutual TLS) and be at most 2048 "
                "characters, like https://agent.example.org:8443"
            )
        connection = AgentConnection(
            tenant_id=tenant_id,
            url=url,
            ca_certificate=ca_certificate,
            client_certificate=client_certificate,
            client_key=client_key,
        )
        client_tls_context(connection)
        fingerprint = certificate_fingerprint(client_certificate)
        sealed = seal_secret(
            self._root_key(),
            client_key.decode("ascii"),
            purpose=_SEAL_PURPOSE,
            context=tenant_id,
            random=self._random,
        )
        now = self._clock.now()
        with self._database.session() as session:
            if session.get(models.Tenant, tenant_id) is None:
                raise NoSuchEntity(f"there is no tenant {tenant_id}; create it first")
            row = session.get(models.TenantKeyAgent, tenant_id)
            if row is None:
                row = models.TenantKeyAgent(account_id=tenant_id, created_at=now)
                session.add(row)
            row.url = url
            row.ca_certificate = ca_certificate
            row.client_certificate = client_certificate
            row.sealed_client_key = sealed
            row.client_fingerprint = fingerprint
            row.updated_at = now
        return fingerprint

    def detach(self, tenant_id: str) -> None:
        """Forget the tenant's agent. Agent-wrapped material stays unreadable without it."""
        with self._database.session() as session:
            row = session.get(models.TenantKeyAgent, tenant_id)
            if row is None:
                raise NoSuchEntity(f"tenant {tenant_id} has no key agent attached")
            session.delete(row)

    def connection(self, tenant_id: str) -> tuple[AgentConnection, datetime] | None:
        """The tenant's agent connection and when it was last changed, or ``None``."""
        with self._database.read_session() as session:
            row = session.get(models.TenantKeyAgent, tenant_id)
            if row is None:
                return None
            url, ca, certificate = row.url, row.ca_certificate, row.client_certificate
            sealed, updated_at = row.sealed_client_key, row.updated_at
        client_key = open_secret(
            self._root_key(), sealed, purpose=_SEAL_PURPOSE, context=tenant_id
        ).encode("ascii")
        return (
            AgentConnection(
                tenant_id=tenant_id,
                url=url,
                ca_certificate=ca,
                client_certificate=certificate,
                client_key=client_key,
            ),
            updated_at,
        )


class OperatorBlindTenantKeyWrapper:
    """Routes each tenant to its key agent when it has one, else to ``default``."""

    __slots__ = ("_agents", "_default", "_lock", "_wrappers")

    def __init__(self, *, default: TenantKeyWrapper, agents: TenantKeyAgents) -> None:
        self._default = default
        self._agents = agents
        self._lock = threading.Lock()
        self._wrappers: dict[str, tuple[datetime, AgentKeyWrapper]] = {}

    def __repr__(self) -> str:
        return "OperatorBlindTenantKeyWrapper(<no keys>)"

    def agent_for(self, tenant_id: str) -> AgentKeyWrapper | None:
        """The tenant's agent wrapper (rebuilt when its row changed), or ``None``."""
        found = self._agents.connection(tenant_id)
        with self._lock:
            cached = self._wrappers.get(tenant_id)
            if found is None:
                if cached is not None:
                    del self._wrappers[tenant_id]
                    cached[1].close()
                return None
            connection, updated_at = found
            if cached is not None and cached[0] == updated_at:
                return cached[1]
            if cached is not None:
                cached[1].close()
            wrapper = AgentKeyWrapper(connection)
            self._wrappers[tenant_id] = (updated_at, wrapper)
            return wrapper

    def wrap(self, tenant_id: str, material: bytes, *, aad: bytes) -> bytes:
        agent = self.agent_for(tenant_id)
        if agent is None:
            return self._default.wrap(tenant_id, material, aad=aad)
        return agent.wrap(tenant_id, material, aad=aad)

    def unwrap(self, tenant_id: str, wrapped: bytes, *, aad: bytes) -> bytes:
        if not is_agent_wrapped(wrapped):
            return self._default.unwrap(tenant_id, wrapped, aad=aad)
        agent = self.agent_for(tenant_id)
        if agent is None:
            raise KeyAgentUnavailable(
                f"this key material of tenant {tenant_id} was wrapped by the tenant's key agent, "
                "and no agent is attached to the tenant; attach it again ('lakevault key-agent "
                "attach') and start it"
            )
        return agent.unwrap(tenant_id, wrapped, aad=aad)

    def close(self) -> None:
        with self._lock:
            for _, wrapper in self._wrappers.values():
                wrapper.close()
            self._wrappers.clear()


# --- the root-key check value ------------------------------------------------------------------

_CHECK_PURPOSE = "platform-root-key-check"


def verify_root_key(database: Database, root_key: PlatformRootKey, *, clock: Clock) -> bool:
    """Refuse a root key that is not this installation's; record the check value the first time.

    Returns whether the value was recorded now (first start with a key). Raises
    ``ConfigurationError`` when the stored value differs: the key is well-formed but another
    one (a key file from another installation, a mistyped ``LAKEVAULT_ROOT_KEY``).
    """
    value = root_key.derive_secret(purpose=_CHECK_PURPOSE, identifier="v1")
    with database.session() as session:
        row = session.get(models.PlatformRootKeyCheck, 1)
        if row is None:
            session.add(
                models.PlatformRootKeyCheck(id=1, check_value=value, created_at=clock.now())
            )
            return True
        if not hmac.compare_digest(row.check_value, value):
            raise ConfigurationError(
                f"the platform root key from {root_key.source} is not the key of this "
                "installation's database (its check value differs); configure the root key "
                "this database was created with (restore it from your key backup)"
            )
    return False
