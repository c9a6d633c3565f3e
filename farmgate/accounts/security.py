"""Password hashing (argon2id), opaque tokens and CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from farmgate.config import settings
from farmgate.tokens import new_token as new_token
from farmgate.tokens import token_digest as token_digest

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# A hash verified against when the phone is unknown, so timing does not reveal accounts.
_DUMMY_HASH = _hasher.hash("farmgate-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        # A missing hash is still verified (against a dummy) so that timing does not tell.
        _hasher.verify(password_hash or _DUMMY_HASH, password)  # raises on a mismatch
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def csrf_token_for(session_token: str) -> str:
    """The CSRF token of a browser session: an HMAC of the session secret."""
    key = settings.secret_key.encode()
    return hmac.new(key, b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def csrf_valid(session_token: str, candidate: str | None) -> bool:
    return bool(candidate) and hmac.compare_digest(csrf_token_for(session_token), candidate or "")
