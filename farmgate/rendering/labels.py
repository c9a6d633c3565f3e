"""QR codes for trace links and printable sheets of them (一物一码 labels).

Every label is a QR code with two text lines under it: the product name and the lot. PNG and
SVG serve single labels (web pages, packaging artwork); ``label_sheet_pdf`` lays labels out on
sticker sheets (A4 with 4 x 10 labels is the common 40-up sheet) as bilevel raster pages, which
Pillow stores losslessly (CCITT G4), so the modules keep sharp edges.
"""

from __future__ import annotations

import glob
import io
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from xml.sax.saxutils import escape

import qrcode
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M
from qrcode.exceptions import DataOverflowError

log = logging.getLogger(__name__)

QUIET_ZONE = 4  # modules of white around the code, as ISO/IEC 18004 requires
# Level M (15% of the code can be lost) keeps codes small enough for 4 x 10 sheets.
ERROR_CORRECTION = ERROR_CORRECT_M

PAGE_SIZES_MM: dict[str, tuple[float, float]] = {
    "A3": (297, 420),
    "A4": (210, 297),
    "A5": (148, 210),
    "A6": (105, 148),
    "LETTER": (215.9, 279.4),
}

# Fonts with Simplified Chinese glyphs, first found wins: Debian's fonts-noto-cjk, then others
# that distributions, macOS and Windows ship.
_CJK_FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)
_CJK_FONT_GLOBS = ("/usr/share/fonts/opentype/noto/NotoSans*CJK*.tt[cf]",)

# Text cannot contain C0 controls (XML forbids them) and a label line is one line.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f\ufffe\uffff\ud800-\udfff]+")

_MIN_MODULE_PX = 2  # below this a printed module blurs into its neighbours
_BATCH_PIXELS = 64 * 1024 * 1024  # page pixels rendered before they are written out


@dataclass(frozen=True)
class Label:
    """One label: the URL in the QR code, the product name and a second line (the lot)."""

    url: str
    title: str
    subtitle: str = ""


# --- Fonts -------------------------------------------------------------------------------------


@cache
def cjk_font() -> tuple[str, int] | None:
    """The path and face index of a font with Simplified Chinese glyphs, or None."""
    candidates = [*_CJK_FONT_FILES, *(p for g in _CJK_FONT_GLOBS for p in sorted(glob.glob(g)))]
    for path in candidates:
        try:
            faces = [ImageFont.truetype(path, 12, index=0)]
        except OSError:
            continue
        # A .ttc holds one face per region (JP, KR, SC, TC ...); the SC one has 简体 glyph forms.
        index = 0
        for i in range(1, 16):
            try:
                faces.append(ImageFont.truetype(path, 12, index=i))
            except OSError:
                break
        for i, face in enumerate(faces):
            if " SC" in (face.getname()[0] or ""):
                index = i
                break
        return path, index
    log.warning("No CJK font found (install fonts-noto-cjk); Chinese label text will not render")
    return None


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    found = cjk_font()
    if found is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(found[0], size, index=found[1])


def _line_height(size: int) -> int:
    font = _font(size)
    if isinstance(font, ImageFont.FreeTypeFont):
        ascent, descent = font.getmetrics()
        return ascent + descent
    return round(size * 1.2)


def _clean(text: str) -> str:
    if not isinstance(text, str):
        raise ValueError("标签文字应为字符串")
    return " ".join(_UNPRINTABLE.sub(" ", text).split())


def _draw_line(
    draw: ImageDraw.ImageDraw, text: str, size: int, center_x: float, top: int, max_width: float
) -> None:
    """Draw ``text`` centred, shrunk (to 75%) and then cut with an ellipsis to fit."""
    if not text:
        return
    for candidate in range(size, max(6, math.ceil(size * 0.75)) - 1, -1):
        font = _font(candidate)
        if draw.textlength(text, font=font) <= max_width:
            break
    else:
        # Longest prefix that fits with the ellipsis after it.
        low, high = 0, len(text)
        while low < high:
            mid = (low + high + 1) // 2
            if draw.textlength(text[:mid] + "…", font=font) <= max_width:
                low = mid
            else:
                high = mid - 1
        text = text[:low] + "…"
    width = draw.textlength(text, font=font)
    # Fonts' ascent is taller than the largest glyph; centring the real line box looks better.
    offset = (_line_height(size) - _line_height(candidate)) // 2
    draw.text((center_x - width / 2, top + offset), text, font=font, fill=0)


# --- QR codes ----------------------------------------------------------------------------------


def qr_matrix(url: str) -> list[list[bool]]:
    """The QR modules for ``url`` (True = dark), quiet zone included."""
    # Untyped callers (forms, templates) reach these functions: the types are checked again.
    if not isinstance(url, str) or not url:  # type: ignore[redundant-expr]
        raise ValueError("二维码内容不能为空")
    qr = qrcode.QRCode(error_correction=ERROR_CORRECTION, border=QUIET_ZONE)
    qr.add_data(url)
    try:
        qr.make(fit=True)
    except (DataOverflowError, ValueError):  # qrcode 8 says "Invalid version" for fit=True
        raise ValueError("网址太长，无法生成二维码") from None
    matrix: list[list[bool]] = qr.get_matrix()
    return matrix


def _qr_image(matrix: list[list[bool]], module_px: int) -> Image.Image:
    n = len(matrix)
    small = Image.new("1", (n, n), 1)
    small.putdata([0 if dark else 1 for row in matrix for dark in row])
    return small.resize((n * module_px, n * module_px), Image.Resampling.NEAREST)


def _text_sizes(title_px: int, subtitle: str) -> tuple[int, int, int]:
    """Font sizes of both lines and the height they take together."""
    subtitle_px = max(6, round(title_px * 0.85))
    height = _line_height(title_px) + (_line_height(subtitle_px) if subtitle else 0)
    return title_px, subtitle_px, height


def qr_png(url: str, title: str, subtitle: str = "", *, box_size: int = 8) -> bytes:
    """A PNG of the QR code for ``url`` with ``title`` and ``subtitle`` under it."""
    box_size = _check_int("box_size", box_size, 1, 40)
    matrix = qr_matrix(url)
    title, subtitle = _clean(title), _clean(subtitle)
    code = _qr_image(matrix, box_size)
    title_px, subtitle_px, text_height = _text_sizes(max(10, round(box_size * 2.4)), subtitle)
    # The text sits under the quiet zone, which stays clear as the standard asks.
    width = code.width
    height = width + text_height + QUIET_ZONE * box_size // 2
    image = Image.new("L", (width, height), 255)
    image.paste(code, (0, 0))
    draw = ImageDraw.Draw(image)
    max_width = width - QUIET_ZONE * box_size
    _draw_line(draw, title, title_px, width / 2, width, max_width)
    _draw_line(draw, subtitle, subtitle_px, width / 2, width + _line_height(title_px), max_width)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _svg_text(text: str, size: float, y: float, n: int) -> str:
    # No font metrics here: a CJK character is about 1 em wide, others about 0.6 em. Text that
    # would be wider than the code is squeezed to its width by the renderer.
    estimate = sum(1.0 if ord(c) >= 0x2E80 else 0.6 for c in text) * size
    fit = ""
    if estimate > n - 2 * QUIET_ZONE:
        fit = f' textLength="{n - 2 * QUIET_ZONE}" lengthAdjust="spacingAndGlyphs"'
    return (
        f'<text x="{n / 2:g}" y="{y:g}" font-size="{size:g}" text-anchor="middle"{fit}>'
        f"{escape(text)}</text>"
    )


def qr_svg(url: str, title: str, subtitle: str = "") -> str:
    """An SVG document: the QR code for ``url`` with ``title`` and ``subtitle`` under it."""
    matrix = qr_matrix(url)
    title, subtitle = _clean(title), _clean(subtitle)
    n = len(matrix)
    # One path in module units; each horizontal run of dark modules is one rectangle.
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < n:
            if row[x]:
                start = x
                while x < n and row[x]:
                    x += 1
                runs.append(f"M{start},{y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    title_size, subtitle_size = 2.4, 2.04
    lines = [(title, title_size, n + title_size * 1.16)]
    if subtitle:
        lines.append(
            (subtitle, subtitle_size, lines[0][2] + title_size * 0.29 + subtitle_size * 1.3)
        )
    height = math.ceil(lines[-1][2] + QUIET_ZONE / 2)
    texts = "".join(_svg_text(text, size, y, n) for text, size, y in lines if text)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {height}" '
        f'width="{n * 8}" height="{height * 8}">'
        f'<rect width="{n}" height="{height}" fill="#fff"/>'
        f'<path d="{"".join(runs)}" fill="#000" shape-rendering="crispEdges"/>'
        '<g font-family="Noto Sans CJK SC, Source Han Sans SC, PingFang SC, Microsoft YaHei, '
        f'sans-serif" fill="#000">{texts}</g></svg>\n'
    )


# --- Label sheets ------------------------------------------------------------------------------


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} 应为 {low}–{high} 的整数")
    return value


MAX_LABELS = 400  # one print run: ten A4 sheets of 40
_CELL_CACHE = 16
MAX_PAGES = 50  # each page is a 300 dpi bitmap (about 45 ms and 27 KB to 1 MB each)


def sheet_pages(count: int, columns: int, rows: int) -> int:
    """How many pages ``count`` labels take, ``columns`` x ``rows`` a page."""
    return -(-count // (columns * rows))


def label_sheet_pdf(
    labels: Sequence[Label],
    *,
    columns: int = 4,
    rows: int = 10,
    page: str = "A4",
    margin_mm: float = 8,
    dpi: int = 300,
) -> bytes:
    """A PDF of label sheets: ``columns`` x ``rows`` labels a page, as many pages as needed."""
    columns = _check_int("columns", columns, 1, 40)
    rows = _check_int("rows", rows, 1, 60)
    dpi = _check_int("dpi", dpi, 72, 1200)
    if not isinstance(page, str) or page.upper() not in PAGE_SIZES_MM:  # type: ignore[redundant-expr]
        raise ValueError(f"不支持的纸张：{page!r}（可选 {'、'.join(PAGE_SIZES_MM)}）")
    page_w_mm, page_h_mm = PAGE_SIZES_MM[page.upper()]
    if (
        isinstance(margin_mm, bool)
        or not isinstance(margin_mm, int | float)  # type: ignore[redundant-expr]
        or not 0 <= margin_mm < min(page_w_mm, page_h_mm) / 2
    ):
        raise ValueError("页边距不正确")
    labels = list(labels)
    if not labels:
        raise ValueError("没有要打印的标签")
    if len(labels) > MAX_LABELS or sheet_pages(len(labels), columns, rows) > MAX_PAGES:
        raise ValueError(f"一次最多打印 {MAX_LABELS} 张、{MAX_PAGES} 页标签")
    if not all(isinstance(label, Label) for label in labels):
        raise ValueError("labels 中的每一项都应是 Label")

    width, height = round(page_w_mm / 25.4 * dpi), round(page_h_mm / 25.4 * dpi)
    # The pixel grid rounds the page a little; these resolutions make the PDF page exactly
    # the paper size, so printing at 100% puts labels where the sticker sheet has them.
    resolution = (width / (page_w_mm / 25.4), height / (page_h_mm / 25.4))
    margin = margin_mm / 25.4 * dpi
    grid = (margin, (width - 2 * margin) / columns, (height - 2 * margin) / rows, columns)
    per_page = columns * rows
    pages = [labels[first : first + per_page] for first in range(0, len(labels), per_page)]
    # A bilevel page image takes a byte per pixel (8.7 MB for A4 at 300 dpi), so long runs are
    # rendered and written in batches; each batch after the first is an incremental update.
    batch = max(1, _BATCH_PIXELS // (width * height))
    # A lot's labels are all the same: each distinct (label, cell size) is drawn once.
    cells: dict[tuple[Label, int, int], Image.Image] = {}
    out = io.BytesIO()
    for first in range(0, len(pages), batch):
        images = [
            _render_page(pages[p], (width, height), grid, p * per_page, cells)
            for p in range(first, min(first + batch, len(pages)))
        ]
        images[0].save(
            out,
            "PDF",
            save_all=True,
            append_images=images[1:],
            append=first > 0,
            dpi=resolution,
            title="溯源标签",
            producer="farmgate",
        )
    return out.getvalue()


def _render_page(
    page_labels: list[Label],
    size: tuple[int, int],
    grid: tuple[float, float, float, int],
    numbered_from: int,
    cells: dict[tuple[Label, int, int], Image.Image],
) -> Image.Image:
    margin, cell_w, cell_h, columns = grid
    sheet = Image.new("1", size, 1)
    for i, label in enumerate(page_labels):
        row, col = divmod(i, columns)
        left, top = round(margin + col * cell_w), round(margin + row * cell_h)
        right, bottom = round(margin + (col + 1) * cell_w), round(margin + (row + 1) * cell_h)
        key = (label, right - left, bottom - top)
        cell = cells.get(key)
        if cell is None:
            try:
                cell = _draw_cell(label, right - left, bottom - top)
            except ValueError as exc:
                raise ValueError(f"第 {numbered_from + i + 1} 个标签：{exc}") from None
            if len(cells) >= _CELL_CACHE:
                cells.clear()  # per-unit labels all differ: keep only the last few
            cells[key] = cell
        sheet.paste(cell, (left, top))
    return sheet


def _draw_cell(label: Label, cell_w: int, cell_h: int) -> Image.Image:
    """One label drawn on its own cell-sized bilevel image."""
    cell = Image.new("1", (cell_w, cell_h), 1)
    draw = ImageDraw.Draw(cell)
    pad = round(min(cell_w, cell_h) * 0.06)
    subtitle = _clean(label.subtitle)
    title_px, subtitle_px, text_height = _text_sizes(max(8, round(cell_h * 0.085)), subtitle)
    matrix = qr_matrix(label.url)
    n = len(matrix)
    module_px = min(cell_w - 2 * pad, cell_h - 2 * pad - text_height) // n
    if module_px < _MIN_MODULE_PX:
        raise ValueError("标签格子太小，二维码无法清晰打印（请减少行列数或提高 dpi）")
    code = _qr_image(matrix, module_px)
    center_x = cell_w / 2
    cell.paste(code, (round(center_x - code.width / 2), pad))
    text_top = pad + code.height
    max_width = cell_w - 2 * pad
    _draw_line(draw, _clean(label.title), title_px, center_x, text_top, max_width)
    _draw_line(draw, subtitle, subtitle_px, center_x, text_top + _line_height(title_px), max_width)
    return cell
