"""The data directory (``LAKEVAULT_HOME``): created private, checked writable before use.

Everything the embedded platform keeps — the SQLite metadata, the local object store, keys —
lives below it. It is created with mode 0700: tenant data is encrypted, but metadata and key
files are still nobody else's business.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from lakevault.core import Settings
from lakevault.core.errors import ConfigurationError


def prepare_home(settings: Settings) -> Path:
    """Create the data directory and its ``objects/`` folder; prove they are writable.

    Raises ``ConfigurationError`` naming the directory and how to fix it. Nothing existing is
    modified: a probe file is created and removed.
    """
    home = settings.resolved_home
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        if settings.object_store_url is None:
            (home / "objects").mkdir(mode=0o700, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=home, prefix=".write-probe-"):
            pass
    except OSError as exc:
        raise ConfigurationError(
            f"the data directory {home} cannot be created or written "
            f"({exc.strerror or type(exc).__name__}); set LAKEVAULT_HOME to a writable "
            f"directory, for example LAKEVAULT_HOME={Path.home() / '.lakevault'}, or fix its "
            "permissions"
        ) from exc
    return home


def require_home(settings: Settings) -> Path:
    """Check that the data directory exists (the server does not create one silently)."""
    home = settings.resolved_home
    if not home.is_dir():
        raise ConfigurationError(
            f"the data directory {home} does not exist; run 'lakevault init' first, or set "
            "LAKEVAULT_HOME to the directory of an existing installation"
        )
    if not os.access(home, os.W_OK):
        raise ConfigurationError(
            f"the data directory {home} is not writable by this user; fix its permissions or "
            "run lakevault as its owner"
        )
    return home
