"""Webhook delivery rules that need no platform: refused addresses and failing receivers."""

from __future__ import annotations

import hashlib
import hmac
import socket
from datetime import UTC, datetime

import pytest

from lakevault.core.errors import ServiceUnavailable
from lakevault.trail import sign_webhook
from lakevault.trail._delivery import post_webhook

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_signature_is_hmac_sha256_over_timestamp_and_body() -> None:
    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sign_webhook("k", "1700000000", b"{}") == "sha256=" + expected


@pytest.mark.parametrize("url", ["https://169.254.169.254/latest", "http://[ff02::1]:8080/x"])
def test_link_local_and_multicast_receivers_are_refused_at_delivery(url: str) -> None:
    with pytest.raises(ServiceUnavailable, match="link-local, multicast"):
        post_webhook(url, b"{}", secret="k", delivery_id="d", now=NOW, timeout_seconds=1.0)


def test_an_unreachable_receiver_fails_the_attempt_for_a_retry() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ServiceUnavailable, match="could not be reached"):
        post_webhook(
            f"http://127.0.0.1:{port}/x",
            b"{}",
            secret="k",
            delivery_id="d",
            now=NOW,
            timeout_seconds=1.0,
        )
