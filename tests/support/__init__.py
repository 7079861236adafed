"""Helpers that tests use to run real services (PostgreSQL, free ports)."""
