"""The page every package's QR code leads to: /01/{GTIN}/10/{lot}[/21/{serial}].

Public, no sign-in, no JavaScript, small: it must open fast on a weak rural network.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from farmgate.config import settings
from farmgate.errors import NotFound
from farmgate.gs1.digital_link import InvalidDigitalLink, parse
from farmgate.gs1.serials import check_serial
from farmgate.storefront import wechat_pages as wx
from farmgate.storefront.templating import templates
from farmgate.story import views
from farmgate.trace import scans, service, urls
from farmgate.web.session import SessionDep

router = APIRouter(include_in_schema=False)


def resolve(session: SessionDep, request: Request) -> tuple[views.Story, str | None]:
    """The batch (and checked serial) a Digital Link path names."""
    raw = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
    try:
        link = parse(settings.public_base_url.rstrip("/") + raw)
    except InvalidDigitalLink as exc:
        raise NotFound("二维码地址无效", fields={"link": str(exc)}) from exc
    if not link.lot:
        raise NotFound("二维码缺少批次号")
    batch = service.find_public(session, link.gtin, link.lot)
    serial = link.serial
    secret = urls.serial_secret()
    if serial is not None and check_serial(secret, batch.gtin, batch.lot_code, serial) is None:
        raise NotFound(
            "此单品码无效：它不是该批次发放的编码，可能是假冒产品",
            code="unknown_serial",
            fields={"serial": serial},
        )
    return views.cached_story(session, batch, serial), serial


@router.get("/01/{rest:path}")
def trace_page(request: Request, rest: str, session: SessionDep) -> Response:
    story, serial = resolve(session, request)
    client = request.client.host if request.client else None
    story = views.with_scan(story, scans.record(session, story.batch.id or 0, serial or "", client))
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
    return wx.with_share_csp(response, card)
