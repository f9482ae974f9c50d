"""Fixtures shared by every test.

* ``LAKEVAULT_*`` variables of the developer's shell never leak into a test (autouse).
* ``conformance_dir`` finds ``../shared/conformance`` beside the repository; tests that need it
  skip with a clear message when it is absent (a user's clone has no ``../shared``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE_DIR = Path(
    os.environ.get("LAKEVAULT_CONFORMANCE_DIR", REPO_ROOT.parent / "shared" / "conformance")
)


def conformance_path(*parts: str) -> Path:
    """Return a path under the shared conformance data, or skip the test when it is absent."""
    path = CONFORMANCE_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"conformance data not found at {path}: clone the project with ../shared beside it "
            "or set LAKEVAULT_CONFORMANCE_DIR"
        )
    return path


@pytest.fixture(autouse=True)
def _clean_lakevault_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("LAKEVAULT_") and not name.startswith("LAKEVAULT_TEST_"):
            if name == "LAKEVAULT_CONFORMANCE_DIR":
                continue
            monkeypatch.delenv(name)
    yield
