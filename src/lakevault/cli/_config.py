"""``lakevault config show``."""

from __future__ import annotations

import orjson
import typer
from rich.table import Table

from lakevault.cli._common import command, console, read_settings

app = typer.Typer(help="The effective configuration.", no_args_is_help=True)


@app.command("show")
@command
def show(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Print the effective configuration, with passwords and secrets masked."""
    settings = read_settings()
    values = settings.masked()
    if as_json:
        console.print_json(orjson.dumps(values).decode("utf-8"))
        return
    table = Table("setting", "value", "environment variable", title="lakevault configuration")
    for name, value in values.items():
        table.add_row(name, value, f"LAKEVAULT_{name.upper()}")
    console.print(table)
    console.print(
        "Sources, strongest first: command-line options, LAKEVAULT_* variables, "
        "LAKEVAULT_CONFIG or ./lakevault.toml, defaults."
    )
