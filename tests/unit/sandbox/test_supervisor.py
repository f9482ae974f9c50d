"""The supervisor's protocol: payload caps, context, packages, errors, exits."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakevault.sandbox import (
    FunctionCode,
    InvalidSandboxRequest,
    InvocationType,
    Status,
    Supervisor,
)
from tests.unit.sandbox.conftest import WriteFunction

ECHO = "def handler(event, context):\n    return {'event': event, 'context': context}\n"


def test_sync_payload_over_6_mb_is_refused_before_running(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    code = write_function(ECHO)
    before = supervisor.metrics.snapshot().invocations
    with pytest.raises(InvalidSandboxRequest) as caught:
        supervisor.invoke(code, "x" * 6_000_000)  # 6,000,002 bytes of JSON
    assert caught.value.code == "RequestEntityTooLargeException"
    assert "6000002 bytes; the sync payload limit is 6000000 bytes" in caught.value.message
    assert supervisor.metrics.snapshot().invocations == before  # nothing ran


def test_async_payload_cap_is_1_mb(supervisor: Supervisor, write_function: WriteFunction) -> None:
    code = write_function("def handler(event, context):\n    return len(event)\n")
    with pytest.raises(InvalidSandboxRequest, match="async payload limit is 1000000 bytes"):
        supervisor.invoke(code, "x" * 1_000_000, invocation_type=InvocationType.ASYNC)
    assert supervisor.invoke(code, "x" * 999_000, invocation_type=InvocationType.ASYNC).result == (
        999_000
    )


def test_a_large_sync_payload_arrives_whole(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    code = write_function("def handler(event, context):\n    return len(event)\n")
    assert supervisor.invoke(code, "y" * 5_900_000).result == 5_900_000


def test_event_that_is_not_json_is_refused(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    with pytest.raises(InvalidSandboxRequest, match="the event is not JSON"):
        supervisor.invoke(write_function(ECHO), {"x": object()})


def test_context_carries_credentials_through_the_pipe_only(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    credentials = {"access_key_id": "AKIDEXAMPLE", "session_token": "token-for-this-call"}
    outcome = supervisor.invoke(
        write_function(ECHO), {"a": 1}, context={"credentials": credentials}
    )
    assert outcome.result["event"] == {"a": 1}
    assert outcome.result["context"]["credentials"] == credentials
    assert outcome.result["context"]["timeout_seconds"] == 30.0
    assert outcome.result["context"]["allowed_endpoints"] == []


def test_a_package_directory_is_a_function(supervisor: Supervisor, tmp_path: Path) -> None:
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("from .logic import double as handler\n")
    (package / "logic.py").write_text("def double(event, context):\n    return event * 2\n")
    assert supervisor.invoke(FunctionCode(path=package), 21).result == 42


def test_an_exception_is_an_error_with_its_type_message_and_traceback(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    code = write_function("def handler(event, context):\n    raise KeyError('missing')\n")
    outcome = supervisor.invoke(code, {})
    assert outcome.status is Status.ERROR
    assert outcome.error is not None
    assert outcome.error["type"] == "KeyError"
    assert outcome.error["message"] == "'missing'"
    assert any("raise KeyError" in line for line in outcome.error["traceback"])


def test_exiting_without_a_result_is_an_error(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    code = write_function("import os\ndef handler(event, context):\n    os._exit(3)\n")
    outcome = supervisor.invoke(code, {})
    assert outcome.status is Status.ERROR
    assert outcome.error == {
        "type": "NoResult",
        "message": "the function's process exited (code 3) without a result",
    }


def test_a_missing_handler_is_an_error(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    outcome = supervisor.invoke(write_function("x = 1\n"), {})
    assert outcome.status is Status.ERROR
    assert outcome.error is not None and outcome.error["type"] == "AttributeError"


@pytest.mark.parametrize("name", ["missing.py", "notes.txt"])
def test_function_code_must_be_a_py_file_or_a_package(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name.endswith(".txt"):
        path.write_text("x")
    with pytest.raises(InvalidSandboxRequest, match=r"must be a \.py file or a package directory"):
        FunctionCode(path=path)


def test_outcome_json_has_exactly_the_five_keys(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    document = supervisor.invoke(write_function(ECHO), {}).to_json()
    assert list(document) == ["status", "result", "error", "logs", "duration_ms"]


def test_groups_left_by_a_dead_supervisor_are_removed_at_start(layer_report) -> None:
    from lakevault.sandbox import SupervisorSettings
    from lakevault.sandbox._cgroups import detect
    from tests.unit.sandbox.conftest import require_layers

    require_layers(layer_report)
    dead_pid = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1  # no process has it
    stale = [
        h.own_directory / f"lakevault-sandbox-{dead_pid}-1" / "slot-0"
        for h in detect().hierarchies.values()
    ]
    for directory in stale:
        directory.mkdir(parents=True, exist_ok=True)
    running = Supervisor(SupervisorSettings(zygotes=1))
    running.start(layer_report)
    running.close()
    assert [d.parent for d in stale if d.parent.exists()] == []


def test_the_standard_library_works_inside(
    supervisor: Supervisor, write_function: WriteFunction
) -> None:
    code = write_function(
        """
        def handler(event, context):
            import sqlite3, xml.dom.minidom, decimal, zlib, hashlib, csv, io, datetime
            database = sqlite3.connect(":memory:")
            database.execute("create table t (x)")
            database.execute("insert into t values (?)", (event["x"],))
            (value,) = database.execute("select x * 2 from t").fetchone()
            document = xml.dom.minidom.parseString("<a><b>hi</b></a>")
            return {
                "sqlite": value,
                "xml": document.getElementsByTagName("b")[0].firstChild.data,
                "decimal": str(decimal.Decimal("1.10") + decimal.Decimal("2.20")),
                "zlib": len(zlib.compress(b"x" * 1000)) < 100,
                "sha256": hashlib.sha256(b"abc").hexdigest()[:8],
            }
        """
    )
    outcome = supervisor.invoke(code, {"x": 21})
    assert outcome.status is Status.OK, outcome.error
    assert outcome.result == {
        "sqlite": 42,
        "xml": "hi",
        "decimal": "3.30",
        "zlib": True,
        "sha256": "ba7816bf",
    }
