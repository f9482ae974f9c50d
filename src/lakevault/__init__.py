"""lakevault: a self-hosted, multi-tenant data platform with the security model of the big clouds.

The package's layers import downwards only (docs/architecture.md); nothing happens at import.
"""

__version__ = "0.1.0"
