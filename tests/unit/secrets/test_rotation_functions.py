"""Tenants' rotation functions run AWS's four steps in the real sandbox (docs/secrets.md).

Each step is one single-use sandbox; the platform stores the pending version and moves the
labels. These tests apply the real confinement layers (root, namespaces, seccomp, cgroups) and
skip, naming the missing layer, only where the kernel lacks one.
"""

from __future__ import annotations

import socket
import textwrap
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from lakevault.core import SystemRandom
from lakevault.core.errors import AccessDenied
from lakevault.jobs import JobId, TaskContext
from lakevault.sandbox import (
    ConcurrencyLimits,
    Dispatcher,
    LayerReport,
    Supervisor,
    SupervisorSettings,
    probe_layers,
)
from lakevault.secrets import (
    AWSCURRENT,
    AWSPENDING,
    AWSPREVIOUS,
    RANDOM_PASSWORD_HOOK,
    InvalidParameterException,
    InvalidRequestException,
    RandomPasswordHook,
    ResourceNotFoundException,
    RotationHooks,
    SecretsManager,
    function_arn,
    rotation_tasks,
)
from tests.unit.secrets.conftest import ALICE, BOB, CAROL, TENANT_A, SecretsWorld

DAY = 86400
TOKEN = "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def dispatcher() -> Iterator[Dispatcher]:
    report: LayerReport = probe_layers()
    if report.missing:
        reasons = "; ".join(f"{s.layer}: {s.detail}" for s in report.missing)
        pytest.skip(f"this kernel/host lacks sandbox layers ({reasons})")
    supervisor = Supervisor(SupervisorSettings(zygotes=2))
    supervisor.start(report)
    yield Dispatcher(supervisor, ConcurrencyLimits())
    supervisor.close()


@pytest.fixture
def manager(world: SecretsWorld, dispatcher: Dispatcher) -> SecretsManager:
    """The world's secrets manager with a sandbox (loopback endpoints allowed for the tests)."""
    manager = SecretsManager(
        database=world.database,
        gate=world.gate,
        audit=world.audit,
        keys=world.keys,
        clock=world.clock,
        random=SystemRandom(),
        region="local",
        rotation_hooks=RotationHooks({RANDOM_PASSWORD_HOOK: RandomPasswordHook(SystemRandom())}),
        sandbox=dispatcher,
        sandbox_allow_loopback_endpoints=True,
    )
    world.secrets = manager
    return manager


GOOD = """
import os

def handler(event, context):
    if os.environ:
        raise RuntimeError("the sandbox has an environment")
    step = event["Step"]
    expected = {
        "createSecret": {"Step", "SecretId", "ClientRequestToken", "CurrentValue"},
        "setSecret": {"Step", "SecretId", "ClientRequestToken", "CurrentValue", "PendingValue"},
        "testSecret": {"Step", "SecretId", "ClientRequestToken", "PendingValue"},
        "finishSecret": {"Step", "SecretId", "ClientRequestToken"},
    }[step]
    if set(event) != expected:
        raise ValueError(f"{step} got {sorted(event)}")
    if step == "createSecret":
        current = event["CurrentValue"]["SecretString"]
        return {"SecretString": current + "+" + event["ClientRequestToken"]}
    if step == "testSecret" and not event["PendingValue"]["SecretString"].startswith("initial+"):
        raise ValueError("pending value is not derived from the current one")
    return {"ok": step}
"""


def _labels(manager: SecretsManager, world: SecretsWorld, name: str) -> dict[str, str]:
    described = manager.describe_secret(world.call(), name)
    return {
        stage: version
        for version, stages in described.version_ids_to_stages.items()
        for stage in stages
    }


def _failing(body: str, *, step: str = "createSecret") -> str:
    """A function that does ``body`` at ``step`` and succeeds at every other step."""
    return (
        "import socket, time\n\n"
        "def handler(event, context):\n"
        f"    if event['Step'] == {step!r}:\n"
        + textwrap.indent(textwrap.dedent(body), "        ")
        + "    if event['Step'] == 'createSecret':\n"
        "        return {'SecretString': 'fresh-' + event['ClientRequestToken']}\n"
        "    return None\n"
    )


def _rotation_failures(world: SecretsWorld) -> list[dict[str, Any]]:
    return [
        e
        for e in world.events()
        if e["eventName"] == "RotateSecret" and e.get("errorCode") == "InvalidRequestException"
    ]


def test_a_registered_function_rotates_a_secret_in_four_sandboxed_steps(
    world: SecretsWorld, manager: SecretsManager
) -> None:
    created = manager.create_secret(world.call(), "db", secret_string="initial")
    function = manager.put_rotation_function(world.call(), "rotator", source=GOOD)
    assert function.arn == function_arn("local", TENANT_A, "rotator")

    rotated = manager.rotate_secret(
        world.call(), "db", rotation_hook=function.arn, client_request_token=TOKEN
    )

    assert rotated.version_id == TOKEN
    value = manager.get_secret_value(world.call(), "db")
    assert value.secret_string == f"initial+{TOKEN}"
    labels = _labels(manager, world, "db")
    assert labels == {AWSCURRENT: TOKEN, AWSPREVIOUS: created.version_id}
    assert manager.describe_secret(world.call(), "db").rotation_hook == function.arn
    assert f"initial+{TOKEN}" not in world.audit_text()
    # The short form names the function of the secret's own account.
    again = manager.rotate_secret(world.call(), "db", rotation_hook="function:rotator")
    assert _labels(manager, world, "db")[AWSPREVIOUS] == TOKEN
    assert again.version_id is not None


def test_a_function_that_raises_leaves_awscurrent_and_is_audited(
    world: SecretsWorld, manager: SecretsManager
) -> None:
    manager.create_secret(world.call(), "db", secret_string="initial")
    source = _failing("raise RuntimeError('password is ' + str(event['PendingValue']))\n",
                      step="setSecret")  # fmt: skip
    manager.put_rotation_function(world.call(), "raiser", source=source)
    before = _labels(manager, world, "db")

    with pytest.raises(InvalidRequestException, match=r"setSecret .*ended error: RuntimeError"):
        manager.rotate_secret(
            world.call(), "db", rotation_hook="function:raiser", client_request_token=TOKEN
        )

    after = _labels(manager, world, "db")
    assert after[AWSCURRENT] == before[AWSCURRENT]
    assert after[AWSPENDING] == TOKEN
    assert manager.get_secret_value(world.call(), "db").secret_string == "initial"
    [failure] = _rotation_failures(world)
    assert failure["requestParameters"]["step"] == "setSecret"
    assert f"fresh-{TOKEN}" not in world.audit_text()  # the function's message never travels


def test_a_function_that_fails_at_finish_leaves_awscurrent(
    world: SecretsWorld, manager: SecretsManager
) -> None:
    manager.create_secret(world.call(), "db", secret_string="initial")
    manager.put_rotation_function(
        world.call(), "late", source=_failing("raise ValueError('no')\n", step="finishSecret")
    )
    with pytest.raises(InvalidRequestException, match="finishSecret"):
        manager.rotate_secret(world.call(), "db", rotation_hook="function:late")
    assert manager.get_secret_value(world.call(), "db").secret_string == "initial"
    assert AWSPENDING in _labels(manager, world, "db")


def test_a_function_that_times_out_is_killed_and_nothing_is_stored(
    world: SecretsWorld, manager: SecretsManager
) -> None:
    manager.create_secret(world.call(), "db", secret_string="initial")
    manager.put_rotation_function(
        world.call(), "slow", source=_failing("time.sleep(30)\n"), timeout_seconds=1
    )
    before = _labels(manager, world, "db")

    with pytest.raises(InvalidRequestException, match=r"createSecret .*ended timeout"):
        manager.rotate_secret(world.call(), "db", rotation_hook="function:slow")

    assert _labels(manager, world, "db") == before
    assert len(manager.describe_secret(world.call(), "db").version_ids_to_stages) == 1
    assert _rotation_failures(world)


def _listener() -> tuple[socket.socket, list[bytes]]:
    """A loopback listener that answers each connection with one line and counts them."""
    server = socket.create_server(("127.0.0.1", 0))
    seen: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                seen.append(b"connected")
                connection.sendall(b"from-the-endpoint\n")

    threading.Thread(target=serve, daemon=True).start()
    return server, seen


def test_a_function_reaches_its_registered_endpoint_and_nothing_else(
    world: SecretsWorld, manager: SecretsManager
) -> None:
    allowed, allowed_seen = _listener()
    other, other_seen = _listener()
    allowed_port, other_port = allowed.getsockname()[1], other.getsockname()[1]
    try:
        manager.create_secret(world.call(), "db", secret_string="initial")
        manager.create_secret(world.call(), "other", secret_string="initial")
        reach = """
import socket

def handler(event, context):
    if event["Step"] != "createSecret":
        return None
    with socket.create_connection(("127.0.0.1", {port}), timeout=5) as connection:
        return {{"SecretString": connection.recv(100).decode().strip()}}
"""
        manager.put_rotation_function(
            world.call(),
            "allowed",
            source=reach.format(port=allowed_port),
            endpoints=[f"127.0.0.1:{allowed_port}"],
        )
        manager.put_rotation_function(
            world.call(),
            "sneaky",
            source=reach.format(port=other_port),
            endpoints=[f"127.0.0.1:{allowed_port}"],
        )

        manager.rotate_secret(world.call(), "db", rotation_hook="function:allowed")
        assert manager.get_secret_value(world.call(), "db").secret_string == "from-the-endpoint"
        assert allowed_seen

        with pytest.raises(InvalidRequestException, match=r"createSecret .*ended error"):
            manager.rotate_secret(world.call(), "other", rotation_hook="function:sneaky")
        assert other_seen == []
        assert manager.get_secret_value(world.call(), "other").secret_string == "initial"
    finally:
        allowed.close()
        other.close()


@pytest.mark.parametrize(
    "answer",
    [
        "{'nope': 1}",
        "'just a string'",
        "{'SecretString': ''}",
        "{'SecretBinary': 'not base64!'}",
        "{'SecretString': 'a', 'SecretBinary': 'YQ=='}",
        "{1, 2}",  # not JSON at all
    ],
)
def test_a_function_that_returns_garbage_stores_nothing(
    world: SecretsWorld, manager: SecretsManager, answer: str
) -> None:
    manager.create_secret(world.call(), "db", secret_string="initial")
    source = f"def handler(event, context):\n    return {answer}\n"
    manager.put_rotation_function(world.call(), "garbage", source=source)
    with pytest.raises(InvalidRequestException, match="createSecret"):
        manager.rotate_secret(world.call(), "db", rotation_hook="function:garbage")
    assert _labels(manager, world, "db").keys() == {AWSCURRENT}
    assert manager.get_secret_value(world.call(), "db").secret_string == "initial"


def test_scheduled_rotation_runs_the_function_through_the_job(
    world: SecretsWorld, manager: SecretsManager
) -> None:
    manager.create_secret(world.call(), "db", secret_string="initial")
    manager.put_rotation_function(world.call(), "rotator", source=GOOD)
    manager.rotate_secret(
        world.call(), "db", rotation_hook="function:rotator", automatically_after_days=1,
        rotate_immediately=False,
    )  # fmt: skip
    before = _labels(manager, world, "db")
    world.clock.advance(seconds=DAY + 60)

    [definition], _ = rotation_tasks(lambda: manager)
    context = TaskContext(
        job_id=JobId(1), task_name=definition.name, attempt=1, effect_key="job:1",
        now=world.clock.now(),
    )  # fmt: skip
    definition.handler(context, definition.payload_model())

    after = _labels(manager, world, "db")
    assert after[AWSPREVIOUS] == before[AWSCURRENT]
    value = manager.get_secret_value(world.call(), "db").secret_string
    assert value is not None and value.startswith("initial+")
    by_service = [
        e
        for e in world.events()
        if e["eventName"] == "RotateSecret" and e["userIdentity"]["type"] == "AWSService"
    ]
    assert {(e["requestParameters"] or {}).get("step") for e in by_service} >= {"finishSecret"}


def test_a_scheduled_function_that_fails_is_recorded_and_leaves_awscurrent(
    world: SecretsWorld, manager: SecretsManager
) -> None:
    manager.create_secret(world.call(), "db", secret_string="initial")
    manager.put_rotation_function(world.call(), "raiser", source=_failing("raise OSError()\n"))
    manager.rotate_secret(
        world.call(), "db", rotation_hook="function:raiser", automatically_after_days=1,
        rotate_immediately=False,
    )  # fmt: skip
    world.clock.advance(seconds=DAY + 60)
    assert manager.rotate_due_secrets() == 0
    assert manager.get_secret_value(world.call(), "db").secret_string == "initial"
    [failure] = _rotation_failures(world)
    assert failure["userIdentity"]["type"] == "AWSService"


def test_registering_and_using_functions_is_decided_by_the_gate(
    world: SecretsWorld, manager: SecretsManager
) -> None:
    function = manager.put_rotation_function(world.call(), "rotator", source=GOOD)
    # No policy: no registration, no reading, no deletion.
    with pytest.raises(AccessDenied):
        manager.put_rotation_function(world.call(BOB), "mine", source=GOOD)
    with pytest.raises(AccessDenied):
        manager.get_rotation_function(world.call(BOB), "rotator")
    with pytest.raises(AccessDenied):
        manager.delete_rotation_function(world.call(BOB), "rotator")
    # Another tenant can neither read tenant A's function nor rotate with it.
    with pytest.raises(AccessDenied):
        manager.get_rotation_function(world.call(CAROL), function.arn)
    manager.create_secret(world.call(CAROL), "hers", secret_string="initial")
    with pytest.raises(InvalidParameterException, match="own account"):
        manager.rotate_secret(world.call(CAROL), "hers", rotation_hook=function.arn)
    with pytest.raises(InvalidParameterException, match="no rotation function"):
        manager.rotate_secret(world.call(CAROL), "hers", rotation_hook="function:rotator")
    assert manager.get_secret_value(world.call(CAROL), "hers").secret_string == "initial"
    denials = [e for e in world.events() if e.get("errorCode") == "AccessDenied"]
    assert any(e["eventName"] == "PutRotationFunction" for e in denials)


def test_functions_are_listed_read_and_deleted_only_when_unused(
    world: SecretsWorld, manager: SecretsManager
) -> None:
    manager.put_rotation_function(
        world.call(), "rotator", source=GOOD, endpoints=["db.example.com:5432"]
    )
    [listed] = manager.list_rotation_functions(world.call())
    assert (listed.name, listed.endpoints, listed.source) == (
        "rotator",
        ("db.example.com:5432",),
        None,
    )
    assert (
        manager.get_rotation_function(world.call(), "rotator", include_source=True).source == GOOD
    )
    manager.create_secret(world.call(), "db", secret_string="initial")
    manager.rotate_secret(world.call(), "db", rotation_hook="function:rotator")
    with pytest.raises(InvalidRequestException, match="still rotates db"):
        manager.delete_rotation_function(world.call(), "rotator")
    manager.rotate_secret(world.call(), "db", rotation_hook=RANDOM_PASSWORD_HOOK)
    manager.delete_rotation_function(world.call(), "rotator")
    with pytest.raises(ResourceNotFoundException):
        manager.get_rotation_function(world.call(), "rotator")
    for bad in (
        {"source": ""},
        {"source": GOOD, "endpoints": ["no-port"]},
        {"source": GOOD, "timeout_seconds": 0},
        {"source": GOOD, "memory_mb": 8},
        {"source": GOOD, "handler": "not an identifier"},
    ):
        with pytest.raises(InvalidParameterException):
            manager.put_rotation_function(world.call(), "bad", **bad)
    assert ALICE.account_id == TENANT_A
