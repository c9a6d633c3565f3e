"""Reading uploaded files with the configured size limit."""

from __future__ import annotations

from fastapi import UploadFile

from farmgate.config import settings
from farmgate.errors import ValidationFailed


def read_upload(upload: UploadFile) -> bytes:
    """The file's bytes, or a 422 ``file_too_large`` without reading past the limit."""
    data = upload.file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        limit_mb = settings.max_upload_bytes / 1024 / 1024
        message = f"文件不能超过 {limit_mb:.0f} MB"
        raise ValidationFailed(message, code="file_too_large", fields={"file": message})
    return data
