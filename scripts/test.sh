#!/usr/bin/env bash
# The whole test suite against real servers: installs what it needs, starts a throwaway
# PostgreSQL on 127.0.0.1, runs pytest (SQLite and PostgreSQL), and stops the server.
# Extra arguments go to pytest: scripts/test.sh tests/unit/core -x
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh test

work=$(mktemp -d /tmp/lakevault-test.XXXXXX)
chmod 755 "$work"
cleanup() { bash scripts/postgres.sh stop "$work/postgres" || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM

bash scripts/postgres.sh start "$work/postgres"
export LAKEVAULT_TEST_POSTGRES_URL
LAKEVAULT_TEST_POSTGRES_URL=$(cat "$work/postgres/url")

status=0
# The slowest tests are listed so that a growing suite shows where its time goes.
.venv/bin/python -m pytest --durations=40 "$@" || status=$?
exit "$status"
