"""What every command shares: loading settings, exit codes, printing errors.

Exit codes (docs/cli.md):

====  ==========================================================================
0     success
1     the operation failed (a lakevault error that is not about the setup)
2     wrong usage: unknown command or option, missing argument
3     configuration or environment error: bad setting, unwritable data directory,
      port in use, database not migrated / newer than the code / damaged
4     a dependency is unavailable: database server unreachable
====  ==========================================================================
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.console import Console

from lakevault.core import Settings, config_file_path, load_settings
from lakevault.core.errors import ConfigurationError, LakevaultError, ServiceUnavailable

#: Errors and notices; standard output is kept for results (and one-time credentials).
error_console = Console(stderr=True, highlight=False, soft_wrap=True)
console = Console(highlight=False, soft_wrap=True)


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    CONFIGURATION = 3
    UNAVAILABLE = 4


def read_settings(overrides: Mapping[str, Any] | None = None) -> Settings:
    """Settings from the process environment, the config file and command-line overrides."""
    path = config_file_path(os.environ, Path.cwd())
    text = None
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read the configuration file {path} ({exc.strerror}); check "
                "LAKEVAULT_CONFIG or remove it to use the defaults"
            ) from exc
    return load_settings(
        os.environ, config_text=text, config_name=str(path or "lakevault.toml"), overrides=overrides
    )


def exit_code_for(error: LakevaultError) -> ExitCode:
    if isinstance(error, ConfigurationError):
        return ExitCode.CONFIGURATION
    if isinstance(error, ServiceUnavailable):
        return ExitCode.UNAVAILABLE
    return ExitCode.FAILED


@contextmanager
def reported_errors() -> Iterator[None]:
    """Print a lakevault error as one sentence on stderr and exit with its code."""
    try:
        yield
    except LakevaultError as exc:
        error_console.print(f"[bold red]error[/] ({exc.code}): {exc.message}", markup=True)
        raise typer.Exit(int(exit_code_for(exc))) from exc


def command(function: Callable[..., None]) -> Callable[..., None]:
    """Wrap a command body so lakevault errors become a message and an exit code."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        with reported_errors():
            function(*args, **kwargs)

    return wrapper


def print_json(value: Any) -> None:
    """Print a command's result as JSON on standard output (nothing for ``None``)."""
    if value is not None:
        console.print_json(orjson.dumps(value).decode("utf-8"))
