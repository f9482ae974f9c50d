"""``lakevault key-agent`` (operator-blind mode) and ``lakevault root-key`` (the key ceremony).

Two sides of one feature, on two machines:

* the **tenant** runs ``key-agent init``, ``key-agent certs`` and ``key-agent run`` on a machine
  of theirs: the agent holds the tenant's root key and answers wrap/unwrap over mutual TLS;
* the **operator** runs ``key-agent attach`` with the bundle the tenant hands over (the agent's
  CA certificate, the platform's client certificate and key) and the agent's URL.

``root-key check`` loads the platform root key as ``serve`` would and compares it with the
database's check value; ``root-key protect`` wraps the local key file with a passphrase.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import SecretStr

from lakevault import kms
from lakevault.cli._common import command, console, error_console, print_json, read_settings
from lakevault.core import Settings, SystemClock, SystemRandom, write_atomically
from lakevault.core.errors import ConfigurationError
from lakevault.keys import KeyAgentAttachments
from lakevault.runtime import Platform

app = typer.Typer(
    help="Operator-blind mode: the tenant's key agent, and attaching it to the platform.",
    no_args_is_help=True,
)
root_key_app = typer.Typer(
    help="The platform root key: check it, or wrap the local key file with a passphrase.",
    no_args_is_help=True,
)

PASSPHRASE_VARIABLE = "LAKEVAULT_ROOT_KEY_PASSPHRASE"  # noqa: S105 - a variable name

_Directory = Annotated[
    Path, typer.Option("--dir", help="The key agent's directory (on the tenant's machine).")
]
_Tenant = Annotated[str, typer.Option("--tenant", help="The tenant's 12-digit account id.")]


def _read_passphrase_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").rstrip("\n")
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the passphrase file {path} ({exc.strerror})"
        ) from exc


def _prompt_new_passphrase() -> str:
    if not sys.stdin.isatty():
        raise ConfigurationError(
            "a new passphrase is asked on a terminal; run this command on one, or pass "
            "--passphrase-file"
        )
    return str(typer.prompt("New passphrase", hide_input=True, confirmation_prompt=True))


def settings_with_root_key_passphrase(settings: Settings) -> Settings:
    """Ask for the root key passphrase on a terminal when the key file needs one.

    The answer is also put in this process's environment, so that worker processes started by
    ``serve`` (which read their settings from the environment) can open the key too.
    """
    if (
        settings.root_key_passphrase is not None
        or not sys.stdin.isatty()
        or not kms.root_key_needs_passphrase(settings)
    ):
        return settings
    path = kms.root_key_path(settings.resolved_home)
    passphrase = str(typer.prompt(f"Passphrase of {path}", hide_input=True))
    os.environ[PASSPHRASE_VARIABLE] = passphrase
    return settings.model_copy(update={"root_key_passphrase": SecretStr(passphrase)})


def settings_with_new_root_key_passphrase(settings: Settings) -> Settings:
    """For ``init --passphrase``: ask for the passphrase of the key file about to be made."""
    if settings.root_key_passphrase is not None:
        return settings
    passphrase = _prompt_new_passphrase()
    os.environ[PASSPHRASE_VARIABLE] = passphrase
    return settings.model_copy(update={"root_key_passphrase": SecretStr(passphrase)})


# --- root-key ----------------------------------------------------------------------------------


@root_key_app.command("check")
@command
def root_key_check() -> None:
    """Load the platform root key as 'serve' would; compare it with the database's check value."""
    settings = settings_with_root_key_passphrase(read_settings())
    platform = Platform.build(settings)
    try:
        root_key = platform.root_key()
        platform.check_ready()
        recorded = kms.verify_root_key(platform.database, root_key, clock=platform.clock)
    finally:
        platform.close()
    state = "recorded its check value now" if recorded else "matches this installation"
    console.print(f"platform root key from {root_key.source}: {state}")


@root_key_app.command("protect")
@command
def root_key_protect(
    passphrase_file: Annotated[
        Path | None,
        typer.Option(help="Read the new passphrase from this file (else asked on the terminal)."),
    ] = None,
) -> None:
    """Wrap the local root key file with a passphrase (argon2id), or change its passphrase.

    The key itself does not change. Give the current passphrase, if any, as for 'serve'.
    """
    settings = settings_with_root_key_passphrase(read_settings())
    new = (
        _read_passphrase_file(passphrase_file)
        if passphrase_file is not None
        else _prompt_new_passphrase()
    )
    path = kms.protect_root_key_file(settings, new, SystemRandom())
    error_console.print(
        f"{path} is now wrapped by the passphrase; give it to 'serve' as "
        f"{PASSPHRASE_VARIABLE} or on the terminal"
    )


# --- key-agent: the tenant's side ---------------------------------------------------------------


@app.command("init")
@command
def agent_init(
    directory: _Directory,
    tenant: _Tenant,
    passphrase: Annotated[
        bool, typer.Option("--passphrase", help="Wrap the agent's key with a passphrase.")
    ] = False,
    passphrase_file: Annotated[
        Path | None, typer.Option(help="Read that passphrase from this file.")
    ] = None,
) -> None:
    """Create a key agent directory with a new tenant root key (mode 0600)."""
    secret: str | None = None
    if passphrase_file is not None:
        secret = _read_passphrase_file(passphrase_file)
    elif passphrase:
        secret = _prompt_new_passphrase()
    identity = kms.initialise_agent_directory(
        directory, tenant_id=tenant, random=SystemRandom(), passphrase=secret
    )
    error_console.print(
        f"key agent for tenant {identity.tenant_id} created in {directory} (key id "
        f"{identity.key_id}); back up {directory / 'agent-root.key'}: without it, nothing "
        "under this tenant's keys can ever be decrypted. Next: 'lakevault key-agent certs'"
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomically(path, data, mode=mode)


@app.command("certs")
@command
def agent_certs(
    directory: _Directory,
    host: Annotated[
        list[str],
        typer.Option("--host", help="A name or IP address the platform uses for the agent."),
    ],
    days: Annotated[int, typer.Option(help="Validity of the certificates in days.")] = 397,
) -> None:
    """Make the agent's CA, server certificate and the platform's client certificate.

    Writes tls/ (kept by the agent) and platform/ (ca.pem, client.pem, client.key: hand this
    bundle to the operator over a safe channel, then delete platform/client.key here). The
    client certificate's fingerprint is pinned in agent.json; earlier pins are replaced.
    """
    identity = kms.AgentIdentity.read(directory)
    issued = kms.issue_agent_certificates(
        tenant_id=identity.tenant_id, hosts=host, now=SystemClock().now(), days=days
    )
    _write(directory / "tls" / "ca.pem", issued.ca_certificate, 0o644)
    _write(directory / "tls" / "ca.key", issued.ca_key, 0o600)
    _write(directory / "tls" / "server.pem", issued.server_certificate, 0o644)
    _write(directory / "tls" / "server.key", issued.server_key, 0o600)
    _write(directory / "platform" / "ca.pem", issued.ca_certificate, 0o644)
    _write(directory / "platform" / "client.pem", issued.client_certificate, 0o644)
    _write(directory / "platform" / "client.key", issued.client_key, 0o600)
    fingerprint = kms.certificate_fingerprint(issued.client_certificate)
    kms.AgentIdentity(
        tenant_id=identity.tenant_id,
        key_id=identity.key_id,
        allowed_client_fingerprints=(fingerprint,),
    ).write(directory)
    error_console.print(
        f"certificates for {', '.join(host)} written to {directory / 'tls'}; the platform's "
        f"bundle is {directory / 'platform'} (client fingerprint {fingerprint})"
    )


@app.command("run")
@command
def agent_run(
    directory: _Directory,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0 picks a free one).")] = 8443,
    passphrase_file: Annotated[
        Path | None, typer.Option(help="The agent key's passphrase, if it has one.")
    ] = None,
) -> None:
    """Run the key agent: wrap and unwrap for the platform over mutual TLS, until stopped."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    passphrase: str | None = None
    if passphrase_file is not None:
        passphrase = _read_passphrase_file(passphrase_file)
    elif kms.key_file_needs_passphrase(directory) and sys.stdin.isatty():
        passphrase = str(typer.prompt("Passphrase of the agent key", hide_input=True))
    root = kms.load_agent_root(directory, passphrase=passphrase)
    if not root.identity.allowed_client_fingerprints:
        raise ConfigurationError(
            f"{directory} has no client certificate pinned; run 'lakevault key-agent certs' first"
        )

    def ready(address: str, bound: int) -> None:
        error_console.print(
            f"key agent for tenant {root.identity.tenant_id} listening on "
            f"https://{address}:{bound}; Ctrl-C stops it"
        )

    try:
        kms.serve_agent(
            directory, root, host=host, port=port, random=SystemRandom(), on_ready=ready
        )
    except KeyboardInterrupt:
        error_console.print("key agent stopped")
    except OSError as exc:
        raise ConfigurationError(
            f"the key agent cannot listen on {host}:{port} ({exc.strerror})"
        ) from exc


# --- key-agent: the operator's side --------------------------------------------------------------


def _agents(platform: Platform) -> kms.TenantKeyAgents:
    return kms.TenantKeyAgents(
        platform.database, root_key=platform.root_key, clock=platform.clock, random=platform.random
    )


def _read_bundle_file(bundle: Path, name: str) -> bytes:
    try:
        return (bundle / name).read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read {bundle / name} ({exc.strerror}); --bundle is the platform/ directory "
            "made by 'lakevault key-agent certs'"
        ) from exc


@app.command("attach")
@command
def agent_attach(
    tenant: _Tenant,
    url: Annotated[str, typer.Option(help="The agent's URL, https://HOST:PORT.")],
    bundle: Annotated[Path, typer.Option(help="Directory with ca.pem, client.pem and client.key.")],
    check: Annotated[
        bool, typer.Option("--check/--no-check", help="Ask the agent for its health first.")
    ] = True,
) -> None:
    """Put a tenant in operator-blind mode: its new keys are wrapped by its agent."""
    settings = settings_with_root_key_passphrase(read_settings())
    platform = Platform.build(settings)
    try:
        platform.check_ready()
        connection = kms.AgentConnection(
            tenant_id=tenant,
            url=url,
            ca_certificate=_read_bundle_file(bundle, "ca.pem"),
            client_certificate=_read_bundle_file(bundle, "client.pem"),
            client_key=_read_bundle_file(bundle, "client.key"),
        )
        if check:
            wrapper = kms.AgentKeyWrapper(connection)
            try:
                health = wrapper.health()
            finally:
                wrapper.close()
            if health["tenant_id"] != tenant:
                raise ConfigurationError(
                    f"the agent at {url} serves tenant {health['tenant_id']}, not {tenant}"
                )
        agents = _agents(platform)
        fingerprint = agents.attach(
            tenant,
            url=url,
            ca_certificate=connection.ca_certificate,
            client_certificate=connection.client_certificate,
            client_key=connection.client_key,
        )
        # No gate decides this operator command: the tenant's own log records it (ADR 0217).
        KeyAgentAttachments(platform.keys, agents).record_operator_change(
            tenant, "PutKeyAgent", {"url": url, "clientCertificateFingerprint": fingerprint}
        )
    finally:
        platform.close()
    error_console.print(
        f"tenant {tenant} now uses its key agent at {url} (client {fingerprint[:16]}); the "
        f"bundle's client.key is stored sealed in the database: delete {bundle / 'client.key'}"
    )


@app.command("detach")
@command
def agent_detach(tenant: _Tenant) -> None:
    """Forget a tenant's agent. Material it wrapped stays unreadable until it is attached again."""
    platform = Platform.build(settings_with_root_key_passphrase(read_settings()))
    try:
        platform.check_ready()
        agents = _agents(platform)
        agents.detach(tenant)
        KeyAgentAttachments(platform.keys, agents).record_operator_change(
            tenant, "DeleteKeyAgent", {}
        )
    finally:
        platform.close()
    error_console.print(f"tenant {tenant} has no key agent attached any more")


@app.command("status")
@command
def agent_status(tenant: _Tenant) -> None:
    """Ask a tenant's attached agent whether it answers (prints its tenant and key id)."""
    platform = Platform.build(settings_with_root_key_passphrase(read_settings()))
    try:
        platform.check_ready()
        found = _agents(platform).connection(tenant)
    finally:
        platform.close()
    if found is None:
        raise ConfigurationError(f"tenant {tenant} has no key agent attached")
    wrapper = kms.AgentKeyWrapper(found[0])
    try:
        print_json({"url": found[0].url, **wrapper.health()})
    finally:
        wrapper.close()
