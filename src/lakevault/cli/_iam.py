"""``lakevault iam simulate`` and ``lakevault iam lint``: the policy engine from the shell.

Both commands keep standard output machine-readable (JSON lines, or one finding per line) and
put problems with the input on standard error.

Exit codes:

====  ================================================================================
0     simulate: every case was decided; lint: the policy is valid and has no findings
1     simulate: at least one case printed ``"decision": "Error"``; lint: findings
2     the file cannot be read, or (lint) the policy is not a valid policy document
====  ================================================================================

``simulate`` is used by external conformance checks: its output format is stable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from lakevault import iam
from lakevault.core.errors import MalformedPolicyDocument

app = typer.Typer(
    help="The policy engine: simulate decision cases and lint policy documents.",
    no_args_is_help=True,
)

_KINDS = {kind.value: kind for kind in iam.PolicyKind}


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"cannot read {path}: {exc}", err=True)
        raise typer.Exit(2) from exc


def _line_result(
    number: int, line: str, *, explain: bool, evaluator: iam.Evaluator
) -> dict[str, Any]:
    try:
        case = json.loads(line)
    except ValueError as exc:
        return {"id": None, "decision": "Error", "message": f"line {number}: not JSON ({exc})"}
    if not isinstance(case, dict):
        return {"id": None, "decision": "Error", "message": f"line {number}: not a JSON object"}
    return iam.simulate_case(case, explain=explain, evaluator=evaluator).to_document()


@app.command("simulate")
def simulate(
    cases: Annotated[
        Path,
        typer.Option("--cases", help="JSON Lines file of decision cases (conformance format)."),
    ],
    explain: Annotated[
        bool, typer.Option("--explain", help="Add the explanation to each line.")
    ] = False,
) -> None:
    """Decide every case of FILE and print one JSON line per case: {"id", "decision"}.

    A case that cannot be expressed prints "decision": "Error" with a "message".
    """
    text = _read_text(cases)
    evaluator = iam.Evaluator()
    has_errors = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        result = _line_result(number, line, explain=explain, evaluator=evaluator)
        has_errors = has_errors or result["decision"] == "Error"
        typer.echo(json.dumps(result, sort_keys=False))
    if has_errors:
        raise typer.Exit(1)


@app.command("lint")
def lint(
    policy_file: Annotated[
        Path, typer.Argument(metavar="POLICY.json", help="The policy document.")
    ],
    kind: Annotated[
        str,
        typer.Option(help=f"Where the policy is attached: {', '.join(_KINDS)}."),
    ] = iam.PolicyKind.IDENTITY.value,
    tenant: Annotated[
        str, typer.Option(help="The 12-digit tenant id that owns the policy (for trust checks).")
    ] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print findings as JSON lines.")] = False,
) -> None:
    """Validate POLICY.json and report likely mistakes (exit 0: none, 1: findings, 2: invalid)."""
    if kind not in _KINDS:
        typer.echo(f"--kind must be one of {', '.join(_KINDS)}; got {kind!r}", err=True)
        raise typer.Exit(2)
    text = _read_text(policy_file)
    try:
        policy = iam.parse_policy(text, policy_id=str(policy_file), kind=_KINDS[kind])
    except MalformedPolicyDocument as exc:
        where = exc.json_path if isinstance(exc, iam.PolicyDocumentError) else "$"
        typer.echo(f"{policy_file}: {exc.code}: {exc.message} (at {where})", err=True)
        raise typer.Exit(2) from exc
    findings = iam.lint_policy(policy, tenant=tenant)
    for finding in findings:
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "code": finding.code.value,
                        "severity": finding.severity.value,
                        "statement": finding.statement_index,
                        "path": finding.json_path,
                        "message": finding.message,
                    }
                )
            )
        else:
            typer.echo(
                f"{policy_file}:{finding.json_path}: {finding.severity.value} "
                f"{finding.code.value}: {finding.message}"
            )
    if findings:
        raise typer.Exit(1)
