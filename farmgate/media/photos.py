"""Checking, resizing and storing an uploaded photo in one step."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from farmgate.media.images import ProcessedImage, process_upload
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
    return save_processed(folder, process_upload(data))


def save_processed(folder: str, processed: ProcessedImage) -> StoredPhoto:
    """Write an already checked photo's variants (check several first, then store them all)."""
    key = f"{folder}/{secrets.token_hex(8)}"
    storage = get_storage()
    written: list[int] = []
    try:
        for width, blob in processed.variants.items():
            storage.save(f"{key}-{width}.webp", blob)
            written.append(width)
    except BaseException:  # the disk full at the second size: no orphan of the first stays
        delete_stored(key, tuple(written))
        raise
    return StoredPhoto(key, processed.width, processed.height, tuple(processed.variants))


def save_all(folder: str, images: list[ProcessedImage]) -> list[StoredPhoto]:
    """Write several checked photos: all of them, or (the disk full at the third) none."""
    stored: list[StoredPhoto] = []
    try:
        for image in images:
            stored.append(save_processed(folder, image))
    except BaseException:
        for photo in stored:
            delete_stored(photo.key, photo.widths)
        raise
    return stored


def delete_stored(key: str, widths: tuple[int, ...]) -> None:
    """Remove a stored photo's variant files (call after the row's deletion is committed)."""
    storage = get_storage()
    for width in widths:
        storage.delete(f"{key}-{width}.webp")
