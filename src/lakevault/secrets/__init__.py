"""The secrets manager: AWS Secrets Manager's API for the tenants, all through the gate.

Secrets are versioned values with staging labels (``AWSCURRENT``, ``AWSPREVIOUS``,
``AWSPENDING``), encrypted under a tenant KMS key (``lakevault.keys``), guarded by identity
and resource policies, rotated by registered hooks, and purged after a recovery window.
Every read is a gate decision in the audit log; no value ever reaches a log or an event
(docs/secrets.md).
"""

from lakevault.secrets._data_keys import SecretDataKeys
from lakevault.secrets._errors import (
    DecryptionFailure,
    EncryptionFailure,
    InvalidParameterException,
    InvalidRequestException,
    ResourceExistsException,
    ResourceNotFoundException,
)
from lakevault.secrets._functions import (
    RotationFunction,
    SandboxInvoker,
    function_arn,
)
from lakevault.secrets._manager import (
    DEFAULT_RECOVERY_DAYS,
    MAX_RECOVERY_DAYS,
    MIN_RECOVERY_DAYS,
    SecretsManager,
)
from lakevault.secrets._purge import PURGE_SECRETS_TASK, purge_due_secrets, purge_tasks
from lakevault.secrets._rotation import (
    RANDOM_PASSWORD_HOOK,
    RandomPasswordHook,
    RotationHook,
    RotationHooks,
    RotationRequest,
    RotationStep,
)
from lakevault.secrets._rotation_runner import ROTATE_SECRETS_TASK, rotation_tasks
from lakevault.secrets._stages import AWSCURRENT, AWSPENDING, AWSPREVIOUS
from lakevault.secrets._types import (
    NewVersion,
    SecretDescription,
    SecretsCall,
    SecretValue,
    VersionEntry,
)

__all__ = [
    "AWSCURRENT",
    "AWSPENDING",
    "AWSPREVIOUS",
    "DEFAULT_RECOVERY_DAYS",
    "MAX_RECOVERY_DAYS",
    "MIN_RECOVERY_DAYS",
    "PURGE_SECRETS_TASK",
    "RANDOM_PASSWORD_HOOK",
    "ROTATE_SECRETS_TASK",
    "DecryptionFailure",
    "EncryptionFailure",
    "InvalidParameterException",
    "InvalidRequestException",
    "NewVersion",
    "RandomPasswordHook",
    "ResourceExistsException",
    "ResourceNotFoundException",
    "RotationFunction",
    "RotationHook",
    "RotationHooks",
    "RotationRequest",
    "RotationStep",
    "SandboxInvoker",
    "SecretDataKeys",
    "SecretDescription",
    "SecretValue",
    "SecretsCall",
    "SecretsManager",
    "VersionEntry",
    "function_arn",
    "purge_due_secrets",
    "purge_tasks",
    "rotation_tasks",
]
