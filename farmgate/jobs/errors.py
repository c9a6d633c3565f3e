"""How a job body says what went wrong."""

from __future__ import annotations


class TransientJobError(Exception):
    """Worth retrying later: a timeout, a 5xx, a lock, a service briefly away."""


class PermanentJobError(Exception):
    """No retry will fix it (bad data, a refused request): dead-letter now."""
