"""Checking, resizing and storing an uploaded photo in one step, and keeping the files in step
with the transaction that refers to them.

A file is written before the row that names it is committed, and a file must outlive the row
that named it until that row's deletion is committed. So, given the session:
- files written in a transaction are deleted if it does not commit (rolled back, or the
  session closed without a commit: ``store_photo``, ``save_all``, ``written``);
- files whose row is deleted or replaced are deleted once the transaction commits, and kept if
  it rolls back (``delete_after_commit``).
A process that dies between the two leaves files nothing names; ``farmgate.media.sweep``
removes those.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session, SessionTransaction

from farmgate.db import listen_on_sessions, listening_on_sessions
from farmgate.media.images import ProcessedImage, process_upload
from farmgate.media.storage import MediaStorage, get_storage

log = logging.getLogger(__name__)

# session.info keys: files (storage keys) to delete if the transaction rolls back / commits.
_WRITTEN = "media_written"
_DOOMED = "media_doomed"


@dataclass(frozen=True)
class StoredPhoto:
    key: str  # the prefix of its WebP variants: f"{key}-{width}.webp"
    width: int
    height: int
    widths: tuple[int, ...]

    def url(self, width: int) -> str:
        return get_storage().url(f"{self.key}-{width}.webp")


def variant_files(key: str, widths: tuple[int, ...] | list[int]) -> list[str]:
    """The storage keys of a stored photo's WebP variants."""
    return [f"{key}-{width}.webp" for width in widths]


def store_photo(session: Session, folder: str, data: bytes) -> StoredPhoto:
    """Validate ``data`` (size, format, decompression bombs), strip EXIF, write WebP variants;
    they are deleted again if ``session``'s transaction does not commit."""
    return save_all(session, folder, [process_upload(data)])[0]


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


def save_all(session: Session, folder: str, images: list[ProcessedImage]) -> list[StoredPhoto]:
    """Write several checked photos: all of them, or (the disk full at the third) none. They
    are deleted again if ``session``'s transaction does not commit."""
    stored: list[StoredPhoto] = []
    try:
        for image in images:
            stored.append(save_processed(folder, image))
    except BaseException:
        for photo in stored:
            delete_stored(photo.key, photo.widths)
        raise
    for photo in stored:
        written(session, variant_files(photo.key, photo.widths))
    return stored


def delete_stored(key: str, widths: tuple[int, ...]) -> None:
    """Remove a stored photo's variant files now (``delete_after_commit`` inside a transaction)."""
    delete_files(variant_files(key, widths))


def written(session: Session, files: list[str]) -> None:
    """``files`` were just written for this transaction: delete them unless it commits."""
    session.info.setdefault(_WRITTEN, []).extend(files)


def delete_after_commit(session: Session, files: list[str]) -> None:
    """Delete ``files`` once this transaction commits (their row is deleted or now names
    others); keep them if it rolls back."""
    session.info.setdefault(_DOOMED, []).extend(files)


def delete_files(files: list[str], storage: MediaStorage | None = None) -> int:
    """Delete stored files now; one that cannot be is logged and left for the sweep's next
    pass (the row's change stands). Returns how many were deleted."""
    storage = storage or get_storage()
    deleted = 0
    for name in files:
        try:
            storage.delete(name)
        except OSError:
            log.warning("media file %s could not be deleted", name, exc_info=True)
            continue
        deleted += 1
    return deleted


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the outer one may still roll back
        return
    session.info.pop(_WRITTEN, None)  # theirs now: committed rows name them
    delete_files(session.info.pop(_DOOMED, []))


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    """The outermost transaction ended without a commit (rolled back, or the session closed)."""
    if transaction.parent is not None:
        return
    session.info.pop(_DOOMED, None)  # the rows naming them are back
    delete_files(session.info.pop(_WRITTEN, []))


LISTENERS = (("after_commit", _after_commit), ("after_transaction_end", _after_transaction_end))


def register() -> None:
    """Listen on every session (idempotent); called by ``farmgate.bootstrap.install()``."""
    listen_on_sessions(LISTENERS)


def registered() -> bool:
    return listening_on_sessions(LISTENERS)
