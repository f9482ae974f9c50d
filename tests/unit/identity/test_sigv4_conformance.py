"""The aws-c-auth SigV4 suite, read in place from ``../shared/conformance/sigv4``.

One parametrized case per folder and form (header, query): the signer reproduces the expected
canonical request, string to sign, signature and signed request; the verifier accepts the
signed request at the case's timestamp and rejects it after each mutation the suite's README
lists. The suite is never copied into the repository (part of ``../shared`` is AGPL).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lakevault.core.errors import LakevaultError
from lakevault.identity import (
    HeadersNotSigned,
    IncompleteSignature,
    InvalidAccessKeyId,
    InvalidClientTokenId,
    RequestExpired,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
    SignatureForm,
    SigningCredential,
    SigningRules,
    SigV4Failure,
    SigV4Request,
    sign_request,
    verify_sigv4,
)
from tests.conftest import CONFORMANCE_DIR

SUITE = CONFORMANCE_DIR / "sigv4"
FORMS = (SignatureForm.HEADER, SignatureForm.QUERY)


def _case_names() -> list[str]:
    if not SUITE.is_dir():
        return []
    return sorted(p.name for p in SUITE.iterdir() if (p / "context.json").is_file())


CASE_NAMES = _case_names()


def parse_http_request(text: str) -> SigV4Request:
    """Parse the suite's ``request.txt`` format: request line, headers, blank line, body.

    The request target may contain spaces (``GET /example space/ HTTP/1.1``); a header line
    that starts with whitespace continues the previous header's value (obsolete line folding).
    """
    head, separator, body = text.partition("\n\n")
    lines = head.split("\n")
    method, _, rest = lines[0].partition(" ")
    target = rest.rsplit(" ", 1)[0]
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t" and headers:
            name, value = headers[-1]
            headers[-1] = (name, f"{value}\n{line}")
            continue
        name, _, value = line.partition(":")
        headers.append((name, value))
    return SigV4Request.from_target(
        method, target, headers, body.encode("utf-8") if separator else b""
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    name: str
    folder: Path
    context: dict[str, Any]

    @property
    def timestamp(self) -> datetime:
        return datetime.fromisoformat(self.context["timestamp"].replace("Z", "+00:00"))

    @property
    def rules(self) -> SigningRules:
        return SigningRules(
            normalize_path=self.context["normalize"],
            double_encode_path=True,
            is_payload_hash_in_header=False,
        )

    @property
    def secret(self) -> str:
        return str(self.context["credentials"]["secret_access_key"])

    @property
    def access_key_id(self) -> str:
        return str(self.context["credentials"]["access_key_id"])

    @property
    def session_token(self) -> str | None:
        token = self.context["credentials"].get("token")
        return None if token is None else str(token)

    @property
    def is_session_token_signed(self) -> bool:
        return not self.context.get("omit_session_token", False)

    def read(self, file_name: str) -> str:
        return (self.folder / file_name).read_text(encoding="utf-8")

    def request(self, file_name: str = "request.txt") -> SigV4Request:
        return parse_http_request(self.read(file_name))

    def credential(self, *, session_token: str | None = None) -> SigningCredential[str]:
        return SigningCredential(
            access_key_id=self.access_key_id,
            secret_access_key=self.secret,
            principal=f"principal-of-{self.access_key_id}",
            session_token=self.session_token if session_token is None else session_token,
        )

    def lookup(
        self, *, session_token: str | None = None
    ) -> Callable[[str], SigningCredential[str]]:
        def lookup(access_key_id: str) -> SigningCredential[str]:
            if access_key_id != self.access_key_id:
                raise InvalidAccessKeyId("the access key id does not exist")
            return self.credential(session_token=session_token)

        return lookup


def load_case(name: str) -> Case:
    if not SUITE.is_dir():
        pytest.skip(
            f"SigV4 conformance suite not found at {SUITE}: clone the project with ../shared "
            "beside it or set LAKEVAULT_CONFORMANCE_DIR"
        )
    folder = SUITE / name
    return Case(
        name=name, folder=folder, context=json.loads(folder.joinpath("context.json").read_text())
    )


def _verify(
    case: Case,
    request: SigV4Request,
    *,
    now: datetime | None = None,
    region: str | None = None,
    service: str | None = None,
    session_token: str | None = None,
) -> object:
    return verify_sigv4(
        request,
        lookup=case.lookup(session_token=session_token),
        now=case.timestamp if now is None else now,
        region=case.context["region"] if region is None else region,
        service=case.context["service"] if service is None else service,
        rules=case.rules,
    )


def _sign(case: Case, form: SignatureForm) -> Any:
    return sign_request(
        case.request(),
        access_key_id=case.access_key_id,
        secret_access_key=case.secret,
        session_token=case.session_token,
        region=case.context["region"],
        service=case.context["service"],
        now=case.timestamp,
        form=form,
        expires_seconds=case.context["expiration_in_seconds"],
        rules=case.rules,
        add_content_sha256_header=case.context["sign_body"],
        sign_session_token=case.is_session_token_signed,
    )


def test_the_suite_is_complete() -> None:
    if not SUITE.is_dir():
        pytest.skip(f"SigV4 conformance suite not found at {SUITE}")
    assert len(CASE_NAMES) == 38


# --- The signer reproduces every expected file. ----------------------------------------------


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.value)
@pytest.mark.parametrize("name", CASE_NAMES)
def test_signer_reproduces_the_expected_values(name: str, form: SignatureForm) -> None:
    case = load_case(name)
    signed = _sign(case, form)
    prefix = form.value
    assert signed.parts.canonical_request == case.read(f"{prefix}-canonical-request.txt")
    assert signed.parts.string_to_sign == case.read(f"{prefix}-string-to-sign.txt")
    assert signed.signature == case.read(f"{prefix}-signature.txt").strip()
    expected = case.request(f"{prefix}-signed-request.txt")
    assert signed.request.method == expected.method
    assert signed.request.raw_path == expected.raw_path
    assert signed.request.raw_query == expected.raw_query
    assert signed.request.headers == expected.headers
    assert signed.request.body == expected.body


# --- The verifier accepts each signed request, and refuses every mutation. -------------------

#: post-sts-header-after adds the session token after signing (``omit_session_token``); the
#: verifier refuses it on purpose: the token is then an unsigned x-amz-* header (header form)
#: or a query parameter the signature does not cover (query form). See ADR 0081.
UNSIGNED_TOKEN_CASES = [n for n in CASE_NAMES if load_case(n).context.get("omit_session_token")]
ACCEPTED_CASES = [n for n in CASE_NAMES if n not in UNSIGNED_TOKEN_CASES]


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.value)
@pytest.mark.parametrize("name", ACCEPTED_CASES)
def test_verifier_accepts_the_signed_request(name: str, form: SignatureForm) -> None:
    case = load_case(name)
    request = case.request(f"{form.value}-signed-request.txt")
    verified = verify_sigv4(
        request,
        lookup=case.lookup(),
        now=case.timestamp,
        region="us-east-1",
        service="service",
        rules=case.rules,
    )
    assert verified.principal == "principal-of-AKIDEXAMPLE"
    assert verified.access_key_id == "AKIDEXAMPLE"
    assert verified.form is form
    assert verified.signed_at == case.timestamp
    assert verified.is_temporary_credential is (case.session_token is not None)
    if form is SignatureForm.QUERY:
        assert verified.expires_at == case.timestamp + timedelta(seconds=3600)
    else:
        assert verified.expires_at is None


@pytest.mark.parametrize("name", UNSIGNED_TOKEN_CASES)
def test_verifier_refuses_a_session_token_added_after_signing(name: str) -> None:
    case = load_case(name)
    with pytest.raises(HeadersNotSigned) as header_form:
        _verify(case, case.request("header-signed-request.txt"))
    assert header_form.value.reason is SigV4Failure.HEADERS_NOT_SIGNED
    assert "x-amz-security-token" in header_form.value.message
    with pytest.raises(SignatureDoesNotMatch) as query_form:
        _verify(case, case.request("query-signed-request.txt"))
    assert query_form.value.reason is SigV4Failure.SIGNATURE_MISMATCH


def _with_header(request: SigV4Request, name: str, change: Callable[[str], str]) -> SigV4Request:
    headers = tuple(
        (header, change(value) if header.lower() == name else value)
        for header, value in request.headers
    )
    return replace(request, headers=headers)


def _with_query_parameter(request: SigV4Request, name: str, value: str) -> SigV4Request:
    """Replace the value of a query parameter (raw text) in place."""
    parts = []
    for part in request.raw_query.split("&"):
        key = part.partition("=")[0]
        parts.append(f"{key}={value}" if key == name else part)
    return replace(request, raw_query="&".join(parts))


def _signed_header_names(case: Case, form: SignatureForm) -> list[str]:
    canonical = case.read(f"{form.value}-canonical-request.txt").split("\n")
    return canonical[-2].split(";")


#: Credential-scope part → (replacement credential, the reason the verifier gives).
SCOPE_MUTATIONS = {
    "region": (
        "AKIDEXAMPLE/20150830/us-west-2/service/aws4_request",
        SigV4Failure.SCOPE_REGION_MISMATCH,
    ),
    "service": (
        "AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request",
        SigV4Failure.SCOPE_SERVICE_MISMATCH,
    ),
    "date": (
        "AKIDEXAMPLE/20150831/us-east-1/service/aws4_request",
        SigV4Failure.SCOPE_DATE_MISMATCH,
    ),
}


def _with_credential(request: SigV4Request, form: SignatureForm, credential: str) -> SigV4Request:
    if form is SignatureForm.QUERY:
        return _with_query_parameter(request, "X-Amz-Credential", credential.replace("/", "%2F"))
    return _with_header(
        request,
        "authorization",
        lambda value: value.replace(
            "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request", credential
        ),
    )


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.value)
@pytest.mark.parametrize("name", ACCEPTED_CASES)
class TestVerifierRefusesMutations:
    """Each README mutation of each accepted signed request, with the exact error."""

    def signed(self, name: str, form: SignatureForm) -> tuple[Case, SigV4Request]:
        case = load_case(name)
        return case, case.request(f"{form.value}-signed-request.txt")

    def test_method(self, name: str, form: SignatureForm) -> None:
        case, request = self.signed(name, form)
        mutated = replace(request, method="PUT" if request.method != "PUT" else "GET")
        with pytest.raises(SignatureDoesNotMatch) as caught:
            _verify(case, mutated)
        assert caught.value.reason is SigV4Failure.SIGNATURE_MISMATCH

    def test_path(self, name: str, form: SignatureForm) -> None:
        case, request = self.signed(name, form)
        with pytest.raises(SignatureDoesNotMatch) as caught:
            _verify(case, replace(request, raw_path=request.raw_path + "x"))
        assert caught.value.reason is SigV4Failure.SIGNATURE_MISMATCH

    def test_added_query_parameter(self, name: str, form: SignatureForm) -> None:
        case, request = self.signed(name, form)
        raw_query = f"{request.raw_query}&Mutated=1" if request.raw_query else "Mutated=1"
        with pytest.raises(SignatureDoesNotMatch) as caught:
            _verify(case, replace(request, raw_query=raw_query))
        assert caught.value.reason is SigV4Failure.SIGNATURE_MISMATCH

    def test_each_signed_header_value(self, name: str, form: SignatureForm) -> None:
        case, request = self.signed(name, form)
        for header in _signed_header_names(case, form):
            if header == "x-amz-date":
                # A different, well-formed time of the same day.
                mutated = _with_header(request, header, lambda _: "20150830T123601Z")
            else:
                mutated = _with_header(request, header, lambda value: value + "x")
            with pytest.raises(SignatureDoesNotMatch) as caught:
                _verify(case, mutated)
            assert caught.value.reason is SigV4Failure.SIGNATURE_MISMATCH, header

    @pytest.mark.parametrize("part", ["region", "service", "date"])
    def test_credential_scope(self, name: str, form: SignatureForm, part: str) -> None:
        case, request = self.signed(name, form)
        credential, reason = SCOPE_MUTATIONS[part]
        with pytest.raises(SignatureDoesNotMatch) as caught:
            _verify(case, _with_credential(request, form, credential))
        assert caught.value.reason is reason

    def test_scope_terminator(self, name: str, form: SignatureForm) -> None:
        case, request = self.signed(name, form)
        mutated = _with_credential(
            request, form, "AKIDEXAMPLE/20150830/us-east-1/service/aws4_requests"
        )
        with pytest.raises(IncompleteSignature) as caught:
            _verify(case, mutated)
        assert caught.value.reason is SigV4Failure.SCOPE_TERMINATOR

    def test_endpoint_of_another_region_or_service(self, name: str, form: SignatureForm) -> None:
        case, request = self.signed(name, form)
        with pytest.raises(SignatureDoesNotMatch) as region:
            _verify(case, request, region="eu-west-1")
        assert region.value.reason is SigV4Failure.SCOPE_REGION_MISMATCH
        with pytest.raises(SignatureDoesNotMatch) as service:
            _verify(case, request, service="sts")
        assert service.value.reason is SigV4Failure.SCOPE_SERVICE_MISMATCH

    def test_time_window(self, name: str, form: SignatureForm) -> None:
        case, request = self.signed(name, form)
        start = case.timestamp
        # Inside the window, at both edges.
        _verify(case, request, now=start - timedelta(seconds=900))
        last = start + timedelta(seconds=3600 if form is SignatureForm.QUERY else 900)
        _verify(case, request, now=last)
        with pytest.raises(RequestTimeTooSkewed) as early:
            _verify(case, request, now=start - timedelta(seconds=901))
        assert early.value.reason is SigV4Failure.TIME_TOO_SKEWED
        if form is SignatureForm.HEADER:
            with pytest.raises(RequestTimeTooSkewed) as late:
                _verify(case, request, now=last + timedelta(seconds=1))
            assert late.value.reason is SigV4Failure.TIME_TOO_SKEWED
        else:
            with pytest.raises(RequestExpired) as expired:
                _verify(case, request, now=last + timedelta(seconds=1))
            assert expired.value.reason is SigV4Failure.EXPIRED

    def test_wrong_session_token(self, name: str, form: SignatureForm) -> None:
        case, request = self.signed(name, form)
        with pytest.raises(InvalidClientTokenId) as caught:
            _verify(case, request, session_token="another-session-token")
        expected = (
            SigV4Failure.SESSION_TOKEN_MISMATCH
            if case.session_token is not None
            else SigV4Failure.SESSION_TOKEN_MISSING
        )
        assert caught.value.reason is expected

    def test_unknown_access_key_id(self, name: str, form: SignatureForm) -> None:
        case, request = self.signed(name, form)
        mutated = _with_credential(
            request, form, "AKIDUNKNOWN/20150830/us-east-1/service/aws4_request"
        )
        with pytest.raises(InvalidAccessKeyId) as caught:
            _verify(case, mutated)
        assert caught.value.reason is SigV4Failure.UNKNOWN_ACCESS_KEY

    def test_signature(self, name: str, form: SignatureForm) -> None:
        case, request = self.signed(name, form)
        signature = case.read(f"{form.value}-signature.txt").strip()
        flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
        if form is SignatureForm.QUERY:
            mutated = _with_query_parameter(request, "X-Amz-Signature", flipped)
        else:
            mutated = _with_header(
                request, "authorization", lambda value: value.replace(signature, flipped)
            )
        with pytest.raises(SignatureDoesNotMatch) as caught:
            _verify(case, mutated)
        assert caught.value.reason is SigV4Failure.SIGNATURE_MISMATCH
        assert signature not in caught.value.message
        assert flipped not in caught.value.message

    def test_no_error_message_carries_a_secret(self, name: str, form: SignatureForm) -> None:
        case, request = self.signed(name, form)
        secrets = [case.secret, *([case.session_token] if case.session_token else [])]
        for now in (case.timestamp + timedelta(days=8), case.timestamp):
            with pytest.raises(LakevaultError) as caught:
                _verify(case, request, now=now, session_token="wrong-token")
            for secret in secrets:
                assert secret not in caught.value.message
                assert secret not in repr(caught.value)


def _own_signed_headers(name: str) -> list[str]:
    """Signed headers of the unsigned request other than host (content-type, my-header1...)."""
    return sorted({h.lower() for h, _ in load_case(name).request().headers} - {"host"})


#: The accepted cases that a particular mutation applies to, so that no test is a no-op skip.
CASES_WITH_QUERY = [n for n in ACCEPTED_CASES if load_case(n).request().raw_query]
CASES_WITH_OWN_HEADERS = [n for n in ACCEPTED_CASES if _own_signed_headers(n)]
CASES_SIGNING_THE_BODY = [n for n in ACCEPTED_CASES if load_case(n).context["sign_body"]]


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.value)
@pytest.mark.parametrize("name", CASES_WITH_QUERY)
def test_verifier_refuses_a_changed_query_value(name: str, form: SignatureForm) -> None:
    case = load_case(name)
    request = case.request(f"{form.value}-signed-request.txt")
    key = case.request().raw_query.split("&")[0].partition("=")[0]
    with pytest.raises(SignatureDoesNotMatch) as caught:
        _verify(case, _with_query_parameter(request, key, "changed"))
    assert caught.value.reason is SigV4Failure.SIGNATURE_MISMATCH


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.value)
@pytest.mark.parametrize("name", CASES_WITH_OWN_HEADERS)
def test_verifier_refuses_a_removed_signed_header(name: str, form: SignatureForm) -> None:
    case = load_case(name)
    request = case.request(f"{form.value}-signed-request.txt")
    removed = _own_signed_headers(name)[0]
    headers = tuple(h for h in request.headers if h[0].lower() != removed)
    with pytest.raises(SignatureDoesNotMatch) as caught:
        _verify(case, replace(request, headers=headers))
    assert caught.value.reason is SigV4Failure.SIGNED_HEADER_ABSENT
    assert removed in caught.value.message


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.value)
@pytest.mark.parametrize("name", CASES_SIGNING_THE_BODY)
def test_verifier_refuses_a_changed_body(name: str, form: SignatureForm) -> None:
    case = load_case(name)
    request = case.request(f"{form.value}-signed-request.txt")
    with pytest.raises(SignatureDoesNotMatch) as caught:
        _verify(case, replace(request, body=(request.body or b"") + b"x"))
    assert caught.value.reason is SigV4Failure.SIGNATURE_MISMATCH
