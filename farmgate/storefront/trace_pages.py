"""The page every package's QR code leads to: /01/{GTIN}/10/{lot}[/21/{serial}], and the
GS1 Digital Link resolver around it.

Public, no sign-in, no JavaScript, small: it must open fast on a weak rural network.

Resolver behaviour (farmgate/gs1/resolver.py): ``?linkType=all`` or ``Accept:
application/linkset+json`` answers the lot's links as an RFC 9264 linkset; ``?linkType=gs1:pip``
(and the other known link types) redirects there; no linkType (or one not offered) is the trace
page itself, which lists the other links in its ``Link`` header. A GTIN alone goes to the
product page. HEAD answers like GET without counting a scan. ``/.well-known/gs1resolver``
describes the resolver; a compressed Digital Link (``/<base64url>``) is decompressed and
redirected to its uncompressed form.
"""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.convertors import Convertor, register_url_convertor

from farmgate.config import settings
from farmgate.errors import NotFound
from farmgate.gs1 import compression, resolver
from farmgate.gs1.digital_link import DigitalLink, InvalidDigitalLink, parse
from farmgate.gs1.serials import check_serial
from farmgate.storefront import wechat_pages as wx
from farmgate.storefront.templating import templates
from farmgate.story import views
from farmgate.trace import resolving, scans, urls
from farmgate.web.unit import opens_own_read

router = APIRouter(include_in_schema=False)
# Included after every other router (farmgate/app.py); it takes only what can be a compressed
# Digital Link: one segment of 10 or more URL-safe base64 characters (a GTIN alone is 10).
compressed_router = APIRouter(include_in_schema=False)
GET_HEAD = ["GET", "HEAD"]


class CompressedLink(Convertor[str]):
    regex = "[A-Za-z0-9_-]{10,}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("compressed_dl", CompressedLink())


def _link(request: Request) -> DigitalLink:
    raw = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
    try:
        return parse(settings.public_base_url.rstrip("/") + raw)
    except InvalidDigitalLink as exc:
        raise NotFound("二维码地址无效", fields={"link": str(exc)}) from exc


def resolve(
    session: Session, link: DigitalLink
) -> tuple[views.Story, str | None, scans.StoredScans | None]:
    """The story of the batch (and checked serial) a Digital Link names, and the code's
    stored scan counts."""
    lot = resolving.find_for_page(session, link)
    serial = link.serial
    secret = urls.serial_secret()
    if serial is not None and check_serial(secret, lot.gtin, lot.lot_code, serial) is None:
        raise NotFound(
            "此单品码无效：它不是该批次发放的编码，可能是假冒产品",
            code="unknown_serial",
            fields={"serial": serial},
        )
    return views.cached_story(session, lot, serial), serial, lot.scans


@router.api_route("/01/{rest:path}", methods=GET_HEAD)
@opens_own_read  # the busiest page there is: no dependency to solve per scan
def trace_page(request: Request, rest: str, session: Session) -> Response:
    link = _link(request)
    if not link.lot:  # a GTIN alone: the product, not a lot
        product = resolving.product_for_gtin(session, link.gtin)
        return RedirectResponse(resolving.product_path(product.id or 0), status_code=307)
    asked = resolver.link_type(request.query_params.get("linkType"))
    story, serial, scan_row = resolve(session, link)
    base, path = settings.public_base_url.rstrip("/"), link.path()
    links = list(resolving.lot_links(base, story.batch.product_id, path))
    if asked == "all" or (asked is None and resolver.wants_linkset(request.headers.get("accept"))):
        return JSONResponse(
            resolver.linkset(base + path, links),
            media_type=resolver.LINKSET_TYPE,
            headers={"Cache-Control": "no-store"},
        )
    target = next((item for item in links if item.link_type == asked), None)
    if target is not None and asked != resolver.TRACEABILITY:
        return RedirectResponse(target.href, status_code=307)
    if request.method == "GET":
        client = request.client.host if request.client else None
        row = scans.record(session, story.batch.id or 0, serial or "", client, scan_row)
        story = views.with_scan(story, row)
    card = wx.share_card(
        request,
        f"{story.product.name} 批次 {story.batch.lot_code} 溯源",
        f"{wx.yuan(story.price_from_fen)}起 · 扫码可查产地、采收与流通记录",
        story.photos[0]["url"] if story.photos else None,
    )
    response = templates.TemplateResponse(
        request, "trace.html", {"s": story, "account": None, "csrf_token": "", "card": card}
    )
    response.headers["Cache-Control"] = "no-store"  # counts and recalls must be current
    response.headers["Link"] = _link_header(base, story.batch.product_id, path)
    return wx.with_share_csp(response, card)


@lru_cache(maxsize=4096)  # the same for every scan of a code, like its links
def _link_header(base: str, product_id: int, path: str) -> str:
    links = list(resolving.lot_links(base, product_id, path))
    return resolver.link_header(links, f"{base}{path}?linkType=all")


@router.api_route("/.well-known/gs1resolver", methods=GET_HEAD)
def resolver_description() -> JSONResponse:
    return JSONResponse(resolver.description(settings.public_base_url, "farmgate 乡村好物溯源解析"))


@compressed_router.api_route("/{compressed:compressed_dl}", methods=GET_HEAD)
def compressed_link(compressed: str, request: Request) -> Response:
    """A compressed Digital Link: decompressed, then resolved as the uncompressed one."""
    try:
        path = compression.decompress_path(compressed)
    except compression.NotCompressed as exc:
        raise NotFound("页面不存在") from exc
    query = request.url.query
    return RedirectResponse(path + (f"?{query}" if query else ""), status_code=307)
