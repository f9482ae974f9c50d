"""Rotation hooks: the in-process stand-in for AWS's rotation Lambda (docs/decisions/0210).

AWS rotates a secret by calling a Lambda function four times, one step each:

1. ``createSecret`` — make a new value and store it as a version labelled ``AWSPENDING``;
2. ``setSecret`` — install the pending value in the system the secret opens (a database user);
3. ``testSecret`` — check that the pending value works there;
4. ``finishSecret`` — move ``AWSCURRENT`` to the pending version (``AWSPREVIOUS`` follows).

A tenant's own rotation function runs in the sandbox (``_functions.py``, ADR 0214) behind this
same :class:`RotationHook` interface. The platform's built-in hooks (trusted code, such as
``lakevault-random-password``) are registered **by name** in the :class:`RotationHooks` the
platform builds (explicitly, at start: nothing registers itself on import) and run in process.
A secret names its hook (``RotateSecret``'s ``RotationHook``). The secrets manager performs
the state changes of steps 1 and 4 itself; the hook supplies the value and the side effects:

* ``create_secret(request)`` returns the new value (``str`` or ``bytes``);
* ``set_secret(request, pending)`` and ``test_secret(request, pending)`` raise to fail the step;
* ``finish_secret(request)`` is told before ``AWSCURRENT`` moves; raising stops the move.

A hook gets the current value (``request.current``) and the pending one, never more; an
in-process hook runs in the platform's process and must be trusted code. When a step raises,
the rotation stops where AWS's does — the new version keeps ``AWSPENDING`` and
``AWSCURRENT`` stays — and the next ``RotateSecret`` with the same ``ClientRequestToken``
resumes it.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from lakevault.core import RandomSource
from lakevault.secrets._errors import InvalidParameterException
from lakevault.secrets._types import SecretValue


class RotationStep(StrEnum):
    """AWS's four rotation steps, by their AWS names (not secrets)."""

    CREATE_SECRET = "createSecret"  # noqa: S105
    SET_SECRET = "setSecret"  # noqa: S105
    TEST_SECRET = "testSecret"  # noqa: S105
    FINISH_SECRET = "finishSecret"  # noqa: S105


@dataclass(frozen=True, slots=True, kw_only=True)
class RotationRequest:
    """What a hook is told about one rotation (AWS's ``SecretId``, ``ClientRequestToken``)."""

    arn: str
    name: str
    version_id: str
    current: SecretValue | None = field(repr=False)


class RotationHook(Protocol):
    """A rotation function: see the module docstring for each step's contract."""

    def create_secret(self, request: RotationRequest) -> str | bytes: ...

    def set_secret(self, request: RotationRequest, pending: SecretValue) -> None: ...

    def test_secret(self, request: RotationRequest, pending: SecretValue) -> None: ...

    def finish_secret(self, request: RotationRequest) -> None: ...


class RotationHooks:
    """The hooks a platform runs, by name; given to the secrets manager at start."""

    def __init__(self, hooks: Mapping[str, RotationHook] | None = None) -> None:
        self._hooks = dict(hooks or {})

    def get(self, name: str) -> RotationHook:
        hook = self._hooks.get(name)
        if hook is None:
            known = ", ".join(sorted(self._hooks)) or "none"
            raise InvalidParameterException(
                f"no rotation hook is registered as {name!r}; registered hooks: {known}"
            )
        return hook

    def names(self) -> Iterable[str]:
        return sorted(self._hooks)


RANDOM_PASSWORD_HOOK = "lakevault-random-password"  # noqa: S105
_ALPHABET = string.ascii_letters + string.digits + "!#%*+-.:=?@^_~"


class RandomPasswordHook:
    """A built-in hook: a fresh random password of ``length`` characters from the OS CSPRNG.

    It has no system to install the value in (``set_secret`` does nothing); ``test_secret``
    checks that the pending value is a new password of the right length. Useful for secrets
    that consumers read on each use (an API token shared between two services).
    """

    def __init__(self, random: RandomSource, *, length: int = 32) -> None:
        self._random = random
        self._length = length

    def create_secret(self, request: RotationRequest) -> str:
        # Rejection sampling keeps every character equally likely.
        limit = 256 - 256 % len(_ALPHABET)
        chosen: list[str] = []
        while len(chosen) < self._length:
            for byte in self._random.token_bytes(self._length * 2):
                if byte < limit and len(chosen) < self._length:
                    chosen.append(_ALPHABET[byte % len(_ALPHABET)])
        return "".join(chosen)

    def set_secret(self, request: RotationRequest, pending: SecretValue) -> None:
        return None

    def test_secret(self, request: RotationRequest, pending: SecretValue) -> None:
        value = pending.secret_string or ""
        if len(value) != self._length:
            raise ValueError(
                f"the pending password has {len(value)} characters, not {self._length}"
            )

    def finish_secret(self, request: RotationRequest) -> None:
        return None
