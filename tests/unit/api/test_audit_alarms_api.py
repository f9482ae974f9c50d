"""Audit alarms end to end: real events from real calls, the scanner, and real deliveries.

Each detector is driven by the events the platform itself writes (denied API calls, failed
sign-ins, gate decisions on KMS keys and secrets); the webhook receiver is a real HTTP server
on the loopback interface that checks the HMAC signature; email goes through the identity mail
sender into the outbox.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient

from lakevault import iam, identity
from lakevault.api import create_app
from lakevault.audit import AuditEvent, EventResource, IdentityType, UserIdentity
from lakevault.core import FixedClock, load_settings, new_request_id
from lakevault.db import Database, models
from lakevault.gate import Request
from lakevault.runtime import Platform, initialise
from lakevault.trail import (
    ALARM_EVENT_NAME,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    AlarmScanner,
    Detector,
    Thresholds,
)
from tests.conftest import REPO_ROOT
from tests.unit.api.conftest import World, error

PASSWORD = "Corr3ct-horse-battery"


@dataclass
class Receiver:
    """A webhook endpoint that records what it receives; fails the first ``fail`` requests."""

    url: str
    fail: int = 0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append(({k: v for k, v in self.headers.items()}, body))
            status = 500 if state.fail > 0 else 204
            state.fail -= 1
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/lakevault"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def world(database: Database, tmp_path: Path) -> Iterator[World]:
    settings = load_settings(
        {
            "LAKEVAULT_HOME": str(tmp_path),
            "LAKEVAULT_DATABASE_URL": database.url,
            "LAKEVAULT_AUDIT_ALARM_WINDOW_SECONDS": "300",
            "LAKEVAULT_AUDIT_ALARM_BASELINE_SECONDS": "3600",
            "LAKEVAULT_AUDIT_ALARM_DENIED_BURST": "5",
            "LAKEVAULT_AUDIT_ALARM_RATE_FACTOR": "4",
            "LAKEVAULT_AUDIT_ALARM_RATE_MIN_CALLS": "20",
            "LAKEVAULT_AUDIT_ALARM_KEY_USES": "10",
            "LAKEVAULT_AUDIT_ALARM_SECRET_READS": "4",
            "LAKEVAULT_AUDIT_ALARM_SIGN_IN_FAILURES": "3",
            "LAKEVAULT_AUDIT_ALARM_WEBHOOK_ALLOW_HTTP_LOOPBACK": "true",
        }
    )
    clock = FixedClock()
    platform = Platform.build(settings, clock=clock)
    credentials = initialise(platform).credentials
    assert credentials is not None
    with TestClient(create_app(platform), raise_server_exceptions=False) as client:
        yield World(client, platform, clock, credentials.password)


def _scanner(world: World, batch_events: int = 20000) -> AlarmScanner:
    platform = world.platform
    return AlarmScanner(
        database=platform.database,
        thresholds=Thresholds.from_settings(platform.settings),
        clock=platform.clock,
        random=platform.random,
        region=platform.settings.region,
        enqueue=platform.jobs.enqueue,
        batch_events=batch_events,
    )


def _alarms(world: World, account: str) -> list[dict[str, Any]]:
    return [
        record
        for record in world.platform.audit.read(account, limit=100000)
        if record["eventName"] == ALARM_EVENT_NAME
    ]


def _user(
    world: World, account: str, admin: dict[str, str], name: str, allow: tuple[str, ...] = ()
) -> dict[str, str]:
    c = world.client
    c.post(f"/api/v1/tenants/{account}/users", json={"userName": name}, headers=admin)
    c.put(
        f"/api/v1/tenants/{account}/users/{name}/password",
        json={"password": PASSWORD},
        headers=admin,
    )
    if allow:
        document = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(allow), "Resource": "*"}],
        }
        answer = c.put(
            f"/api/v1/tenants/{account}/users/{name}/policies/work",
            json={"policyDocument": document},
            headers=admin,
        )
        assert answer.status_code == 204, answer.text
    return world.sign_in(account, name, PASSWORD)


def _gate(world: World, account: str, user: str, action: str, resource: str, times: int) -> None:
    """Real gate decisions by a tenant user, as the KMS and the secrets manager will ask.

    A KMS key is asked with AWS's default key policy, which lets IAM policies of the account
    decide.
    """
    key_policy = None
    if action.startswith("kms:"):
        key_policy = iam.parse_policy(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                        "Action": "kms:*",
                        "Resource": "*",
                    }
                ],
            },
            kind=iam.PolicyKind.RESOURCE,
            policy_id="default-key-policy",
        )
    principal = identity.authenticate_password(
        world.platform.database, account_id=account, user_name=user, password=PASSWORD
    )
    for _ in range(times):
        world.platform.gate.authorize(
            Request(
                principal=principal,
                action=action,
                resource=resource,
                resource_account=account,
                resource_policy=key_policy,
                request_id=new_request_id(world.platform.random),
            )
        )


def _verify_signature(secret: str, headers: dict[str, str], body: bytes) -> None:
    timestamp = headers[TIMESTAMP_HEADER]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    assert hmac.compare_digest(headers[SIGNATURE_HEADER], "sha256=" + expected.hexdigest())


def test_a_burst_of_denials_raises_an_alarm_delivered_to_a_signed_webhook(
    world: World, receiver: Receiver
) -> None:
    account, admin, _ = world.new_tenant("burst")
    c = world.client
    created = c.post(
        "/api/v1/audit/alarm-subscriptions",
        json={"protocol": "webhook", "endpoint": receiver.url, "detectors": ["denied-burst"]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    secret = created.json()["signingSecret"]
    assert secret and secret not in json.dumps(world.platform.audit.read(account, limit=10000))
    listed = c.get("/api/v1/audit/alarm-subscriptions", headers=admin).json()
    assert [s["endpoint"] for s in listed] == [receiver.url]
    assert "signingSecret" not in listed[0]

    eve = _user(world, account, admin, "eve")
    for _ in range(4):
        assert error(c.get(f"/api/v1/tenants/{account}/users", headers=eve))[0] == 403
    assert _scanner(world).scan() == []  # Four denials: below the threshold of five.
    assert error(c.get(f"/api/v1/tenants/{account}/users", headers=eve))[0] == 403
    raised = _scanner(world).scan()
    assert [(a.verdict.detector, a.verdict.subject, a.deliveries) for a in raised] == [
        (Detector.DENIED_BURST, f"arn:aws:iam::{account}:user/eve", 1)
    ]
    [alarm] = _alarms(world, account)
    assert alarm["requestParameters"]["detector"] == "denied-burst"
    assert alarm["requestParameters"]["count"] == 5
    assert alarm["userIdentity"]["type"] == "AWSService"

    # The receiver fails once; the job queue retries the delivery.
    receiver.fail = 1
    world.platform.jobs.run_worker(name="t", until_idle=True)
    assert len(receiver.received) == 1
    world.clock.advance(seconds=3600)
    world.platform.jobs.run_worker(name="t", until_idle=True)
    assert len(receiver.received) == 2
    headers, body = receiver.received[-1]
    _verify_signature(secret, headers, body)
    assert json.loads(body) == alarm
    # A changed body or another secret does not verify.
    with pytest.raises(AssertionError):
        _verify_signature(secret, headers, body + b" ")
    with pytest.raises(AssertionError):
        _verify_signature("another secret", headers, body)
    with world.platform.database.read_session() as session:
        [delivery] = session.query(models.AuditAlarmDelivery).all()
        assert delivery.delivered_at is not None

    # Within the cool-down, more denials raise no second alarm.
    world.clock.advance(seconds=-3600 + 60)
    for _ in range(5):
        c.get(f"/api/v1/tenants/{account}/users", headers=eve)
    assert _scanner(world).scan() == []


def test_sign_in_failures_raise_an_alarm_mailed_through_the_outbox(world: World) -> None:
    account, admin, _ = world.new_tenant("signins")
    c = world.client
    _user(world, account, admin, "frank")
    created = c.post(
        "/api/v1/audit/alarm-subscriptions",
        json={"protocol": "email", "endpoint": "security@example.com"},
        headers=admin,
    )
    assert created.status_code == 201 and created.json()["signingSecret"] is None
    for _ in range(3):
        attempt = {"accountId": account, "userName": "frank", "password": "wrong-" + PASSWORD}
        assert c.post("/api/v1/sessions", json=attempt).status_code in (401, 403)
    raised = _scanner(world).scan()
    assert [a.verdict.detector for a in raised] == [Detector.SIGN_IN_FAILURES]
    world.platform.jobs.run_worker(name="t", until_idle=True)
    with world.platform.database.read_session() as session:
        mail = identity.list_outbox(session, account)
    [message] = [m for m in mail if m.recipient == "security@example.com"]
    assert "sign-in-failures" in message.subject
    assert "frank" in message.body and PASSWORD not in message.body


def test_an_api_call_rate_far_above_its_baseline_raises_an_alarm(world: World) -> None:
    account, admin, _ = world.new_tenant("rates")
    _user(world, account, admin, "gina", ("iam:GetUser",))
    gina_arn = f"arn:aws:iam::{account}:user/gina"

    def calls(times: int) -> None:
        _gate(world, account, "gina", "iam:GetUser", gina_arn, times)

    # A steady baseline: 10 calls in each of the previous windows of the last hour.
    world.clock.advance(seconds=-3600)
    for _ in range(11):
        calls(10)
        world.clock.advance(seconds=300)

    def rate_alarms() -> list[Any]:
        return [a for a in _scanner(world).scan() if a.verdict.detector is Detector.API_RATE]

    assert rate_alarms() == []
    # Now 39 in one window: under 4 x 10 — no alarm; 41: an alarm.
    calls(39)
    assert rate_alarms() == []
    calls(2)
    [alarm] = rate_alarms()
    assert alarm.verdict.subject == gina_arn
    assert alarm.verdict.count >= 40
    assert alarm.verdict.baseline_per_window == pytest.approx(10.0, abs=1.0)


def test_excessive_key_use_and_any_use_of_a_disabled_key_raise_alarms(world: World) -> None:
    account, admin, _ = world.new_tenant("keys")
    _user(world, account, admin, "hank", ("kms:Decrypt",))
    key = f"arn:aws:kms:local:{account}:key/11111111-2222-3333-4444-555555555555"
    _gate(world, account, "hank", "kms:Decrypt", key, 9)
    assert [a.verdict.detector for a in _scanner(world).scan()] == []
    _gate(world, account, "hank", "kms:Decrypt", key, 1)
    raised = _scanner(world).scan()
    assert [(a.verdict.detector, a.verdict.subject) for a in raised] == [(Detector.KEY_USAGE, key)]
    # The KMS records a refused use of a disabled key with errorCode DisabledException.
    disabled = f"arn:aws:kms:local:{account}:key/99999999-2222-3333-4444-555555555555"
    world.platform.audit.append(
        AuditEvent(
            event_id=new_request_id(world.platform.random),
            event_time=world.clock.now(),
            event_source="kms.amazonaws.com",
            event_name="Decrypt",
            region="local",
            source_ip_address="10.0.0.9",
            user_agent="test",
            user_identity=UserIdentity(
                type=IdentityType.IAM_USER,
                principal_id="LVUS1",
                arn=f"arn:aws:iam::{account}:user/hank",
                account_id=account,
            ),
            request_id=new_request_id(world.platform.random),
            read_only=True,
            recipient_account_id=account,
            resources=(EventResource(arn=disabled, account_id=account, type="AWS::KMS::Key"),),
            error_code="DisabledException",
            error_message=f"{disabled} is disabled.",
        )
    )
    raised = _scanner(world).scan()
    assert [(a.verdict.detector, a.verdict.subject) for a in raised] == [
        (Detector.DISABLED_KEY_USE, disabled)
    ]


def test_unusual_secret_reads_raise_an_alarm(world: World) -> None:
    account, admin, _ = world.new_tenant("secrets")
    _user(world, account, admin, "ivy", ("secretsmanager:GetSecretValue",))
    secret = f"arn:aws:secretsmanager:local:{account}:secret:db-AbCdEf"
    _gate(world, account, "ivy", "secretsmanager:GetSecretValue", secret, 3)
    assert _scanner(world).scan() == []
    _gate(world, account, "ivy", "secretsmanager:GetSecretValue", secret, 1)
    [alarm] = _scanner(world).scan()
    assert alarm.verdict.detector is Detector.SECRET_READS
    assert alarm.verdict.subject == f"arn:aws:iam::{account}:user/ivy"


def test_the_periodic_job_scans_and_each_event_is_counted_once(world: World) -> None:
    account, admin, _ = world.new_tenant("periodic")
    c = world.client
    eve = _user(world, account, admin, "eve")
    for _ in range(5):
        c.get(f"/api/v1/tenants/{account}/users", headers=eve)
    world.platform.jobs.run_worker(name="t", until_idle=True)
    [alarm] = _alarms(world, account)
    # An alarm is an ordinary event of the log: it validates against the event schema.
    schema = json.loads((REPO_ROOT / "docs" / "audit-event.schema.json").read_text("utf-8"))
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(alarm)) == []
    # Scanning again reads nothing new and raises nothing.
    assert _scanner(world).scan() == []
    with world.platform.database.read_session() as session:
        cursor = session.get(models.AuditAlarmCursor, account)
        head = session.get(models.AuditHead, account)
        assert cursor is not None and head is not None
        assert cursor.next_sequence == head.size


def test_subscriptions_are_managed_only_by_the_account(world: World, receiver: Receiver) -> None:
    account, admin, _ = world.new_tenant("subs")
    other, other_admin, _ = world.new_tenant("other")
    c = world.client
    body = {"protocol": "webhook", "endpoint": receiver.url}
    created = c.post("/api/v1/audit/alarm-subscriptions", json=body, headers=admin).json()
    subscription_id = created["subscription"]["subscriptionId"]
    operator = world.platform_admin()
    for headers in (other_admin, operator):
        assert error(
            c.get(
                "/api/v1/audit/alarm-subscriptions", params={"accountId": account}, headers=headers
            )
        ) == (403, "AccessDenied")
        assert error(
            c.post(
                "/api/v1/audit/alarm-subscriptions",
                params={"accountId": account},
                json=body,
                headers=headers,
            )
        ) == (403, "AccessDenied")
        assert error(
            c.delete(
                f"/api/v1/audit/alarm-subscriptions/{subscription_id}",
                params={"accountId": account},
                headers=headers,
            )
        ) == (403, "AccessDenied")
    assert error(c.get("/api/v1/audit/alarm-subscriptions")) == (403, "AccessDenied")
    assert len(c.get("/api/v1/audit/alarm-subscriptions", headers=admin).json()) == 1
    # The other tenant's own id space does not reach this subscription.
    assert error(
        c.delete(f"/api/v1/audit/alarm-subscriptions/{subscription_id}", headers=other_admin)
    ) == (404, "NoSuchEntity")
    assert (
        c.delete(f"/api/v1/audit/alarm-subscriptions/{subscription_id}", headers=admin).status_code
        == 204
    )
    assert c.get("/api/v1/audit/alarm-subscriptions", headers=admin).json() == []
    del other


@pytest.mark.parametrize(
    ("endpoint", "protocol"),
    [
        ("ftp://example.com/x", "webhook"),
        ("http://example.com/hook", "webhook"),
        ("https://169.254.169.254/latest", "webhook"),
        ("https://user:pw@example.com/hook", "webhook"),
        ("not an address", "email"),
    ],
)
def test_bad_endpoints_are_refused(world: World, endpoint: str, protocol: str) -> None:
    _, admin, _ = world.new_tenant("bad")
    response = world.client.post(
        "/api/v1/audit/alarm-subscriptions",
        json={"protocol": protocol, "endpoint": endpoint},
        headers=admin,
    )
    assert error(response) == (400, "InvalidParameterValue")
    assert world.client.get("/api/v1/audit/alarm-subscriptions", headers=admin).json() == []


def test_the_tenant_kms_feeds_the_key_detectors(world: World) -> None:
    """Real key uses through /api/v1/kms, then a use of the disabled key."""
    account, admin, _ = world.new_tenant("kmsuse")
    c = world.client
    created = c.post("/api/v1/kms/keys", json={"description": "alarms"}, headers=admin)
    assert created.status_code == 201, created.text
    key = created.json()["keyMetadata"]["arn"]
    plaintext = base64.b64encode(b"not a secret, just bytes").decode()
    for _ in range(10):
        answer = c.post(
            "/api/v1/kms/encrypt", json={"keyId": key, "plaintext": plaintext}, headers=admin
        )
        assert answer.status_code == 200, answer.text
    raised = _scanner(world).scan()
    assert [(a.verdict.detector, a.verdict.subject) for a in raised] == [(Detector.KEY_USAGE, key)]
    assert c.post("/api/v1/kms/disable-key", json={"keyId": key}, headers=admin).status_code == 200
    refused = c.post(
        "/api/v1/kms/encrypt", json={"keyId": key, "plaintext": plaintext}, headers=admin
    )
    assert error(refused)[1] == "DisabledException"
    raised = _scanner(world).scan()
    assert [(a.verdict.detector, a.verdict.subject) for a in raised] == [
        (Detector.DISABLED_KEY_USE, key)
    ]
    assert "not a secret" not in json.dumps(_alarms(world, account))


def test_the_secrets_manager_feeds_the_secret_read_detector(world: World) -> None:
    account, admin, _ = world.new_tenant("secretuse")
    c = world.client
    value = "s3cr3t-value-never-in-an-alarm"
    created = c.post("/api/v1/secrets", json={"name": "db", "secretString": value}, headers=admin)
    assert created.status_code == 201, created.text
    for _ in range(3):
        read = c.get("/api/v1/secrets/value", params={"secretId": "db"}, headers=admin)
        assert read.status_code == 200, read.text
    assert [a for a in _scanner(world).scan() if a.verdict.detector is Detector.SECRET_READS] == []
    c.get("/api/v1/secrets/value", params={"secretId": "db"}, headers=admin)
    [alarm] = [a for a in _scanner(world).scan() if a.verdict.detector is Detector.SECRET_READS]
    assert alarm.verdict.subject == f"arn:aws:iam::{account}:user/admin"
    assert value not in json.dumps(_alarms(world, account))


def test_counts_add_up_across_small_batches(world: World) -> None:
    account, admin, _ = world.new_tenant("batches")
    c = world.client
    eve = _user(world, account, admin, "eve")
    for _ in range(5):
        c.get(f"/api/v1/tenants/{account}/users", headers=eve)
    # Three events per transaction: the five denials span several batches and still add up.
    raised = _scanner(world, batch_events=3).scan()
    assert [(a.verdict.detector, a.verdict.count) for a in raised] == [(Detector.DENIED_BURST, 5)]


def test_real_reads_of_a_secret_through_the_api_raise_the_secret_reads_alarm(
    world: World,
) -> None:
    """The detector counts the events the secrets manager itself writes, not hand-made ones:
    reads by the API (threshold 4 here); creating the secret does not count."""
    account, admin, _ = world.new_tenant("secretreads")
    c = world.client
    value = "db-password-that-must-not-leak"
    created = c.post("/api/v1/secrets", json={"name": "db", "secretString": value}, headers=admin)
    assert created.status_code == 201, created.text
    for _ in range(3):
        got = c.get("/api/v1/secrets/value", params={"secretId": "db"}, headers=admin)
        assert got.status_code == 200, got.text
    assert _scanner(world).scan() == []
    c.get("/api/v1/secrets/value", params={"secretId": "db"}, headers=admin)
    [alarm] = _scanner(world).scan()
    assert alarm.verdict.detector is Detector.SECRET_READS
    assert alarm.verdict.subject == f"arn:aws:iam::{account}:user/admin"
    assert alarm.verdict.count == 4
    assert value not in json.dumps(_alarms(world, account))


def test_a_real_use_of_a_disabled_key_through_the_api_raises_the_disabled_key_alarm(
    world: World,
) -> None:
    """The KMS's own DisabledException event (not a hand-made one) raises the alarm at once,
    naming the key; the allowed uses before it stay under the key-usage threshold."""
    account, admin, _ = world.new_tenant("disabledkey")
    c = world.client
    created = c.post("/api/v1/kms/keys", json={"description": "alarm"}, headers=admin)
    assert created.status_code == 201, created.text
    key = created.json()["keyMetadata"]
    encrypted = c.post(
        "/api/v1/kms/encrypt",
        json={"keyId": key["keyId"], "plaintext": base64.b64encode(b"x").decode()},
        headers=admin,
    )
    assert encrypted.status_code == 200, encrypted.text
    assert _scanner(world).scan() == []
    c.post("/api/v1/kms/disable-key", json={"keyId": key["keyId"]}, headers=admin)
    refused = c.post(
        "/api/v1/kms/decrypt",
        json={"ciphertextBlob": encrypted.json()["ciphertextBlob"]},
        headers=admin,
    )
    assert error(refused) == (400, "DisabledException")
    raised = _scanner(world).scan()
    assert [(a.verdict.detector, a.verdict.subject) for a in raised] == [
        (Detector.DISABLED_KEY_USE, key["arn"])
    ]
    assert [a["eventName"] for a in _alarms(world, account)] == [ALARM_EVENT_NAME]


def _surge_scanner(world: World) -> AlarmScanner:
    """A scanner whose fixed key and secret lines are far away, so only a surge over the
    subject's baseline can raise ``key-usage`` or ``secret-reads``."""
    platform = world.platform
    return AlarmScanner(
        database=platform.database,
        thresholds=Thresholds(
            window_seconds=300,
            baseline_seconds=3600,
            rate_factor=4.0,
            rate_min_calls=100000,
            denied_burst=100000,
            key_uses=100000,
            key_surge_min_uses=6,
            secret_reads=100000,
            secret_surge_min_reads=6,
        ),
        clock=platform.clock,
        random=platform.random,
        region=platform.settings.region,
        enqueue=platform.jobs.enqueue,
    )


def _steady_then_surge(
    world: World, use: Any, detector: Detector
) -> tuple[list[Any], list[Any], list[Any]]:
    """Two real uses in each window of the hour before now (a baseline of 2 per window, so
    4 x 2 = 8 is the surge line), then 7 uses in the current window, then an 8th. Returns the
    alarms of ``detector`` raised after the baseline, after 7 and after 8."""

    def alarms() -> list[Any]:
        return [a for a in _surge_scanner(world).scan() if a.verdict.detector is detector]

    for _ in range(11):
        for _ in range(2):
            use()
        world.clock.advance(seconds=300)
    before = alarms()
    for _ in range(7):
        use()
    at_seven = alarms()
    use()
    return before, at_seven, alarms()


def test_key_use_far_above_the_keys_baseline_raises_key_usage(world: World) -> None:
    """Real Encrypt calls through the API. A key used twice per window is quiet at 7 uses
    in a window and alarms at 8 (4 x its baseline), far below the fixed key_uses line."""
    world.clock.advance(seconds=-3600)
    account, _, password = world.new_tenant("keysurge")
    c = world.client
    headers = world.sign_in(account, "admin", password)
    created = c.post("/api/v1/kms/keys", json={"description": "steady"}, headers=headers)
    assert created.status_code == 201, created.text
    key = created.json()["keyMetadata"]["arn"]
    plaintext = base64.b64encode(b"steady work").decode()

    def use() -> None:
        nonlocal headers
        answer = c.post(
            "/api/v1/kms/encrypt", json={"keyId": key, "plaintext": plaintext}, headers=headers
        )
        if answer.status_code == 403 and "token" in answer.text:  # the hour outlived it
            headers = world.sign_in(account, "admin", password)
            answer = c.post(
                "/api/v1/kms/encrypt", json={"keyId": key, "plaintext": plaintext}, headers=headers
            )
        assert answer.status_code == 200, answer.text

    before, at_seven, at_eight = _steady_then_surge(world, use, Detector.KEY_USAGE)
    assert before == [] and at_seven == []
    [alarm] = at_eight
    assert alarm.verdict.subject == key
    assert (alarm.verdict.count, alarm.verdict.threshold) == (8, 6)
    assert alarm.verdict.baseline_per_window == pytest.approx(2.0)
    [record] = [r for r in _alarms(world, account) if "key-usage" in json.dumps(r)]
    assert record["requestParameters"]["baselinePerWindow"] == pytest.approx(2.0)


def test_secret_reads_far_above_the_readers_baseline_raise_secret_reads(world: World) -> None:
    """Real GetSecretValue calls through the API: the same surge rule per reader."""
    world.clock.advance(seconds=-3600)
    account, _, password = world.new_tenant("secretsurge")
    c = world.client
    headers = world.sign_in(account, "admin", password)
    created = c.post("/api/v1/secrets", json={"name": "db", "secretString": "v"}, headers=headers)
    assert created.status_code == 201, created.text

    def use() -> None:
        nonlocal headers
        answer = c.get("/api/v1/secrets/value", params={"secretId": "db"}, headers=headers)
        if answer.status_code == 403 and "token" in answer.text:
            headers = world.sign_in(account, "admin", password)
            answer = c.get("/api/v1/secrets/value", params={"secretId": "db"}, headers=headers)
        assert answer.status_code == 200, answer.text

    before, at_seven, at_eight = _steady_then_surge(world, use, Detector.SECRET_READS)
    assert before == [] and at_seven == []
    [alarm] = at_eight
    assert alarm.verdict.subject == f"arn:aws:iam::{account}:user/admin"
    assert alarm.verdict.baseline_per_window == pytest.approx(2.0)
