"""The command-line face (Typer + Rich).

``app`` (the full command tree) is resolved on first use (PEP 562) so that ``main`` can serve
``lakevault sandbox ...`` without importing every face first (``_entry``, ADR 0175).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakevault.cli._entry import main

if TYPE_CHECKING:
    from lakevault.cli._main import app


def __getattr__(name: str) -> Any:
    if name == "app":
        from lakevault.cli._main import app

        globals()["app"] = app
        return app
    raise AttributeError(f"module 'lakevault.cli' has no attribute {name!r}")


__all__ = ["app", "main"]
