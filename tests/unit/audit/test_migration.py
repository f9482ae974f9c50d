"""Migration 0003 turns events logged before it into Merkle leaves, on both backends."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from lakevault.audit import leaf_hash
from lakevault.db import Database, upgrade
from lakevault.db._migrations import _alembic_config


def test_existing_events_get_their_leaf_hash(database_url: str) -> None:
    database = Database(database_url)
    command.upgrade(_alembic_config(database), "0002")
    body = '{"eventID":"e1","eventName":"BootstrapPlatform"}'
    with database.session() as session:
        session.execute(
            text(
                "INSERT INTO audit_events (event_id, account_id, sequence, event_time, event_name,"
                " body) VALUES ('e1', '000000000000', 0, CURRENT_TIMESTAMP, 'Bootstrap', :body)"
            ),
            {"body": body},
        )
    upgrade(database)
    with database.read_session() as session:
        stored = session.execute(text("SELECT leaf_hash FROM audit_events")).scalar_one()
    assert bytes(stored) == leaf_hash(body.encode())
    database.dispose()
