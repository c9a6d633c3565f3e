"""Signed tree heads as Go signed notes carrying C2SP checkpoints (what sumdb and Sigstore use).

A checkpoint is three lines: the log's origin (its name), the tree size in decimal and the root
hash in base64; a note is that text, a blank line, and one line per signature
``— <name> <base64(key hash[4] || Ed25519 signature)>``. The public key travels as a Go
verifier key ``<name>+<key hash, 8 hex>+<base64(0x01 || 32-byte public key)>``, so
``golang.org/x/mod/sumdb/note`` and other checkpoint tools read our heads too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALG_ED25519 = 1
DASH = "\u2014"  # the em dash that opens a signature line


class NoteError(ValueError):
    """A head that is malformed or not signed by the expected key."""


def key_hash(name: str, public: bytes) -> int:
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public).digest()
    return int(struct.unpack(">I", digest[:4])[0])


@dataclass(frozen=True)
class PublicKey:
    name: str
    public: bytes  # the raw 32-byte Ed25519 key

    @property
    def hash(self) -> int:
        return key_hash(self.name, self.public)

    @property
    def vkey(self) -> str:
        raw = base64.b64encode(bytes([ALG_ED25519]) + self.public).decode()
        return f"{self.name}+{self.hash:08x}+{raw}"


def public_key(private: Ed25519PrivateKey, name: str) -> PublicKey:
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return PublicKey(name, raw)


def parse_vkey(text: str) -> PublicKey:
    """Read ``name+hash+base64key`` (the form the key endpoint and the docs give)."""
    try:
        name, hash_hex, raw = text.strip().split("+", 2)
        blob = base64.b64decode(raw, validate=True)
        expected = int(hash_hex, 16)
    except (ValueError, binascii.Error) as exc:
        raise NoteError(f"not a verifier key: {text!r}") from exc
    if len(blob) != 33 or blob[0] != ALG_ED25519 or not name:
        raise NoteError("not an Ed25519 verifier key")
    key = PublicKey(name, blob[1:])
    if key.hash != expected:
        raise NoteError("the verifier key's hash does not match its name and key")
    return key


def sign(text: str, private: Ed25519PrivateKey, name: str) -> str:
    """The signed note of ``text`` (which must end in a newline)."""
    if not text.endswith("\n"):
        raise ValueError("a note's text ends with a newline")
    key = public_key(private, name)
    signature = private.sign(text.encode())
    blob = base64.b64encode(struct.pack(">I", key.hash) + signature).decode()
    return f"{text}\n{DASH} {name} {blob}\n"


def open_note(note: str, key: PublicKey) -> str:
    """The text of ``note`` if ``key`` signed it; raises NoteError otherwise."""
    text, sep, signatures = note.rpartition("\n\n")
    if not sep:
        raise NoteError("a signed note has a blank line before its signatures")
    text += "\n"
    for line in signatures.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH or parts[1] != key.name:
            continue
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except binascii.Error:
            continue
        if len(blob) != 68 or struct.unpack(">I", blob[:4])[0] != key.hash:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(key.public).verify(blob[4:], text.encode())
        except InvalidSignature as exc:
            raise NoteError("the head's signature does not verify") from exc
        return text
    raise NoteError(f"the head carries no signature by {key.name}")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def parse_checkpoint(text: str) -> Checkpoint:
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("a checkpoint has an origin, a size and a root hash")
    try:
        size = int(lines[1])
        root = base64.b64decode(lines[2], validate=True)
    except (ValueError, binascii.Error) as exc:
        raise NoteError("the checkpoint's size or root hash is malformed") from exc
    if size < 0 or len(root) != 32 or str(size) != lines[1]:
        raise NoteError("the checkpoint's size or root hash is malformed")
    return Checkpoint(lines[0], size, root)


def open_checkpoint(note: str, key: PublicKey) -> Checkpoint:
    """The checkpoint a signed head states, after checking the signature and the origin."""
    checkpoint = parse_checkpoint(open_note(note, key))
    if checkpoint.origin != key.name:
        raise NoteError(f"the head is for log {checkpoint.origin!r}, not {key.name!r}")
    return checkpoint
