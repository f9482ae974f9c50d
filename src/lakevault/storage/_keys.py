"""What storage needs from the tenant key service (``lakevault.keys``), as a protocol.

One KMS key per bucket, made with the bucket; one data key per object version, generated under
it with the version's encryption context and stored only wrapped. The key service checks the
gate's proof for every call, so storage passes the proof of the S3 action it performs.
"""

from __future__ import annotations

from typing import Protocol

from lakevault import kms
from lakevault.audit import CompanionRow
from lakevault.gate import Proof


class GeneratedDataKey(Protocol):
    """A fresh data key: its plaintext for this request only, and its wrapped form to store."""

    @property
    def plaintext(self) -> kms.PlaintextDataKey: ...

    @property
    def wrapped(self) -> bytes: ...

    @property
    def key_id(self) -> str: ...

    @property
    def key_version(self) -> int: ...

    def wait_recorded(self) -> None:
        """Return once the key's use is in the audit log (raise if it could not be)."""


class BucketKeys(Protocol):
    """The calls storage makes to the key service (``lakevault.keys.KeyService`` fits)."""

    def create_service_key(self, proof: Proof, *, tenant_id: str, description: str) -> str: ...

    def generate_data_key(
        self,
        proof: Proof,
        *,
        key_id: str,
        context: kms.EncryptionContext,
        defer_audit: bool = False,
        companion: CompanionRow | None = None,
    ) -> GeneratedDataKey: ...

    def decrypt_data_key(
        self,
        proof: Proof,
        *,
        key_id: str,
        key_version: int,
        wrapped: bytes,
        context: kms.EncryptionContext,
    ) -> kms.PlaintextDataKey: ...

    def schedule_service_key_deletion(self, proof: Proof, *, key_id: str, days: int) -> None: ...
