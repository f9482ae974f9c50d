"""The ``lakevault`` command: every sub-command listed explicitly."""

from __future__ import annotations

import typer

import lakevault
from lakevault.cli import (
    _audit,
    _config,
    _db,
    _directory,
    _federation,
    _iam,
    _jobs,
    _key_agent,
    _kms,
    _presign,
    _sandbox,
    _secrets,
    _storage,
    _storage_lock,
    _userpool,
)
from lakevault.cli._common import console
from lakevault.cli._serve import init, serve

app = typer.Typer(
    name="lakevault",
    help="lakevault: a self-hosted, multi-tenant data platform. Exit codes: see docs/cli.md.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("serve")(serve)
app.command("init")(init)
app.add_typer(_db.app, name="db")
app.add_typer(_config.app, name="config")
app.add_typer(_audit.app, name="audit")
app.add_typer(_key_agent.app, name="key-agent")
app.add_typer(_key_agent.root_key_app, name="root-key")
app.add_typer(_iam.app, name="iam")
app.add_typer(_kms.app, name="kms")
app.add_typer(_secrets.app, name="secrets")
app.add_typer(_jobs.app, name="jobs")
app.command("worker")(_jobs.worker)
app.add_typer(_userpool.app, name="userpool")
app.add_typer(_sandbox.app, name="sandbox")
app.add_typer(_presign.app, name="presign")
app.add_typer(_presign.limits_app, name="bucket-limits")
_directory.register(_iam.app, app)
_storage.register(app)
_storage_lock.register(app)
_iam.app.add_typer(_federation.app, name="oidc-provider")


@app.command("version")
def version() -> None:
    """Print the version of lakevault."""
    console.print(f"lakevault {lakevault.__version__}")


def main() -> None:
    app()
