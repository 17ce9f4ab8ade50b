"""Skranke booking backend: HTTP API, domain rules, storage."""
