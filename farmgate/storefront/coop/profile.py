"""The desk's cooperative profile (name via township review, buyers' phone, pickup address) and
its staff: the owner invites a mobile number with a one-time link, and removes staff."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from farmgate.cooperatives import service as cooperatives
from farmgate.cooperatives import staff as staffing
from farmgate.errors import FarmgateError, PermissionDenied
from farmgate.models import Account
from farmgate.storefront.common import PageAccount, render, see_other
from farmgate.storefront.coop.deps import DeskStaff, FormValues, SessionDep, check_csrf
from farmgate.storefront.coop.forms import Errors, desk_page

router = APIRouter(include_in_schema=False)

DONE = {
    "saved": "资料已保存。",
    "name": "资料已保存。新名称已提交乡镇审核，审核通过前买家看到的仍是原名称。",
    "removed": "已移除这位工作人员，他的账号已退出登录。",
}


def _owner(staff: Account) -> Account:
    if not staff.is_owner:
        raise PermissionDenied("只有合作社负责人可以添加或移除工作人员")
    return staff


# --- profile ----------------------------------------------------------------------------


def _profile_page(
    request: Request,
    session: Session,
    staff: Account,
    *,
    errors: Errors | None = None,
    values: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    coop = cooperatives.get_for(session, staff, staff.cooperative_id or 0)
    shown = {
        "name": coop.pending_name or coop.name,
        "service_phone": coop.service_phone,
        "pickup_address": coop.pickup_address,
    }
    return desk_page(
        request,
        session,
        staff,
        "coop/profile.html",
        section="profile",
        coop=coop,
        values=values or shown,
        errors=errors or {},
        notice=notice,
    )


@router.get("/coop/profile", response_class=HTMLResponse)
def profile(request: Request, session: SessionDep, staff: DeskStaff, done: str = "") -> Response:
    return _profile_page(request, session, staff, notice=DONE.get(done))


@router.post("/coop/profile")
def save_profile(
    request: Request, form: FormValues, session: SessionDep, staff: DeskStaff
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    coop = cooperatives.get_for(session, staff, staff.cooperative_id or 0)
    errors = Errors()
    name = errors.read_text(form, "name", "合作社名称", max_len=100)
    if name and len(name) < 2:
        errors["name"] = "合作社名称至少2个字"
    try:
        cooperatives.update_contacts(
            session,
            staff,
            coop.id or 0,
            service_phone=form.get("service_phone", ""),
            pickup_address=form.get("pickup_address", ""),
        )
    except FarmgateError as exc:
        errors.absorb(
            exc,
            {"service_phone": "service_phone", "pickup_address": "pickup_address"},
            "service_phone",
        )
    if errors:
        session.rollback()
        return _profile_page(request, session, staff, errors=errors, values=form)
    before = coop.pending_name
    cooperatives.request_name(session, staff, coop, name)
    asked = coop.pending_name and coop.pending_name != before
    return see_other("/coop/profile?done=" + ("name" if asked else "saved"))


# --- staff ------------------------------------------------------------------------------


@router.get("/coop/staff", response_class=HTMLResponse)
def staff_list(request: Request, session: SessionDep, staff: DeskStaff, done: str = "") -> Response:
    members = staffing.list_staff(session, staff)
    return desk_page(
        request,
        session,
        staff,
        "coop/staff.html",
        section="profile",
        members=[(m, staffing.pending_invite(session, m)) for m in members],
        notice=DONE.get(done),
    )


def _invite_page(
    request: Request,
    session: Session,
    staff: Account,
    errors: Errors | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    return desk_page(
        request,
        session,
        staff,
        "coop/staff_invite.html",
        section="profile",
        errors=errors or {},
        values=values or {},
    )


@router.get("/coop/staff/invite", response_class=HTMLResponse)
def invite_form(request: Request, session: SessionDep, staff: DeskStaff) -> Response:
    return _invite_page(request, session, _owner(staff))


@router.post("/coop/staff/invite", response_class=HTMLResponse)
def invite(request: Request, form: FormValues, session: SessionDep, staff: DeskStaff) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    _owner(staff)
    errors = Errors()
    try:
        made = staffing.invite(session, staff, form.get("phone", ""), form.get("display_name", ""))
    except FarmgateError as exc:
        if exc.status == 403:
            raise
        session.rollback()
        errors.absorb(exc, {"phone": "phone", "display_name": "display_name"}, "phone")
        return _invite_page(request, session, staff, errors, form)
    link = None
    if made.token:
        link = str(request.base_url).rstrip("/") + f"/coop/welcome/{made.token}"
    # Shown once, not redirected: the link's secret is not stored anywhere to show again.
    response = desk_page(
        request,
        session,
        staff,
        "coop/staff_invited.html",
        section="profile",
        member=made.account,
        link=link,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/coop/staff/{account_id:int}/remove", response_class=HTMLResponse)
def remove_check(
    account_id: int, request: Request, session: SessionDep, staff: DeskStaff
) -> Response:
    member = staffing.get_member(session, _owner(staff), account_id)
    return desk_page(
        request, session, staff, "coop/staff_remove.html", section="profile", member=member
    )


@router.post("/coop/staff/{account_id:int}/remove")
def remove(
    account_id: int, request: Request, form: FormValues, session: SessionDep, staff: DeskStaff
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    _owner(staff)
    try:
        staffing.remove(session, staff, account_id)
    except FarmgateError as exc:
        if exc.status != 409:
            raise
        session.rollback()
        return desk_page(
            request,
            session,
            staff,
            "coop/staff.html",
            section="profile",
            members=[
                (m, staffing.pending_invite(session, m))
                for m in staffing.list_staff(session, staff)
            ],
            errors={"members": exc.message},
            status=409,
        )
    return see_other("/coop/staff?done=removed")


# --- the invited member sets a password (not signed in) -------------------------------------


@router.get("/coop/welcome/{token}", response_class=HTMLResponse)
def welcome(token: str, request: Request, session: SessionDep, account: PageAccount) -> Response:
    member = staffing.invited_account(session, token)
    response = render(request, "coop/welcome.html", account, member=member, token=token, errors={})
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.post("/coop/welcome/{token}", response_class=HTMLResponse)
def set_password(
    token: str, request: Request, form: FormValues, session: SessionDep, account: PageAccount
) -> Response:
    check_csrf(request, form.get("csrf_token", ""))
    member = staffing.invited_account(session, token)
    password = form.get("password", "")
    errors: dict[str, str] = {}
    if password != form.get("password_again", ""):
        errors["password_again"] = "两次填写的密码不一样"
    else:
        try:
            staffing.accept_invite(session, token, password)
            return see_other("/login?next=/coop/orders")
        except FarmgateError as exc:
            session.rollback()
            errors["password"] = exc.fields.get("password", exc.message)
    response = render(
        request, "coop/welcome.html", account, member=member, token=token, errors=errors
    )
    response.status_code = 422
    return response
