"""A data key for a deferred decision (ADR 0230): its wait covers the decision too.

Storage asks the gate for ``s3:PutObject`` with ``defer_audit=True`` and relies on the data
key's ``wait_recorded()`` to make the decision durable before it opens the blob. These tests
run the real key service and log, and swap only the gate's sink for one whose decision
receipts the test settles, so a decision that is late, or lost while the key use is durable,
can be produced on purpose.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from lakevault import iam, kms
from lakevault.core.errors import ServiceUnavailable
from lakevault.gate import Gate, Proof, Request
from lakevault.keys import DataKey, DisabledException
from tests.unit.held_decisions import HeldDecisions
from tests.unit.keys.conftest import ALICE, STORE, TENANT_A, KMSWorld

BUCKET = "arn:aws:s3:::red-data"
OBJECT = "arn:aws:s3:::red-data/report.csv"
CONTEXT = kms.EncryptionContext.for_object(
    tenant=TENANT_A, bucket="red-data", key="report.csv", version_id="v1"
)


def _held_gate(world: KMSWorld) -> HeldDecisions:
    """Give the key service a gate whose deferred decisions the test commits or fails."""
    held = HeldDecisions(world.audit)
    gate = Gate(
        engine=iam.Evaluator(),
        policies=world.policies,
        audit=held,
        clock=world.clock,
        random=world.service.random,
        region="local",
    )
    world.gate = gate
    world.service.gate = gate
    return held


def _deferred_proof(world: KMSWorld, action: str, resource: str) -> Proof:
    return world.gate.require(
        Request(principal=STORE, action=action, resource=resource, request_id="req-store"),
        defer_audit=True,
    )


def _bucket_key(world: KMSWorld) -> str:
    proof = world.gate.require(
        Request(principal=STORE, action="s3:CreateBucket", resource=BUCKET, request_id="r")
    )
    return world.service.create_service_key(proof, tenant_id=TENANT_A, description="red-data")


def _generate(world: KMSWorld, proof: Proof, key_id: str, **options: Any) -> DataKey:
    return world.service.generate_data_key(proof, key_id=key_id, context=CONTEXT, **options)


def _in_thread(function: Any) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(function())
        except Exception as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_with_the_real_log_the_decision_precedes_the_key_use(world: KMSWorld) -> None:
    key_id = _bucket_key(world)
    proof = _deferred_proof(world, "s3:PutObject", OBJECT)
    data_key = _generate(world, proof, key_id, defer_audit=True)
    data_key.wait_recorded()
    events = world.events()
    decision = next(i for i, event in enumerate(events) if event["eventID"] == proof.event_id)
    use = next(
        i
        for i, event in enumerate(events)
        if event["eventName"] == "GenerateDataKey"
        and event["additionalEventData"]["authorizationEventID"] == proof.event_id
    )
    assert decision < use


def test_the_data_key_waits_for_a_decision_still_queued(world: KMSWorld) -> None:
    key_id = _bucket_key(world)
    held = _held_gate(world)
    proof = _deferred_proof(world, "s3:PutObject", OBJECT)
    data_key = _generate(world, proof, key_id, defer_audit=True)
    thread, outcome = _in_thread(data_key.wait_recorded)
    thread.join(0.3)
    assert thread.is_alive() and outcome == []  # the key use is durable, the decision is not
    assert world.last_event()["eventName"] == "GenerateDataKey"
    held.queued[0].commit()
    thread.join(5)
    assert outcome == [None]


def test_a_lost_decision_fails_the_data_key_even_when_its_use_is_durable(
    world: KMSWorld,
) -> None:
    key_id = _bucket_key(world)
    held = _held_gate(world)
    proof = _deferred_proof(world, "s3:PutObject", OBJECT)
    data_key = _generate(world, proof, key_id, defer_audit=True)
    held.queued[0].fail()
    with pytest.raises(ServiceUnavailable):
        data_key.wait_recorded()
    assert proof.event_id not in [event["eventID"] for event in world.events()]


def test_a_refused_use_waits_for_the_decision_before_it_is_raised(world: KMSWorld) -> None:
    key_id = _bucket_key(world)
    world.service.disable_key(world.call(ALICE), key_id)
    held = _held_gate(world)
    proof = _deferred_proof(world, "s3:PutObject", OBJECT)
    thread, outcome = _in_thread(lambda: _generate(world, proof, key_id, defer_audit=True))
    thread.join(0.3)
    assert thread.is_alive() and outcome == []  # the refusal is recorded, not yet raised
    assert world.last_event()["errorCode"] == "DisabledException"
    held.queued[0].commit()
    thread.join(5)
    assert isinstance(outcome[0], DisabledException)


def test_a_refused_use_of_a_lost_decision_raises_the_logs_error(world: KMSWorld) -> None:
    key_id = _bucket_key(world)
    world.service.disable_key(world.call(ALICE), key_id)
    held = _held_gate(world)
    proof = _deferred_proof(world, "s3:PutObject", OBJECT)
    held.queued[0].fail()
    with pytest.raises(ServiceUnavailable):
        _generate(world, proof, key_id, defer_audit=True)


def test_without_defer_audit_the_key_service_waits_for_the_decision_first(
    world: KMSWorld,
) -> None:
    key_id = _bucket_key(world)
    held = _held_gate(world)
    proof = _deferred_proof(world, "s3:PutObject", OBJECT)
    before = len(world.events())
    thread, outcome = _in_thread(lambda: _generate(world, proof, key_id))
    thread.join(0.3)
    assert thread.is_alive() and len(world.events()) == before  # no key use yet
    held.queued[0].commit()
    thread.join(5)
    assert isinstance(outcome[0], DataKey)
    assert world.last_event()["eventName"] == "GenerateDataKey"


def test_a_deferred_decision_for_reading_is_waited_for_by_decrypt(world: KMSWorld) -> None:
    key_id = _bucket_key(world)
    written = _generate(world, _deferred_proof(world, "s3:PutObject", OBJECT), key_id)
    held = _held_gate(world)
    proof = _deferred_proof(world, "s3:GetObject", OBJECT)
    held.queued[0].fail()
    with pytest.raises(ServiceUnavailable):
        world.service.decrypt_data_key(
            proof,
            key_id=key_id,
            key_version=written.key_version,
            wrapped=written.wrapped,
            context=CONTEXT,
        )
