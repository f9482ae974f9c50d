"""The tenant KMS: KMS keys per tenant with AWS KMS's API, all through the gate (docs/keys.md).

Two faces of one :class:`KeyService`:

* the KMS API for principals (``create_key``, ``encrypt``, ``decrypt``, ...), each call decided
  by the gate with the key policy, the key's grants and the encryption context;
* the contract for the platform's services (storage, secrets): ``create_service_key``,
  ``generate_data_key``, ``decrypt_data_key`` and ``schedule_service_key_deletion``, which accept
  only a genuine :class:`~lakevault.gate.Proof` of the caller's allowed operation.

Key material is stored only wrapped by the tenant level (``kms.TenantKeyWrapper``).
"""

from lakevault.keys._errors import (
    AlreadyExistsException,
    DisabledException,
    KeyNotFound,
    KMSInvalidStateException,
)
from lakevault.keys._events import KeyCall
from lakevault.keys._grant_tokens import InvalidGrantTokenException, grant_token
from lakevault.keys._key_agent_admin import KeyAgentAttachments, KeyAgentInfo, key_agent_arn
from lakevault.keys._material_cache import DEFAULT_MATERIAL_TTL_SECONDS
from lakevault.keys._rewrap import DataKeyRegistry, RewrapProgress, StoredDataKey
from lakevault.keys._service import KeyService
from lakevault.keys._service_keys import SERVICE_KEY_CREATORS
from lakevault.keys._tasks import key_tasks
from lakevault.keys._tombstones import TombstoneJournal, journal_path
from lakevault.keys._types import (
    Alias,
    Ciphertext,
    DataKey,
    Grant,
    KeyMetadata,
    KeyState,
    KeyVersion,
    alias_arn,
    key_arn,
)

__all__ = [
    "DEFAULT_MATERIAL_TTL_SECONDS",
    "SERVICE_KEY_CREATORS",
    "Alias",
    "AlreadyExistsException",
    "Ciphertext",
    "DataKey",
    "DataKeyRegistry",
    "DisabledException",
    "Grant",
    "InvalidGrantTokenException",
    "KMSInvalidStateException",
    "KeyAgentAttachments",
    "KeyAgentInfo",
    "KeyCall",
    "KeyMetadata",
    "KeyNotFound",
    "KeyService",
    "KeyState",
    "KeyVersion",
    "RewrapProgress",
    "StoredDataKey",
    "TombstoneJournal",
    "alias_arn",
    "grant_token",
    "journal_path",
    "key_agent_arn",
    "key_arn",
    "key_tasks",
]
