"""The Ed25519 key that signs the log's heads, and the log's public name (its origin)."""

from __future__ import annotations

import base64
import binascii
import os
from functools import lru_cache
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from farmgate.config import local_secret_key, settings
from farmgate.verifier import note

KEY_FILE = "translog_key"


def _new_seed() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@lru_cache(maxsize=4)
def _private(seed_b64: str) -> Ed25519PrivateKey:
    try:
        seed = base64.b64decode(seed_b64, validate=True)
    except binascii.Error as exc:
        raise ValueError("FARMGATE_TRANSLOG_KEY is not base64") from exc
    if len(seed) != 32:
        raise ValueError("FARMGATE_TRANSLOG_KEY must be the base64 of 32 random bytes")
    return Ed25519PrivateKey.from_private_bytes(seed)


def signing_key() -> Ed25519PrivateKey:
    """The configured key, or the one kept in DATA_DIR/translog_key (made on first use)."""
    seed = settings.translog_key or local_secret_key(settings.data_dir / KEY_FILE, _new_seed)
    return _private(seed.strip())


def origin() -> str:
    if settings.translog_origin:
        return settings.translog_origin
    host = urlsplit(settings.public_base_url).netloc or "farmgate"
    return f"{host}/translog"


def public_key() -> note.PublicKey:
    return note.public_key(signing_key(), origin())


def sign_checkpoint(checkpoint: note.Checkpoint) -> str:
    return note.sign(checkpoint.text(), signing_key(), checkpoint.origin)
