# lakevault: the two commands of the README, and a few helpers.
.PHONY: run test lint typecheck bench clean

# Install everything needed and start the platform on embedded defaults (127.0.0.1:8080).
run:
	@bash scripts/run.sh

# Install what the tests need and run the whole suite (SQLite and a real PostgreSQL).
test:
	@bash scripts/test.sh

lint:
	@bash scripts/venv.sh test
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench

typecheck:
	@bash scripts/venv.sh test
	.venv/bin/mypy

clean:
	rm -rf .venv .pytest_cache .mypy_cache .ruff_cache .hypothesis
