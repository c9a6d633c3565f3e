"""Password hashing (argon2id), opaque tokens and CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from farmgate.config import settings
from farmgate.tokens import new_token as new_token
from farmgate.tokens import token_digest as token_digest

_hashers: dict[str, tuple[PasswordHasher, str]] = {}


def hasher() -> PasswordHasher:
    """The password hasher for ``settings.password_hash_cost``.

    "standard" is argon2id with the library's recommended parameters; "test" is argon2id at
    the smallest cost, so the suite's thousands of sign-ups do not each spend 64 MiB.
    """
    return _hasher_and_dummy()[0]


def _hasher_and_dummy() -> tuple[PasswordHasher, str]:
    cost = settings.password_hash_cost
    if cost not in _hashers:
        made = (
            PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
            if cost == "test"
            else PasswordHasher()
        )
        # A hash verified against when the phone is unknown, so timing does not reveal accounts.
        _hashers[cost] = (made, made.hash("farmgate-dummy-password"))
    return _hashers[cost]


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    chosen, dummy = _hasher_and_dummy()
    try:
        # A missing (or empty) hash is still verified (against a dummy): timing does not tell.
        chosen.verify(password_hash or dummy, password)  # raises on a mismatch
    except (VerificationError, InvalidHashError):
        return False
    return bool(password_hash)  # "" (an account that signs in by SMS code) matches nothing


def needs_rehash(password_hash: str) -> bool:
    return hasher().check_needs_rehash(password_hash)


def csrf_token_for(session_token: str) -> str:
    """The CSRF token of a browser session: an HMAC of the session secret."""
    key = settings.secret_key.encode()
    return hmac.new(key, b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def csrf_valid(session_token: str, candidate: str | None) -> bool:
    return bool(candidate) and hmac.compare_digest(csrf_token_for(session_token), candidate or "")
