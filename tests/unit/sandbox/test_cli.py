"""``lakevault sandbox run``: the stable shape external checks rely on."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from lakevault.sandbox import LayerReport
from tests.unit.sandbox.conftest import require_layers

KEYS = ["status", "result", "error", "logs", "duration_ms"]


@pytest.fixture(autouse=True)
def _layers(layer_report: LayerReport) -> None:
    require_layers(layer_report)


def _run(function: Path, stdin: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lakevault", "sandbox", "run", str(function), *options],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _function(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "function.py"
    path.write_text(source)
    return path


def test_ok_prints_exactly_one_json_object(tmp_path: Path) -> None:
    code = "def handler(event, context):\n    print('log line')\n    return {'got': event}\n"
    done = _run(_function(tmp_path, code), '{"n": 1}', "--memory", "64M", "--timeout", "2s")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    document = json.loads(lines[0])
    assert list(document) == KEYS
    assert document["status"] == "ok"
    assert document["result"] == {"got": {"n": 1}}
    assert document["error"] is None
    assert document["logs"] == "log line\n"
    assert isinstance(document["duration_ms"], float) and document["duration_ms"] > 0


@pytest.mark.parametrize(
    ("source", "status", "error_type"),
    [
        (
            "def handler(event, context):\n    raise ValueError('bad input')\n",
            "error",
            "ValueError",
        ),
        ("def handler(event, context):\n    while True: pass\n", "timeout", "Timeout"),
        (
            "def handler(event, context):\n"
            "    x = []\n    while True: x.append(bytearray(1 << 23))\n",
            "killed",
            "Killed",
        ),
    ],
)
def test_whatever_the_function_does_the_exit_code_is_zero(
    tmp_path: Path, source: str, status: str, error_type: str
) -> None:
    done = _run(_function(tmp_path, source), "{}", "--memory", "32M", "--timeout", "1s")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["status"] == status
    assert document["error"]["type"] == error_type


def test_allowed_loopback_endpoint_is_still_refused(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.3)
    port = listener.getsockname()[1]
    source = (
        "import socket\n"
        "def handler(event, context):\n"
        "    try:\n"
        "        socket.create_connection(('127.0.0.1', event['port']))\n"
        "    except OSError as exc:\n"
        "        return str(exc)\n"
    )
    done = _run(
        _function(tmp_path, source),
        json.dumps({"port": port}),
        "--allow-endpoint",
        f"127.0.0.1:{port}",
    )
    assert done.returncode == 0, done.stderr
    assert "loopback" in json.loads(done.stdout)["result"]
    with pytest.raises(TimeoutError):
        listener.accept()
    listener.close()


@pytest.mark.parametrize(
    ("options", "stdin", "message"),
    [
        (["--timeout", "16m"], "{}", "timeout must be between 1s and 15m"),
        ([], json.dumps("x" * 6_000_001), "payload limit is 6000000 bytes"),
    ],
)
def test_bad_requests_fail_with_a_message_and_no_json(
    tmp_path: Path, options: list[str], stdin: str, message: str
) -> None:
    done = _run(_function(tmp_path, "def handler(e, c):\n    return 1\n"), stdin, *options)
    assert done.returncode == 1
    assert done.stdout == ""
    assert message in done.stderr
