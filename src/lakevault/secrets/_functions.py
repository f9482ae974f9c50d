"""Rotation functions: a tenant's own code for AWS's four rotation steps, run in the sandbox.

A tenant registers a function (Python source with ``handler(event, context)``, the network
endpoints it may reach, a timeout and a memory limit; ``PutRotationFunction``) and names it in
``RotateSecret`` by ARN, ``arn:aws:secretsmanager:REGION:ACCOUNT:rotation-function:NAME``
(AWS's ``RotationLambdaARN``). Each step is one invocation in a single-use sandbox
(docs/sandbox.md) with exactly that step's input (docs/secrets.md, "Rotation functions"):

* ``createSecret``: ``{Step, SecretId, ClientRequestToken, CurrentValue}``; the function
  returns the new value ``{"SecretString": str}`` or ``{"SecretBinary": base64}``;
* ``setSecret``: ``{Step, SecretId, ClientRequestToken, CurrentValue, PendingValue}`` (to log
  in with the current credentials and install the pending ones);
* ``testSecret``: ``{Step, SecretId, ClientRequestToken, PendingValue}``;
* ``finishSecret``: ``{Step, SecretId, ClientRequestToken}``.

A value is ``{"VersionId", "SecretString"}`` or ``{"VersionId", "SecretBinary": base64}``.

The function holds no credential and calls no API: the sandbox's environment is empty and its
network reaches only the endpoints registered with the function. The secrets manager itself —
not the function — stores the ``AWSPENDING`` version and moves the labels, and only of the
secret being rotated, so a misbehaving function cannot touch another secret. A step fails when
the invocation does not end ``ok`` (it raised, timed out, was killed, reached for an endpoint
it may not) or ``createSecret`` answers anything but a value; the caller learns the step and
the sandbox's status, never the function's message or logs (they may hold the value).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from lakevault.core.errors import LakevaultError
from lakevault.sandbox import (
    Endpoint,
    FunctionCode,
    InvalidSandboxRequest,
    Limits,
    NetworkPolicy,
    Outcome,
    Status,
)
from lakevault.secrets._errors import InvalidParameterException
from lakevault.secrets._rotation import RotationRequest, RotationStep
from lakevault.secrets._types import SecretValue

FUNCTION_RESOURCE_TYPE = "AWS::SecretsManager::RotationFunction"
MAX_SOURCE_BYTES = 256 * 1024
MIN_TIMEOUT_SECONDS = 1
MAX_TIMEOUT_SECONDS = 900
DEFAULT_TIMEOUT_SECONDS = 30
MIN_MEMORY_MB = 64
MAX_MEMORY_MB = 1024
DEFAULT_MEMORY_MB = 128
MAX_ENDPOINTS = 16
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ARN = re.compile(
    r"^arn:aws:secretsmanager:(?P<region>[^:]*):(?P<account>[0-9]{12}):rotation-function:"
    r"(?P<name>[A-Za-z0-9_-]{1,64})$"
)


class SandboxInvoker(Protocol):
    """What runs a function: the platform's ``SandboxRuntime`` or a sandbox ``Dispatcher``."""

    def invoke(
        self,
        *,
        tenant: str,
        function: str,
        code: FunctionCode,
        event: Any,
        limits: Limits | None = None,
        context: dict[str, Any] | None = None,
        network_policy: NetworkPolicy | None = None,
    ) -> Outcome: ...


class RotationFunctionFailed(Exception):
    """A step's invocation did not succeed; ``reason`` is safe to show (no value, no message)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_function_name(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidParameterException(
            f"a rotation function name is 1 to 64 letters, digits, '_' or '-'; got {name!r}"
        )
    return name


def function_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:secretsmanager:{region}:{account_id}:rotation-function:{name}"


def parse_function_reference(text: str, *, region: str, account_id: str) -> str | None:
    """The ARN a ``RotateSecret`` hook names when it names a function, else ``None``.

    ``function:NAME`` is shorthand for the function of ``account_id`` (the secret's account).
    """
    if text.startswith("function:"):
        return function_arn(region, account_id, check_function_name(text.removeprefix("function:")))
    if _ARN.match(text):
        return text
    return None


def function_account(arn: str) -> str:
    match = _ARN.match(arn)
    if match is None:
        raise InvalidParameterException(f"{arn!r} is not a rotation function ARN")
    return match["account"]


def check_source(source: str) -> str:
    size = len(source.encode("utf-8"))
    if not 0 < size <= MAX_SOURCE_BYTES:
        raise InvalidParameterException(
            f"a rotation function's source is 1 byte to {MAX_SOURCE_BYTES // 1024} KiB of "
            f"Python; got {size} bytes"
        )
    return source


def check_endpoints(endpoints: Sequence[str]) -> list[str]:
    if len(endpoints) > MAX_ENDPOINTS:
        raise InvalidParameterException(
            f"a rotation function may name at most {MAX_ENDPOINTS} endpoints; got {len(endpoints)}"
        )
    try:
        return sorted({str(Endpoint.parse(text)) for text in endpoints})
    except InvalidSandboxRequest as exc:
        raise InvalidParameterException(f"{exc.message}; name endpoints as HOST:PORT") from exc


def check_limits(timeout_seconds: int, memory_mb: int) -> None:
    if not MIN_TIMEOUT_SECONDS <= timeout_seconds <= MAX_TIMEOUT_SECONDS:
        raise InvalidParameterException(
            f"Timeout must be {MIN_TIMEOUT_SECONDS} to {MAX_TIMEOUT_SECONDS} seconds; "
            f"got {timeout_seconds}"
        )
    if not MIN_MEMORY_MB <= memory_mb <= MAX_MEMORY_MB:
        raise InvalidParameterException(
            f"MemorySize must be {MIN_MEMORY_MB} to {MAX_MEMORY_MB} MiB; got {memory_mb}"
        )


def code_sha256(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class RotationFunction:
    """A registered function as ``GetRotationFunction`` shows it (the source only on request)."""

    arn: str
    name: str
    account_id: str
    handler: str
    endpoints: tuple[str, ...]
    timeout_seconds: int
    memory_mb: int
    code_sha256: str
    description: str
    source: str | None = None


def _value_json(value: SecretValue | None) -> dict[str, str] | None:
    if value is None:
        return None
    if value.secret_binary is not None:
        return {
            "VersionId": value.version_id,
            "SecretBinary": base64.b64encode(value.secret_binary).decode("ascii"),
        }
    return {"VersionId": value.version_id, "SecretString": value.secret_string or ""}


def _new_value(result: Any) -> str | bytes:
    """``createSecret``'s answer: exactly one of ``SecretString`` / ``SecretBinary``."""
    if not isinstance(result, dict) or len(result) != 1:
        raise RotationFunctionFailed(
            'createSecret must return {"SecretString": ...} or {"SecretBinary": base64}'
        )
    if isinstance(result.get("SecretString"), str):
        text: str = result["SecretString"]
        if not 0 < len(text.encode("utf-8")) <= 65536:
            raise RotationFunctionFailed("createSecret returned a SecretString of bad size")
        return text
    if isinstance(result.get("SecretBinary"), str):
        try:
            data = base64.b64decode(result["SecretBinary"], validate=True)
        except (binascii.Error, ValueError):
            raise RotationFunctionFailed(
                "createSecret returned SecretBinary that is not base64"
            ) from None
        if not 0 < len(data) <= 65536:
            raise RotationFunctionFailed("createSecret returned a SecretBinary of bad size")
        return data
    raise RotationFunctionFailed(
        'createSecret must return {"SecretString": ...} or {"SecretBinary": base64}'
    )


class SandboxedRotationHook:
    """A :class:`~lakevault.secrets.RotationHook` that runs each step in the sandbox."""

    def __init__(
        self,
        sandbox: SandboxInvoker,
        function: RotationFunction,
        *,
        allow_loopback_endpoints: bool = False,
    ) -> None:
        if function.source is None:
            raise ValueError("a sandboxed hook needs the function's source")
        self._sandbox = sandbox
        self._function = function
        self._allow_loopback = allow_loopback_endpoints

    def _invoke(self, step: RotationStep, event: dict[str, Any]) -> Any:
        function = self._function
        assert function.source is not None
        with tempfile.TemporaryDirectory(prefix="lakevault-rotation-") as directory:
            path = Path(directory) / "rotation_function.py"
            path.write_text(function.source, encoding="utf-8")
            path.chmod(0o644)
            Path(directory).chmod(0o755)
            policy = (
                NetworkPolicy(
                    endpoints=tuple(Endpoint.parse(e) for e in function.endpoints),
                    unsafe_allow_loopback=self._allow_loopback,
                )
                if function.endpoints
                else None
            )
            try:
                outcome = self._sandbox.invoke(
                    tenant=function.account_id,
                    function=function.arn,
                    code=FunctionCode(path=path, handler=function.handler),
                    event=event,
                    limits=Limits(
                        memory_bytes=function.memory_mb * 1024 * 1024,
                        timeout_seconds=float(function.timeout_seconds),
                    ),
                    context={"step": step.value},
                    network_policy=policy,
                )
            except LakevaultError as exc:
                # The sandbox refused or is busy: the step did not run.
                raise RotationFunctionFailed(f"the sandbox could not run it ({exc.code})") from exc
        if outcome.status is not Status.OK:
            detail = outcome.status.value
            if outcome.error is not None and outcome.status is Status.ERROR:
                detail += f": {str(outcome.error.get('type', 'Error'))[:64]}"
            if outcome.kill_reason is not None:
                detail += f" ({outcome.kill_reason.value})"
            raise RotationFunctionFailed(f"the function ended {detail}")
        return outcome.result

    @staticmethod
    def _event(step: RotationStep, request: RotationRequest, **values: Any) -> dict[str, Any]:
        return {
            "Step": step.value,
            "SecretId": request.arn,
            "ClientRequestToken": request.version_id,
            **values,
        }

    def create_secret(self, request: RotationRequest) -> str | bytes:
        step = RotationStep.CREATE_SECRET
        event = self._event(step, request, CurrentValue=_value_json(request.current))
        return _new_value(self._invoke(step, event))

    def set_secret(self, request: RotationRequest, pending: SecretValue) -> None:
        step = RotationStep.SET_SECRET
        self._invoke(
            step,
            self._event(
                step,
                request,
                CurrentValue=_value_json(request.current),
                PendingValue=_value_json(pending),
            ),
        )

    def test_secret(self, request: RotationRequest, pending: SecretValue) -> None:
        step = RotationStep.TEST_SECRET
        self._invoke(step, self._event(step, request, PendingValue=_value_json(pending)))

    def finish_secret(self, request: RotationRequest) -> None:
        step = RotationStep.FINISH_SECRET
        self._invoke(step, self._event(step, request))
