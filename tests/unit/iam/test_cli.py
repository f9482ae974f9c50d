"""``lakevault iam simulate`` and ``lakevault iam lint`` through Typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from lakevault.cli._iam import app

from .helpers import ACCOUNT, USER, document, statement

runner = CliRunner()


def write_cases(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_simulate_prints_one_json_line_per_case(tmp_path: Path) -> None:
    case = {
        "id": "one",
        "request": {
            "principal": USER,
            "action": "s3:GetObject",
            "resource": "arn:aws:s3:::b/k",
            "resource_account": ACCOUNT,
        },
        "policies": {"identity": [document(statement())]},
    }
    cases = write_cases(
        tmp_path / "cases.jsonl", json.dumps(case), "", json.dumps({**case, "id": "two"})
    )
    result = runner.invoke(app, ["simulate", "--cases", str(cases)])
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines == [{"id": "one", "decision": "Allowed"}, {"id": "two", "decision": "Allowed"}]


def test_simulate_explain_adds_the_explanation(tmp_path: Path) -> None:
    case = {
        "id": "x",
        "request": {"principal": USER, "action": "s3:GetObject", "resource": "*"},
        "policies": {},
    }
    result = runner.invoke(
        app,
        [
            "simulate",
            "--cases",
            str(write_cases(tmp_path / "c.jsonl", json.dumps(case))),
            "--explain",
        ],
    )
    [line] = [json.loads(text) for text in result.stdout.splitlines()]
    assert line["decision"] == "ImplicitlyDenied"
    assert "hints" in line["explanation"]


def test_simulate_reports_bad_lines_as_errors_and_exits_1(tmp_path: Path) -> None:
    cases = write_cases(tmp_path / "bad.jsonl", "{not json", "[1, 2]")
    result = runner.invoke(app, ["simulate", "--cases", str(cases)])
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["decision"] for line in lines] == ["Error", "Error"]
    assert lines[0]["message"].startswith("line 1: not JSON")


def test_simulate_unreadable_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "--cases", str(tmp_path / "missing.jsonl")])
    assert result.exit_code == 2


def test_lint_clean_policy_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(document(statement(resource="arn:aws:s3:::b/*"))), encoding="utf-8")
    result = runner.invoke(app, ["lint", str(path)])
    assert result.exit_code == 0
    assert result.stdout == ""


def test_lint_findings_exit_1_and_print_one_line_each(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(
        json.dumps(document(statement(action="s3:PutObject", resource="*"))), encoding="utf-8"
    )
    result = runner.invoke(app, ["lint", str(path), "--json"])
    assert result.exit_code == 1
    [finding] = [json.loads(line) for line in result.stdout.splitlines()]
    assert finding["code"] == "RESOURCE_STAR_WITH_WRITE"
    assert finding["path"] == "$.Statement[0].Resource"


def test_lint_invalid_policy_exits_2_with_aws_message(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"Version": "2012-10-17"}', encoding="utf-8")
    result = runner.invoke(app, ["lint", str(path)])
    assert result.exit_code == 2
    assert "MalformedPolicyDocument: Syntax errors in policy. (at $.Statement)" in result.stderr


def test_lint_unknown_kind_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(document(statement())), encoding="utf-8")
    assert runner.invoke(app, ["lint", str(path), "--kind", "bucket"]).exit_code == 2


def test_lint_trust_policy_with_tenant(tmp_path: Path) -> None:
    path = tmp_path / "trust.json"
    trust = document(
        statement(action="sts:AssumeRole", resource=None, Principal={"AWS": "210987654321"})
    )
    path.write_text(json.dumps(trust), encoding="utf-8")
    result = runner.invoke(app, ["lint", str(path), "--kind", "resource", "--tenant", ACCOUNT])
    assert result.exit_code == 1
    assert "MISSING_EXTERNAL_ID" in result.stdout
