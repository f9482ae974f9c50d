"""RFC 9162 Merkle-tree math: hashes, roots, inclusion and consistency proofs. Pure, no I/O.

The tree is Certificate Transparency's (RFC 9162 §2.1, the same as RFC 6962 §2.1) over SHA-256:

* leaf hash ``SHA-256(0x00 || data)``, interior node ``SHA-256(0x01 || left || right)``;
* the root of ``n`` leaves splits at ``k``, the largest power of two below ``n``;
* the empty tree's root is ``SHA-256("")``.

Proof generation works on a sequence of leaf hashes (the callers load them from the log);
verification follows the algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2 in the decomposed form
transparency-dev/merkle uses, plus the checks its vectors require beyond the RFC text: every hash
is exactly 32 bytes, indices lie inside the tree, and a proof has exactly the length that
``(index, size)`` or ``(size1, size2)`` implies.

Decision (docs/decisions/0062-empty-tree-consistency.md): a consistency proof *from* the empty
tree (``size1 == 0``) is refused, even ``0 -> 0``. Every tree extends the empty tree, so such a
proof proves nothing, and accepting it would let a verifier believe it checked something.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from lakevault.audit._errors import InvalidProof

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """The hash of one leaf: ``SHA-256(0x00 || data)``."""
    return _sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: ``SHA-256(0x01 || left || right)``."""
    return _sha256(NODE_PREFIX + left + right).digest()


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle tree hash (RFC 9162 MTH) of the given leaf hashes.

    Pairs neighbours level by level and lifts an odd last node unchanged, which yields the same
    tree as splitting at the largest power of two below ``n``.
    """
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    while len(level) > 1:
        paired = [
            _sha256(NODE_PREFIX + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


class TreeBuilder:
    """An append-only accumulator: the compact range of a tree, extended one leaf at a time.

    It keeps one hash per set bit of the size (the roots of the perfect subtrees that make up
    the tree, largest first), so a log can compute the root of a grown tree from the previous
    checkpoint's range and the new leaves alone. Mutable on purpose: it is a working buffer,
    not a domain value; :meth:`frontier` gives the immutable snapshot.
    """

    __slots__ = ("_frontier", "_size")

    def __init__(self, *, size: int = 0, frontier: Sequence[bytes] = ()) -> None:
        if size < 0 or len(frontier) != size.bit_count():
            raise InvalidProof(
                f"a compact range of a tree of size {size} has {max(size, 0).bit_count()} "
                f"hashes, got {len(frontier)}"
            )
        _require_hashes("compact range", frontier)
        self._size = size
        self._frontier = list(frontier)

    @property
    def size(self) -> int:
        return self._size

    def frontier(self) -> tuple[bytes, ...]:
        """The perfect-subtree roots of the current tree, largest (leftmost) first."""
        return tuple(self._frontier)

    def append(self, leaf: bytes) -> None:
        """Add one already-hashed leaf."""
        size = self._size
        frontier = self._frontier
        value = leaf
        while size & 1:
            value = _sha256(NODE_PREFIX + frontier.pop() + value).digest()
            size >>= 1
        frontier.append(value)
        self._size += 1

    def extend(self, leaves: Sequence[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        """The root hash of the tree built so far."""
        if not self._frontier:
            return EMPTY_ROOT
        value = self._frontier[-1]
        for left in reversed(self._frontier[:-1]):
            value = _sha256(NODE_PREFIX + left + value).digest()
        return value


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> tuple[bytes, ...]:
    """The audit path PATH(index, D[n]) of RFC 9162 §2.1.3.1 for the tree of ``leaf_hashes``.

    Ordered from the leaf's sibling upwards. Raises ``InvalidProof`` for an index outside.
    """
    size = len(leaf_hashes)
    if not 0 <= index < size:
        raise InvalidProof(f"leaf index {index} is outside a tree of size {size}")
    path: list[bytes] = []
    _path(leaf_hashes, index, path)
    return tuple(path)


def _path(leaves: Sequence[bytes], index: int, out: list[bytes]) -> None:
    size = len(leaves)
    if size <= 1:
        return
    split = _largest_power_of_two_below(size)
    if index < split:
        _path(leaves[:split], index, out)
        out.append(root_hash(leaves[split:]))
    else:
        _path(leaves[split:], index - split, out)
        out.append(root_hash(leaves[:split]))


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> tuple[bytes, ...]:
    """PROOF(old_size, D[n]) of RFC 9162 §2.1.4.1 for the tree of ``leaf_hashes``.

    Raises ``InvalidProof`` unless ``0 < old_size <= n`` (a proof from the empty tree is
    meaningless; see the module docstring).
    """
    size = len(leaf_hashes)
    if not 0 < old_size <= size:
        raise InvalidProof(
            f"a consistency proof needs 0 < old size <= new size; got {old_size} and {size}"
        )
    proof: list[bytes] = []
    _subproof(leaf_hashes, old_size, complete=True, out=proof)
    return tuple(proof)


def _subproof(leaves: Sequence[bytes], old_size: int, *, complete: bool, out: list[bytes]) -> None:
    size = len(leaves)
    if old_size == size:
        if not complete:
            out.append(root_hash(leaves))
        return
    split = _largest_power_of_two_below(size)
    if old_size <= split:
        _subproof(leaves[:split], old_size, complete=complete, out=out)
        out.append(root_hash(leaves[split:]))
    else:
        _subproof(leaves[split:], old_size - split, complete=False, out=out)
        out.append(root_hash(leaves[:split]))


def verify_inclusion(
    *, leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise ``InvalidProof`` unless ``proof`` shows ``leaf`` at ``index`` in the tree ``root``.

    ``leaf`` is the leaf *hash*. Every failure is the same error class with its reason.
    """
    _require_hashes("root", (root,))
    _require_hashes("leaf hash", (leaf,))
    _require_hashes("proof", proof)
    if not 0 <= index < tree_size:
        raise InvalidProof(f"leaf index {index} is outside a tree of size {tree_size}")
    inner, border = _decompose(index, tree_size)
    if len(proof) != inner + border:
        raise InvalidProof(
            f"an inclusion proof for leaf {index} in a tree of size {tree_size} has "
            f"{inner + border} hashes, got {len(proof)}"
        )
    computed = _chain_border_right(_chain_inner(leaf, proof[:inner], index), proof[inner:])
    if computed != root:
        raise InvalidProof(
            f"the inclusion proof for leaf {index} leads to a different root than the tree of "
            f"size {tree_size}"
        )


def verify_consistency(
    *,
    old_size: int,
    new_size: int,
    proof: Sequence[bytes],
    old_root: bytes,
    new_root: bytes,
) -> None:
    """Raise ``InvalidProof`` unless the tree ``new_root`` extends the tree ``old_root``.

    Refuses ``old_size == 0`` (module docstring) and, for equal sizes, requires an empty proof
    and equal roots. Checks run in transparency-dev's order: sizes, then equal sizes, then the
    proof's shape.
    """
    _require_hashes("proof", proof)
    if new_size < old_size:
        raise InvalidProof(f"the new tree size {new_size} is smaller than the old {old_size}")
    if old_size == 0:
        raise InvalidProof(
            "a consistency proof from the empty tree is meaningless: every tree extends it"
        )
    if old_size == new_size:
        if proof:
            raise InvalidProof(f"trees of equal size {old_size} need an empty consistency proof")
        # Equal roots are all there is to compare here; their length is not checked, as
        # transparency-dev's verifier and its vector "sizes are equal (one)" require.
        if old_root != new_root:
            raise InvalidProof(f"two trees of size {old_size} have different roots")
        return
    _require_hashes("old root", (old_root,))
    _require_hashes("new root", (new_root,))
    if not proof:
        raise InvalidProof(f"the consistency proof from {old_size} to {new_size} is empty")
    inner, border = _decompose(old_size - 1, new_size)
    shift = (old_size & -old_size).bit_length() - 1
    inner -= shift
    # The proof starts with the root of the old tree's rightmost perfect subtree, unless the
    # old tree is itself perfect (then that root is old_root).
    if old_size == 1 << shift:
        seed, rest = old_root, proof
    else:
        seed, rest = proof[0], proof[1:]
    expected = (0 if old_size == 1 << shift else 1) + inner + border
    if len(proof) != expected:
        raise InvalidProof(
            f"a consistency proof from {old_size} to {new_size} has {expected} hashes, "
            f"got {len(proof)}"
        )
    mask = (old_size - 1) >> shift
    computed_old = _chain_border_right(_chain_inner_right(seed, rest[:inner], mask), rest[inner:])
    if computed_old != old_root:
        raise InvalidProof(f"the consistency proof does not lead to the old root (size {old_size})")
    computed_new = _chain_border_right(_chain_inner(seed, rest[:inner], mask), rest[inner:])
    if computed_new != new_root:
        raise InvalidProof(f"the consistency proof does not lead to the new root (size {new_size})")


def _largest_power_of_two_below(size: int) -> int:
    return 1 << ((size - 1).bit_length() - 1)


def _decompose(index: int, size: int) -> tuple[int, int]:
    """Split an audit path into the part inside the perfect subtree and the right border."""
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner, border


def _chain_inner(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    for level, sibling in enumerate(proof):
        seed = node_hash(sibling, seed) if (index >> level) & 1 else node_hash(seed, sibling)
    return seed


def _chain_inner_right(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    for level, sibling in enumerate(proof):
        if (index >> level) & 1:
            seed = node_hash(sibling, seed)
    return seed


def _chain_border_right(seed: bytes, proof: Sequence[bytes]) -> bytes:
    for sibling in proof:
        seed = node_hash(sibling, seed)
    return seed


def _require_hashes(name: str, hashes: Sequence[bytes]) -> None:
    for position, value in enumerate(hashes):
        if len(value) != HASH_SIZE:
            raise InvalidProof(
                f"{name} hash {position} is {len(value)} bytes long; SHA-256 hashes are "
                f"{HASH_SIZE} bytes"
            )
