"""The 承诺达标合格证 as a printable PDF, in the layout of the official form.

One certificate is an A6 page; on A4 four copies are laid out 2 x 2 with cut lines, for
offices that only have A4 paper. Pages are bilevel 300 dpi rasters (like the label sheets), so
the text and the QR code print sharp and the PDF needs no embedded font.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Protocol

from PIL import Image, ImageDraw, ImageFont

from farmgate.rendering.labels import PAGE_SIZES_MM, cjk_font, qr_matrix

# The printed form's fixed wording. The trace domain validates 承诺依据 against these boxes.
# The 承诺依据 boxes in the order the official form prints them; more than one may be ticked.
BASIS_BOXES: dict[str, str] = {
    "commissioned_test": "委托检测",
    "self_test": "自我检测",
    "internal_control": "内部质量控制",
    "self_commitment": "自我承诺",
}
# The commitment as the official certificate prints it, line by line.
OFFICIAL_COMMITMENT = (
    "我承诺对产品质量安全以及合格证真实性负责：",
    "不使用禁用农药兽药、停用兽药和非法添加物；",
    "常规农药兽药残留不超标。",
)


class ComplianceCertificate(Protocol):
    """What the printed certificate shows (farmgate/trace/certificates.py fills it in)."""

    @property
    def product_name(self) -> str: ...
    @property
    def quantity(self) -> Decimal | float | str: ...
    @property
    def unit(self) -> str: ...
    @property
    def origin(self) -> str: ...
    @property
    def issued_on(self) -> date | None: ...
    @property
    def committer(self) -> str: ...
    @property
    def contact(self) -> str: ...
    @property
    def code(self) -> str: ...

    @property
    def bases(self) -> tuple[str, ...]: ...


DPI = 300
SIZES = ("A6", "A4")


def _px(mm: float) -> int:
    return round(mm / 25.4 * DPI)


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    found = cjk_font()
    if found is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(found[0], size, index=found[1])


def _wrap(draw: ImageDraw.ImageDraw, text: str, size: int, width: int) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` (Chinese breaks between any chars)."""
    lines, line = [], ""
    for char in text:
        if line and draw.textlength(line + char, font=_font(size)) > width:
            lines.append(line)
            line = char
        else:
            line += char
    return [*lines, line] if line else lines or [""]


def _box(draw: ImageDraw.ImageDraw, x: int, y: int, side: int, ticked: bool) -> None:
    draw.rectangle((x, y, x + side, y + side), outline=0, width=4)
    if ticked:  # a check mark, thick enough to survive a cheap printer
        points = [
            (x + side * 0.18, y + side * 0.52),
            (x + side * 0.42, y + side * 0.78),
            (x + side * 0.85, y + side * 0.2),
        ]
        draw.line(points, fill=0, width=max(5, side // 7), joint="curve")


def render_certificate(cert: ComplianceCertificate, trace_url: str = "") -> Image.Image:
    """One certificate on an A6 bilevel image (portrait)."""
    width, height = (_px(mm) for mm in PAGE_SIZES_MM["A6"])
    image = Image.new("1", (width, height), 1)
    draw = ImageDraw.Draw(image)
    margin = _px(7)
    inner = width - 2 * margin
    draw.rectangle((margin // 2, margin // 2, width - margin // 2, height - margin // 2), width=5)
    title = "承诺达标合格证"
    title_size = _px(7.5)
    tw = draw.textlength(title, font=_font(title_size))
    y = margin
    draw.text(((width - tw) / 2, y), title, font=_font(title_size), fill=0)
    y += round(title_size * 1.6)
    size = _px(3.6)
    line_h = round(size * 1.45)
    issued = cert.issued_on.isoformat() if isinstance(cert.issued_on, date) else ""
    rows = [
        ("产品名称", cert.product_name),
        ("数量（重量）", f"{cert.quantity} {cert.unit}"),
        ("产地", cert.origin),
        ("生产者盖章或签名", cert.committer),
        ("联系方式", cert.contact),
        ("开具日期", issued),
    ]
    if cert.code:
        rows.append(("合格证编号", cert.code))
    for label, value in rows:
        for i, line in enumerate(_wrap(draw, f"{label}：{value}", size, inner)):
            draw.text((margin + (size * 2 if i else 0), y), line, font=_font(size), fill=0)
            y += line_h
    y += line_h // 3
    # A purchaser who re-issues may commit in its own words: print what was issued.
    own = str(getattr(cert, "own_commitment", "") or "").strip()
    for line in (OFFICIAL_COMMITMENT[0], own) if own else OFFICIAL_COMMITMENT:
        for part in _wrap(draw, line, size, inner):
            draw.text((margin, y), part, font=_font(size), fill=0)
            y += line_h
    y += line_h // 3
    draw.text((margin, y), "承诺依据：", font=_font(size), fill=0)
    y += line_h
    side = round(size * 0.95)
    column = inner // 2
    ticked = set(cert.bases)
    for i, (key, label) in enumerate(BASIS_BOXES.items()):
        x = margin + (i % 2) * column
        row_y = y + (i // 2) * line_h
        _box(draw, x, row_y + round(size * 0.12), side, key in ticked)
        draw.text((x + side + size // 3, row_y), label, font=_font(size), fill=0)
    y += 2 * line_h
    if trace_url:
        matrix = qr_matrix(trace_url)
        room = height - margin - y
        module = min(room, _px(30)) // len(matrix)
        if module >= 3:
            code = Image.new("1", (len(matrix), len(matrix)), 1)
            code.putdata([0 if dark else 1 for row in matrix for dark in row])
            code = code.resize((len(matrix) * module,) * 2, Image.Resampling.NEAREST)
            image.paste(code, (width - margin - code.width, height - margin - code.height))
            note = "扫码查看溯源信息"
            draw.text((margin, height - margin - size * 2), note, font=_font(size), fill=0)
    return image


def certificate_pdf(cert: ComplianceCertificate, *, size: str = "A6", trace_url: str = "") -> bytes:
    """The certificate as a PDF: one A6 page, or an A4 page with four copies to cut."""
    if size not in SIZES:
        raise ValueError(f"纸张只能是 {'、'.join(SIZES)}")
    one = render_certificate(cert, trace_url)
    if size == "A6":
        page = one
    else:
        a4_w, a4_h = (_px(mm) for mm in PAGE_SIZES_MM["A4"])
        page = Image.new("1", (a4_w, a4_h), 1)
        # A6 is exactly a quarter of A4; the copies meet at the cut lines.
        for col in range(2):
            for row in range(2):
                page.paste(one, (col * (a4_w // 2), row * (a4_h // 2)))
        draw = ImageDraw.Draw(page)
        for x in range(0, a4_w, 40):  # dashed cut lines
            draw.line((x, a4_h // 2, x + 20, a4_h // 2), fill=0, width=2)
        for y in range(0, a4_h, 40):
            draw.line((a4_w // 2, y, a4_w // 2, y + 20), fill=0, width=2)
    out = io.BytesIO()
    page.save(out, "PDF", resolution=DPI, title="承诺达标合格证", producer="farmgate")
    return out.getvalue()
