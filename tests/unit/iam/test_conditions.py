"""Condition operators (README rules R5 to R8, R10, R15): one test per tricky rule."""

from __future__ import annotations

import pytest

from .helpers import condition_holds


def test_missing_key_makes_a_positive_operator_false() -> None:
    assert not condition_holds("StringEquals", "x", {})


def test_missing_key_makes_a_negated_operator_true() -> None:
    assert condition_holds("StringNotEquals", "x", {})
    assert condition_holds("NotIpAddress", "10.0.0.0/8", {})
    assert condition_holds("ArnNotLike", "arn:aws:s3:::b", {})


def test_if_exists_is_true_on_a_missing_key_and_tests_a_present_one() -> None:
    assert condition_holds("StringEqualsIfExists", "x", {})
    assert not condition_holds("StringEqualsIfExists", "x", {"test:key": "y"})


def test_negated_operator_on_an_invalid_request_value_is_false() -> None:
    assert not condition_holds("NotIpAddress", "10.0.0.0/8", {"test:key": "not-an-ip"})
    assert not condition_holds("NumericNotEquals", "5", {"test:key": "five"})
    assert not condition_holds("DateNotEquals", "2024-01-01", {"test:key": "soon"})


def test_negated_operator_on_an_invalid_policy_value_is_false() -> None:
    assert not condition_holds("NumericNotEquals", ["a", "b"], {"test:key": "10"})
    assert not condition_holds("ArnNotLike", "arn:::bucket", {"test:key": "arn:aws:s3:::b"})


def test_negated_operator_with_an_unresolved_variable_is_false() -> None:
    assert not condition_holds("StringNotEquals", "${aws:username}", {"test:key": "x"})


def test_negated_operator_over_several_values_is_nor() -> None:
    assert condition_holds("StringNotEquals", ["a", "b"], {"test:key": "c"})
    assert not condition_holds("StringNotEquals", ["a", "b"], {"test:key": "b"})


def test_values_of_one_key_or_together() -> None:
    assert condition_holds("StringEquals", ["a", "b"], {"test:key": "b"})


def test_for_all_values_is_true_on_a_missing_or_empty_set() -> None:
    assert condition_holds("ForAllValues:StringEquals", ["a"], {})
    assert condition_holds("ForAllValues:StringEquals", ["a"], {"test:key": []})


def test_for_all_values_needs_every_request_value_to_match() -> None:
    assert condition_holds("ForAllValues:StringEquals", ["a", "b"], {"test:key": ["a", "b"]})
    assert not condition_holds("ForAllValues:StringEquals", ["a"], {"test:key": ["a", "c"]})


def test_for_any_value_is_false_on_a_missing_key() -> None:
    assert not condition_holds("ForAnyValue:StringEquals", ["a"], {})
    assert condition_holds("ForAnyValue:StringEquals", ["a"], {"test:key": ["c", "a"]})


def test_for_all_values_with_a_negated_operator_means_none_of_them() -> None:
    assert condition_holds("ForAllValues:StringNotEquals", ["a"], {"test:key": ["b", "c"]})
    assert not condition_holds("ForAllValues:StringNotEquals", ["a"], {"test:key": ["b", "a"]})


def test_null_true_means_the_key_is_absent() -> None:
    assert condition_holds("Null", "true", {})
    assert not condition_holds("Null", "true", {"test:key": "x"})
    assert condition_holds("Null", "false", {"test:key": "x"})


def test_condition_key_names_ignore_case() -> None:
    assert condition_holds(
        "StringEquals", "red", {"AWS:PrincipalTag/Team": "red"}, key="aws:principaltag/team"
    )


def test_condition_values_are_case_sensitive_except_ignore_case_operators() -> None:
    assert not condition_holds("StringEquals", "Red", {"test:key": "red"})
    assert condition_holds("StringEqualsIgnoreCase", "Red", {"test:key": "red"})


def test_bool_compares_true_and_false_ignoring_case() -> None:
    assert condition_holds("Bool", "true", {"test:key": True})
    assert condition_holds("Bool", "TRUE", {"test:key": "true"})
    assert not condition_holds("Bool", "true", {"test:key": "yes"})


def test_ipv4_key_never_matches_an_ipv6_network() -> None:
    assert not condition_holds("IpAddress", "::/0", {"test:key": "10.0.0.1"})
    assert condition_holds("NotIpAddress", "::/0", {"test:key": "10.0.0.1"})


def test_bare_ip_address_means_a_single_host() -> None:
    assert condition_holds("IpAddress", "10.0.0.1", {"test:key": "10.0.0.1"})
    assert not condition_holds("IpAddress", "10.0.0.1", {"test:key": "10.0.0.2"})


def test_numbers_compare_as_numbers() -> None:
    assert condition_holds("NumericEquals", "10", {"test:key": "10.0"})
    assert condition_holds("NumericLessThan", "10", {"test:key": 9})


@pytest.mark.parametrize("when", ["2030-01-01T00:00:00Z", "1893456000", "2030-01-01"])
def test_dates_accept_iso_8601_and_epoch_seconds(when: str) -> None:
    assert condition_holds("DateLessThan", when, {"test:key": "2026-11-29T08:00:00Z"})
    assert not condition_holds("DateGreaterThan", when, {"test:key": "2026-11-29T08:00:00Z"})


def test_string_like_wildcards_match_any_run_including_slashes() -> None:
    assert condition_holds("StringLike", "home/*", {"test:key": "home/alice/docs"})
    assert not condition_holds("StringLike", "home/?", {"test:key": "home/ab"})


def test_arn_like_is_case_sensitive_in_the_resource_part() -> None:
    assert not condition_holds(
        "ArnLike", "arn:aws:s3:::Bucket", {"test:key": "arn:aws:s3:::bucket"}
    )


def test_binary_equals_compares_base64_text() -> None:
    assert condition_holds("BinaryEquals", "QUJD", {"test:key": "QUJD"})
    assert not condition_holds("BinaryEquals", "QUJD", {"test:key": "QUJE"})


def test_multi_valued_key_without_set_operator_matches_any_value() -> None:
    assert condition_holds("StringEquals", "b", {"test:key": ["a", "b"]})
    assert not condition_holds("StringNotEquals", "b", {"test:key": ["a", "b"]})
