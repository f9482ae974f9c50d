"""lakevault: a self-hosted, multi-tenant data platform."""
