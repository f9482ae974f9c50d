"""Benchmark of envelope encryption with tenant KMS keys: ``python -m bench keys [--seconds S]``.

One 1 KiB envelope operation = generate a data key + wrap it under a KMS key version (with the
encryption context bound) + encrypt 1 KiB under the data key in the object format (header,
C2SP chunked AES-256-GCM). Measured on one core (one thread), in one run:

(a) anchor: raw AES-256-GCM encryption of 1 KiB with pyca ``AESGCM`` and a fresh nonce — the
    floor no envelope can beat;
(b) the envelope without the gate: ``kms.PlaintextDataKey.generate`` + ``KMSKeyMaterial
    .wrap_data_key`` (material unwrapped once and cached, as the key service does) +
    ``kms.encrypt_stream`` of 1 KiB. Target (issue 5): >= 50,000 ops/s;
(c) the same through the gate, as storage does it for a PUT: ``Gate.require`` (policy decision
    + durable audit event) for ``s3:PutObject``, then ``KeyService.generate_data_key`` with that
    proof (key row read, key policy for the service, state check, usage count, durable audit
    event), then the 1 KiB encryption. SQLite in WAL mode in a temporary directory.

The machine is shared and noisy: compare (b) and (c) with the anchor of the same run.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lakevault import iam, kms
from lakevault.audit import DatabaseAuditLog, IdentityType
from lakevault.core import SystemClock, SystemRandom
from lakevault.db import Database, models, upgrade
from lakevault.gate import Gate, Request
from lakevault.identity import Principal, PrincipalPolicies
from lakevault.keys import KeyService
from lakevault.kms._primitives import data_key_material_unsafe

TARGET_OPS = 50_000
TENANT = "111111111111"
PAYLOAD = os.urandom(1024)
CONTEXT = kms.EncryptionContext.for_object(
    tenant=TENANT, bucket="bench", key="object", version_id="v1"
)


def rate(operation: Callable[[], object], seconds: float) -> float:
    """Operations per second of ``operation`` run back to back for about ``seconds``."""
    for _ in range(200):
        operation()
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(100):
            operation()
        count += 100
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def raw_aesgcm() -> Callable[[], object]:
    aead = AESGCM(os.urandom(32))

    def operation() -> object:
        return aead.encrypt(os.urandom(12), PAYLOAD, None)

    return operation


def encrypt_object(data_key: kms.PlaintextDataKey, wrapped: bytes, key_id: str) -> bytes:
    header = kms.ObjectHeader.create(
        key_id=key_id, key_version=1, wrapped_data_key=wrapped, encryption_context=CONTEXT
    )
    sink = io.BytesIO()
    kms.encrypt_stream(io.BytesIO(PAYLOAD), sink, data_key=data_key, header=header)
    return sink.getvalue()


def _material(random: SystemRandom) -> tuple[kms.KMSKeyMaterial, str]:
    wrapper = kms.PlatformTenantKeyWrapper(
        lambda: kms.PlatformRootKey(os.urandom(32), source="bench"), random=random
    )
    key_id = "1234abcd-12ab-34cd-56ef-1234567890ab"
    material, _ = kms.KMSKeyMaterial.create_wrapped(
        wrapper,
        tenant_id=TENANT,
        key_arn=f"arn:aws:kms:local:{TENANT}:key/{key_id}",
        key_version=1,
        random=random,
    )
    return material, key_id


def envelope_raw() -> Callable[[], object]:
    """Generate + wrap + one AES-256-GCM encryption of 1 KiB under the data key (no format).

    The data key's bytes are read with the hazardous accessor, as only a benchmark may.
    """
    random = SystemRandom()
    material, _ = _material(random)

    def operation() -> object:
        data_key = kms.PlaintextDataKey.generate(random)
        material.wrap_data_key(data_key, context=CONTEXT, random=random)
        aead = AESGCM(data_key_material_unsafe(data_key))
        return aead.encrypt(os.urandom(12), PAYLOAD, CONTEXT.canonical_bytes())

    return operation


def envelope_without_gate() -> Callable[[], object]:
    random = SystemRandom()
    material, key_id = _material(random)

    def operation() -> object:
        data_key = kms.PlaintextDataKey.generate(random)
        wrapped = material.wrap_data_key(data_key, context=CONTEXT, random=random)
        return encrypt_object(data_key, wrapped, key_id)

    return operation


class _Policies:
    def __init__(self, policy: iam.Policy) -> None:
        self._found = PrincipalPolicies(identity=(policy,))

    def policies_for(self, principal: Principal) -> PrincipalPolicies:
        return self._found


def envelope_through_gate(directory: Path) -> Callable[[], object]:
    database = Database(f"sqlite:///{directory / 'metadata.db'}")
    upgrade(database)
    clock, random = SystemClock(), SystemRandom()
    audit = DatabaseAuditLog(database)
    with database.session() as session:
        session.add(models.Tenant(account_id=TENANT, name="bench", created_at=clock.now()))
    policy = iam.parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
        },
        policy_id="bench-s3",
    )
    gate = Gate(
        engine=iam.Evaluator(),
        policies=_Policies(policy),
        audit=audit,
        clock=clock,
        random=random,
        region="local",
    )
    service = KeyService(
        database=database,
        gate=gate,
        audit=audit,
        wrapper=kms.PlatformTenantKeyWrapper(
            lambda: kms.PlatformRootKey(os.urandom(32), source="bench"), random=random
        ),
        clock=clock,
        random=random,
        region="local",
    )
    writer = Principal(
        arn=f"arn:aws:iam::{TENANT}:user/writer",
        account_id=TENANT,
        principal_id="AIDABENCHWRITER00000",
        identity_type=IdentityType.IAM_USER,
        username="writer",
    )

    def proof(action: str, resource: str) -> object:
        return gate.require(
            Request(principal=writer, action=action, resource=resource, request_id="bench")
        )

    key_id = service.create_service_key(
        proof("s3:CreateBucket", "arn:aws:s3:::bench"),  # type: ignore[arg-type]
        tenant_id=TENANT,
        description="bench",
    )

    def operation() -> object:
        allowed = proof("s3:PutObject", "arn:aws:s3:::bench/object")
        data_key = service.generate_data_key(
            allowed,  # type: ignore[arg-type]
            key_id=key_id,
            context=CONTEXT,
        )
        return encrypt_object(data_key.plaintext, data_key.wrapped, key_id)

    return operation


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench keys", description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="per figure (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3, best kept)")
    options = parser.parse_args(argv)
    print(
        f"lakevault 1 KiB envelope operations, one thread, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} at start"
    )
    directory = Path(tempfile.mkdtemp(prefix="lakevault-bench-keys-"))
    try:
        anchor_op, raw_op, plain_op = raw_aesgcm(), envelope_raw(), envelope_without_gate()
        gated_op = envelope_through_gate(directory)
        anchors, raws, plains, gateds = [], [], [], []
        for _ in range(options.rounds):
            anchors.append(rate(anchor_op, options.seconds))
            raws.append(rate(raw_op, options.seconds))
            plains.append(rate(plain_op, options.seconds))
            gateds.append(rate(gated_op, options.seconds))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    anchor, raw, plain, gated = max(anchors), max(raws), max(plains), max(gateds)
    print(f"(a) raw AES-256-GCM encrypt of 1 KiB (anchor)    {anchor:>10,.0f} ops/s")
    print(
        f"(b) envelope, AES-GCM payload, without the gate  {raw:>10,.0f} ops/s  "
        f"{raw / anchor:.2f} x anchor  target >= {TARGET_OPS:,}: "
        f"{'met' if raw >= TARGET_OPS else 'NOT met'}"
    )
    print(
        f"(b') envelope, object format, without the gate   {plain:>10,.0f} ops/s  "
        f"{plain / anchor:.2f} x anchor"
    )
    print(
        f"(c) envelope through the gate (2 audit events)   {gated:>10,.0f} ops/s  "
        f"{gated / anchor:.3f} x anchor"
    )
    return 0 if raw >= TARGET_OPS else 1


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
