"""Checking, resizing and storing an uploaded photo in one step."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from farmgate.media.images import process_upload
from farmgate.media.storage import get_storage


@dataclass(frozen=True)
class StoredPhoto:
    key: str  # the prefix of its WebP variants: f"{key}-{width}.webp"
    width: int
    height: int
    widths: tuple[int, ...]

    def url(self, width: int) -> str:
        return get_storage().url(f"{self.key}-{width}.webp")


def store_photo(folder: str, data: bytes) -> StoredPhoto:
    """Validate ``data`` (size, format, decompression bombs), strip EXIF, write WebP variants."""
    processed = process_upload(data)
    key = f"{folder}/{secrets.token_hex(8)}"
    storage = get_storage()
    for width, blob in processed.variants.items():
        storage.save(f"{key}-{width}.webp", blob)
    return StoredPhoto(key, processed.width, processed.height, tuple(processed.variants))
