"""QR images and label sheets: what is printed must scan back to the URL and fit the paper.

The QR checks sample the rendered modules and compare them with the matrix qrcode computes for
the URL, so they need no decoder. When zxing-cpp is installed (it is not a dependency), the codes
are also read back the way a phone would.
"""

from __future__ import annotations

import io
import logging
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image
from PIL.PdfParser import PdfParser

from farmgate.rendering import labels
from farmgate.rendering.labels import QUIET_ZONE, Label, label_sheet_pdf, qr_matrix, qr_png, qr_svg
from tests.support.labels import pdf_pages

URL = "https://trace.example.cn/01/06901234567892/10/B2024-07%2FA/21/0000K3MZ8Q2H5T7VX"
SVG_NS = "{http://www.w3.org/2000/svg}"

try:
    import zxingcpp
except ImportError:  # pragma: no cover - optional
    zxingcpp = None

needs_decoder = pytest.mark.skipif(zxingcpp is None, reason="zxing-cpp is not installed")
needs_cjk_font = pytest.mark.skipif(labels.cjk_font() is None, reason="no CJK font installed")


def _decode(image: Image.Image) -> list[str]:
    assert zxingcpp is not None
    return [result.text for result in zxingcpp.read_barcodes(image.convert("L"))]


def _sampled_modules(image: Image.Image, n: int, module_px: int, left: int = 0, top: int = 0):
    """The dark/light value at the centre of each module of an n x n code."""
    gray = image.convert("L")
    half = module_px // 2
    return [
        [
            gray.getpixel((left + x * module_px + half, top + y * module_px + half)) < 128
            for x in range(n)
        ]
        for y in range(n)
    ]


def _ink_box(
    image: Image.Image, box: tuple[int, int, int, int]
) -> tuple[int, int, int, int] | None:
    """Bounding box of the dark pixels inside ``box`` (page coordinates), or None."""
    inverted = image.crop(box).convert("L").point(lambda v: 255 if v < 128 else 0)
    found = inverted.getbbox()
    if found is None:
        return None
    return (box[0] + found[0], box[1] + found[1], box[0] + found[2], box[1] + found[3])


# --- PNG ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("box_size", [3, 8, 12])
def test_png_modules_are_the_qr_matrix_of_the_url(box_size: int) -> None:
    png = qr_png(URL, "赣南脐橙（特级）5斤装", "批次 B2024-07A", box_size=box_size)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    matrix = qr_matrix(URL)
    n = len(matrix)
    assert image.width == n * box_size
    assert image.height > image.width  # room for the two text lines
    assert _sampled_modules(image, n, box_size) == matrix
    # The matrix is the code for this URL only.
    assert qr_matrix(URL + "0") != matrix
    # The quiet zone is white on all sides of the code.
    assert _ink_box(image, (0, 0, n * box_size, n * box_size)) == (
        QUIET_ZONE * box_size,
        QUIET_ZONE * box_size,
        (n - QUIET_ZONE) * box_size,
        (n - QUIET_ZONE) * box_size,
    )


@needs_decoder
@pytest.mark.parametrize("box_size", [2, 4, 8])
def test_png_scans_back_to_the_url(box_size: int) -> None:
    image = Image.open(io.BytesIO(qr_png(URL, "赣南脐橙", "批次 B2024-07A", box_size=box_size)))
    assert _decode(image) == [URL]


def _text_area(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png)).convert("L")
    return image.crop((0, image.width, image.width, image.height))


@needs_cjk_font
def test_png_draws_chinese_glyphs_not_boxes() -> None:
    # Without a CJK font every Chinese character is the same "missing glyph" box, so two
    # different names would render identically.
    first = _text_area(qr_png(URL, "赣南脐橙", "批次 1"))
    second = _text_area(qr_png(URL, "云南普洱", "批次 1"))
    assert first.size == second.size
    assert _ink_box(first, (0, 0, *first.size)) is not None
    assert first.tobytes() != second.tobytes()


def test_png_text_lines() -> None:
    both = _text_area(qr_png(URL, "赣南脐橙", "批次 B2024-07A"))
    title_only = _text_area(qr_png(URL, "赣南脐橙"))
    assert both.height > title_only.height
    # The subtitle is drawn under the title: the top of the text area is the same.
    top = title_only.height // 2
    region = (0, 0, both.width, top)
    assert both.crop(region).tobytes() == title_only.crop(region).tobytes()
    assert _ink_box(both, (0, top, both.width, both.height)) is not None


def test_png_long_titles_stay_inside_the_label() -> None:
    box_size = 4
    png = qr_png(URL, "赣南脐橙" * 20, "B" * 200, box_size=box_size)
    text = _text_area(png)
    ink = _ink_box(text, (0, 0, *text.size))
    assert ink is not None
    margin = QUIET_ZONE * box_size // 2
    assert ink[0] >= margin - 1
    assert ink[2] <= text.width - margin + 1


def test_png_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="box_size"):
        qr_png(URL, "x", box_size=0)
    with pytest.raises(ValueError, match="box_size"):
        qr_png(URL, "x", box_size=True)
    with pytest.raises(ValueError, match="不能为空"):
        qr_png("", "x")
    with pytest.raises(ValueError, match="太长"):
        qr_png("https://a/" + "x" * 3000, "x")
    with pytest.raises(ValueError, match="字符串"):
        qr_png(URL, None)  # type: ignore[arg-type]


def test_missing_cjk_font_falls_back_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(labels, "_CJK_FONT_FILES", ("/nonexistent/font.ttc",))
    monkeypatch.setattr(labels, "_CJK_FONT_GLOBS", ())
    labels.cjk_font.cache_clear()
    labels._font.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="farmgate.rendering.labels"):
            assert labels.cjk_font() is None
            image = Image.open(io.BytesIO(qr_png(URL, "赣南脐橙", "Lot 1")))
        assert "CJK" in caplog.text
        assert _sampled_modules(image, len(qr_matrix(URL)), 8) == qr_matrix(URL)
    finally:
        labels.cjk_font.cache_clear()
        labels._font.cache_clear()


@needs_cjk_font
def test_cjk_font_is_the_simplified_chinese_face() -> None:
    from PIL import ImageFont

    found = labels.cjk_font()
    assert found is not None
    path, index = found
    assert Path(path).is_file()
    name = ImageFont.truetype(path, 12, index=index).getname()[0] or ""
    if "Noto" in name:
        assert name.endswith("CJK SC")


# --- SVG ---------------------------------------------------------------------------------------


def _svg_modules(path_data: str, n: int) -> list[list[bool]]:
    modules = [[False] * n for _ in range(n)]
    for x, y, run in re.findall(r"M(\d+),(\d+)h(\d+)v1h-\3z", path_data):
        for dx in range(int(run)):
            assert not modules[int(y)][int(x) + dx], "overlapping runs"
            modules[int(y)][int(x) + dx] = True
    return modules


def test_svg_is_xml_with_the_code_and_escaped_texts() -> None:
    title, subtitle = "赣南脐橙 <特级> & 5斤装", '批次 "B&7"\x00\x0b'
    svg = qr_svg(URL, title, subtitle)
    assert "<特级>" not in svg
    assert "&lt;特级&gt; &amp; 5斤装" in svg
    root = ET.fromstring(svg.encode("utf-8"))
    assert root.tag == f"{SVG_NS}svg"
    texts = [t.text for t in root.iter(f"{SVG_NS}text")]
    assert texts == [title, '批次 "B&7"']  # control characters dropped
    matrix = qr_matrix(URL)
    n = len(matrix)
    path = root.find(f"{SVG_NS}path")
    assert path is not None
    assert _svg_modules(path.get("d", ""), n) == matrix
    # The text lines are under the code and inside the drawing.
    view = [float(v) for v in root.get("viewBox", "").split()]
    assert view[:3] == [0, 0, n]
    ys = [float(t.get("y", "0")) for t in root.iter(f"{SVG_NS}text")]
    assert n < ys[0] < ys[1] < view[3]


def test_svg_squeezes_long_titles_and_omits_an_empty_subtitle() -> None:
    root = ET.fromstring(qr_svg(URL, "赣南脐橙" * 10).encode("utf-8"))
    texts = list(root.iter(f"{SVG_NS}text"))
    assert len(texts) == 1
    n = len(qr_matrix(URL))
    assert float(texts[0].get("textLength", "0")) == n - 2 * QUIET_ZONE
    short = ET.fromstring(qr_svg(URL, "脐橙").encode("utf-8"))
    assert next(short.iter(f"{SVG_NS}text")).get("textLength") is None


# --- PDF sheets --------------------------------------------------------------------------------


def _labels(count: int) -> list[Label]:
    return [
        Label(
            f"https://trace.example.cn/01/06901234567892/10/B7/21/{i:05d}",
            "赣南脐橙（特级）",
            f"批次 B7 · {i}",
        )
        for i in range(count)
    ]


A4_POINTS = (210 / 25.4 * 72, 297 / 25.4 * 72)


@pytest.mark.parametrize(("count", "pages"), [(1, 1), (40, 1), (41, 2), (81, 3)])
def test_sheet_page_count(count: int, pages: int) -> None:
    pdf = label_sheet_pdf(_labels(count), dpi=150)
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert len(PdfParser(buf=pdf).pages) == pages == math.ceil(count / 40)
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == pages


def test_a_sheet_is_one_print_run_at_most() -> None:
    """Each page is a 300 dpi bitmap: 985 single-label pages took 45 s and 27 MB."""
    with pytest.raises(ValueError, match="一次最多打印 400 张、50 页"):
        label_sheet_pdf(_labels(51), columns=1, rows=1, dpi=72)
    with pytest.raises(ValueError, match="一次最多打印 400 张"):
        label_sheet_pdf([_labels(1)[0]] * 401, dpi=72)
    assert len(PdfParser(buf=label_sheet_pdf(_labels(50), columns=1, rows=1, dpi=72)).pages) == 50


def test_long_runs_are_written_in_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    items = _labels(5)
    one_by_one = [label_sheet_pdf([label], columns=1, rows=1, dpi=72) for label in items]
    singles = [pdf_pages(pdf)[0][1].tobytes() for pdf in one_by_one]
    assert len(set(singles)) == 5
    width, height = pdf_pages(one_by_one[0])[0][1].size
    monkeypatch.setattr(labels, "_BATCH_PIXELS", width * height * 2)  # two pages a batch
    pdf = label_sheet_pdf(items, columns=1, rows=1, dpi=72)
    pages = pdf_pages(pdf)
    # Every page is there once, in order, drawn as it is on its own.
    assert [image.tobytes() for _, image in pages] == singles
    assert pdf.count(b"%%EOF") == 3  # the first batch and two incremental updates


@pytest.mark.parametrize(("page", "mm"), [("A4", (210, 297)), ("a5", (148, 210))])
@pytest.mark.parametrize("dpi", [150, 300])
def test_sheet_page_is_the_paper_size(page: str, mm: tuple[int, int], dpi: int) -> None:
    pdf = label_sheet_pdf(_labels(3), page=page, dpi=dpi, columns=2, rows=4)
    ((info, image),) = pdf_pages(pdf)
    media_box = [float(v) for v in info[b"MediaBox"]]
    assert media_box[:2] == [0, 0]
    assert media_box[2] == pytest.approx(mm[0] / 25.4 * 72, abs=0.01)
    assert media_box[3] == pytest.approx(mm[1] / 25.4 * 72, abs=0.01)
    assert image.size == (round(mm[0] / 25.4 * dpi), round(mm[1] / 25.4 * dpi))
    if page == "A4":
        assert media_box[2:] == pytest.approx(A4_POINTS, abs=0.01)


def test_sheet_layout_follows_the_grid() -> None:
    columns, rows, margin_mm, dpi = 3, 5, 10, 150
    pdf = label_sheet_pdf(_labels(17), columns=columns, rows=rows, margin_mm=margin_mm, dpi=dpi)
    pages = pdf_pages(pdf)
    assert len(pages) == 2
    first, second = pages[0][1].convert("L"), pages[1][1].convert("L")
    assert first.getpixel((0, 0)) == 255  # white paper, not an inverted image
    margin = margin_mm / 25.4 * dpi
    cell_w = (first.width - 2 * margin) / columns
    cell_h = (first.height - 2 * margin) / rows
    # Nothing is printed in the margins.
    assert _ink_box(first, (0, 0, first.width, round(margin) - 1)) is None
    assert _ink_box(first, (0, 0, round(margin) - 1, first.height)) is None
    for page, used in ((first, 15), (second, 2)):
        for cell in range(columns * rows):
            row, col = divmod(cell, columns)
            box = (
                round(margin + col * cell_w),
                round(margin + row * cell_h),
                round(margin + (col + 1) * cell_w),
                round(margin + (row + 1) * cell_h),
            )
            ink = _ink_box(page, box)
            if cell < used:
                # Something in every cell, and not touching its edges (no spill into neighbours).
                assert ink is not None, (cell, box)
                assert box[0] < ink[0] and ink[2] < box[2], (cell, box, ink)
                assert box[1] < ink[1] and ink[3] < box[3], (cell, box, ink)
            else:
                assert ink is None, (cell, box)


@needs_decoder
def test_sheet_codes_scan_back_to_their_urls() -> None:
    items = _labels(45)
    pages = pdf_pages(label_sheet_pdf(items))  # the default: A4, 4 x 10, 300 dpi
    assert sorted(_decode(pages[0][1])) == sorted(label.url for label in items[:40])
    assert sorted(_decode(pages[1][1])) == sorted(label.url for label in items[40:])


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"columns": 0}, "columns"),
        ({"columns": True}, "columns"),
        ({"rows": -1}, "rows"),
        ({"rows": 2.5}, "rows"),
        ({"dpi": 50}, "dpi"),
        ({"page": "B5"}, "纸张"),
        ({"page": None}, "纸张"),
        ({"margin_mm": -1}, "页边距"),
        ({"margin_mm": 105}, "页边距"),
        ({"margin_mm": "8"}, "页边距"),
        ({"columns": 40, "rows": 60, "dpi": 72}, "太小"),
    ],
)
def test_sheet_rejects_bad_arguments(kwargs: dict[str, object], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        label_sheet_pdf(_labels(2), **kwargs)  # type: ignore[arg-type]


def test_sheet_rejects_bad_labels() -> None:
    with pytest.raises(ValueError, match="没有"):
        label_sheet_pdf([])
    with pytest.raises(ValueError, match="Label"):
        label_sheet_pdf([("https://a/01/06901234567892", "x", "y")])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="第 2 个标签"):
        label_sheet_pdf([Label("https://a", "x"), Label("", "y")])
