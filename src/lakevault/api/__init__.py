"""The HTTP API face (FastAPI). Holds no business logic: it authenticates, calls domain
services and maps their errors."""

from lakevault.api._app import create_app

__all__ = ["create_app"]
