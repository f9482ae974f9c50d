"""``GET /api/v1/sandbox/metrics`` and the platform's lazily started sandbox runtime (ADR 0176)."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest

from lakevault.core import load_settings
from lakevault.core.errors import LakevaultError
from lakevault.gate import Gate
from lakevault.runtime._sandbox import SandboxRuntime
from lakevault.sandbox import FunctionCode, LayerReport, Limits, probe_layers
from tests.unit.api.conftest import World, error

METRICS = "/api/v1/sandbox/metrics"


def _report_without(report: LayerReport, layer: str) -> LayerReport:
    """The real probe's report with one layer marked missing, as a host that forbids it."""
    return replace(
        report,
        layers=tuple(
            replace(s, available=False, detail="forbidden by this host") if s.layer == layer else s
            for s in report.layers
        ),
    )


@pytest.fixture(scope="module")
def layer_report() -> LayerReport:
    return probe_layers()


def _require_layers(report: LayerReport) -> None:
    if report.missing:
        reasons = "; ".join(f"{s.layer}: {s.detail}" for s in report.missing)
        pytest.skip(f"this kernel/host lacks sandbox layers ({reasons})")


def test_platform_admin_reads_zero_metrics_without_starting_the_sandbox(world: World) -> None:
    response = world.client.get(METRICS, headers=world.platform_admin())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "not-started"
    assert body["invocations"] == 0
    assert body["killsByReason"] == {}
    assert body["zygotes"] == world.platform.settings.sandbox_zygotes
    # Reading did not start a supervisor: nothing was probed or forked.
    assert world.platform.sandbox.status.state == "not-started"
    assert world.client.get("/readyz").json()["sandbox"] == "not-started"
    assert "GetSandboxMetrics" in world.audit_text("000000000000")


def test_a_tenant_admin_is_denied_and_the_denial_is_recorded(world: World) -> None:
    account, admin, _ = world.new_tenant("curious")
    assert error(world.client.get(METRICS, headers=admin)) == (403, "AccessDenied")
    text = world.audit_text(account)
    assert "GetSandboxMetrics" in text and "AccessDenied" in text


def test_an_anonymous_caller_is_denied(world: World) -> None:
    # Unauthenticated calls reach the gate as the anonymous principal, which no policy allows.
    assert error(world.client.get(METRICS)) == (403, "AccessDenied")


def test_metrics_count_invocations_warm_starts_and_kills(
    world: World, tmp_path: Path, layer_report: LayerReport
) -> None:
    _require_layers(layer_report)
    ok = tmp_path / "ok.py"
    ok.write_text("def handler(event, context):\n    return event\n")
    spin = tmp_path / "spin.py"
    spin.write_text("def handler(event, context):\n    while True: pass\n")
    dispatcher = world.platform.sandbox.dispatcher()
    for n in range(2):
        outcome = dispatcher.invoke(
            tenant="t", function="ok", code=FunctionCode(path=ok), event={"n": n}
        )
        assert outcome.result == {"n": n}
    killed = dispatcher.invoke(
        tenant="t",
        function="spin",
        code=FunctionCode(path=spin),
        event={},
        limits=Limits(timeout_seconds=1),
    )
    assert killed.status.value == "timeout"
    body = world.client.get(METRICS, headers=world.platform_admin()).json()
    assert body["status"] == "ready"
    assert body["invocations"] == 3
    assert body["byStatus"] == {"ok": 2, "timeout": 1}
    assert body["killsByReason"] == {"deadline": 1}
    assert body["coldStarts"] == world.platform.settings.sandbox_zygotes
    assert body["warmStarts"] + body["preparedStarts"] >= 1
    assert body["medianDurationMs"] > 0
    assert world.client.get("/readyz").json()["sandbox"] == "ready"
    world.platform.close()
    assert world.platform.sandbox.status.state == "ready"
    assert world.platform.sandbox._supervisor is None  # stopped with the platform


def test_a_host_missing_a_layer_is_reported_not_fatal(
    world: World, layer_report: LayerReport
) -> None:
    runtime = world.platform.sandbox
    runtime.probe = lambda: _report_without(layer_report, "seccomp")
    with pytest.raises(LakevaultError) as raised:
        runtime.dispatcher()
    assert raised.value.code == "SandboxUnavailable"
    assert "seccomp" in raised.value.message
    ready = world.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["sandbox"].startswith("unavailable: ")
    assert "seccomp" in ready.json()["sandbox"]
    body = world.client.get(METRICS, headers=world.platform_admin()).json()
    assert body["status"] == "unavailable" and "seccomp" in body["detail"]


def test_insecure_development_mode_is_logged_loudly_and_runs(
    world: World, tmp_path: Path, layer_report: LayerReport, caplog: pytest.LogCaptureFixture
) -> None:
    _require_layers(layer_report)
    settings = load_settings(
        {
            "LAKEVAULT_HOME": str(tmp_path),
            "LAKEVAULT_SANDBOX_INSECURE_DEVELOPMENT": "true",
            "LAKEVAULT_SANDBOX_ZYGOTES": "1",
        }
    )
    gate: Gate = world.platform.gate
    with caplog.at_level(logging.WARNING):
        runtime = SandboxRuntime(
            settings, gate=gate, probe=lambda: _report_without(layer_report, "seccomp")
        )
        assert "INSECURE DEVELOPMENT MODE" in caplog.text
        try:
            function = tmp_path / "f.py"
            function.write_text("def handler(event, context):\n    return 7\n")
            outcome = runtime.dispatcher().invoke(
                tenant="t", function="f", code=FunctionCode(path=function), event={}
            )
            assert outcome.result == 7
            assert runtime.status.state == "insecure"
            assert "seccomp" in runtime.status.detail
        finally:
            runtime.close()


def test_settings_shape_the_runtime(tmp_path: Path, world: World) -> None:
    settings = load_settings(
        {
            "LAKEVAULT_HOME": str(tmp_path),
            "LAKEVAULT_SANDBOX_DEFAULT_MEMORY_MB": "64",
            "LAKEVAULT_SANDBOX_DEFAULT_TIMEOUT_SECONDS": "5",
            "LAKEVAULT_SANDBOX_CONCURRENCY_PER_TENANT": "3",
            "LAKEVAULT_SANDBOX_CONCURRENCY_PER_FUNCTION": "2",
            "LAKEVAULT_SANDBOX_QUEUE_SIZE": "0",
        }
    )
    runtime = SandboxRuntime(settings, gate=world.platform.gate)
    assert runtime.limits.memory_bytes == 64 * 1024 * 1024
    assert runtime.limits.timeout_seconds == 5
    assert (runtime.concurrency.per_tenant, runtime.concurrency.per_function) == (3, 2)
    assert runtime.concurrency.queue_size == 0


def test_the_default_limits_of_the_settings_apply(
    tmp_path: Path, world: World, layer_report: LayerReport
) -> None:
    _require_layers(layer_report)
    settings = load_settings(
        {
            "LAKEVAULT_HOME": str(tmp_path),
            "LAKEVAULT_SANDBOX_ZYGOTES": "1",
            "LAKEVAULT_SANDBOX_DEFAULT_TIMEOUT_SECONDS": "1",
        }
    )
    spin = tmp_path / "spin.py"
    spin.write_text("def handler(event, context):\n    while True: pass\n")
    runtime = SandboxRuntime(settings, gate=world.platform.gate)
    try:
        outcome = runtime.invoke(
            tenant="t", function="spin", code=FunctionCode(path=spin), event={}
        )
    finally:
        runtime.close()
    assert outcome.status.value == "timeout"
    assert outcome.duration_ms < 1100  # killed at the 1 s default, not the sandbox's 30 s


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LAKEVAULT_SANDBOX_ZYGOTES", "0"),
        ("LAKEVAULT_SANDBOX_ZYGOTES", "65"),
        ("LAKEVAULT_SANDBOX_DEFAULT_TIMEOUT_SECONDS", "901"),
        ("LAKEVAULT_SANDBOX_DEFAULT_MEMORY_MB", "8"),
        ("LAKEVAULT_SANDBOX_CONCURRENCY_PER_TENANT", "0"),
        ("LAKEVAULT_SANDBOX_QUEUE_SIZE", "-1"),
    ],
)
def test_out_of_range_sandbox_settings_are_refused(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(LakevaultError) as raised:
        load_settings({"LAKEVAULT_HOME": str(tmp_path), name: value})
    assert name.removeprefix("LAKEVAULT_").lower() in raised.value.message
