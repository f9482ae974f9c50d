"""Invariants, checked by hypothesis: stable round trips, monotonic denies, a parser that only
ever fails with ``MalformedPolicyDocument``."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakevault import iam
from lakevault.core.errors import MalformedPolicyDocument

ACCOUNT = "123456789012"
ACTIONS = [
    "s3:GetObject",
    "s3:PutObject",
    "s3:Get*",
    "s3:*",
    "*",
    "kms:Decrypt",
    "kms:*",
    "s3:?etObject",
]
RESOURCES = [
    "*",
    "arn:aws:s3:::data/*",
    "arn:aws:s3:::data/${aws:username}/*",
    "arn:aws:s3:::data/alice/report.csv",
    "arn:aws:s3:::other/*",
    f"arn:aws:kms:us-east-1:{ACCOUNT}:key/*",
    "arn:aws:s3:::data/report-??.csv",
]
CONDITIONS = [
    {"StringEquals": {"aws:PrincipalTag/team": "red"}},
    {"StringNotEquals": {"aws:PrincipalTag/team": ["red", "blue"]}},
    {"Bool": {"aws:SecureTransport": "true"}},
    {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "::/0"]}},
    {"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}},
    {"ForAnyValue:StringLike": {"aws:TagKeys": "a*"}},
    {"StringLikeIfExists": {"s3:prefix": "home/${aws:username}/*"}},
    {"Null": {"aws:PrincipalTag/team": "true"}},
    {"NumericLessThan": {"s3:max-keys": "100"}},
    {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
]
REQUEST_RESOURCES = [
    "arn:aws:s3:::data/alice/report.csv",
    "arn:aws:s3:::data/report-07.csv",
    "arn:aws:s3:::other/x",
    f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1",
    "*",
]


def one_or_list(values: list[str]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(values), st.lists(st.sampled_from(values), min_size=1, max_size=3)
    )


@st.composite
def statements(draw: st.DrawFn, effect: str | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {"Effect": effect or draw(st.sampled_from(["Allow", "Deny"]))}
    document["NotAction" if draw(st.integers(0, 9)) == 0 else "Action"] = draw(one_or_list(ACTIONS))
    document["NotResource" if draw(st.integers(0, 9)) == 0 else "Resource"] = draw(
        one_or_list(RESOURCES)
    )
    if draw(st.booleans()):
        block: dict[str, Any] = {}
        for condition in draw(st.lists(st.sampled_from(CONDITIONS), max_size=2)):
            for operator, body in condition.items():
                block.setdefault(operator, {}).update(body)
        document["Condition"] = block
    if draw(st.booleans()):
        document["Sid"] = f"S{draw(st.integers(0, 10_000))}"
    return document


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    body = draw(st.lists(statements(), min_size=1, max_size=4))
    seen: set[str] = set()
    for statement in body:
        sid = statement.get("Sid")
        if sid is None:
            continue
        if sid in seen:
            del statement["Sid"]
        seen.add(sid)
    return {"Version": "2012-10-17", "Statement": body}


@st.composite
def requests(draw: st.DrawFn) -> iam.EvaluationRequest:
    context: dict[str, iam.ContextValue] = {}
    if draw(st.booleans()):
        context["aws:PrincipalTag/team"] = draw(st.sampled_from(["red", "blue", "green"]))
    if draw(st.booleans()):
        context["aws:SecureTransport"] = draw(st.booleans())
    if draw(st.booleans()):
        context["aws:SourceIp"] = draw(st.sampled_from(["10.1.2.3", "192.0.2.1", "2001:db8::1"]))
    if draw(st.booleans()):
        context["aws:TagKeys"] = draw(st.lists(st.sampled_from(["a", "b", "c"]), max_size=3))
    if draw(st.booleans()):
        context["aws:username"] = draw(st.sampled_from(["alice", "bob", "*"]))
    context["aws:CurrentTime"] = "2026-11-29T08:00:00Z"
    return iam.EvaluationRequest(
        principal=iam.Principal.from_arn(f"arn:aws:iam::{ACCOUNT}:user/alice"),
        action=draw(
            st.sampled_from(["s3:GetObject", "s3:PutObject", "kms:Decrypt", "S3:GETOBJECT"])
        ),
        resource=draw(st.sampled_from(REQUEST_RESOURCES)),
        resource_account=ACCOUNT,
        context=context,
    )


def parse_all(docs: list[dict[str, Any]]) -> tuple[iam.Policy, ...]:
    return tuple(iam.parse_policy(doc, policy_id=f"p{index}") for index, doc in enumerate(docs))


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(documents())
def test_parse_serialise_parse_is_stable(source: dict[str, Any]) -> None:
    first = iam.parse_policy(source, policy_id="p")
    second = iam.parse_policy(json.dumps(first.to_document()), policy_id="p")
    assert second == first
    assert second.to_document() == first.to_document()


@SETTINGS
@given(st.lists(documents(), min_size=1, max_size=3), statements(effect="Deny"), requests())
def test_adding_an_explicit_deny_never_turns_a_denial_into_an_allow(
    docs: list[dict[str, Any]], deny: dict[str, Any], request: iam.EvaluationRequest
) -> None:
    before = iam.evaluate(request, iam.PolicySet(identity=parse_all(docs)))
    with_deny = [*docs, {"Version": "2012-10-17", "Statement": [deny]}]
    after = iam.evaluate(request, iam.PolicySet(identity=parse_all(with_deny)))
    if not before.is_allowed:
        assert not after.is_allowed
    if before.decision is iam.DecisionKind.EXPLICITLY_DENIED:
        assert after.decision is iam.DecisionKind.EXPLICITLY_DENIED


@SETTINGS
@given(st.lists(documents(), min_size=1, max_size=3), documents(), st.data(), requests())
def test_removing_an_allow_never_turns_a_denial_into_an_allow(
    docs: list[dict[str, Any]],
    boundary: dict[str, Any],
    data: st.DataObject,
    request: iam.EvaluationRequest,
) -> None:
    boundary_policy = iam.parse_policy(boundary, kind=iam.PolicyKind.PERMISSION_BOUNDARY)
    before = iam.evaluate(
        request, iam.PolicySet(identity=parse_all(docs), permission_boundaries=(boundary_policy,))
    )
    allows = [
        (i, j)
        for i, doc in enumerate(docs)
        for j, s in enumerate(doc["Statement"])
        if s["Effect"] == "Allow"
    ]
    if not allows:
        return
    policy_index, statement_index = data.draw(st.sampled_from(allows))
    reduced = json.loads(json.dumps(docs))
    del reduced[policy_index]["Statement"][statement_index]
    identity = tuple(
        iam.parse_policy(doc, policy_id=f"p{index}", strictness=iam.Strictness.LENIENT)
        for index, doc in enumerate(reduced)
    )
    after = iam.evaluate(
        request, iam.PolicySet(identity=identity, permission_boundaries=(boundary_policy,))
    )
    if not before.is_allowed:
        assert not after.is_allowed


@SETTINGS
@given(st.lists(documents(), min_size=2, max_size=4), st.randoms(use_true_random=False), requests())
def test_decision_does_not_depend_on_policy_order(
    docs: list[dict[str, Any]], random: Any, request: iam.EvaluationRequest
) -> None:
    shuffled = list(docs)
    random.shuffle(shuffled)
    first = iam.evaluate(request, iam.PolicySet(identity=parse_all(docs)))
    second = iam.evaluate(request, iam.PolicySet(identity=parse_all(shuffled)))
    assert first.decision is second.decision


@SETTINGS
@given(st.lists(documents(), min_size=1, max_size=3), requests())
def test_explanation_never_changes_the_decision(
    docs: list[dict[str, Any]], request: iam.EvaluationRequest
) -> None:
    policies = iam.PolicySet(identity=parse_all(docs))
    assert (
        iam.evaluate(request, policies).decision
        is iam.evaluate(request, policies, explain=True).decision
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)
policy_keys = st.sampled_from(
    [
        "Version",
        "Statement",
        "Id",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Principal",
        "NotPrincipal",
        "Condition",
        "Sid",
        "AWS",
        "StringEquals",
        "ForAnyValue:StringLike",
    ]
)
policy_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from(
        [
            "2012-10-17",
            "2008-10-17",
            "Allow",
            "Deny",
            "*",
            "s3:GetObject",
            "arn:aws:s3:::b/*",
            "a:b",
            "",
        ]
    ),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(policy_keys, children, max_size=6)
    ),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(json_values, policy_like),
    st.sampled_from(list(iam.PolicyKind)),
    st.sampled_from(list(iam.Strictness)),
)
def test_parser_fuzz_raises_only_malformed_policy_document(
    value: Any, kind: iam.PolicyKind, strictness: iam.Strictness
) -> None:
    for document in (value, json.dumps(value)):
        with contextlib.suppress(MalformedPolicyDocument):
            iam.parse_policy(document, kind=kind, strictness=strictness)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_parser_fuzz_on_arbitrary_text(text: str) -> None:
    with contextlib.suppress(MalformedPolicyDocument):
        iam.parse_policy(text)
