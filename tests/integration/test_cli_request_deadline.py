"""A bucket's maximum request duration against a real server (docs/decisions/0185): set with
``lakevault bucket-limits set --max-request-duration``; a slow client's upload is refused with
``RequestTimeout`` and stores nothing, a slow download is cut."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.integration.conftest import TenantShell

PIECE = 64 * 1024


def _trickle(pieces: int, pause: float) -> Iterator[bytes]:
    for _ in range(pieces):
        time.sleep(pause)
        yield b"t" * PIECE


def _url(shell: TenantShell, method: str, key: str) -> str:
    code, out, err = shell.cli("presign", method, f"s3://timed-data/{key}", "--expires", "1h")
    assert code == 0, err
    return out.strip()


def test_a_slow_client_is_cut_by_the_buckets_maximum_request_duration(
    tenant_shell: Callable[[str], TenantShell],
) -> None:
    shell = tenant_shell("timed")
    cli = shell.cli
    assert cli("mb", "lv://timed-data")[0] == 0
    with httpx.Client(timeout=60) as client:
        big = bytes(range(256)) * 4096 * 32  # 32 MiB, before the limit is set
        assert client.put(_url(shell, "put", "big"), content=big).status_code == 200

        code, out, err = cli(
            "bucket-limits", "set", "s3://timed-data", "--max-request-duration", "2s"
        )
        assert code == 0, err
        assert "max request duration 2 s" in out
        code, out, err = cli("bucket-limits", "get", "s3://timed-data")
        assert code == 0 and "max request duration 2 s" in out

        slow_url = _url(shell, "put", "slow")
        # httpx sends the whole body before it reads the answer; the server refused it at 2 s.
        slow = client.put(slow_url, content=_trickle(40, 0.1))
        assert slow.status_code == 400, slow.text
        assert slow.json()["error"]["code"] == "RequestTimeout"
        assert client.head(_url(shell, "get", "slow")).status_code == 404
        fast = client.put(_url(shell, "put", "fast"), content=b"f" * 100_000)
        assert fast.status_code == 200

        received = 0
        with (
            pytest.raises(httpx.HTTPError),  # the server stops mid-stream
            client.stream("GET", _url(shell, "get", "big")) as response,
        ):
            assert response.status_code == 200
            for piece in response.iter_bytes(PIECE):
                received += len(piece)
                time.sleep(0.05)
        assert 0 < received < len(big)

        code, out, err = cli(
            "bucket-limits", "set", "s3://timed-data", "--max-request-duration", "none"
        )
        assert code == 0 and "max request duration none" in out, err
        code, _, err = cli(
            "bucket-limits", "set", "s3://timed-data", "--max-request-duration", "soon"
        )
        assert code == 1 and "duration" in err
