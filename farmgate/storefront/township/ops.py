"""Console section "任务与日志": the job backlog, dead letters re-driven, the audit log."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from farmgate import audit
from farmgate.errors import InvalidTransition
from farmgate.jobs import admin as jobs
from farmgate.models import Account
from farmgate.storefront.township.deps import (
    ConsoleAdmin,
    FormValues,
    SessionDep,
    check_csrf,
    console_page,
    see_other,
)

router = APIRouter(include_in_schema=False)

ACTIONS = {
    "alert": "处理预警",
    "recall": "召回",
    "job": "任务重新投递",
    "courier": "配送员账号",
}


# Where each kind of target is seen in the console (the record one click from its entry).
TARGET_URLS = {
    "alert": "/township/alerts/{}",
    "batch": "/township/batches/{}",
    "recall": "/township/recalls/{}",
    "account": "/township/couriers/{}",
}


@router.get("/township/jobs", response_class=HTMLResponse)
def jobs_page(request: Request, session: SessionDep, admin: ConsoleAdmin) -> Response:
    dead = jobs.dead_letters(session)
    return console_page(
        request,
        admin,
        "township/ops_jobs.html",
        section="ops",
        counts=jobs.counts(session),
        backlog=jobs.backlog_by_queue(session),
        dead=dead,
        kinds=sorted({d.job for d in dead}),
    )


@router.post("/township/jobs/dead/{dead_id:int}/redrive")
def redrive_one(
    dead_id: int, request: Request, form: FormValues, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    try:
        row = jobs.redrive(session, dead_id)
    except InvalidTransition:  # sent twice
        return see_other("/township/jobs?done=该任务之前已重新投递")
    _record(session, admin, [(dead_id, row.job)])
    return see_other(f"/township/jobs?done=已重新投递任务 {row.job}")


@router.post("/township/jobs/redrive")
def redrive_kind(
    request: Request, form: FormValues, session: SessionDep, admin: ConsoleAdmin
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    kind = form.get("job", "")
    ids = [d.id for d in jobs.dead_letters(session) if d.job == kind]
    rows = jobs.redrive_kind(session, kind)
    if not rows:
        return see_other("/township/jobs?done=没有需要重新投递的这类任务")
    _record(session, admin, [(i, r.job) for i, r in zip(ids, rows, strict=True)])
    return see_other(f"/township/jobs?done=已重新投递 {len(rows)} 个 {kind} 任务")


def _record(session: SessionDep, admin: Account, done: list[tuple[int | None, str]]) -> None:
    for dead_id, job in done:
        audit.record(
            session,
            admin,
            "job.redrive",
            "job",
            dead_id,
            f"重新投递死信任务 {job}（#{dead_id}）",
            before={"dead": True},
            after={"dead": False, "status": "pending"},
        )


@router.get("/township/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: SessionDep,
    admin: ConsoleAdmin,
    action: str = "",
    target: str = "",
    target_id: str = "",
) -> Response:
    action = action if action in ACTIONS else ""
    target = target.strip()[:30]
    number = int(target_id) if target_id.isdigit() else None
    rows = audit.entries(session, action=action, target=target or None, target_id=number)
    names = {a.id: a.display_name or a.phone for a in _actors(session, rows)}
    return console_page(
        request,
        admin,
        "township/ops_audit.html",
        section="ops",
        rows=rows,
        names=names,
        actions=ACTIONS,
        urls=TARGET_URLS,
        filters={"action": action, "target": target, "target_id": target_id if number else ""},
    )


def _actors(session: SessionDep, rows: list) -> list[Account]:  # type: ignore[type-arg]
    ids = {r.actor_id for r in rows if r.actor_id is not None}
    return [a for a in (session.get(Account, i) for i in ids) if a is not None]
