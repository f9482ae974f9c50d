"""The audit export into an object-locked bucket against a directory export of the same log.

``python -m bench audit_bucket [--events N]`` builds a real platform in a scratch home (SQLite,
local object store), turns the platform log's bucket export on as the administrator, fills the
log with N synthetic gate-decision events, and times in the same run:

* the first bucket export run (segments of 65,536 events, each object encrypted under its own
  data key, COMPLIANCE-locked, through the gate as the export service), and the anchor: a
  directory export of the same log (``lakevault audit export``);
* downloading the bucket's export as the administrator and verifying it, and the anchor:
  verifying the directory export;
* an incremental run after one more request (what the 5-minute job usually does).
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

from bench.audit import make_event
from lakevault.audit import (
    AuditEvent,
    Checkpointer,
    IdentityType,
    append_in,
    export_log,
    load_signing_key,
    load_verifier,
    verify_export,
    verify_log,
)
from lakevault.core import PLATFORM_ACCOUNT_ID, load_settings, new_request_id
from lakevault.db import models
from lakevault.directory import CallContext
from lakevault.identity import Principal
from lakevault.runtime import Platform, initialise
from lakevault.storage import Caller
from lakevault.trail import BucketExporter, download_export, log_root


def _admin(platform: Platform) -> Principal:
    with platform.database.read_session() as session:
        state = session.get(models.PlatformState, 1)
        assert state is not None
        user = session.get(models.User, state.admin_user_id)
        assert user is not None
        return Principal(
            arn=user.arn,
            account_id=user.account_id,
            principal_id=user.user_id,
            identity_type=IdentityType.IAM_USER,
            username=user.name,
        )


def _platform_event(number: int) -> AuditEvent:
    return dataclasses.replace(make_event(number), recipient_account_id=PLATFORM_ACCOUNT_ID)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench audit_bucket", description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--directory", type=Path, default=None, help="scratch directory")
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=arguments.directory) as scratch:
        home = Path(scratch) / "home"
        platform = Platform.build(load_settings({"LAKEVAULT_HOME": str(home)}))
        initialise(platform)
        admin = _admin(platform)
        call = CallContext(principal=admin, request_id=new_request_id(platform.random))
        configuration = platform.audit_exports().put(call, PLATFORM_ACCOUNT_ID, retention_days=90)
        with platform.database.session() as session:
            for number in range(arguments.events):
                append_in(session, _platform_event(number))
        checkpointer = Checkpointer(
            platform.database,
            load_signing_key(home),
            platform.clock,
            verifiers=load_verifier(home),
        )
        exporter = BucketExporter(
            database=platform.database,
            object_storage=platform.storage,
            checkpointer=checkpointer,
            clock=platform.clock,
            random=platform.random,
        )
        started = time.perf_counter()
        run = exporter.export(PLATFORM_ACCOUNT_ID)
        bucket_seconds = time.perf_counter() - started
        started = time.perf_counter()
        exported = export_log(
            platform.database, checkpointer, Path(scratch) / "dir", PLATFORM_ACCOUNT_ID
        )
        directory_seconds = time.perf_counter() - started
        caller = Caller(principal=admin, request_id=new_request_id(platform.random))
        started = time.perf_counter()
        materialized = download_export(
            platform.storage,
            caller,
            configuration.bucket,
            log_root(configuration.prefix, PLATFORM_ACCOUNT_ID),
            Path(scratch) / "download",
        )
        verified = verify_log(materialized.directory)
        download_verify_seconds = time.perf_counter() - started
        started = time.perf_counter()
        verify_export(Path(scratch) / "dir")
        directory_verify_seconds = time.perf_counter() - started
        platform.storage.buckets.list_buckets(caller)  # one more request: a decision event
        started = time.perf_counter()
        incremental = exporter.export(PLATFORM_ACCOUNT_ID)
        incremental_seconds = time.perf_counter() - started
        platform.close()
    events = run.tree_size
    print(f"audit export into an object-locked bucket ({events:,} events, SQLite, local store)")
    print(
        f"  bucket export:      {bucket_seconds:6.2f} s ({events / bucket_seconds:,.0f} events/s, "
        f"{run.segments_written} segments, {run.checkpoints_written} checkpoints)"
    )
    print(
        f"  anchor dir export:  {directory_seconds:6.2f} s ({exported.tree_size:,} events) -> "
        f"bucket/dir {bucket_seconds / directory_seconds:.2f}x"
    )
    print(
        f"  download + verify:  {download_verify_seconds:6.2f} s (tree size {verified.tree_size:,})"
    )
    print(
        f"  anchor dir verify:  {directory_verify_seconds:6.2f} s -> "
        f"bucket/dir {download_verify_seconds / directory_verify_seconds:.2f}x"
    )
    print(
        f"  incremental run:    {incremental_seconds * 1000:6.0f} ms "
        f"({incremental.segments_written} segment, tree size {incremental.tree_size:,})"
    )
    return 0
