"""The probe says which layers work, and the runtime refuses when one is missing."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from lakevault.sandbox import (
    LAYERS,
    LayerReport,
    SandboxUnavailable,
    Supervisor,
    SupervisorSettings,
)
from tests.unit.sandbox.conftest import require_layers

LAKEVAULT = [sys.executable, "-m", "lakevault"]


def test_probe_reports_every_layer_in_order(layer_report: LayerReport) -> None:
    assert tuple(s.layer for s in layer_report.layers) == LAYERS
    assert layer_report.cgroup_layout in {"v1", "v2", "hybrid", "none"}
    for status in layer_report.layers:
        assert status.detail, status.layer


def test_every_layer_is_available_here(layer_report: LayerReport) -> None:
    require_layers(layer_report)
    assert layer_report.missing == ()


def _without(report: LayerReport, layer: str) -> LayerReport:
    layers = tuple(
        dataclasses.replace(s, available=False, detail="EPERM from the test")
        if s.layer == layer
        else s
        for s in report.layers
    )
    return LayerReport(layers=layers, cgroup_layout=report.cgroup_layout)


@pytest.mark.parametrize("layer", ["seccomp", "user", "cgroups", "pivot_root"])
def test_supervisor_refuses_when_a_layer_is_missing(layer_report: LayerReport, layer: str) -> None:
    supervisor = Supervisor(SupervisorSettings(zygotes=1))
    with pytest.raises(SandboxUnavailable) as caught:
        supervisor.start(_without(layer_report, layer))
    assert caught.value.code == "SandboxUnavailable"
    assert f"{layer} (EPERM from the test)" in caught.value.message
    assert "refusing to run untrusted code" in caught.value.message
    assert supervisor.zygote_pids == []  # nothing was started


def test_insecure_development_mode_runs_and_says_so_loudly(
    layer_report: LayerReport, write_function, caplog: pytest.LogCaptureFixture
) -> None:
    require_layers(layer_report)
    code = write_function("def handler(event, context):\n    return 'ran'\n")
    settings = SupervisorSettings(zygotes=1, insecure_development=True)
    supervisor = Supervisor(settings)
    with caplog.at_level("WARNING", logger="lakevault.sandbox"):
        supervisor.start(_without(layer_report, "seccomp"))
        try:
            outcome = supervisor.invoke(code, {})
        finally:
            supervisor.close()
    assert outcome.result == "ran"
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("INSECURE DEVELOPMENT MODE" in w and "seccomp" in w for w in warnings)
    assert sum("INSECURE" in w for w in warnings) >= 2  # at start and at the invocation


def test_check_command_lists_every_layer_as_json(layer_report: LayerReport) -> None:
    done = subprocess.run(
        [*LAKEVAULT, "sandbox", "check", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    document = json.loads(done.stdout)
    assert list(document["layers"]) == list(LAYERS)
    assert document["ready"] is (not layer_report.missing)
    assert done.returncode == (0 if not layer_report.missing else 3)


def _run_as_nobody(arguments: list[str], stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *arguments],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd="/",
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).parents[3] / "src")},
    )


def test_run_refuses_without_root_and_names_the_layers() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to start a process as an unprivileged user")
    directory = Path(tempfile.mkdtemp(prefix="lakevault-refuse-"))
    directory.chmod(0o755)
    function = directory / "f.py"
    function.write_text("def handler(event, context):\n    return 1\n")
    function.chmod(0o644)
    try:
        done = _run_as_nobody([*LAKEVAULT, "sandbox", "run", str(function)], "{}")
    finally:
        shutil.rmtree(directory)
    if "No module named" in done.stderr:
        pytest.skip(f"the interpreter is not usable by an unprivileged user: {done.stderr[-200:]}")
    assert done.returncode == 3, done.stderr
    assert done.stdout == ""
    assert "refusing to run untrusted code" in done.stderr
    for layer in ("pivot_root", "cgroups"):
        assert layer in done.stderr
