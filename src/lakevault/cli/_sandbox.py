"""``lakevault sandbox check`` and ``lakevault sandbox run``.

``run`` is used by external checks, so its shape is fixed: the event JSON on standard input,
exactly one JSON object on standard output (``status``, ``result``, ``error``, ``logs``,
``duration_ms``), exit code 0 whenever the sandbox itself worked, whatever the function did.
When a confinement layer is missing it refuses with exit code 3 and names the layer, unless
``--insecure-development`` (or ``LAKEVAULT_SANDBOX_INSECURE_DEVELOPMENT=1``) is given, which is
announced on standard error at every run.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lakevault.cli._common import ExitCode, console, error_console, reported_errors
from lakevault.sandbox import (
    Endpoint,
    FunctionCode,
    InvalidSandboxRequest,
    Limits,
    NetworkPolicy,
    Supervisor,
    SupervisorSettings,
    parse_duration,
    parse_size,
    probe_layers,
)

INSECURE_VARIABLE = "LAKEVAULT_SANDBOX_INSECURE_DEVELOPMENT"

app = typer.Typer(
    help="Run untrusted functions in confined, single-use sandboxes.", no_args_is_help=True
)


@app.command("check")
def check(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Probe which confinement layers this machine allows (exit 3 when one is missing)."""
    report = probe_layers()
    if as_json:
        document = {
            "cgroup_layout": report.cgroup_layout,
            "layers": {
                s.layer: {"available": s.available, "detail": s.detail} for s in report.layers
            },
            "ready": not report.missing,
        }
        sys.stdout.write(json.dumps(document) + "\n")
    else:
        table = Table(title=f"sandbox layers (cgroup layout: {report.cgroup_layout})")
        table.add_column("layer")
        table.add_column("available")
        table.add_column("detail")
        for status in report.layers:
            mark = "[green]yes[/]" if status.available else "[bold red]NO[/]"
            table.add_row(status.layer, mark, status.detail)
        console.print(table)
        if report.missing:
            names = ", ".join(s.layer for s in report.missing)
            error_console.print(
                f"[bold red]missing:[/] {names} — 'lakevault sandbox run' will refuse to run "
                "untrusted code here"
            )
        else:
            console.print("all layers available: untrusted code can run here")
    if report.missing:
        raise typer.Exit(int(ExitCode.CONFIGURATION))


@app.command("run")
def run(
    file: Annotated[
        Path, typer.Argument(help="The function: a .py file with handler(event, context).")
    ],
    memory: Annotated[str, typer.Option(help="Hard memory limit (OOM kill), e.g. 256M.")] = "256M",
    timeout: Annotated[str, typer.Option(help="SIGKILL deadline, 1s to 15m, e.g. 2s.")] = "30s",
    allow_endpoint: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-endpoint", help="HOST:PORT the function may connect to (repeatable)."
        ),
    ] = None,
    handler: Annotated[str, typer.Option(help="Name of the handler function.")] = "handler",
    insecure_development: Annotated[
        bool,
        typer.Option(
            "--insecure-development",
            help="DANGEROUS: run even when confinement layers are missing (development only).",
        ),
    ] = False,
) -> None:
    """Run FILE's handler once on the event JSON read from standard input."""
    insecure = insecure_development or os.environ.get(INSECURE_VARIABLE, "") in {"1", "true"}
    with reported_errors():
        limits = Limits(memory_bytes=parse_size(memory), timeout_seconds=parse_duration(timeout))
        endpoints = tuple(Endpoint.parse(text) for text in allow_endpoint or ())
        code = FunctionCode(path=file, handler=handler)
        raw = sys.stdin.buffer.read()
        try:
            event = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            raise InvalidSandboxRequest(f"standard input is not a JSON event: {exc}") from exc
        if insecure:
            logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
            error_console.print(
                "[bold red]WARNING: insecure development mode: missing confinement layers are "
                "skipped; never run untrusted code like this[/]"
            )
        settings = SupervisorSettings(zygotes=1, insecure_development=insecure)
        with Supervisor(settings) as supervisor:
            outcome = supervisor.invoke(
                code, event, limits=limits, network_policy=NetworkPolicy(endpoints=endpoints)
            )
    sys.stdout.write(json.dumps(outcome.to_json()) + "\n")
    sys.stdout.flush()
