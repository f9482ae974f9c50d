"""The pure kernel every layer builds on: errors, ids, clock, randomness, settings, logging.

``core`` maps values to values; it reads no environment, clock or random source of its own —
callers pass them in (``SystemClock``/``SystemRandom`` are the thin real wrappers).
"""

from lakevault.core import errors
from lakevault.core._clock import Clock, FixedClock, RandomSource, SystemClock, SystemRandom
from lakevault.core._files import sync_directory, write_atomically
from lakevault.core._ids import (
    PLATFORM_ACCOUNT_ID,
    AccountId,
    EntityId,
    RequestId,
    new_account_id,
    new_entity_id,
    new_request_id,
    parse_account_id,
)
from lakevault.core._logging import LogFormat, configure_logging, current_request_id
from lakevault.core._settings import (
    CONFIG_FILE_VARIABLE,
    LogLevel,
    RootKeyProvider,
    Settings,
    config_file_path,
    load_settings,
    mask_url_password,
)

__all__ = [
    "CONFIG_FILE_VARIABLE",
    "PLATFORM_ACCOUNT_ID",
    "AccountId",
    "Clock",
    "EntityId",
    "FixedClock",
    "LogFormat",
    "LogLevel",
    "RandomSource",
    "RequestId",
    "RootKeyProvider",
    "Settings",
    "SystemClock",
    "SystemRandom",
    "config_file_path",
    "configure_logging",
    "current_request_id",
    "errors",
    "load_settings",
    "mask_url_password",
    "new_account_id",
    "new_entity_id",
    "new_request_id",
    "parse_account_id",
    "sync_directory",
    "write_atomically",
]
