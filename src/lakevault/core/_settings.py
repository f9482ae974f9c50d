"""The platform's configuration: one frozen object, read once at start and passed down.

Sources, lowest precedence first:

1. defaults (embedded: SQLite and a local object store under ``home``);
2. a TOML file: ``LAKEVAULT_CONFIG`` when set (it must exist), else ``lakevault.toml`` in the
   working directory when present;
3. ``LAKEVAULT_<NAME>`` environment variables (``LAKEVAULT_PORT=9000``).

Unknown keys are errors, not silently ignored: a misspelt ``LAKEVAULT_DATABSE_URL`` would
otherwise start a platform on the wrong database. Every error names the key, where it came
from, what was wrong, and an example of a right value — never the value itself, which may be a
secret.

This module is pure: the caller passes the environment mapping and the file's text, so tests
never touch ``os.environ``. pydantic-settings provides the model; its own environment and file
sources are replaced by the merge below, because they read ``os.environ`` globally and ignore
unknown variables (docs/decisions/0002-configuration-sources.md).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pydantic
from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from lakevault.core._logging import LogFormat
from lakevault.core.errors import ConfigurationError

ENV_PREFIX = "LAKEVAULT_"
CONFIG_FILE_VARIABLE = "LAKEVAULT_CONFIG"
DEFAULT_CONFIG_FILE = "lakevault.toml"

#: Environment variables with the prefix that are not settings (test harness, config path).
_NOT_SETTINGS = ("LAKEVAULT_CONFIG", "LAKEVAULT_TEST_", "LAKEVAULT_CONFORMANCE_DIR")


class RootKeyProvider(StrEnum):
    """Where the platform root key comes from (docs/keys.md)."""

    LOCAL = "local"
    ENV = "env"
    VAULT = "vault"
    AWS_KMS = "aws-kms"


class JobBackend(StrEnum):
    """Which job queue runs background work (docs/jobs.md)."""

    EMBEDDED = "embedded"
    PROCRASTINATE = "procrastinate"


class MailSenderKind(StrEnum):
    """How the user pool delivers mail (docs/user-pool.md)."""

    OUTBOX = "outbox"
    SMTP = "smtp"


class SMTPSecurity(StrEnum):
    """How the SMTP sender protects its connection."""

    STARTTLS = "starttls"
    TLS = "tls"
    NONE = "none"


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class Settings(BaseSettings):
    """Every setting of the platform. Frozen: read once at start, then passed down."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True, validate_default=True)

    home: Path = Field(
        default=Path(".lakevault"),
        description="Data directory: metadata database, object store, keys.",
        json_schema_extra={"example": "/var/lib/lakevault"},
    )
    host: str = Field(
        default="127.0.0.1",
        min_length=1,
        description="Address the API listens on.",
        json_schema_extra={"example": "127.0.0.1"},
    )
    port: int = Field(
        default=8080,
        ge=0,
        le=65535,
        description="TCP port of the API (0 picks a free one).",
        json_schema_extra={"example": 8080},
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="Metadata database; default: SQLite file metadata.db in home.",
        json_schema_extra={"example": "postgresql://lakevault:PASSWORD@127.0.0.1:5432/lakevault"},
    )
    object_store_url: str | None = Field(
        default=None,
        description="Object store; default: the local directory objects/ in home.",
        json_schema_extra={"example": "file:///var/lib/lakevault/objects"},
    )
    object_store_endpoint: str | None = Field(
        default=None,
        description="Endpoint of an s3:// object store (SeaweedFS, MinIO, Ceph RGW, AWS S3).",
        json_schema_extra={"example": "http://127.0.0.1:8333"},
    )
    object_store_region: str = Field(
        default="us-east-1",
        min_length=1,
        description="Region of an s3:// object store.",
        json_schema_extra={"example": "us-east-1"},
    )
    object_store_access_key_id: str | None = Field(
        default=None,
        description="Access key id for an s3:// object store.",
        json_schema_extra={"example": "LAKEVAULTSTORE"},
    )
    object_store_secret_access_key: SecretStr | None = Field(
        default=None,
        description="Secret access key for an s3:// object store.",
        json_schema_extra={"example": "SECRET"},
    )
    storage_max_object_bytes: int = Field(
        default=5 * 1024**4,
        ge=1,
        le=5 * 1024**4,
        description="Largest object a PUT may store unless the bucket sets its own limit.",
        json_schema_extra={"example": 10 * 1024**3},
    )
    storage_multipart_min_part_bytes: int = Field(
        default=5 * 1024**2,
        ge=1,
        le=5 * 1024**3,
        description="Smallest part of a multipart upload but the last (S3: 5 MiB).",
        json_schema_extra={"example": 5 * 1024**2},
    )
    storage_multipart_abort_after_days: int = Field(
        default=7,
        ge=1,
        le=3650,
        description="Multipart uploads older than this many days are aborted by a daily job.",
        json_schema_extra={"example": 7},
    )
    log_level: LogLevel = Field(
        default=LogLevel.INFO,
        description="Lowest level logged.",
        json_schema_extra={"example": "info"},
    )
    log_format: LogFormat = Field(
        default=LogFormat.JSON,
        description="json (one object per line) or console.",
        json_schema_extra={"example": "json"},
    )
    workers: int = Field(
        default=1,
        ge=0,
        le=64,
        description="Background job worker processes started by 'lakevault serve'.",
        json_schema_extra={"example": 1},
    )
    root_key_provider: RootKeyProvider = Field(
        default=RootKeyProvider.LOCAL,
        description="Platform root key: local (key file in home/keys, made by init, optionally "
        "passphrase-wrapped), env (base64 of 32 bytes in LAKEVAULT_ROOT_KEY), vault "
        "(wrapped by OpenBao/Vault transit) or aws-kms (wrapped by an AWS KMS key).",
        json_schema_extra={"example": "local"},
    )
    root_key: SecretStr | None = Field(
        default=None,
        description="With root_key_provider = env: the root key, base64 of 32 random bytes.",
        json_schema_extra={"example": "(base64 of 32 random bytes: openssl rand -base64 32)"},
    )
    root_key_passphrase: SecretStr | None = Field(
        default=None,
        description="With root_key_provider = local: the passphrase of a passphrase-wrapped "
        "key file (else 'lakevault serve' asks for it on a terminal).",
        json_schema_extra={"example": "(a long passphrase)"},
    )
    vault_url: str | None = Field(
        default=None,
        description="With root_key_provider = vault: the OpenBao/Vault server.",
        json_schema_extra={"example": "https://vault.example.org:8200"},
    )
    vault_token: SecretStr | None = Field(
        default=None,
        description="With root_key_provider = vault: a token allowed to encrypt and decrypt "
        "with the transit key.",
        json_schema_extra={"example": "(a Vault token)"},
    )
    vault_transit_mount: str = Field(
        default="transit",
        pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$",
        description="With root_key_provider = vault: where the transit engine is mounted.",
        json_schema_extra={"example": "transit"},
    )
    vault_transit_key: str = Field(
        default="lakevault-root",
        pattern=r"^[A-Za-z0-9_.-]{1,128}$",
        description="With root_key_provider = vault: the transit key that wraps the root key.",
        json_schema_extra={"example": "lakevault-root"},
    )
    vault_ca_file: Path | None = Field(
        default=None,
        description="With root_key_provider = vault: CA bundle that signs the server's "
        "certificate (default: the system's).",
        json_schema_extra={"example": "/etc/lakevault/vault-ca.pem"},
    )
    aws_kms_key_id: str | None = Field(
        default=None,
        description="With root_key_provider = aws-kms: the KMS key (id, ARN or alias) that "
        "wraps the root key. Credentials come from the AWS SDK's usual chain.",
        json_schema_extra={"example": "alias/lakevault-root"},
    )
    aws_kms_region: str | None = Field(
        default=None,
        description="With root_key_provider = aws-kms: the AWS region of the key.",
        json_schema_extra={"example": "eu-west-1"},
    )
    aws_kms_endpoint_url: str | None = Field(
        default=None,
        description="With root_key_provider = aws-kms: a non-default KMS endpoint (a VPC "
        "endpoint, or an emulator in tests).",
        json_schema_extra={"example": "https://kms.eu-west-1.amazonaws.com"},
    )
    kms_material_cache_seconds: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="How long unwrapped KMS key material stays in a process's memory after "
        "use; 0 never caches it (docs/keys.md, 'Caching').",
        json_schema_extra={"example": 60},
    )
    kms_allow_restored_destroyed_keys: bool = Field(
        default=False,
        description="Recovery only: use KMS key material that was destroyed (crypto-shredded) "
        "and came back with an old backup (docs/keys.md, 'Backups').",
        json_schema_extra={"example": False},
    )
    job_backend: JobBackend = Field(
        default=JobBackend.EMBEDDED,
        description="Job queue: embedded (a table in the metadata database) or procrastinate "
        "(PostgreSQL only, for workers on many machines).",
        json_schema_extra={"example": "procrastinate"},
    )
    region: str = Field(
        default="local",
        pattern=r"^[a-z0-9-]{1,32}$",
        description="Region name used in ARNs and audit events.",
        json_schema_extra={"example": "eu-west-1"},
    )
    federation_allow_http_loopback: bool = Field(
        default=False,
        description="Development only: accept http:// identity provider URLs on a loopback "
        "host (localhost, 127.0.0.1). Production issuers must be https.",
        json_schema_extra={"example": False},
    )
    audit_alarm_window_seconds: int = Field(
        default=300,
        ge=60,
        le=86400,
        multiple_of=60,
        description="Audit alarms: the window the detectors count in (whole minutes).",
        json_schema_extra={"example": 300},
    )
    audit_alarm_denied_burst: int = Field(
        default=20,
        ge=1,
        description="Audit alarms: denied calls of one principal within the window.",
        json_schema_extra={"example": 20},
    )
    audit_alarm_rate_factor: float = Field(
        default=10.0,
        ge=1.0,
        description="Audit alarms: calls of one principal in the window, as a multiple of its "
        "average per window over the baseline period.",
        json_schema_extra={"example": 10.0},
    )
    audit_alarm_rate_min_calls: int = Field(
        default=300,
        ge=1,
        description="Audit alarms: fewest calls in the window before the rate alarm can fire.",
        json_schema_extra={"example": 300},
    )
    audit_alarm_baseline_seconds: int = Field(
        default=86400,
        ge=600,
        le=30 * 86400,
        multiple_of=60,
        description="Audit alarms: the period before the window that gives the rate baseline.",
        json_schema_extra={"example": 86400},
    )
    audit_alarm_key_uses: int = Field(
        default=1000,
        ge=1,
        description="Audit alarms: uses of one KMS key within the window.",
        json_schema_extra={"example": 1000},
    )
    audit_alarm_key_surge_min_uses: int = Field(
        default=100,
        ge=1,
        description="Audit alarms: fewest uses of one KMS key within the window before a surge "
        "over its baseline (rate factor x its average per window) raises key-usage.",
        json_schema_extra={"example": 100},
    )
    audit_alarm_secret_reads: int = Field(
        default=20,
        ge=1,
        description="Audit alarms: secret values one principal read within the window.",
        json_schema_extra={"example": 20},
    )
    audit_alarm_secret_surge_min_reads: int = Field(
        default=10,
        ge=1,
        description="Audit alarms: fewest secret values one principal read within the window "
        "before a surge over its baseline (rate factor x its average) raises secret-reads.",
        json_schema_extra={"example": 10},
    )
    audit_alarm_sign_in_failures: int = Field(
        default=5,
        ge=1,
        description="Audit alarms: failed sign-ins of one user within the window.",
        json_schema_extra={"example": 5},
    )
    audit_alarm_cooldown_seconds: int = Field(
        default=900,
        ge=0,
        le=7 * 86400,
        description="Audit alarms: after an alarm, the same detector stays quiet for the same "
        "subject this long.",
        json_schema_extra={"example": 900},
    )
    audit_alarm_webhook_allow_http_loopback: bool = Field(
        default=False,
        description="Development only: accept http:// alarm webhooks on a loopback host. "
        "Production webhooks must be https.",
        json_schema_extra={"example": False},
    )
    audit_retention_days: int = Field(
        default=90,
        ge=1,
        le=7 * 365 + 2,
        description="Audit exports keep events this many days (up to 7 years); "
        "'lakevault audit expire' removes whole older segments.",
        json_schema_extra={"example": 365},
    )

    access_token_ttl_seconds: int = Field(
        default=3600,
        ge=300,
        le=86400,
        description="Lifetime of access tokens, 5 minutes to 1 day.",
        json_schema_extra={"example": 3600},
    )
    id_token_ttl_seconds: int = Field(
        default=3600,
        ge=300,
        le=86400,
        description="Lifetime of user pool ID tokens, 5 minutes to 1 day.",
        json_schema_extra={"example": 3600},
    )
    refresh_token_ttl_seconds: int = Field(
        default=2592000,
        ge=3600,
        le=2592000,
        description="Lifetime of a sign-in's refresh tokens, 1 hour to 30 days.",
        json_schema_extra={"example": 2592000},
    )
    token_key_rotation_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="A new token signing key is made when the newest is this many days old.",
        json_schema_extra={"example": 30},
    )
    password_min_length: int = Field(
        default=8,
        ge=8,
        le=256,
        description="Default password policy of new user pools: minimum length.",
        json_schema_extra={"example": 12},
    )
    password_require_uppercase: bool = Field(
        default=True,
        description="Default password policy of new user pools: an upper-case letter.",
        json_schema_extra={"example": True},
    )
    password_require_lowercase: bool = Field(
        default=True,
        description="Default password policy of new user pools: a lower-case letter.",
        json_schema_extra={"example": True},
    )
    password_require_digits: bool = Field(
        default=True,
        description="Default password policy of new user pools: a digit.",
        json_schema_extra={"example": True},
    )
    password_require_symbols: bool = Field(
        default=False,
        description="Default password policy of new user pools: a symbol.",
        json_schema_extra={"example": False},
    )
    lockout_threshold: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Failed sign-ins in a row before a user is locked out.",
        json_schema_extra={"example": 5},
    )
    lockout_base_seconds: int = Field(
        default=30,
        ge=1,
        le=3600,
        description="First lockout period; each further failure doubles it.",
        json_schema_extra={"example": 30},
    )
    lockout_max_seconds: int = Field(
        default=900,
        ge=1,
        le=86400,
        description="Longest lockout period (the backoff never grows past it).",
        json_schema_extra={"example": 900},
    )
    sign_in_rate_limit: str = Field(
        default="20/minute",
        pattern=r"^[1-9][0-9]{0,6}/(second|minute|hour|day)$",
        description="Password and code checks allowed per client address and per user name.",
        json_schema_extra={"example": "20/minute"},
    )
    federation_rate_limit: str = Field(
        default="30/minute",
        pattern=r"^[1-9][0-9]{0,6}/(second|minute|hour|day)$",
        description="Federated sign-in starts and callbacks allowed per client address.",
        json_schema_extra={"example": "30/minute"},
    )
    session_token_max_seconds: int = Field(
        default=129_600,
        ge=900,
        le=129_600,
        description="Longest GetSessionToken session (AWS allows 900 to 129600 seconds).",
        json_schema_extra={"example": 43_200},
    )
    rate_limit_storage_url: SecretStr = Field(
        default=SecretStr("database://"),
        description="Storage of rate-limit counters: 'database://' (the metadata database, "
        "shared by every process and server), or a 'limits' storage URI such as 'memory://' "
        "(this process only).",
        json_schema_extra={"example": "redis://127.0.0.1:6379"},
    )
    mail_sender: MailSenderKind = Field(
        default=MailSenderKind.OUTBOX,
        description="User pool mail: outbox (kept for the tenant admin to read) or smtp.",
        json_schema_extra={"example": "smtp"},
    )
    mail_from: str = Field(
        default="lakevault@localhost",
        min_length=3,
        description="Sender address of user pool mail.",
        json_schema_extra={"example": "no-reply@example.org"},
    )
    smtp_host: str | None = Field(
        default=None,
        description="With mail_sender = smtp: the SMTP server.",
        json_schema_extra={"example": "smtp.example.org"},
    )
    smtp_port: int = Field(
        default=587,
        ge=1,
        le=65535,
        description="With mail_sender = smtp: the SMTP port.",
        json_schema_extra={"example": 587},
    )
    smtp_security: SMTPSecurity = Field(
        default=SMTPSecurity.STARTTLS,
        description="With mail_sender = smtp: starttls, tls (implicit) or none.",
        json_schema_extra={"example": "starttls"},
    )
    smtp_username: str | None = Field(
        default=None,
        description="With mail_sender = smtp: the login name, if the server wants one.",
        json_schema_extra={"example": "lakevault"},
    )
    smtp_password: SecretStr | None = Field(
        default=None,
        description="With mail_sender = smtp: the login password.",
        json_schema_extra={"example": "(the SMTP password)"},
    )
    sandbox_zygotes: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Warm sandbox zygotes: how many functions may run at once (docs/sandbox.md).",
        json_schema_extra={"example": 2},
    )
    sandbox_default_memory_mb: int = Field(
        default=256,
        ge=16,
        le=16384,
        description="Hard memory limit (MiB) of a sandboxed invocation that names none.",
        json_schema_extra={"example": 256},
    )
    sandbox_default_timeout_seconds: float = Field(
        default=30.0,
        ge=1,
        le=900,
        description="SIGKILL deadline of a sandboxed invocation that names none (1 s to 15 min).",
        json_schema_extra={"example": 30},
    )
    sandbox_concurrency_per_tenant: int = Field(
        default=8,
        ge=1,
        le=10_000,
        description="Sandboxed invocations one tenant may run at once.",
        json_schema_extra={"example": 8},
    )
    sandbox_concurrency_per_function: int = Field(
        default=4,
        ge=1,
        le=10_000,
        description="Sandboxed invocations one function may run at once.",
        json_schema_extra={"example": 4},
    )
    sandbox_queue_size: int = Field(
        default=32,
        ge=0,
        le=100_000,
        description="Invocations that may wait for room; more are refused (SandboxBusy).",
        json_schema_extra={"example": 32},
    )
    sandbox_insecure_development: bool = Field(
        default=False,
        description="DANGEROUS, development only: run functions even where confinement layers "
        "are missing (logged loudly at every start).",
        json_schema_extra={"example": False},
    )

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        text = value.get_secret_value()
        scheme = urlsplit(text).scheme
        if scheme in {"postgresql", "postgres"}:
            return SecretStr("postgresql+psycopg" + text[len(scheme) :])
        if scheme not in ("sqlite", "postgresql+psycopg"):
            raise ValueError(
                "must be a sqlite:/// or postgresql:// URL"
                + (f" (scheme {scheme!r} is not supported)" if scheme else "")
            )
        return value

    @field_validator("object_store_url")
    @classmethod
    def _check_object_store_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("file", "s3"):
            raise ValueError("must be a file:// or s3:// URL")
        return value

    @field_validator("job_backend")
    @classmethod
    def _check_job_backend(cls, value: JobBackend, info: ValidationInfo) -> JobBackend:
        url = info.data.get("database_url")
        is_postgresql = url is not None and url.get_secret_value().startswith("postgresql")
        if value is JobBackend.PROCRASTINATE and not is_postgresql:
            raise ValueError(
                "'procrastinate' needs a PostgreSQL database_url; use \"embedded\" with SQLite"
            )
        return value

    @field_validator("lockout_max_seconds")
    @classmethod
    def _check_lockout_max(cls, value: int, info: ValidationInfo) -> int:
        base = info.data.get("lockout_base_seconds")
        if base is not None and value < base:
            raise ValueError(f"must be at least lockout_base_seconds ({base})")
        return value

    @field_validator("smtp_host")
    @classmethod
    def _check_smtp_host(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("mail_sender") is MailSenderKind.SMTP and not value:
            raise ValueError("mail_sender is 'smtp': set smtp_host to the SMTP server's name")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only the values merged by load_settings: no hidden reads of os.environ or files.
        return (init_settings,)

    @property
    def resolved_home(self) -> Path:
        return self.home.expanduser().absolute()

    @property
    def effective_database_url(self) -> str:
        """The database URL in use (the embedded SQLite file unless one is configured)."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{self.resolved_home / 'metadata.db'}"

    @property
    def effective_object_store_url(self) -> str:
        if self.object_store_url is not None:
            return self.object_store_url
        return (self.resolved_home / "objects").as_uri()

    def masked(self) -> dict[str, str]:
        """Every setting as text for display, with passwords and secrets replaced by ``***``."""
        shown: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, Enum):
                shown[name] = str(value.value)
            elif isinstance(value, SecretStr):
                shown[name] = "***"
            elif value is None:
                shown[name] = "(default)"
            else:
                shown[name] = str(value)
        shown["home"] = str(self.resolved_home)
        shown["database_url"] = mask_url_password(self.effective_database_url)
        shown["object_store_url"] = mask_url_password(self.effective_object_store_url)
        return shown


def mask_url_password(url: str) -> str:
    """Replace the password in ``scheme://user:password@host`` with ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = quote(parts.username or "", safe="")
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))


def _setting_names() -> frozenset[str]:
    return frozenset(Settings.model_fields)


def _example(name: str) -> str:
    field = Settings.model_fields.get(name)
    extra = field.json_schema_extra if field is not None else None
    if isinstance(extra, dict) and "example" in extra:
        return repr(extra["example"]).replace("'", '"')
    return '"..."'


def _unknown_key_message(key: str, where: str) -> str:
    known = ", ".join(sorted(_setting_names()))
    return f"unknown setting {key!r} in {where}; the known settings are: {known}"


def config_file_path(environ: Mapping[str, str], cwd: Path) -> Path | None:
    """Which TOML file to read: ``LAKEVAULT_CONFIG`` or ``./lakevault.toml`` when present."""
    explicit = environ.get(CONFIG_FILE_VARIABLE)
    if explicit:
        return Path(explicit)
    candidate = cwd / DEFAULT_CONFIG_FILE
    return candidate if candidate.is_file() else None


def load_settings(
    environ: Mapping[str, str],
    *,
    config_text: str | None = None,
    config_name: str = DEFAULT_CONFIG_FILE,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build :class:`Settings` from environment variables, a TOML text and explicit overrides.

    ``overrides`` (command-line options) win over the environment, which wins over the file.
    Raises :class:`ConfigurationError` listing every problem, each with the key, its source and
    an example of a right value.
    """
    problems: list[str] = []
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}

    if config_text is not None:
        try:
            document = tomllib.loads(config_text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(
                f"{config_name} is not valid TOML ({exc}); write one 'key = value' per line, "
                "for example: port = 8080"
            ) from exc
        for key, value in document.items():
            if key not in _setting_names():
                problems.append(_unknown_key_message(key, config_name))
                continue
            values[key] = value
            sources[key] = f"{config_name} key {key!r}"

    for variable, value in environ.items():
        if not variable.startswith(ENV_PREFIX) or variable.startswith(_NOT_SETTINGS):
            continue
        key = variable[len(ENV_PREFIX) :].lower()
        if key not in _setting_names():
            problems.append(_unknown_key_message(variable, "the environment"))
            continue
        values[key] = value
        sources[key] = f"environment variable {variable}"

    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
            sources[key] = f"option --{key.replace('_', '-')}"

    if not problems:
        try:
            return Settings(**values)
        except pydantic.ValidationError as exc:
            for error in exc.errors(include_input=False, include_url=False):
                key = str(error["loc"][0]) if error["loc"] else "?"
                where = sources.get(key, "the defaults")
                problems.append(
                    f"setting {key!r} ({where}): {error['msg']}; example of a right value: "
                    f"{key} = {_example(key)}"
                )
    raise ConfigurationError("invalid configuration: " + " | ".join(problems))
