"""``lakevault db upgrade`` and ``lakevault db status``."""

from __future__ import annotations

import typer

from lakevault.cli._common import command, console, read_settings
from lakevault.db import Database, current_revision, head_revision, upgrade

app = typer.Typer(help="The metadata database: schema migrations.", no_args_is_help=True)


@app.command("upgrade")
@command
def upgrade_command() -> None:
    """Migrate the metadata database to this version's schema (take a backup first)."""
    database = Database(read_settings().effective_database_url)
    try:
        before, after = upgrade(database)
    finally:
        database.dispose()
    if before == after:
        console.print(f"the database is already at schema revision {after}")
    else:
        console.print(f"upgraded the database from revision {before or '(empty)'} to {after}")


@app.command("status")
@command
def status_command() -> None:
    """Show the database's schema revision and the one this version needs."""
    database = Database(read_settings().effective_database_url)
    try:
        current = current_revision(database)
        head = head_revision(database)
    finally:
        database.dispose()
    console.print(f"database: {database.display_url}")
    console.print(f"schema revision: {current or '(none)'}; this lakevault needs: {head}")
    if current != head:
        raise typer.Exit(1)
