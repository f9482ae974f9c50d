"""RFC 9162 Merkle math: invariants with hypothesis, one named test per rule."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lakevault.audit import (
    EMPTY_ROOT,
    InvalidProof,
    TreeBuilder,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)


def leaves(count: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(count)]


def reference_root(hashes: list[bytes]) -> bytes:
    """RFC 9162 MTH written straight from the definition (split at the largest power of 2)."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    split = 1
    while split * 2 < len(hashes):
        split *= 2
    return node_hash(reference_root(hashes[:split]), reference_root(hashes[split:]))


def test_hashes_have_the_rfc_domain_separation() -> None:
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert (
        node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT


@given(st.integers(min_value=0, max_value=300))
def test_root_and_builder_agree_with_the_definition(size: int) -> None:
    hashes = leaves(size)
    builder = TreeBuilder()
    builder.extend(hashes)
    assert root_hash(hashes) == builder.root() == reference_root(hashes)
    resumed = TreeBuilder(size=size, frontier=builder.frontier())
    resumed.append(leaf_hash(b"next"))
    assert resumed.root() == reference_root([*hashes, leaf_hash(b"next")])


@given(st.data())
def test_every_inclusion_proof_verifies(data: st.DataObject) -> None:
    size = data.draw(st.integers(min_value=1, max_value=200))
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    hashes = leaves(size)
    proof = inclusion_proof(hashes, index)
    verify_inclusion(
        leaf=hashes[index], index=index, tree_size=size, proof=proof, root=root_hash(hashes)
    )


@given(st.data())
def test_every_consistency_proof_verifies(data: st.DataObject) -> None:
    new_size = data.draw(st.integers(min_value=1, max_value=200))
    old_size = data.draw(st.integers(min_value=1, max_value=new_size))
    hashes = leaves(new_size)
    proof = consistency_proof(hashes, old_size)
    verify_consistency(
        old_size=old_size,
        new_size=new_size,
        proof=proof,
        old_root=root_hash(hashes[:old_size]),
        new_root=root_hash(hashes),
    )


@given(st.data())
def test_an_inclusion_proof_for_another_leaf_fails(data: st.DataObject) -> None:
    size = data.draw(st.integers(min_value=2, max_value=100))
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    other = data.draw(st.integers(min_value=0, max_value=size - 1).filter(lambda i: i != index))
    hashes = leaves(size)
    with pytest.raises(InvalidProof):
        verify_inclusion(
            leaf=hashes[other],
            index=index,
            tree_size=size,
            proof=inclusion_proof(hashes, index),
            root=root_hash(hashes),
        )


def test_a_rewritten_history_fails_consistency() -> None:
    hashes = leaves(10)
    rewritten = [*hashes[:3], leaf_hash(b"forged"), *hashes[4:]]
    with pytest.raises(InvalidProof, match="old root"):
        verify_consistency(
            old_size=6,
            new_size=10,
            proof=consistency_proof(rewritten, 6),
            old_root=root_hash(hashes[:6]),
            new_root=root_hash(rewritten),
        )


def test_consistency_from_the_empty_tree_is_refused() -> None:
    with pytest.raises(InvalidProof, match="empty tree is meaningless"):
        verify_consistency(
            old_size=0, new_size=0, proof=[], old_root=EMPTY_ROOT, new_root=EMPTY_ROOT
        )
    with pytest.raises(InvalidProof, match="0 < old size"):
        consistency_proof(leaves(3), 0)


def test_hashes_that_are_not_32_bytes_are_refused() -> None:
    with pytest.raises(InvalidProof, match="32 bytes"):
        verify_inclusion(leaf=b"", index=0, tree_size=1, proof=[], root=b"")


def test_a_proof_of_the_wrong_length_is_refused() -> None:
    hashes = leaves(8)
    proof = inclusion_proof(hashes, 5)
    with pytest.raises(InvalidProof, match="has 3 hashes, got 4"):
        verify_inclusion(
            leaf=hashes[5], index=5, tree_size=8, proof=[*proof, proof[0]], root=root_hash(hashes)
        )


def test_an_index_outside_the_tree_is_refused() -> None:
    with pytest.raises(InvalidProof, match="outside a tree of size 3"):
        inclusion_proof(leaves(3), 3)


def test_a_compact_range_must_match_its_size() -> None:
    with pytest.raises(InvalidProof, match="has 2 hashes, got 1"):
        TreeBuilder(size=3, frontier=[leaf_hash(b"a")])
