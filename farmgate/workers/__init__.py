"""Executors for the outbox: arq workers on Redis, or the embedded in-process runner."""
