"""The console entry point: ``lakevault sandbox ...`` starts without the rest of the platform.

``lakevault sandbox run`` is called by external checks, often many times in a row, and the full
command tree imports every face (API, storage, KMS, audit, ...) before it parses a single
argument: seconds under load. When the first argument is ``sandbox`` the entry point builds a
root app holding only the sandbox sub-app, so the command, its options, its usage lines
(``lakevault sandbox run ...``), its output and its exit codes are exactly those of the full tree,
and only ``lakevault.sandbox`` and the shared CLI helpers are imported (ADR 0175).
Everything else goes to the full tree in ``_main``, which still lists ``sandbox`` in its help.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

#: Sub-commands served by a slim root app instead of the full tree.
FAST_COMMANDS = frozenset({"sandbox"})


def _slim_app() -> typer.Typer:
    from lakevault.cli import _sandbox

    app = typer.Typer(
        name="lakevault",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    app.add_typer(_sandbox.app, name="sandbox")
    return app


def main(argv: Sequence[str] | None = None) -> None:
    """Run the ``lakevault`` command on ``argv`` (default: the process's arguments)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in FAST_COMMANDS:
        _slim_app()(arguments, prog_name="lakevault")
        return
    from lakevault.cli._main import app

    app(arguments, prog_name="lakevault")
