"""Benchmarks: ``python -m bench NAME [ARGS]``. Each prints its anchor from the same run."""
