"""Where processed media files live: a small interface and a local-directory backend."""

from __future__ import annotations

import errno
import logging
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from stat import S_ISREG

from farmgate.config import settings
from farmgate.errors import FarmgateError

log = logging.getLogger(__name__)

# A disk or a quota that is full: the operator's problem, not the uploader's.
_FULL = (errno.ENOSPC, errno.EDQUOT)


class StorageFull(FarmgateError):
    """The media storage has no room left: the file was not saved (nor any part of it)."""

    status = 507
    code = "storage_full"


# A file being written (renamed to its key once whole); left behind if the process died.
_PARTIAL = ".upload-"

STORAGE_FULL = "服务器的存储空间已满，文件没有保存。请告诉乡镇管理员，过一会儿再试"


@dataclass(frozen=True)
class StoredFile:
    key: str
    modified: datetime  # aware, UTC
    size: int


class MediaStorage(ABC):
    @abstractmethod
    def save(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, whole or not at all; ``StorageFull`` if out of room."""

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def url(self, key: str) -> str: ...

    @abstractmethod
    def files(self) -> Iterator[StoredFile]:
        """Every stored file, in no particular order (for the sweep of unnamed files)."""


class LocalMediaStorage(MediaStorage):
    """Files under a directory, served by the app (or a reverse proxy) at ``url_path``."""

    def __init__(self, root: Path, url_path: str) -> None:
        self.root = root
        self.url_path = url_path.rstrip("/")
        self._real_root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self._real_root):
            raise ValueError(f"media key escapes the media directory: {key!r}")
        return path

    def save(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a reader never sees half a file; a write that fails (the disk
        # full) leaves no half file behind to fill it further.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_PARTIAL)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError) and exc.errno in _FULL:
                log.error("media directory %s is full: %s not saved", self.root, key)
                raise StorageFull(STORAGE_FULL) from exc
            raise

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def url(self, key: str) -> str:
        return f"{self.url_path}/{key}"

    def files(self) -> Iterator[StoredFile]:
        root = self._real_root
        for folder, dirs, names in os.walk(root):
            # Not the app's: a restore's staging directory (infra/restore.sh) and the like.
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                if name.startswith(".") and not name.startswith(_PARTIAL):
                    continue  # .gitkeep and the like; a partial write is ours to remove
                path = Path(folder, name)
                try:
                    info = path.lstat()
                except FileNotFoundError:  # deleted meanwhile
                    continue
                if not S_ISREG(info.st_mode):
                    continue  # a link or a device: not ours to follow or remove
                key = path.relative_to(root).as_posix()
                yield StoredFile(key, datetime.fromtimestamp(info.st_mtime, UTC), info.st_size)


_storage: MediaStorage | None = None


def get_storage() -> MediaStorage:
    global _storage
    if _storage is None:
        _storage = LocalMediaStorage(settings.media_dir, settings.media_url_path)
    return _storage


def set_storage(storage: MediaStorage) -> None:
    global _storage
    _storage = storage
