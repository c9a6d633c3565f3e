"""The township's dashboard for one scope (the township or one cooperative), authorised.

Sales, orders, refunds and deliveries come from the daily facts (farmgate/reports/summary.py,
kept by the jobs in tasks.py) in two grouped queries whatever the range; cold-chain
shipments, villages, cooperatives and products from their own small tables. Who may see
which scope is decided here, from the account: the township admin any, cooperative staff
only their own, anyone else nothing.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from farmgate import places
from farmgate.errors import NotFound, PermissionDenied, ValidationFailed
from farmgate.models import Account, Cooperative, Role
from farmgate.reports import figures, queries
from farmgate.reports.figures import Dashboard, Kpi
from farmgate.reports.filters import Granularity, ReportFilters, Scope
from farmgate.reports.tables import TABLE_NAMES, Table

__all__ = [
    "TABLE_NAMES",
    "Dashboard",
    "Granularity",
    "Kpi",
    "ReportFilters",
    "Scope",
    "Table",
    "build",
    "dashboard",
    "resolve_scope",
]


def resolve_scope(session: Session, account: Account, cooperative_id: int | None = None) -> Scope:
    """The scope ``account`` asks for, if it may see it: admins any, staff their own only.

    Staff who name no cooperative get their own; naming another one is refused.
    """
    if account.role == Role.ADMIN:
        if cooperative_id is None:
            township = places.current_township(session)
            return Scope(None, township.name if township else "全乡")
        coop = session.get(Cooperative, cooperative_id)
        if coop is None:
            raise NotFound("合作社不存在")
        return Scope(coop.id, coop.name)
    if account.role == Role.COOPERATIVE and account.cooperative_id is not None:
        if cooperative_id is not None and cooperative_id != account.cooperative_id:
            raise PermissionDenied("只能查看本合作社的销售数据")
        coop = session.get(Cooperative, account.cooperative_id)
        if coop is None:
            raise PermissionDenied("需要合作社账号")
        return Scope(coop.id, coop.name)
    raise PermissionDenied("只有乡镇管理员和合作社可以查看销售数据")


def dashboard(
    session: Session, account: Account, filters: ReportFilters, cooperative_id: int | None = None
) -> Dashboard:
    """Every figure and table ``account`` may see for ``filters``."""
    return build(session, resolve_scope(session, account, cooperative_id), filters)


def build(session: Session, scope: Scope, filters: ReportFilters) -> Dashboard:
    """The dashboard of ``scope``; no authorisation here (``resolve_scope`` decides)."""
    villages = places.list_villages(session)
    if filters.village_id is not None and filters.village_id not in {v.id for v in villages}:
        raise ValidationFailed("所选的村不存在", fields={"village_id": "请选择本乡的村"})
    board = Dashboard(scope=scope, filters=filters, villages=villages)
    facts = queries.read_facts(session, scope, filters)
    trend = queries.read_trend(session, scope, filters)
    figures.fill(session, board, facts, trend)
    return board


def table(board: Dashboard, name: str) -> Table:
    """One of the dashboard's tables by name, or a validation error naming the choices."""
    if name not in board.tables:
        raise ValidationFailed("没有这个报表", fields={"table": "可选：" + "、".join(TABLE_NAMES)})
    return board.tables[name]
