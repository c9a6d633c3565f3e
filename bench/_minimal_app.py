"""The minimal same-stack app for farmgate's hot public reads (bench/hotreads.py).

FastAPI, SQLAlchemy Core over the same psycopg 3 driver, one SQL statement per request, Core
rows (no ORM objects), pydantic-core's JSON writer (what FastAPI uses for a response model) or
the same Jinja templates, and the same conditional-GET rule (a weak ETag of the body, 304 on a
match). Each endpoint answers byte for byte what farmgate answers for the bench's data (the
bench checks it before it measures); what that data lacks (reviews, pre-sales) the app refuses
loudly rather than guesses. PostgreSQL only. It is a yardstick, not a second implementation:

    FARMGATE_DATABASE_URL=postgresql://... uvicorn _minimal_app:app
"""

from __future__ import annotations

import hashlib
import os
import time
from datetime import UTC, datetime
from typing import Any

import pydantic_core
from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from farmgate.catalog.schemas import ProductDetail
from farmgate.config import settings
from farmgate.gs1.digital_link import parse
from farmgate.media.storage import get_storage
from farmgate.models import CATEGORIES, Batch
from farmgate.reviews.views import Summary
from farmgate.storefront import wechat_pages as wx
from farmgate.storefront.templating import templates
from farmgate.story import views as story_views
from farmgate.trace import scans, urls

URL = os.environ["FARMGATE_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
engine = create_engine(URL, pool_size=int(os.environ.get("FARMGATE_WEB_THREADS", "40")))
app = FastAPI()
ON_SALE = "p.status = 'published' AND c.status = 'approved'"
JSON_TYPE = "application/json"
HTML_TYPE = "text/html; charset=utf-8"


def _answer(request: Request, body: bytes, media_type: str, **headers: str) -> Response:
    etag = f'W/"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers={"ETag": etag, **headers})
    return Response(body, media_type=media_type, headers={"ETag": etag, **headers})


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def _photo(pid: int, position: int, width: int, height: int, key: str, widths: str) -> Any:
    url = get_storage().url
    return {
        "id": pid,
        "position": position,
        "width": width,
        "height": height,
        "urls": {int(w): url(f"{key}-{w}.webp") for w in widths.split(",")},
    }


def _summary(r: Any, cover: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "category": r.category,
        "category_name": CATEGORIES.get(r.category, r.category),
        "unit": r.unit,
        "storage_class": r.storage_class,
        "cooperative_id": r.cooperative_id,
        "cooperative_name": r.coop_name or "",
        "village_id": r.village_id,
        "village_name": r.village_name or "",
        "price_min_fen": r.pmin,
        "price_max_fen": r.pmax,
        "in_stock": bool(r.stock),
        "cover": cover,
        "published_at": _utc(r.published_at),
    }


_LIST = """
WITH f AS (
  SELECT p.id, p.published_at{prices} FROM product p JOIN cooperative c ON c.id = p.cooperative_id
  WHERE {on_sale}{where}
), pg AS (
  SELECT id, row_number() OVER (ORDER BY {order}) AS rn FROM f ORDER BY {order}
  LIMIT :limit OFFSET :offset
)
SELECT t.total, p.id, p.name, p.category, p.unit, p.storage_class, p.cooperative_id,
  c.name AS coop_name, p.village_id, v.name AS village_name, p.published_at,
  s.pmin, s.pmax, s.stock, ph.id AS ph_id, ph.position, ph.width, ph.height, ph.storage_key,
  ph.widths
FROM (SELECT count(*) AS total FROM f) t
LEFT JOIN pg ON true
LEFT JOIN product p ON p.id = pg.id
LEFT JOIN cooperative c ON c.id = p.cooperative_id
LEFT JOIN village v ON v.id = p.village_id
LEFT JOIN LATERAL (SELECT min(price_fen) AS pmin, max(price_fen) AS pmax, sum(stock) AS stock
  FROM sku WHERE product_id = p.id AND is_active) s ON true
LEFT JOIN LATERAL (SELECT * FROM product_photo WHERE product_id = p.id
  ORDER BY position, id LIMIT 1) ph ON true
ORDER BY pg.rn
"""
_PRICE = "(SELECT {fn}(price_fen) FROM sku WHERE product_id = p.id AND is_active)"
_ORDERS = {
    "newest": "published_at DESC, id DESC",
    "price_asc": "pmin ASC NULLS LAST, id DESC",
    "price_desc": "pmax DESC NULLS LAST, id DESC",
}
_statements: dict[tuple[Any, ...], Any] = {}


@app.get("/api/v1/products")
def list_products(
    request: Request,
    village_id: int | None = None,
    category: str | None = None,
    price_min_fen: int | None = None,
    price_max_fen: int | None = None,
    sort: str = "newest",
    page: int = 1,
    page_size: int = 20,
) -> Response:
    params: dict[str, Any] = {"limit": page_size, "offset": (page - 1) * page_size}
    where = []
    if village_id is not None:
        where.append("p.village_id = :village_id")
        params["village_id"] = village_id
    if category is not None:
        where.append("p.category = :category")
        params["category"] = category
    if price_min_fen is not None or price_max_fen is not None:
        cond = ["s.product_id = p.id", "s.is_active"]
        if price_min_fen is not None:
            cond.append("s.price_fen >= :pmin_f")
            params["pmin_f"] = price_min_fen
        if price_max_fen is not None:
            cond.append("s.price_fen <= :pmax_f")
            params["pmax_f"] = price_max_fen
        where.append(f"EXISTS (SELECT 1 FROM sku s WHERE {' AND '.join(cond)})")
    key = (sort, *where)
    statement = _statements.get(key)
    if statement is None:
        prices = ""
        if sort != "newest":
            prices = f", {_PRICE.format(fn='min')} AS pmin, {_PRICE.format(fn='max')} AS pmax"
        statement = _statements[key] = text(
            _LIST.format(
                prices=prices,
                on_sale=ON_SALE,
                where="".join(f" AND {w}" for w in where),
                order=_ORDERS[sort],
            )
        )
    with engine.connect() as conn:
        rows = conn.execute(statement, params).all()
    items = [
        _summary(
            r,
            _photo(r.ph_id, r.position, r.width, r.height, r.storage_key, r.widths)
            if r.ph_id is not None
            else None,
        )
        for r in rows
        if r.id is not None
    ]
    body = {"items": items, "total": rows[0].total, "page": page, "page_size": page_size}
    return _answer(request, pydantic_core.to_json(body), JSON_TYPE)


_DETAIL = text(f"""
SELECT p.id, p.name, p.category, p.unit, p.storage_class, p.cooperative_id,
  c.name AS coop_name, c.service_phone, p.village_id, v.name AS village_name, p.published_at,
  p.description, p.shelf_life_days,
  (SELECT json_agg(json_build_array(id, spec, price_fen, stock, weight_g, is_active)
     ORDER BY price_fen, id) FROM sku WHERE product_id = p.id AND is_active) AS skus,
  (SELECT json_agg(json_build_array(id, position, width, height, storage_key, widths)
     ORDER BY position, id) FROM product_photo WHERE product_id = p.id) AS photos,
  b.gtin, b.lot_code, b.harvest_date,
  (SELECT count(*) FROM product_review WHERE product_id = p.id AND NOT hidden) AS reviews,
  (SELECT count(*) FROM presale WHERE product_id = p.id AND status = 'open') AS presales
FROM product p JOIN cooperative c ON c.id = p.cooperative_id
LEFT JOIN village v ON v.id = p.village_id
LEFT JOIN LATERAL (SELECT gtin, lot_code, harvest_date FROM batch WHERE product_id = p.id
  AND status = 'active' AND harvest_date IS NOT NULL
  ORDER BY harvest_date DESC, id DESC LIMIT 1) b ON true
WHERE p.id = :id AND {ON_SALE}
""")
_SKU_KEYS = ("id", "spec", "price_fen", "stock", "weight_g", "is_active")


def _detail(product_id: int) -> tuple[dict[str, Any], Any]:
    with engine.connect() as conn:
        r = conn.execute(_DETAIL, {"id": product_id}).one()
    skus = [dict(zip(_SKU_KEYS, s, strict=True)) for s in r.skus or []]
    photos = [_photo(*p) for p in r.photos or []]
    r_prices = {
        "pmin": min((s["price_fen"] for s in skus), default=None),
        "pmax": max((s["price_fen"] for s in skus), default=None),
        "stock": sum(s["stock"] for s in skus),
    }
    fields = _summary(_Row(r, r_prices), photos[0] if photos else None)
    fields.update(
        description=r.description, shelf_life_days=r.shelf_life_days, skus=skus, photos=photos
    )
    return fields, r


class _Row:
    """A row with the prices worked out from its SKUs."""

    def __init__(self, row: Any, extra: dict[str, Any]) -> None:
        self._row, self._extra = row, extra

    def __getattr__(self, name: str) -> Any:
        return self._extra[name] if name in self._extra else getattr(self._row, name)


@app.get("/api/v1/products/{product_id}")
def product_detail(product_id: int, request: Request) -> Response:
    fields, _ = _detail(product_id)
    return _answer(request, pydantic_core.to_json(fields), JSON_TYPE)


class _Product(dict[str, Any]):
    """The template reads ``product.name``: a dict that answers attributes too."""

    __getattr__ = dict.__getitem__


@app.get("/products/{product_id}")
def product_page(product_id: int, request: Request) -> Response:
    fields, r = _detail(product_id)
    if r.reviews or r.presales:
        raise NotImplementedError("the minimal app knows no reviews or pre-sales")
    product = _Product(fields)
    photos = fields["photos"]
    photo = fields["cover"] or (photos[0] if photos else None)
    card = wx.share_card(
        request,
        f"{product.name} {wx.yuan(product.price_min_fen)}起",
        f"{product.cooperative_name} · 产地 {product.village_name} · {product.description}"[:120],
        (photo["urls"].get(640) or next(iter(photo["urls"].values()), None)) if photo else None,
    )
    batch = None
    if r.lot_code is not None:
        batch = Batch(gtin=r.gtin, lot_code=r.lot_code, harvest_date=r.harvest_date)
    html = templates.get_template("product.html").render(
        request=request,
        account=None,
        csrf_token="",
        product=product,
        presales=[],
        batch=batch,
        trace_path=urls.trace_path(batch) if batch is not None else None,
        reviews=Summary(count=0, average=None, latest=[]),
        service_phone=r.service_phone or None,
        card=card,
    )
    return _answer(request, html.encode(), HTML_TYPE)


_TRACE = text("""
SELECT b.*, c.status AS coop_status,
  (SELECT hash FROM trace_event WHERE batch_id = b.id ORDER BY seq DESC LIMIT 1) AS head,
  sc.scans AS sc_scans, sc.places AS sc_places, sc.clients AS sc_clients
FROM batch b JOIN cooperative c ON c.id = b.cooperative_id
LEFT JOIN scan_count sc ON sc.batch_id = b.id AND sc.serial = ''
WHERE b.gtin = :gtin AND b.lot_code = :lot
""")
_stories: dict[tuple[Any, ...], tuple[float, story_views.Story]] = {}


@app.get("/01/{rest:path}")
def trace_page(rest: str, request: Request) -> Response:
    link = parse(settings.public_base_url.rstrip("/") + request.scope["raw_path"].decode())
    with engine.connect() as conn:
        r = conn.execute(_TRACE, {"gtin": link.gtin, "lot": link.lot}).one()
    if r.coop_status != "approved" or link.serial:
        raise NotImplementedError("the minimal app serves public lot pages only")
    key = (r.id, None, r.head, r.status, r.excursion, r.recall_reason)
    cached = _stories.get(key)
    if cached is None or cached[0] < time.monotonic():
        with Session(engine) as session:  # a miss: farmgate's own story, as farmgate builds it
            batch = session.get(Batch, r.id)
            assert batch is not None
            cached = (
                time.monotonic() + story_views.STORY_TTL_SECONDS,
                story_views.story(session, batch),
            )
        _stories[key] = cached
    client = request.client.host if request.client else None
    scans.buffer.add(r.id, "", scans.place_of(client), scans.client_of(client), scans.window_of())
    waiting = scans.buffer.pending(r.id, "")
    places = list(r.sc_places or [])
    places.extend(p for p in waiting.places if p not in places)
    clients = scans._merge_clients(r.sc_clients or {}, waiting.clients)
    most = max((len(c) for c in clients.values()), default=1)
    view = scans.ScanView("", (r.sc_scans or 0) + waiting.scans, tuple(places), most)
    story = story_views.with_scan(cached[1], view)
    card = wx.share_card(
        request,
        f"{story.product.name} 批次 {story.batch.lot_code} 溯源",
        f"{wx.yuan(story.price_from_fen)}起 · 扫码可查产地、采收与流通记录",
        story.photos[0]["url"] if story.photos else None,
    )
    html = templates.get_template("trace.html").render(
        request=request, s=story, account=None, csrf_token="", card=card
    )
    return Response(html.encode(), media_type=HTML_TYPE, headers={"Cache-Control": "no-store"})


# Farmgate's ProductDetail is imported so a change to its fields breaks this module at once.
assert set(ProductDetail.model_fields) >= {"skus", "photos", "description"}
