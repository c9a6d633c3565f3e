"""QR codes for WeChat Pay's NATIVE code_url, as inline SVG (no image request, tiny)."""

from __future__ import annotations

import qrcode
import qrcode.image.svg


def qr_svg(data: str) -> str:
    img = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    svg: str = img.to_string(encoding="unicode")  # qrcode has no type hints
    return svg
