"""Policy variables (README rule R9): substitution, defaults, escapes, unresolved values."""

from __future__ import annotations

from lakevault import iam

from .helpers import condition_holds, decide, policy, statement


def test_variable_is_substituted_in_resources() -> None:
    allow = policy(statement(resource="arn:aws:s3:::data/${aws:username}/*"))
    context = {"aws:username": "alice"}
    assert decide(
        identity=[allow], resource_arn="arn:aws:s3:::data/alice/x", context=context
    ).is_allowed
    assert not decide(
        identity=[allow], resource_arn="arn:aws:s3:::data/bob/x", context=context
    ).is_allowed


def test_substituted_value_is_literal_not_a_wildcard() -> None:
    allow = policy(statement(resource="arn:aws:s3:::data/${aws:username}"))
    context = {"aws:username": "*"}
    assert not decide(
        identity=[allow], resource_arn="arn:aws:s3:::data/bob", context=context
    ).is_allowed
    assert decide(identity=[allow], resource_arn="arn:aws:s3:::data/*", context=context).is_allowed
    assert not condition_holds(
        "StringLike", "x${aws:username}", {"aws:username": "?", "test:key": "xy"}
    )


def test_unresolved_variable_makes_the_entry_not_match() -> None:
    allow = policy(
        statement(resource=["arn:aws:s3:::data/${aws:username}/*", "arn:aws:s3:::open/*"])
    )
    assert not decide(identity=[allow], resource_arn="arn:aws:s3:::data//x").is_allowed
    assert decide(identity=[allow], resource_arn="arn:aws:s3:::open/x").is_allowed


def test_default_value_is_used_for_a_missing_key() -> None:
    assert condition_holds("StringEquals", "${aws:PrincipalTag/team, 'none'}", {"test:key": "none"})
    assert condition_holds(
        "StringEquals",
        "${aws:PrincipalTag/team, 'none'}",
        {"test:key": "red", "aws:PrincipalTag/team": "red"},
    )


def test_escapes_stand_for_literal_characters() -> None:
    assert condition_holds("StringLike", "a${*}b", {"test:key": "a*b"})
    assert not condition_holds("StringLike", "a${*}b", {"test:key": "axb"})
    assert condition_holds("StringEquals", "${$}{x}", {"test:key": "${x}"})
    assert condition_holds("StringEquals", "what${?}", {"test:key": "what?"})


def test_variable_names_ignore_case() -> None:
    assert condition_holds(
        "StringEquals", "${AWS:UserName}", {"aws:username": "alice", "test:key": "alice"}
    )


def test_multi_valued_variable_cannot_be_resolved() -> None:
    assert not condition_holds(
        "StringEquals", "${aws:TagKeys}", {"aws:TagKeys": ["a", "b"], "test:key": "a"}
    )


def test_substitution_happens_once() -> None:
    context = {"aws:username": "${aws:userid}", "aws:userid": "AIDA", "test:key": "${aws:userid}"}
    assert condition_holds("StringEquals", "${aws:username}", context)


def test_version_2008_keeps_variables_as_text() -> None:
    assert condition_holds(
        "StringEquals",
        "${aws:username}",
        {"test:key": "${aws:username}", "aws:username": "x"},
        version="2008-10-17",
    )


def test_lenient_parse_of_a_version_less_document_has_no_variables() -> None:
    parsed = iam.parse_policy({"Statement": [statement()]}, strictness=iam.Strictness.LENIENT)
    assert not parsed.has_variables
