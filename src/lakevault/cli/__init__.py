"""The command-line face (Typer + Rich)."""

from lakevault.cli._main import app, main

__all__ = ["app", "main"]
