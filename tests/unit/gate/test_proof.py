"""Only the gate makes proofs, and a gate accepts only its own, for the same action and resource."""

from __future__ import annotations

import ast
import copy
import pickle
from pathlib import Path

import pytest

from lakevault.core.errors import AccessDenied
from lakevault.gate import Proof
from tests.unit.gate.test_gate import ALLOW_READ, OBJECT, make_gate, policy, read_request

SOURCE = Path(__file__).resolve().parents[3] / "src" / "lakevault"


def _allowed_proof() -> tuple[object, Proof]:
    gate, _ = make_gate(policy(ALLOW_READ))
    return gate, gate.require(read_request())


def test_calling_the_class_cannot_make_a_proof() -> None:
    with pytest.raises(TypeError, match=r"issued only by Gate\.authorize"):
        Proof()


def test_a_proof_built_around_the_constructor_is_refused() -> None:
    gate, real = _allowed_proof()
    forged = object.__new__(Proof)
    for name in (
        "_action",
        "_resource",
        "_principal_arn",
        "_request_id",
        "_event_id",
        "_issued_at",
    ):
        object.__setattr__(forged, name, getattr(real, name))
    with pytest.raises(AccessDenied, match="no proof of an allowed decision"):
        gate.verify(forged, action="s3:GetObject", resource=OBJECT)  # type: ignore[attr-defined]


def test_a_proof_is_only_good_for_its_action_and_resource() -> None:
    gate, proof = _allowed_proof()
    with pytest.raises(AccessDenied):
        gate.verify(proof, action="s3:DeleteObject", resource=OBJECT)  # type: ignore[attr-defined]
    with pytest.raises(AccessDenied):
        gate.verify(proof, action="s3:GetObject", resource=OBJECT + "x")  # type: ignore[attr-defined]


def test_another_gate_does_not_accept_the_proof() -> None:
    _, proof = _allowed_proof()
    other, _ = make_gate(policy(ALLOW_READ))
    with pytest.raises(AccessDenied):
        other.verify(proof, action="s3:GetObject", resource=OBJECT)


def test_something_that_is_not_a_proof_is_refused() -> None:
    gate, _ = _allowed_proof()
    with pytest.raises(AccessDenied):
        gate.verify("trust me", action="s3:GetObject", resource=OBJECT)  # type: ignore[attr-defined, arg-type]


def test_proofs_are_immutable_unpicklable_and_copy_to_themselves() -> None:
    _, proof = _allowed_proof()
    with pytest.raises(AttributeError):
        proof._resource = "arn:aws:s3:::other/x"  # type: ignore[misc]
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(proof)
    assert copy.copy(proof) is proof
    assert copy.deepcopy(proof) is proof


def _references_outside_gate() -> list[str]:
    offenders = []
    for path in SOURCE.rglob("*.py"):
        relative = path.relative_to(SOURCE)
        if relative.parts[0] == "gate":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and "gate._proof" in node.module:
                offenders.append(f"{relative}:{node.lineno} imports lakevault.gate._proof")
            if isinstance(node, ast.Name | ast.Attribute):
                name = node.id if isinstance(node, ast.Name) else node.attr
                if name == "_issue":
                    offenders.append(f"{relative}:{node.lineno} uses _issue")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "__new__"
                and any(isinstance(a, ast.Name) and a.id == "Proof" for a in node.args)
            ):
                offenders.append(f"{relative}:{node.lineno} builds a Proof with __new__")
    return offenders


def test_no_module_outside_the_gate_can_construct_a_proof() -> None:
    assert _references_outside_gate() == []
