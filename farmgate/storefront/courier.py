"""The courier's phone page: parcels to deliver, with a form per step, and assigned cold-chain
shipments, with a form per handoff."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from farmgate.coldchain import shipments
from farmgate.errors import FarmgateError
from farmgate.logistics import township, worklist
from farmgate.messages import validation_fields
from farmgate.models import Account, Role
from farmgate.storefront.common import PageAccount, check_csrf, page_user, render
from farmgate.web.session import SessionDep

router = APIRouter(include_in_schema=False)


def _courier(account: Account | None) -> Account:
    return page_user(account, Role.COURIER, "只有配送员账号可以使用此页面")


def _page(
    request: Request,
    session: SessionDep,
    courier: Account,
    errors: dict[str, str] | None = None,
    code: str = "",
) -> Response:
    rows = worklist.courier_shipments(session, courier, code)
    parcels = worklist.courier_parcels(session, courier, code)
    response = render(
        request,
        "courier.html",
        courier,
        rows=rows,
        parcels=parcels,
        steps=township.STEP_LABELS,
        code=code,
        form_token=secrets.token_urlsafe(16),
        errors=errors or {},
        notice=request.query_params.get("ok"),
    )
    if errors:
        response.status_code = 422
    return response


@router.get("/courier", response_class=HTMLResponse)
def courier_page(
    request: Request, session: SessionDep, account: PageAccount, code: str = ""
) -> Response:
    """Assigned shipments; ``code`` (a scanned or typed trace link, or a lot code) narrows them
    to that lot's."""
    return _page(request, session, _courier(account), code=code.strip())


@router.post("/courier/shipments/{shipment_id}/handoff")
def record_handoff(
    shipment_id: int,
    request: Request,
    session: SessionDep,
    account: PageAccount,
    from_party: Annotated[str, Form()] = "",
    to_party: Annotated[str, Form()] = "",
    place: Annotated[str, Form()] = "",
    temperature_c: Annotated[str, Form()] = "",
    delivered: Annotated[str, Form()] = "",
    form_token: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    courier = _courier(account)
    shipment = shipments.get_shipment(session, courier, shipment_id)
    try:
        data = shipments.HandoffIn(
            client_token=form_token or None,
            from_party=from_party,
            to_party=to_party,
            place=place,
            temperature_c=temperature_c or None,  # type: ignore[arg-type]
            delivered=bool(delivered),
        )
        shipments.add_handoff(session, courier, shipment, data)
    except ValidationError as exc:
        session.rollback()
        return _page(request, session, courier, validation_fields(list(exc.errors())))
    except FarmgateError as exc:
        session.rollback()  # nothing half-recorded is committed with the error page
        return _page(request, session, courier, {"_": exc.message, **exc.fields})
    return RedirectResponse("/courier?ok=1", status_code=303)


@router.post("/courier/parcels/{parcel_id}/step")
def record_parcel_step(
    parcel_id: int,
    request: Request,
    session: SessionDep,
    account: PageAccount,
    status: Annotated[str, Form()] = "",
    place: Annotated[str, Form()] = "",
    temperature_c: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    form_token: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    courier = _courier(account)
    try:
        data = township.ParcelStepIn(
            status=status,  # type: ignore[arg-type]
            place=place,
            temperature_c=temperature_c or None,  # type: ignore[arg-type]
            note=note,
            client_token=form_token or None,
        )
        township.record_step(session, courier, parcel_id, data)
    except ValidationError as exc:
        session.rollback()
        return _page(request, session, courier, validation_fields(list(exc.errors())))
    except FarmgateError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        return _page(request, session, courier, {"_": exc.message, **exc.fields})
    return RedirectResponse("/courier?ok=step", status_code=303)
