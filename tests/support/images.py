"""Small real images for upload tests."""

from __future__ import annotations

import io

from PIL import Image


def jpeg(size: tuple[int, int] = (800, 600), colour: tuple[int, int, int] = (180, 40, 30)) -> bytes:
    """A plain JPEG photo of one colour."""
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()
