"""The local media directory: files appear whole or not at all, photos with every size or none."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from farmgate.media.images import ProcessedImage
from farmgate.media.photos import save_all, save_processed
from farmgate.media.storage import LocalMediaStorage, StorageFull, get_storage


def test_a_saved_file_is_whole_and_nothing_else_is_left(tmp_path: Path) -> None:
    storage = LocalMediaStorage(tmp_path, "/media")
    storage.save("products/1/a.webp", b"photo")
    assert (tmp_path / "products/1/a.webp").read_bytes() == b"photo"
    assert [p.name for p in (tmp_path / "products/1").iterdir()] == ["a.webp"]


def test_a_write_that_fails_leaves_no_half_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk full at the rename: the photo is not there, and neither is its temporary file;
    the caller hears "storage full" (a 507 with a message), not an unexpected error."""
    storage = LocalMediaStorage(tmp_path, "/media")

    def disk_full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(StorageFull, match="存储空间已满") as raised:
        storage.save("products/1/a.webp", b"photo")
    assert raised.value.status == 507 and isinstance(raised.value.__cause__, OSError)
    assert list((tmp_path / "products/1").iterdir()) == []

    def not_allowed(*_: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", not_allowed)
    with pytest.raises(PermissionError):  # any other failure is the operator's bug: as it is
        storage.save("products/1/a.webp", b"photo")
    assert list((tmp_path / "products/1").iterdir()) == []


def test_a_photo_whose_second_size_fails_leaves_none_of_its_sizes(
    media_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = get_storage()  # the test's own media directory (conftest)
    real_save = storage.save

    def full_after_one(key: str, data: bytes) -> None:
        if any(media_dir.rglob("*.webp")):
            raise OSError(28, "No space left on device")
        real_save(key, data)

    monkeypatch.setattr(storage, "save", full_after_one)
    photo = ProcessedImage(variants={320: b"small", 800: b"large"}, width=800, height=600)
    with pytest.raises(OSError, match="No space"):
        save_processed("products", photo)
    assert list(media_dir.rglob("*.webp")) == []


def test_photos_saved_together_are_all_kept_or_none(
    media_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = get_storage()
    real_save = storage.save

    def full_at_the_third_file(key: str, data: bytes) -> None:
        if len(list(media_dir.rglob("*.webp"))) >= 2:
            raise StorageFull("full")
        real_save(key, data)

    photos = [
        ProcessedImage(variants={320: b"a-small", 800: b"a-large"}, width=800, height=600),
        ProcessedImage(variants={320: b"b-small", 800: b"b-large"}, width=800, height=600),
    ]
    monkeypatch.setattr(storage, "save", full_at_the_third_file)
    with pytest.raises(StorageFull):
        save_all(Session(), "reviews/1", photos)
    assert list(media_dir.rglob("*.webp")) == []  # the first photo, whole, is gone too
    monkeypatch.setattr(storage, "save", real_save)
    stored = save_all(Session(), "reviews/1", photos)
    assert [p.widths for p in stored] == [(320, 800), (320, 800)]
    assert len(list(media_dir.rglob("*.webp"))) == 4
