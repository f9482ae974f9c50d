"""``lakevault sandbox ...`` starts without importing the rest of the platform (ADR 0175)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

#: Packages the sandbox commands must not pay for at start.
HEAVY = (
    "lakevault.api",
    "lakevault.storage",
    "lakevault.kms",
    "lakevault.db",
    "lakevault.audit",
    "lakevault.gate",
    "lakevault.runtime",
    "lakevault.cli._main",
    "fastapi",
    "sqlalchemy",
)

#: Runs the console entry point exactly as the ``lakevault`` script does, then reports which
#: modules the process had loaded, into the file named by argv[1].
WRAPPER = (
    "import atexit, json, sys\n"
    "out = sys.argv.pop(1)\n"
    "atexit.register(lambda: open(out, 'w').write(json.dumps(sorted(sys.modules))))\n"
    "from lakevault.cli import main\n"
    "main()\n"
)


def _loaded(tmp_path: Path, *arguments: str, stdin: str = "") -> tuple[int, str, set[str]]:
    report = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(report), *arguments],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout, set(json.loads(report.read_text()))


def _heavy(modules: set[str]) -> list[str]:
    prefixes = tuple(f"{name}." for name in HEAVY)
    return sorted(m for m in modules if m in HEAVY or m.startswith(prefixes))


@pytest.mark.parametrize(
    "arguments", [("sandbox", "--help"), ("sandbox", "run", "--help"), ("sandbox", "check")]
)
def test_sandbox_commands_import_no_other_face(tmp_path: Path, arguments: tuple[str, ...]) -> None:
    code, _, modules = _loaded(tmp_path, *arguments)
    assert code in (0, 3)  # check exits 3 where a layer is missing
    assert "lakevault.sandbox" in modules
    assert _heavy(modules) == []


def test_sandbox_run_imports_no_other_face(tmp_path: Path) -> None:
    function = tmp_path / "function.py"
    function.write_text("def handler(event, context):\n    return event\n")
    code, stdout, modules = _loaded(
        tmp_path, "sandbox", "run", str(function), "--timeout", "5s", stdin='{"n": 1}'
    )
    # Exit 3 (a layer missing) still went through the slim path; 0 printed the outcome.
    assert code in (0, 3)
    if code == 0:
        assert json.loads(stdout)["result"] == {"n": 1}
    assert "lakevault.sandbox._supervisor" in modules
    assert _heavy(modules) == []


def test_other_commands_still_get_the_full_tree(tmp_path: Path) -> None:
    """The control: the same probe sees the heavy faces when the full tree runs."""
    code, stdout, modules = _loaded(tmp_path, "--help")
    assert code == 0
    assert "sandbox" in stdout
    assert "lakevault.cli._main" in modules
    assert "lakevault.api" in modules


def test_slim_and_full_tree_print_the_same_help(tmp_path: Path) -> None:
    full = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from lakevault.cli._main import app; "
            "app(sys.argv[1:], prog_name='lakevault')",
            "sandbox",
            "run",
            "--help",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    code, slim, _ = _loaded(tmp_path, "sandbox", "run", "--help")
    assert code == full.returncode == 0
    assert slim == full.stdout
    assert "lakevault sandbox run" in slim
