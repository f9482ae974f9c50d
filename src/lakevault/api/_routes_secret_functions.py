"""Rotation functions over HTTP, under ``/api/v1/secrets/rotation-functions``.

A tenant registers the Python source of a rotation function (docs/secrets.md, "Rotation
functions") and names it in ``RotateSecret``. Routes translate HTTP to the secrets manager's
calls; every decision is the gate's.
"""

# No ``from __future__ import annotations`` here: FastAPI must see the ``Caller`` alias as an
# evaluated annotation.

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from lakevault.api._auth import caller_dependency
from lakevault.directory import CallContext
from lakevault.runtime import Platform
from lakevault.secrets import RotationFunction, SecretsCall


class NewFunction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, description="Python source with handler(event, context)")
    handler: str = Field(default="handler", min_length=1, max_length=128)
    endpoints: list[str] = Field(default_factory=list, description="HOST:PORT it may reach")
    timeoutSeconds: int = 30
    memoryMb: int = 128
    description: str = Field(default="", max_length=2048)


class FunctionAnswer(BaseModel):
    arn: str
    name: str
    handler: str
    endpoints: list[str]
    timeoutSeconds: int
    memoryMb: int
    codeSha256: str
    description: str
    source: str | None = None

    @classmethod
    def of(cls, function: RotationFunction) -> "FunctionAnswer":
        return cls(
            arn=function.arn,
            name=function.name,
            handler=function.handler,
            endpoints=list(function.endpoints),
            timeoutSeconds=function.timeout_seconds,
            memoryMb=function.memory_mb,
            codeSha256=function.code_sha256,
            description=function.description,
            source=function.source,
        )


class FunctionList(BaseModel):
    functions: list[FunctionAnswer]


def add_rotation_function_routes(router: APIRouter, platform: Platform) -> None:
    """Add the rotation-function routes to the secrets router."""
    manager = platform.secrets
    Caller = Annotated[CallContext, Depends(caller_dependency(platform))]

    def _call(call: CallContext) -> SecretsCall:
        return SecretsCall(
            principal=call.principal,
            request_id=call.request_id,
            source_ip=call.source_ip,
            user_agent=call.user_agent,
            secure_transport=call.secure_transport,
        )

    @router.put("/rotation-functions/{name}", response_model=FunctionAnswer)
    def put_rotation_function(name: str, body: NewFunction, call: Caller) -> FunctionAnswer:
        return FunctionAnswer.of(
            manager.put_rotation_function(
                _call(call),
                name,
                source=body.source,
                handler=body.handler,
                endpoints=body.endpoints,
                timeout_seconds=body.timeoutSeconds,
                memory_mb=body.memoryMb,
                description=body.description,
            )
        )

    @router.get("/rotation-functions", response_model=FunctionList)
    def list_rotation_functions(call: Caller) -> FunctionList:
        found = manager.list_rotation_functions(_call(call))
        return FunctionList(functions=[FunctionAnswer.of(f) for f in found])

    @router.get("/rotation-functions/{name}", response_model=FunctionAnswer)
    def get_rotation_function(
        name: str, call: Caller, includeSource: bool = False
    ) -> FunctionAnswer:
        return FunctionAnswer.of(
            manager.get_rotation_function(_call(call), name, include_source=includeSource)
        )

    @router.delete("/rotation-functions/{name}", status_code=204)
    def delete_rotation_function(name: str, call: Caller) -> Response:
        manager.delete_rotation_function(_call(call), name)
        return Response(status_code=204)
