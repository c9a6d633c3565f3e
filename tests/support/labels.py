"""Reading back the label sheets the app writes: each PDF page and its bilevel image."""

from __future__ import annotations

import io
import struct

from PIL import Image
from PIL.PdfParser import PdfParser


def _tiff_short(tag: int, value: int) -> bytes:
    return struct.pack("<HHIHH", tag, 3, 1, value, 0)


def _tiff_long(tag: int, value: int) -> bytes:
    return struct.pack("<HHII", tag, 4, 1, value)


def pdf_pages(pdf: bytes) -> list[tuple[dict, Image.Image]]:
    """Each page's dictionary and its (single, CCITT G4) image, decoded through a TIFF wrapper."""
    doc = PdfParser(buf=pdf)
    pages = []
    for ref in doc.pages:
        page = doc.read_indirect(ref)
        stream = doc.read_indirect(page[b"Resources"][b"XObject"][b"image"])
        info = stream.dictionary
        assert info.Filter == [b"CCITTFaxDecode"]
        width, height, data = info.Width, info.Height, bytes(stream.buf)
        # Minimal little-endian TIFF: width, length, 1 bit, Group 4, BlackIsZero, one strip.
        entries = [_tiff_short(256, width), _tiff_short(257, height), _tiff_short(258, 1)]
        entries += [_tiff_short(259, 4), _tiff_short(262, 1), _tiff_long(273, 8)]
        entries += [_tiff_short(278, height), _tiff_long(279, len(data))]
        ifd = struct.pack("<H", len(entries)) + b"".join(entries) + b"\0\0\0\0"
        tiff = b"II*\0" + struct.pack("<I", 8 + len(data)) + data + ifd
        image = Image.open(io.BytesIO(tiff))
        image.load()
        pages.append((page, image))
    return pages
