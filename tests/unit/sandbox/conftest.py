"""Fixtures for the sandbox tests: a real supervisor with every layer, and function files.

The tests apply the real layers (they run as root here and in CI). When the probe finds a
layer missing, a test that needs it skips and names the layer and what the kernel said.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lakevault.sandbox import (
    FunctionCode,
    LayerReport,
    Supervisor,
    SupervisorSettings,
    probe_layers,
)

WriteFunction = Callable[[str], FunctionCode]


@pytest.fixture(scope="session")
def layer_report() -> LayerReport:
    return probe_layers()


def require_layers(report: LayerReport) -> None:
    """Skip, naming the missing layers and the kernel's answer, when any layer is missing."""
    if report.missing:
        reasons = "; ".join(f"{s.layer}: {s.detail}" for s in report.missing)
        pytest.skip(f"this kernel/host lacks sandbox layers ({reasons})")


@pytest.fixture(scope="session")
def supervisor(layer_report: LayerReport) -> Iterator[Supervisor]:
    require_layers(layer_report)
    running = Supervisor(SupervisorSettings(zygotes=4))
    running.start(layer_report)
    yield running
    running.close()


@pytest.fixture
def write_function(tmp_path: Path) -> WriteFunction:
    """Write handler source to a fresh ``.py`` file and return it as a function."""
    counter = iter(range(1000))

    def write(source: str) -> FunctionCode:
        path = tmp_path / f"function_{next(counter)}.py"
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return FunctionCode(path=path)

    return write
