"""The CLI's composite SHA-256 of a file is what the server reports for the same parts."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from lakevault.cli._storage_multipart import check_part_size, file_composite_sha256
from lakevault.core.errors import InvalidParameterValue
from lakevault.storage import multipart_etag


@pytest.mark.parametrize("size", [1, 5 * 1024 * 1024, 11 * 1024 * 1024 + 3])
def test_the_cli_composite_matches_the_servers(tmp_path: Path, size: int) -> None:
    part = 5 * 1024 * 1024
    data = os.urandom(size)
    path = tmp_path / "f"
    path.write_bytes(data)
    digests = [hashlib.sha256(data[i : i + part]).hexdigest() for i in range(0, size, part)]
    assert file_composite_sha256(path, part) == multipart_etag(digests)[1]


def test_part_sizes_under_five_mib_or_over_ten_thousand_parts_are_refused() -> None:
    with pytest.raises(InvalidParameterValue):
        check_part_size(1024 * 1024, 100)
    with pytest.raises(InvalidParameterValue):
        check_part_size(5 * 1024 * 1024, 5 * 1024 * 1024 * 10_001)
    check_part_size(5 * 1024 * 1024, 5 * 1024 * 1024 * 10_000)
