"""Where the gate finds a principal's policies: the metadata store, parsed once per version.

Parsed (and compiled) policies are cached by policy id and version, so a policy document is
parsed once per change, not once per request; a new version of a policy is a new cache key.
"""

from __future__ import annotations

import threading

from sqlalchemy import select

from lakevault import iam
from lakevault.db import Database, models
from lakevault.identity._principal import Principal, PrincipalPolicies


class DatabasePolicySource:
    """Finds the identity policies attached to a user in the metadata store."""

    def __init__(self, database: Database, *, cache_size: int = 4096) -> None:
        self._database = database
        self._cache: dict[tuple[str, int], iam.Policy] = {}
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def policies_for(self, principal: Principal) -> PrincipalPolicies:
        with self._database.read_session() as session:
            rows = session.execute(
                select(
                    models.Policy.policy_id,
                    models.Policy.arn,
                    models.Policy.version,
                    models.Policy.document,
                )
                .join(
                    models.UserPolicyAttachment,
                    models.UserPolicyAttachment.policy_id == models.Policy.policy_id,
                )
                .where(models.UserPolicyAttachment.user_id == principal.principal_id)
                .order_by(models.Policy.policy_id)
            ).all()
        return PrincipalPolicies(
            identity=tuple(
                self._parsed(arn, version, document) for _id, arn, version, document in rows
            )
        )

    def _parsed(self, arn: str, version: int, document: str) -> iam.Policy:
        key = (arn, version)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        policy = iam.parse_policy(document, policy_id=arn)
        with self._lock:
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            self._cache[key] = policy
        return policy
