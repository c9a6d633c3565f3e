"""A statement (对账单) as a printable PDF: a title, a summary and a table, over A4 pages.

Pages are grayscale rasters at 150 dpi drawn with the CJK font the labels use, so the PDF
needs no embedded font. The caller gives plain text; nothing here knows what a ledger is.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from farmgate.rendering.labels import PAGE_SIZES_MM, cjk_font

DPI = 150
MAX_ROWS = 400  # beyond this the table says how many more rows the spreadsheet holds


def _px(mm: float) -> int:
    return round(mm / 25.4 * DPI)


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    found = cjk_font()
    if found is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(found[0], size, index=found[1])


def table_pdf(
    title: str,
    subtitle: str,
    summary: Sequence[tuple[str, str]],
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    footnote: str = "",
) -> bytes:
    """Title and subtitle, a two-column summary, then the table (numbers right-aligned)."""
    width, height = (_px(mm) for mm in PAGE_SIZES_MM["A4"])
    margin = _px(15)
    size, small = _px(3.6), _px(3.0)
    line = round(size * 1.6)
    pages: list[Image.Image] = []
    shown = list(rows[:MAX_ROWS])
    if len(rows) > MAX_ROWS:
        shown.append(["", f"……另有 {len(rows) - MAX_ROWS} 行，见 XLSX"] + [""] * (len(header) - 2))
    columns = len(header)
    first = (width - 2 * margin) * 0.3 if columns > 1 else width - 2 * margin
    rest = (width - 2 * margin - first) / max(1, columns - 1)
    xs = [margin] + [margin + first + rest * i for i in range(columns - 1)]

    def new_page() -> tuple[Image.Image, ImageDraw.ImageDraw, int]:
        image = Image.new("L", (width, height), 255)
        draw = ImageDraw.Draw(image)
        draw.text((margin, height - margin), f"第 {len(pages) + 1} 页", font=_font(small), fill=90)
        pages.append(image)
        return image, draw, margin

    def cells(draw: ImageDraw.ImageDraw, y: int, values: Sequence[str], bold: bool) -> None:
        for i, value in enumerate(values):
            font = _font(size)
            if i == 0:
                draw.text((xs[0], y), value, font=font, fill=0)
            else:
                right = xs[i] + rest - _px(1)
                draw.text((right - draw.textlength(value, font=font), y), value, font=font, fill=0)
        if bold:
            draw.line((margin, y + line - 4, width - margin, y + line - 4), fill=0, width=2)

    _, draw, y = new_page()
    draw.text((margin, y), title, font=_font(_px(6)), fill=0)
    y += round(_px(6) * 1.6)
    draw.text((margin, y), subtitle, font=_font(small), fill=60)
    y += line * 2
    for label, value in summary:
        draw.text((margin, y), label, font=_font(size), fill=0)
        font = _font(size)
        draw.text(
            (margin + _px(90) - draw.textlength(value, font=font), y), value, font=font, fill=0
        )
        y += line
    y += line
    cells(draw, y, header, True)
    y += line
    for row in shown:
        if y > height - margin - 2 * line:
            _, draw, y = new_page()
            cells(draw, y, header, True)
            y += line
        cells(draw, y, row, False)
        y += line
    if footnote:
        draw.text(
            (margin, min(y + line, height - margin - line)), footnote, font=_font(small), fill=60
        )
    out = io.BytesIO()
    pages[0].save(
        out,
        "PDF",
        resolution=DPI,
        save_all=True,
        append_images=pages[1:],
        title=title,
        producer="farmgate",
    )
    return out.getvalue()
