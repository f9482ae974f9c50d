"""``python -m lakevault``: the same as the ``lakevault`` command."""

from lakevault.cli import main

main()
