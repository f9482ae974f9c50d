"""transparency-dev/merkle proof vectors and the RFC 6962 reference tree, read in place.

One parametrized case per vector file: valid proofs verify, invalid ones raise ``InvalidProof``.
The data stays in ``../shared/conformance/merkle`` (never copied into the repository).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from lakevault.audit import (
    InvalidProof,
    TreeBuilder,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from tests.conftest import CONFORMANCE_DIR, conformance_path

MERKLE_DIR = CONFORMANCE_DIR / "merkle"


def _vectors(kind: str) -> list[Path]:
    folder = MERKLE_DIR / kind
    return sorted(folder.rglob("*.json")) if folder.is_dir() else []


def _id(path: Path) -> str:
    return str(path.relative_to(MERKLE_DIR))


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _load(path: Path) -> dict[str, Any]:
    conformance_path("merkle")
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def test_vector_folders_are_complete() -> None:
    conformance_path("merkle")
    assert len(_vectors("inclusion")) == 98
    assert len(_vectors("consistency")) == 98


@pytest.mark.parametrize(
    "path", _vectors("inclusion") or [None], ids=lambda p: _id(p) if p else "absent"
)
def test_inclusion_vector(path: Path | None) -> None:
    if path is None:
        conformance_path("merkle", "inclusion")
        pytest.fail("the inclusion folder exists but holds no vectors")
    case = _load(path)

    def verify() -> None:
        verify_inclusion(
            leaf=_b64(case["leafHash"]),
            index=case["leafIdx"],
            tree_size=case["treeSize"],
            proof=[_b64(p) for p in case["proof"] or []],
            root=_b64(case["root"]),
        )

    if case["wantErr"]:
        with pytest.raises(InvalidProof):
            verify()
    else:
        verify()


@pytest.mark.parametrize(
    "path", _vectors("consistency") or [None], ids=lambda p: _id(p) if p else "absent"
)
def test_consistency_vector(path: Path | None) -> None:
    if path is None:
        conformance_path("merkle", "consistency")
        pytest.fail("the consistency folder exists but holds no vectors")
    case = _load(path)

    def verify() -> None:
        verify_consistency(
            old_size=case["size1"],
            new_size=case["size2"],
            proof=[_b64(p) for p in case["proof"] or []],
            old_root=_b64(case["root1"]),
            new_root=_b64(case["root2"]),
        )

    if case["wantErr"]:
        with pytest.raises(InvalidProof):
            verify()
    else:
        verify()


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    path = conformance_path("merkle", "reference_tree.json")
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def test_reference_tree_roots(reference: dict[str, Any]) -> None:
    leaves = [bytes.fromhex(h) for h in reference["leaf_inputs_hex"]]
    hashes = [leaf_hash(data) for data in leaves]
    assert [h.hex() for h in hashes] == reference["leaf_hashes_hex"]
    builder = TreeBuilder()
    for size, expected in enumerate(reference["root_hashes_hex"]):
        assert root_hash(hashes[:size]).hex() == expected
        assert builder.root().hex() == expected
        if size < len(hashes):
            builder.append(hashes[size])
    assert root_hash([]).hex() == reference["empty_root_hash_hex"]


def test_reference_compact_ranges(reference: dict[str, Any]) -> None:
    hashes = [bytes.fromhex(h) for h in reference["leaf_hashes_hex"]]
    for size_text, nodes in _compact_trees(reference).items():
        builder = TreeBuilder()
        builder.extend(hashes[: int(size_text)])
        assert [h.hex() for h in builder.frontier()] == [n["hash_hex"] for n in nodes]


def _compact_trees(reference: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    trees = reference["compact_trees"]
    if isinstance(trees, list):
        return {str(size): nodes for size, nodes in enumerate(trees)}
    return dict(trees)


def test_happy_path_proofs_are_regenerated_exactly(reference: dict[str, Any]) -> None:
    """Our proof generator produces the very proofs of the valid vectors."""
    hashes = [bytes.fromhex(h) for h in reference["leaf_hashes_hex"]]
    for path in _vectors("inclusion"):
        case = _load(path)
        if case["wantErr"] or case["treeSize"] > len(hashes):
            continue
        expected = tuple(_b64(p) for p in case["proof"] or [])
        assert inclusion_proof(hashes[: case["treeSize"]], case["leafIdx"]) == expected
    for path in _vectors("consistency"):
        case = _load(path)
        if case["wantErr"] or case["size2"] > len(hashes):
            continue
        expected = tuple(_b64(p) for p in case["proof"] or [])
        assert consistency_proof(hashes[: case["size2"]], case["size1"]) == expected
