from __future__ import annotations

import pytest

from lakevault.core import errors

ALL_ERRORS = [getattr(errors, name) for name in errors.__all__]


@pytest.mark.parametrize("error", ALL_ERRORS, ids=lambda e: e.__name__)
def test_every_error_has_a_code_and_status_and_is_at_most_two_levels_deep(error: type) -> None:
    assert issubclass(error, errors.LakevaultError)
    assert error.code and error.code[0].isupper()
    assert 400 <= error.http_status <= 599
    depth = error.__mro__.index(errors.LakevaultError)
    assert depth <= 2


def test_codes_are_the_aws_ones_the_faces_map() -> None:
    assert errors.AccessDenied("x").code == "AccessDenied"
    assert errors.AccessDenied.http_status == 403
    assert errors.NoSuchEntity.http_status == 404
    assert errors.MalformedPolicyDocument.http_status == 400
    assert errors.Throttling.http_status == 429
    assert errors.SchemaMismatch("x").code == "SchemaMismatch"


def test_an_instance_may_narrow_the_code_without_changing_the_class_default() -> None:
    narrowed = errors.InvalidInput("too big", code="EntityTooLarge")
    assert narrowed.code == "EntityTooLarge"
    assert errors.InvalidInput("x").code == "InvalidInput"


def test_repr_names_code_and_message() -> None:
    assert repr(errors.NoSuchKey("no key k")) == "NoSuchKey(code='NoSuchKey', message='no key k')"
