"""The composition root: builds the platform's services from settings, once, at start.

Only the faces (api, cli) import this module; everything below receives what it needs
explicitly (no globals, no registries).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lakevault import iam, identity
from lakevault.audit import AuditProofs, DatabaseAuditLog, ensure_signing_key, load_verifier
from lakevault.core import Clock, RandomSource, Settings, SystemClock, SystemRandom
from lakevault.core.errors import SchemaMismatch
from lakevault.db import Database, check_schema, current_revision, upgrade
from lakevault.directory import Directory, UserPoolAdministration
from lakevault.gate import Gate
from lakevault.identity import (
    BootstrapCredentials,
    DatabasePolicySource,
    SigningKeys,
    TokenService,
    bootstrap_platform,
)
from lakevault.jobs import JobQueue, TaskRegistry, open_queue
from lakevault.keys import KeyService, TombstoneJournal, journal_path
from lakevault.kms import (
    OperatorBlindTenantKeyWrapper,
    PlatformRootKey,
    PlatformTenantKeyWrapper,
    TenantKeyAgents,
    ensure_root_key,
)
from lakevault.runtime._home import prepare_home
from lakevault.runtime._sandbox import SandboxRuntime
from lakevault.runtime._tasks import platform_tasks
from lakevault.secrets import (
    RANDOM_PASSWORD_HOOK,
    RandomPasswordHook,
    RotationHooks,
    SecretDataKeys,
    SecretsManager,
)
from lakevault.storage import (
    MultipartUploadDataKeys,
    ObjectDataKeys,
    ObjectStorage,
    object_lock_key_guard,
    open_backend,
)
from lakevault.trail import AlarmSubscriptions, AuditAccess, AuditExportSettings, TrailCore


@dataclass(frozen=True, slots=True, kw_only=True)
class Platform:
    """Every long-lived service of one lakevault process."""

    settings: Settings
    clock: Clock
    random: RandomSource
    database: Database
    audit: DatabaseAuditLog
    gate: Gate
    jobs: JobQueue
    directory: Directory
    tokens: TokenService
    root_key: Callable[[], PlatformRootKey]
    user_pool: identity.UserPoolService
    """The user pool's public flows and password sign-in (docs/user-pool.md)."""
    user_pool_admin: UserPoolAdministration
    keys: KeyService
    """The tenant KMS (docs/keys.md)."""
    storage: ObjectStorage
    """Buckets and encrypted objects (docs/storage.md)."""
    secrets: SecretsManager
    """Versioned secrets under tenant KMS keys (docs/secrets.md)."""
    audit_access: AuditAccess
    """Reading audit logs, proofs and checkpoints through the gate (docs/audit.md)."""
    audit_alarms: AlarmSubscriptions
    """Where each account's audit alarms are delivered (docs/audit.md, "Alarms")."""
    sandbox: SandboxRuntime
    """Sandboxed functions; the supervisor starts on first use, never at build (ADR 0176)."""

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        random: RandomSource | None = None,
    ) -> Platform:
        """Wire the services. Opens no connection yet (the database connects on first use)."""
        clock = clock if clock is not None else SystemClock()
        random = random if random is not None else SystemRandom()
        database = Database(settings.effective_database_url)
        audit = DatabaseAuditLog(database)
        # Loaded on first use, so building the platform reads no key file.
        root_key = functools.cache(lambda: PlatformRootKey.load(settings))
        tokens = TokenService(
            lambda: SigningKeys.load_or_create(settings.resolved_home, random=random, clock=clock),
            clock=clock,
            random=random,
            issuer=f"lakevault:{settings.region}",
            ttl_seconds=settings.access_token_ttl_seconds,
        )
        # The key service is built below; the job tasks reach it when they run.
        built: list[Platform] = []  # The audit bucket export reaches storage once built.
        jobs = _job_queue(
            settings,
            database,
            clock,
            random,
            keys=lambda: keys,
            secrets=lambda: secrets_manager,
            object_storage=lambda: built[0].storage,
        )
        gate = Gate(
            engine=iam.Evaluator(),
            policies=DatabasePolicySource(database),
            audit=audit,
            clock=clock,
            random=random,
            region=settings.region,
        )
        trail_core = TrailCore(
            database=database, gate=gate, clock=clock, random=random, region=settings.region
        )
        keys = KeyService(
            database=database,
            gate=gate,
            audit=audit,
            # A tenant with a key agent (operator-blind mode) is wrapped by its agent; others
            # by a key derived from the platform root key (docs/keys.md).
            wrapper=OperatorBlindTenantKeyWrapper(
                default=PlatformTenantKeyWrapper(root_key, random=random),
                agents=TenantKeyAgents(database, root_key=root_key, clock=clock, random=random),
            ),
            clock=clock,
            random=random,
            region=settings.region,
            material_ttl_seconds=settings.kms_material_cache_seconds,
            allow_restored_destroyed_keys=settings.kms_allow_restored_destroyed_keys,
            tombstones=TombstoneJournal(journal_path(settings.resolved_home)),
            # Where services keep wrapped data keys, for 'lakevault kms rewrap' (ADR 0127).
            data_key_registries=lambda: (
                SecretDataKeys(database),
                ObjectDataKeys(database),
                MultipartUploadDataKeys(database),
            ),
            # A bucket with object lock keeps its key usable (ADR 0158).
            retirement_guards=lambda: (object_lock_key_guard(database),),
        )
        sandbox = SandboxRuntime(settings, gate=gate)
        secrets_manager = SecretsManager(
            database=database,
            gate=gate,
            audit=audit,
            keys=keys,
            clock=clock,
            random=random,
            region=settings.region,
            # Built-in rotation hooks run in-process (docs/decisions/0210).
            rotation_hooks=RotationHooks({RANDOM_PASSWORD_HOOK: RandomPasswordHook(random)}),
            # Tenants' rotation functions run in the sandbox (docs/secrets.md, ADR 0214).
            sandbox=sandbox,
        )
        # Sign-in throttling counts in the metadata database by default, so the limit holds
        # across HTTP processes and servers (ADR 0268).
        rate_limits = identity.limits_storage(
            settings.rate_limit_storage_url.get_secret_value(), database
        )
        platform = cls(
            settings=settings,
            clock=clock,
            random=random,
            database=database,
            audit=audit,
            gate=gate,
            jobs=jobs,
            keys=keys,
            storage=ObjectStorage(
                database=database,
                gate=gate,
                keys=keys,
                backend=open_backend(settings),
                clock=clock,
                random=random,
                region=settings.region,
                root_key=root_key,
                max_object_bytes=settings.storage_max_object_bytes,
                multipart_min_part_bytes=settings.storage_multipart_min_part_bytes,
            ),
            secrets=secrets_manager,
            directory=Directory(
                database=database,
                gate=gate,
                clock=clock,
                random=random,
                region=settings.region,
                root_key=root_key,
                oidc=identity.OIDCClient(
                    clock=clock, allow_http_loopback=settings.federation_allow_http_loopback
                ),
                federation_limiter=identity.AttemptLimiter(
                    settings.federation_rate_limit,
                    storage=rate_limits,
                    per="per client address",
                ),
                session_token_max_seconds=settings.session_token_max_seconds,
            ),
            tokens=tokens,
            root_key=root_key,
            user_pool=identity.UserPoolService(
                database=database,
                tokens=tokens,
                clock=clock,
                random=random,
                root_key=root_key,
                enqueue=jobs.enqueue,
                region=settings.region,
                lockout=identity.LockoutPolicy.from_settings(settings),
                lifetimes=identity.TokenLifetimes.from_settings(settings),
                limiter=identity.AttemptLimiter(settings.sign_in_rate_limit, storage=rate_limits),
            ),
            user_pool_admin=UserPoolAdministration(
                default_password_policy=identity.PasswordPolicy.from_settings(settings),
                database=database,
                gate=gate,
                clock=clock,
                random=random,
                region=settings.region,
                root_key=root_key,
            ),
            audit_access=AuditAccess(
                trail_core,
                # The verifier key file is read on first use: building opens nothing.
                proofs=functools.cache(
                    lambda: AuditProofs(database, load_verifier(settings.resolved_home))
                ),
            ),
            audit_alarms=AlarmSubscriptions(
                trail_core,
                root_key=root_key,
                allow_http_loopback=settings.audit_alarm_webhook_allow_http_loopback,
            ),
            sandbox=sandbox,
        )
        built.append(platform)
        return platform

    def audit_exports(self) -> AuditExportSettings:
        """Turning an account's audit bucket export on and its retention (docs/audit.md)."""
        core = TrailCore(
            database=self.database,
            gate=self.gate,
            clock=self.clock,
            random=self.random,
            region=self.settings.region,
        )
        return AuditExportSettings(core, self.storage)

    def check_ready(self) -> str:
        """Raise unless the database answers and its schema is this code's; return the revision.

        A missing SQLite file is reported, not created: opening it would leave an empty
        database behind in a directory that is not an installation.
        """
        path = self.database.sqlite_path
        if path is not None and not path.exists():
            raise SchemaMismatch(
                f"there is no metadata database at {path}; run 'lakevault init' (or 'lakevault "
                "serve --init') to create an installation, or set LAKEVAULT_HOME to an existing one"
            )
        self.database.ping()
        return check_schema(self.database)

    def close(self) -> None:
        self.sandbox.close()
        self.database.dispose()


def _job_queue(
    settings: Settings,
    database: Database,
    clock: Clock,
    random: RandomSource,
    *,
    keys: Callable[[], KeyService],
    secrets: Callable[[], SecretsManager] | None = None,
    object_storage: Callable[[], ObjectStorage] | None = None,
) -> JobQueue:
    """The configured job backend with every task of the platform (``runtime/_tasks.py``)."""
    opened: list[JobQueue] = []

    def enqueue(*args: Any, **kwargs: Any) -> Any:
        return opened[0].enqueue(*args, **kwargs)

    tasks, periodic = platform_tasks(
        settings,
        database,
        clock,
        random,
        enqueue=enqueue,
        keys=keys,
        secrets_manager=secrets,
        object_storage=object_storage,
    )
    queue = open_queue(
        settings.job_backend.value,
        database=database,
        registry=TaskRegistry(tasks, periodic),
        clock=clock,
        random=random,
        region=settings.region,
    )
    opened.append(queue)
    return queue


@dataclass(frozen=True, slots=True, kw_only=True)
class InitResult:
    created_schema: bool
    revision: str
    credentials: BootstrapCredentials | None


def initialise(platform: Platform) -> InitResult:
    """Prepare a new installation, or confirm an existing one; never migrate one silently.

    * no schema yet: create it (all migrations), then bootstrap the administrator;
    * schema at head: bootstrap only if that never completed;
    * schema older or newer than the code: raise ``SchemaMismatch`` — upgrading existing data
      is an explicit step (``lakevault db upgrade``), taken after a backup.
    """
    home = prepare_home(platform.settings)
    # The audit checkpoint signing key lives in its own file, apart from the database.
    ensure_signing_key(home)
    # So are the platform root key (local provider) and the access-token signing keys.
    ensure_root_key(platform.settings, platform.random)
    # So are the access-token signing keys.
    SigningKeys.load_or_create(home, random=platform.random, clock=platform.clock)
    created = False
    if current_revision(platform.database) is None:
        upgrade(platform.database)
        created = True
    revision = check_schema(platform.database)
    credentials = bootstrap_platform(
        platform.database,
        clock=platform.clock,
        random=platform.random,
        region=platform.settings.region,
    )
    return InitResult(created_schema=created, revision=revision, credentials=credentials)
