"""The shared IAM conformance suites, read in place from ``../shared/conformance/iam``.

Never copy these files into the repository: the iam-simulate data is AGPL-3.0 (see the
README beside them). When the directory is absent every test here skips with a message.

Suites, one parametrized case per vector:

* ``cases_full_iamsim_strict.jsonl`` and ``moto_sts_external_id_cases.jsonl`` — decisions, run
  through :func:`lakevault.iam.simulate_case` (with and without an explanation);
* ``iam_simulate_operator_vectors.json`` — one condition operator each;
* ``moto_policy_validation.json`` — invalid documents raise ``MalformedPolicyDocument`` with
  AWS's exact message, valid ones parse and round-trip.

``NOT_APPLICABLE`` is the one list of AWS-only behaviour lakevault does not emulate; the case ids
come from ``aws_specific_cases.json``. Everything else must pass.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lakevault import iam
from tests.conftest import CONFORMANCE_DIR

IAM_DIR: Path = CONFORMANCE_DIR / "iam"
ABSENT = (
    f"IAM conformance data not found at {IAM_DIR}: clone with ../shared beside the repository "
    "or set LAKEVAULT_CONFORMANCE_DIR"
)

#: AWS-only behaviour, by category of ``aws_specific_cases.json``, with the reason it does not
#: apply to lakevault. The categories ``anonymous_requests_ignore_scps``,
#: ``service_principal_request`` and ``core_gap`` are general IAM semantics and must pass.
NOT_APPLICABLE: dict[str, str] = {
    "reserved_aws_managed_roles": (
        "AWS-reserved roles (role/aws-reserved/...) are created by AWS IAM Identity Center; "
        "lakevault has no such roles, so no action on them is special-cased"
    ),
    "aws_managed_policy_immutability": (
        "arn:aws:iam::aws:policy/* are AWS-managed policies; lakevault has no AWS-owned "
        "policies to protect"
    ),
    "request_resource_wildcard_simulator_feature": (
        "a simulator-only feature: a real request reaching the gate names one concrete resource, "
        "never a pattern"
    ),
    "kms_aws_managed_aliases": (
        "alias/aws/* are aliases AWS services own; lakevault's KMS has no service-owned aliases"
    ),
    "sts_getcalleridentity_always_allowed": (
        "lakevault's STS answers GetCallerIdentity without asking the gate; the engine does "
        "not special-case any action"
    ),
}


def _load_json(name: str) -> Any:
    path = IAM_DIR / name
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _load_lines(name: str) -> list[dict[str, Any]]:
    path = IAM_DIR / name
    if not path.exists():
        return []
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def _not_applicable() -> dict[str, str]:
    index = _load_json("aws_specific_cases.json") or {"categories": {}}
    reasons: dict[str, str] = {}
    for category, entry in index["categories"].items():
        if category in NOT_APPLICABLE:
            for case_id in entry["ids"]:
                reasons[case_id] = f"not applicable ({category}): {NOT_APPLICABLE[category]}"
    return reasons


def _absent_param() -> list[Any]:
    return [pytest.param(None, id="absent", marks=pytest.mark.skip(reason=ABSENT))]


def _decision_params() -> list[Any]:
    cases = _load_lines("cases_full_iamsim_strict.jsonl") + _load_lines(
        "moto_sts_external_id_cases.jsonl"
    )
    if not cases:
        return _absent_param()
    reasons = _not_applicable()
    return [
        pytest.param(
            case,
            id=case["id"],
            marks=[pytest.mark.skip(reason=reasons[case["id"]])] if case["id"] in reasons else [],
        )
        for case in cases
    ]


def _operator_params() -> list[Any]:
    vectors = _load_json("iam_simulate_operator_vectors.json")
    if vectors is None:
        return _absent_param()
    return [
        pytest.param(vector, id=f"{vector['operator']}: {vector['name']}") for vector in vectors
    ]


def _validation_params(group: str) -> list[Any]:
    corpus = _load_json("moto_policy_validation.json")
    if corpus is None:
        return _absent_param()
    return [
        pytest.param(entry, id=f"{group}[{index}]") for index, entry in enumerate(corpus[group])
    ]


@pytest.mark.parametrize("case", _decision_params())
def test_decision_case(case: dict[str, Any]) -> None:
    plain = iam.simulate_case(case)
    assert plain.message == ""
    assert plain.decision is not None
    assert plain.decision.value == case["expected"]
    explained = iam.simulate_case(case, explain=True)
    assert explained.decision is plain.decision


@pytest.mark.parametrize("vector", _operator_params())
def test_operator_vector(vector: dict[str, Any]) -> None:
    """The vector's operator as the only condition of an Allow-everything statement.

    The policy is built from the model types, not parsed: several vectors hold policy values
    that AWS's validator would refuse (``"a"`` as a date), and the point is the operator.
    """
    condition = iam.Condition(
        operator=iam.ConditionOperator(vector["operator"]),
        key="test:key",
        values=tuple(vector["policy_values"]),
    )
    policy = iam.Policy(
        policy_id="vector",
        statements=(
            iam.Statement(
                index=0,
                effect=iam.Effect.ALLOW,
                actions=("*",),
                resources=("*",),
                conditions=(condition,),
            ),
        ),
    )
    request = iam.EvaluationRequest(
        principal=iam.Principal.from_arn("arn:aws:iam::123456789012:user/test"),
        action="test:Action",
        resource="*",
        context={**vector["request_context"], "test:key": vector["test_value"]},
    )
    assert iam.evaluate(request, iam.PolicySet(identity=(policy,))).is_allowed is vector["expected"]


@pytest.mark.parametrize("entry", _validation_params("invalid"))
def test_invalid_document_raises_aws_message(entry: dict[str, Any]) -> None:
    document = entry["document"]
    text = document if isinstance(document, str) else json.dumps(document)
    with pytest.raises(iam.PolicyDocumentError) as caught:
        iam.parse_policy(text)
    assert caught.value.code == "MalformedPolicyDocument"
    assert caught.value.message == entry["error_message"]


@pytest.mark.parametrize("document", _validation_params("valid"))
def test_valid_document_parses_and_round_trips(document: dict[str, Any]) -> None:
    policy = iam.parse_policy(json.dumps(document), policy_id="valid")
    assert iam.parse_policy(policy.to_document(), policy_id="valid") == policy
