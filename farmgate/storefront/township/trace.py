"""Console section "预警与召回": open alerts resolved with a note, recalls from a lot's page,
and inputs recorded after the harvest they precede, approved or refused (audited)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from farmgate.errors import FarmgateError, ValidationFailed
from farmgate.models import Account
from farmgate.storefront.township.deps import (
    ConsoleAdmin,
    FormValues,
    SessionDep,
    check_csrf,
    console_page,
    see_other,
    undo_refusal,
)
from farmgate.trace import alerts, late_inputs, lineage, recalls

router = APIRouter(include_in_schema=False)


def _field_errors(exc: FarmgateError, field: str) -> dict[str, str]:
    fields = getattr(exc, "fields", None) or {}
    return {field: fields.get(field) or exc.message}


# --- alerts -----------------------------------------------------------------------------


@router.get("/township/alerts", response_class=HTMLResponse)
def alert_list(
    request: Request, session: SessionDep, admin: ConsoleAdmin, show: str = "", kind: str = ""
) -> Response:
    kind = kind if kind in alerts.KIND_LABELS else ""
    rows = alerts.township_alerts(session, resolved=show == "resolved", kind=kind)
    return console_page(
        request,
        admin,
        "township/trace_alerts.html",
        section="trace",
        rows=rows,
        show=show,
        kind=kind,
        kinds=alerts.KIND_LABELS,
    )


def _alert_page(
    request: Request,
    session: Session,
    admin: Account,
    alert_id: int,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    alert = alerts.get_alert(session, alert_id)
    return console_page(
        request,
        admin,
        "township/trace_alert.html",
        section="trace",
        alert=alert,
        label=alerts.kind_label(alert.kind),
        errors=errors or {},
        values=values or {},
    )


@router.get("/township/alerts/{alert_id:int}", response_class=HTMLResponse)
def alert_page(
    alert_id: int, request: Request, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    return _alert_page(request, session, admin, alert_id)


@router.post("/township/alerts/{alert_id:int}/resolve")
def resolve_alert(
    alert_id: int, request: Request, form: FormValues, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    try:
        done = alerts.resolve(session, admin, alert_id, form.get("note", ""))
    except FarmgateError as exc:
        undo_refusal(session, exc)
        return _alert_page(request, session, admin, alert_id, _field_errors(exc, "note"), form)
    notice = "预警已处理，已移出待处理列表" if done else "这条预警之前已处理过"
    return see_other(f"/township/alerts?done={notice}")


# --- a lot, and starting its recall -----------------------------------------------------


def _lot_page(
    request: Request,
    session: Session,
    admin: Account,
    batch_id: int,
    *,
    template: str = "township/trace_batch.html",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    **context: Any,
) -> Response:
    batch = recalls.get_lot(session, batch_id)
    return console_page(
        request,
        admin,
        template,
        section="trace",
        batch=batch,
        family=lineage.family(session, batch),
        recall=recalls.open_recall_of(session, batch_id),
        errors=errors or {},
        values=values or {},
        **context,
    )


@router.get("/township/batches/{batch_id:int}", response_class=HTMLResponse)
def batch_page(
    batch_id: int, request: Request, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    return _lot_page(request, session, admin, batch_id)


@router.post("/township/batches/{batch_id:int}/recall")
def start_recall(
    batch_id: int, request: Request, form: FormValues, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    """First send: the confirmation page (what will stop selling); second: the recall."""
    check_csrf(request, form.get("csrf_token", ""))
    batch = recalls.get_lot(session, batch_id)
    existing = recalls.open_recall_of(session, batch_id)
    if existing is not None:  # sent twice: the recall already runs
        return see_other(f"/township/recalls/{existing.id}?done=该批次已在召回中")
    try:
        reason = recalls.clean_reason(form.get("reason", ""))
        if form.get("confirm") != "yes":
            orders = {
                o.id: o
                for lot in [batch, *lineage.family(session, batch)["downstream"]]
                for o in lineage.affected_orders(session, lot)
            }
            return _lot_page(
                request,
                session,
                admin,
                batch_id,
                template="township/trace_recall_confirm.html",
                values={"reason": reason},
                orders=list(orders.values()),
            )
        recall = recalls.start(session, admin, batch_id, reason)
    except FarmgateError as exc:
        undo_refusal(session, exc)
        return _lot_page(
            request, session, admin, batch_id, errors=_field_errors(exc, "reason"), values=form
        )
    return see_other(f"/township/recalls/{recall.id}?done=召回已发起，相关商品已停止销售")


# --- recalls ----------------------------------------------------------------------------


@router.get("/township/recalls", response_class=HTMLResponse)
def recall_list(
    request: Request, session: SessionDep, admin: ConsoleAdmin, show: str = ""
) -> Response:
    rows = [
        (r, recalls.get_lot(session, r.batch_id))
        for r in recalls.list_recalls(session, closed=show == "closed")
    ]
    return console_page(
        request, admin, "township/trace_recalls.html", section="trace", rows=rows, show=show
    )


def _recall_page(
    request: Request, session: Session, admin: Account, recall_id: int, template: str
) -> Response:
    recall = recalls.get(session, recall_id)
    return console_page(
        request,
        admin,
        template,
        section="trace",
        recall=recall,
        batch=recalls.get_lot(session, recall.batch_id),
        hit=recalls.affected(session, recall),
    )


@router.get("/township/recalls/{recall_id:int}", response_class=HTMLResponse)
def recall_page(
    recall_id: int, request: Request, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    return _recall_page(request, session, admin, recall_id, "township/trace_recall.html")


@router.post("/township/recalls/{recall_id:int}/contacted")
def contacted(
    recall_id: int, request: Request, form: FormValues, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    order_id = form.get("order_id", "")
    if not order_id.isdigit():
        return see_other(f"/township/recalls/{recall_id}?done=请选择订单")
    done = recalls.mark_contacted(session, admin, recall_id, int(order_id))
    notice = "已记录：买家已联系" if done else "这位买家之前已记录为已联系"
    return see_other(f"/township/recalls/{recall_id}?done={notice}#order-{order_id}")


@router.get("/township/recalls/{recall_id:int}/close", response_class=HTMLResponse)
def close_confirm(
    recall_id: int, request: Request, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    return _recall_page(request, session, admin, recall_id, "township/trace_recall_close.html")


@router.post("/township/recalls/{recall_id:int}/close")
def close_recall(
    recall_id: int, request: Request, form: FormValues, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    done = recalls.close(session, admin, recall_id)
    notice = "召回已结束" if done else "这次召回之前已结束"
    return see_other(f"/township/recalls/{recall_id}?done={notice}")


# --- inputs recorded after the harvest ----------------------------------------------------


@router.get("/township/late-inputs", response_class=HTMLResponse)
def late_input_list(request: Request, session: SessionDep, admin: ConsoleAdmin) -> Response:
    return console_page(
        request,
        admin,
        "township/trace_late_inputs.html",
        section="trace",
        rows=late_inputs.pending(session),
    )


def _late_input_page(
    request: Request,
    session: Session,
    admin: Account,
    input_id: int,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    record, batch = late_inputs.get_pending(session, input_id)
    return console_page(
        request,
        admin,
        "township/trace_late_input.html",
        section="trace",
        record=record,
        batch=batch,
        errors=errors or {},
        values=values or {},
    )


@router.get("/township/late-inputs/{input_id:int}", response_class=HTMLResponse)
def late_input_page(
    input_id: int, request: Request, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    return _late_input_page(request, session, admin, input_id)


@router.post("/township/late-inputs/{input_id:int}")
def decide_late_input(
    input_id: int, request: Request, form: FormValues, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    decision = form.get("decision", "")
    try:
        if decision not in ("approve", "reject"):
            raise ValidationFailed("请选择同意或不同意", fields={"decision": "请选择一项"})
        late_inputs.decide(
            session, admin, input_id, approve=decision == "approve", note=form.get("note", "")
        )
    except FarmgateError as exc:
        undo_refusal(session, exc)
        fields = getattr(exc, "fields", None) or {}
        errors = {"note": fields.get("note", ""), "decision": fields.get("decision", "")}
        if not any(errors.values()):
            errors["note"] = exc.message
        errors = {k: v for k, v in errors.items() if v}
        return _late_input_page(request, session, admin, input_id, errors, form)
    notice = "已同意，记录已计入该批次的溯源链" if decision == "approve" else "已不予计入"
    return see_other(f"/township/late-inputs?done={notice}")
