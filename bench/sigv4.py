"""Benchmark of SigV4 verification: ``python -m bench sigv4 [--calls N] [--rounds R] [--json]``.

The request is a typical signed S3 ``GetObject`` as botocore sends it (eight headers, a
``versionId`` query, ``x-amz-content-sha256``), plus the same GET against the JSON API (general
rules: path normalisation, double encoding) and as a pre-signed URL. Signing keys are warm in
the cache, as they are for every request of a credential after its first of the day; the
credential lookup is a dict read, so the figure is the SigV4 part of issue 4's "authenticate a
request ≤ 0.5 ms CPU" (the principal lookup is measured with the principal cache elsewhere).

Anchors, measured in the same run as CPU time (``time.process_time_ns``): botocore's own
``S3SigV4Auth`` signing the same request, when botocore is installed (it is a dev-only tool, not
a dependency), and the floor of the work itself: one SHA-256 of the canonical request and one
HMAC-SHA256 of the string to sign, with ``hashlib``/``hmac`` on the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

from lakevault.identity import (
    SignatureForm,
    SignedRequest,
    SigningCredential,
    SigV4Request,
    sign_request,
    verify_sigv4,
)

TARGET_VERIFY_US = 500.0
NOW = datetime(2026, 11, 29, 8, 0, 0, tzinfo=UTC)
KEY_ID = "AKIALAKEVAULTBENCH01"
SECRET = "bench-secret-access-key/0123456789+abcdefghijkl"
REGION = "eu-central-1"
HOST = "lakevault.example.com"
PATH = "/analytics-raw/reports/2026/11/sales%20summary.csv"
QUERY = "versionId=3HL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY"
SDK_HEADERS = (
    ("Host", HOST),
    ("User-Agent", "Boto3/1.35.0 md/Botocore#1.35.0 ua/2.0 os/linux#6.1 lang/python#3.11.7"),
    ("Accept-Encoding", "identity"),
    ("amz-sdk-invocation-id", "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e"),
    ("amz-sdk-request", "attempt=1; max=3"),
)


def _cpu_us_per_call(function: Callable[[], object], calls: int, rounds: int) -> float:
    """Best-of-rounds CPU microseconds per call (the machines are shared and noisy)."""
    samples = []
    for _ in range(rounds):
        start = time.process_time_ns()
        for _ in range(calls):
            function()
        samples.append((time.process_time_ns() - start) / 1000 / calls)
    return min(samples)


def _lookup(access_key_id: str) -> SigningCredential[str]:
    return CREDENTIALS[access_key_id]


CREDENTIALS = {
    KEY_ID: SigningCredential(
        access_key_id=KEY_ID, secret_access_key=SECRET, principal="arn:aws:iam::1:user/bench"
    )
}


def _signed(service: str, form: SignatureForm) -> SignedRequest:
    request = SigV4Request.from_target("GET", f"{PATH}?{QUERY}", SDK_HEADERS)
    return sign_request(
        request,
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
        region=REGION,
        service=service,
        now=NOW,
        form=form,
        unsigned_header_names=frozenset({"authorization", "user-agent", "amz-sdk-request"}),
    )


def _verifier(signed: SignedRequest, service: str) -> Callable[[], object]:
    request = signed.request

    def verify() -> object:
        return verify_sigv4(request, lookup=_lookup, now=NOW, region=REGION, service=service)

    verify()  # Warm the signing-key cache and fail early if the request does not verify.
    return verify


def _botocore_signer() -> Callable[[], object] | None:
    try:
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
    except ImportError:
        return None
    request = AWSRequest(
        method="GET", url=f"https://{HOST}{PATH}?{QUERY}", headers=dict(SDK_HEADERS[1:])
    )
    auth = S3SigV4Auth(Credentials(KEY_ID, SECRET), "s3", REGION)

    def sign() -> object:
        auth.add_auth(request)  # Replaces the previous round's signature headers.
        return request

    sign()
    return sign


def _crypto_floor() -> Callable[[], object]:
    """The irreducible work on the same bytes: hash the canonical request, HMAC the result."""
    parts = _signed("s3", SignatureForm.HEADER).parts
    canonical_request = parts.canonical_request.encode()
    head = parts.string_to_sign.rsplit("\n", 1)[0]
    signing_key = hashlib.sha256(SECRET.encode()).digest()

    def floor() -> object:
        digest = hashlib.sha256(canonical_request).hexdigest()
        return hmac.new(signing_key, f"{head}\n{digest}".encode(), hashlib.sha256).hexdigest()

    return floor


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench sigv4", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    options = parser.parse_args(argv)

    def measure(function: Callable[[], object]) -> float:
        return _cpu_us_per_call(function, options.calls, options.rounds)

    s3_header_us = measure(_verifier(_signed("s3", SignatureForm.HEADER), "s3"))
    api_header_us = measure(_verifier(_signed("lakevault", SignatureForm.HEADER), "lakevault"))
    s3_query_us = measure(_verifier(_signed("s3", SignatureForm.QUERY), "s3"))
    sign_us = measure(lambda: _signed("s3", SignatureForm.HEADER))
    floor_us = measure(_crypto_floor())
    botocore_sign = _botocore_signer()
    botocore_us = None if botocore_sign is None else measure(botocore_sign)

    rows: list[tuple[str, float | None, str, bool | None]] = [
        (
            "verify S3 GET, header form (us CPU)",
            s3_header_us,
            f"<= {TARGET_VERIFY_US:g}",
            s3_header_us <= TARGET_VERIFY_US,
        ),
        (
            "verify API GET, header form (us CPU)",
            api_header_us,
            f"<= {TARGET_VERIFY_US:g}",
            api_header_us <= TARGET_VERIFY_US,
        ),
        (
            "verify S3 GET, pre-signed (us CPU)",
            s3_query_us,
            f"<= {TARGET_VERIFY_US:g}",
            s3_query_us <= TARGET_VERIFY_US,
        ),
        ("sign S3 GET, lakevault signer (us CPU)", sign_us, "-", None),
        ("anchor: botocore S3SigV4Auth sign (us CPU)", botocore_us, "-", None),
        ("anchor: sha256 + hmac floor (us CPU)", floor_us, "-", None),
    ]
    print(f"{options.calls} calls per round, best of {options.rounds} rounds; warm signing keys")
    print(f"{'measure':44} {'value':>10}  {'target':>8}  result")
    for name, value, target, is_pass in rows:
        verdict = "" if is_pass is None else ("PASS" if is_pass else "FAIL")
        shown = "n/a (botocore not installed)" if value is None else f"{value:10.2f}"
        print(f"{name:44} {shown:>10}  {target:>8}  {verdict}")
    if botocore_us is not None:
        print(f"verify / botocore sign: {s3_header_us / botocore_us:.2f}x")
    if options.json:
        print(json.dumps({name: None if v is None else round(v, 3) for name, v, _, _ in rows}))
    return 1 if any(row[3] is False for row in rows) else 0
