"""``lakevault secrets rotation-function``: register the tenant's rotation functions.

A rotation function is a ``.py`` file with ``handler(event, context)`` that the platform runs in
its sandbox for each step of a rotation (docs/secrets.md, "Rotation functions"); name it in
``lakevault secrets rotate SECRET --function NAME``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lakevault.cli._client import ApiClient
from lakevault.cli._common import command, print_json

functions_app = typer.Typer(
    help="Rotation functions: tenant code that rotates secrets in the sandbox.",
    no_args_is_help=True,
)

_Name = Annotated[str, typer.Argument(help="The function's name (or ARN).")]


def _client() -> ApiClient:
    return ApiClient.from_saved_session()


@functions_app.command("put")
@command
def put_command(
    name: Annotated[str, typer.Argument(help="The function's name (letters, digits, _ and -).")],
    file: Annotated[Path, typer.Argument(help="The .py file with handler(event, context).")],
    allow_endpoint: Annotated[
        list[str] | None,
        typer.Option("--allow-endpoint", help="HOST:PORT it may connect to (repeatable)."),
    ] = None,
    handler: Annotated[str, typer.Option("--handler")] = "handler",
    timeout: Annotated[int, typer.Option("--timeout", help="Seconds per step (1-900).")] = 30,
    memory: Annotated[int, typer.Option("--memory", help="MiB per step (64-1024).")] = 128,
    description: Annotated[str, typer.Option("--description")] = "",
) -> None:
    """Register or replace a rotation function (PutRotationFunction)."""
    body: dict[str, Any] = {
        "source": file.read_text("utf-8"),
        "handler": handler,
        "endpoints": list(allow_endpoint or []),
        "timeoutSeconds": timeout,
        "memoryMb": memory,
        "description": description,
    }
    print_json(_client().call("PUT", f"/secrets/rotation-functions/{name}", body))


@functions_app.command("list")
@command
def list_command() -> None:
    """The account's rotation functions (ListRotationFunctions)."""
    print_json(_client().call("GET", "/secrets/rotation-functions")["functions"])


@functions_app.command("get")
@command
def get_command(
    name: _Name,
    source: Annotated[bool, typer.Option("--source", help="Include the source.")] = False,
) -> None:
    """A rotation function's settings and code digest (GetRotationFunction)."""
    params = {"includeSource": "true"} if source else {}
    print_json(_client().call("GET", f"/secrets/rotation-functions/{name}", **params))


@functions_app.command("delete")
@command
def delete_command(name: _Name) -> None:
    """Delete a rotation function no secret rotates with (DeleteRotationFunction)."""
    _client().call("DELETE", f"/secrets/rotation-functions/{name}")
