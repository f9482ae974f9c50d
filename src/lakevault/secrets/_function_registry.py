"""Registering rotation functions: ``Put/Get/List/DeleteRotationFunction``, through the gate.

A function belongs to the account that registers it and rotates only that account's secrets
(``RotateSecret`` refuses another account's function). The source is kept in the database as
the tenant gave it and is only ever run in the sandbox (``_functions.py``); the platform never
imports it. Each operation is one ``secretsmanager:`` action on the function's ARN, decided by
the gate and audited; a change is recorded in the transaction that makes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

from sqlalchemy import select

from lakevault.core.errors import AccessDenied
from lakevault.db import models
from lakevault.gate import Proof, Request
from lakevault.secrets._base import SecretsBase
from lakevault.secrets._errors import (
    InvalidParameterException,
    InvalidRequestException,
    ResourceNotFoundException,
)
from lakevault.secrets._functions import (
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT_SECONDS,
    FUNCTION_RESOURCE_TYPE,
    RotationFunction,
    check_endpoints,
    check_function_name,
    check_limits,
    check_source,
    code_sha256,
    function_arn,
    parse_function_reference,
)
from lakevault.secrets._types import SecretsCall


class RotationFunctionRegistry(SecretsBase):
    """The tenants' rotation functions (docs/secrets.md, "Rotation functions")."""

    def _authorize_function(
        self,
        call: SecretsCall,
        *,
        action: str,
        arn: str,
        account: str,
        read_only: bool,
        parameters: dict[str, Any] | None = None,
    ) -> Proof:
        return self._core.gate.require(
            Request(
                principal=call.principal,
                action=action,
                resource=arn,
                resource_account=account,
                resource_type=FUNCTION_RESOURCE_TYPE,
                context=MappingProxyType({}),
                request_id=call.request_id,
                source_ip=call.source_ip,
                user_agent=call.user_agent,
                secure_transport=call.secure_transport,
                read_only=read_only,
                request_parameters=parameters,
            )
        )

    def _function_arn_of(self, call: SecretsCall, function_id: str) -> str:
        """A function named by its name (in the caller's account) or its ARN."""
        account = call.principal.account_id
        arn = parse_function_reference(function_id, region=self._core.region, account_id=account)
        if arn is not None:
            return arn
        return function_arn(self._core.region, account, check_function_name(function_id))

    def put_rotation_function(
        self,
        call: SecretsCall,
        name: str,
        *,
        source: str,
        handler: str = "handler",
        endpoints: Sequence[str] = (),
        timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS,
        memory_mb: int = DEFAULT_MEMORY_MB,
        description: str = "",
    ) -> RotationFunction:
        """``PutRotationFunction``: register (or replace) a function of the caller's account.

        ``endpoints`` (``HOST:PORT``) are all the network the function will have.
        """
        check_function_name(name)
        check_source(source)
        if not handler.isidentifier():
            raise InvalidParameterException(f"Handler {handler!r} is not a Python identifier")
        clean_endpoints = check_endpoints(endpoints)
        check_limits(timeout_seconds, memory_mb)
        account = call.principal.account_id
        if not account:
            raise AccessDenied("an anonymous caller cannot register functions; sign in first")
        arn = function_arn(self._core.region, account, name)
        digest = code_sha256(source)
        parameters: dict[str, Any] = {
            "name": name,
            "handler": handler,
            "endpoints": clean_endpoints,
            "timeoutSeconds": timeout_seconds,
            "memoryMb": memory_mb,
            "codeSha256": digest,
        }
        action = "secretsmanager:PutRotationFunction"
        self._authorize_function(
            call, action=action, arn=arn, account=account, read_only=False, parameters=parameters
        )
        now = self._core.clock.now()
        with self._core.database.session() as session:
            row = session.get(models.SecretRotationFunction, arn)
            if row is None:
                row = models.SecretRotationFunction(arn=arn, account_id=account, created_at=now)
                session.add(row)
            row.name = name
            row.source = source
            row.code_sha256 = digest
            row.handler = handler
            row.endpoints = clean_endpoints
            row.timeout_seconds = timeout_seconds
            row.memory_mb = memory_mb
            row.description = description
            row.updated_at = now
            session.flush()
            self._core.record_change(
                session,
                call,
                action=action,
                record_arn=arn,
                account_id=account,
                parameters=parameters,
                elements={"arn": arn, "codeSha256": digest},
            )
        found = self._load_function(arn, with_source=False)
        assert found is not None
        return found

    def get_rotation_function(
        self, call: SecretsCall, function_id: str, *, include_source: bool = False
    ) -> RotationFunction:
        """``GetRotationFunction``: its settings and code digest (and source if asked)."""
        arn = self._function_arn_of(call, function_id)
        account = arn.split(":")[4]
        self._authorize_function(
            call,
            action="secretsmanager:GetRotationFunction",
            arn=arn,
            account=account,
            read_only=True,
            parameters={"includeSource": include_source},
        )
        found = self._load_function(arn, with_source=include_source)
        if found is None:
            raise ResourceNotFoundException(
                f"there is no rotation function {arn}; ListRotationFunctions shows them"
            )
        return found

    def list_rotation_functions(self, call: SecretsCall) -> list[RotationFunction]:
        """``ListRotationFunctions``: the caller's account's functions (no sources)."""
        account = call.principal.account_id
        self._authorize_function(
            call,
            action="secretsmanager:ListRotationFunctions",
            arn="*",
            account=account,
            read_only=True,
        )
        with self._core.database.read_session() as session:
            arns = session.scalars(
                select(models.SecretRotationFunction.arn)
                .where(models.SecretRotationFunction.account_id == account)
                .order_by(models.SecretRotationFunction.name)
            ).all()
        return [f for f in (self._load_function(a, with_source=False) for a in arns) if f]

    def delete_rotation_function(self, call: SecretsCall, function_id: str) -> None:
        """``DeleteRotationFunction``: refused while a secret still rotates with it."""
        arn = self._function_arn_of(call, function_id)
        account = arn.split(":")[4]
        action = "secretsmanager:DeleteRotationFunction"
        self._authorize_function(call, action=action, arn=arn, account=account, read_only=False)
        with self._core.database.session() as session:
            row = session.get(models.SecretRotationFunction, arn)
            if row is None:
                raise ResourceNotFoundException(f"there is no rotation function {arn}")
            users = session.scalars(
                select(models.Secret.name).where(models.Secret.rotation_hook == arn).limit(5)
            ).all()
            if users:
                raise InvalidRequestException(
                    f"the rotation function {arn} still rotates {', '.join(users)}; call "
                    "RotateSecret with another hook for them (or delete them) first"
                )
            session.delete(row)
            self._core.record_change(
                session,
                call,
                action=action,
                record_arn=arn,
                account_id=account,
                parameters=None,
                elements={"arn": arn},
            )
