#!/usr/bin/env bash
# Install lakevault into .venv and start it on embedded defaults (what `make run` does).
# Extra arguments go to `lakevault serve`, e.g. scripts/run.sh --port 9000
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh
exec .venv/bin/lakevault serve --init "$@"
